#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Engine

struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Export a container's filesystem as a tar archive (flat: one tree, no layers, no history)",
        discussion: """
        Works on a running or a stopped container. Writes to standard output unless -o is given.
          box export -o c1.tar c1 && tar -tvf c1.tar | head
          box export c1 | box import - flat:latest      # one layer; box history shows only the import
        """)
    @Option(name: [.short, .long], help: "Write to a file, instead of standard output")
    var output: String?
    @Argument(help: "The container")
    var container: String

    func run() throws {
        let store = try engine()
        let c = try store.resolve(container)
        guard let output else {
            guard isatty(1) == 0 else {
                throw BoxError(.usage, "cowardly refusing to save to a terminal. Use the -o flag or redirect", exitCode: 1)
            }
            try ContainerFiles(store: store).export(c, to: try TarWriter(fd: 1, name: "standard output"))
            return
        }
        let tmp = output + ".tmp-\(getpid())"
        do {
            try ContainerFiles(store: store).export(c, to: try TarWriter(path: tmp))
            guard rename(tmp, output) == 0 else { throw BoxError.sys(.image, "rename \(tmp) to \(output)") }
        } catch {
            unlink(tmp)
            throw error
        }
    }
}
