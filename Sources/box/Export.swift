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
        try writeTar(to: output, root: store.root) { tar in try ContainerFiles(store: store).export(c, to: tar) }
    }
}
