import ArgumentParser
import Engine

struct Cp: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cp",
        abstract: "Copy files between a container and the host",
        discussion: """
        One side is CONTAINER:PATH. Paths inside the container are resolved as the container sees them:
        its symlinks never lead out of its root. A running container is frozen for the copy.
          box cp c1:/etc/hostname .          box cp ./notes c1:/root/
          box cp c1:/var/log - | tar -t      (- : a tar on standard output, or from standard input)
        """)
    @Flag(name: [.short, .long], help: "Archive mode: keep the owners (uid:gid) of the source, instead of root's inside or yours outside")
    var archive = false
    @Flag(name: [.customShort("L"), .customLong("follow-link")], help: "Copy what a symlink given as SRC_PATH points to, not the link")
    var followLink = false
    @Flag(name: [.short, .long], help: "Print no progress (box prints none anyway)")
    var quiet = false
    @Argument(help: "CONTAINER:SRC_PATH or SRC_PATH (- for a tar on standard input)")
    var source: String
    @Argument(help: "DEST_PATH or CONTAINER:DEST_PATH (- for a tar on standard output)")
    var destination: String

    /// "c1:/etc" -> ("c1", "/etc"); a path with a slash before its first colon is a host path (docker's rule).
    static func split(_ arg: String) -> (container: String, path: String)? {
        guard let colon = arg.firstIndex(of: ":"), !arg[..<colon].contains("/"), colon != arg.startIndex else { return nil }
        return (String(arg[..<colon]), String(arg[arg.index(after: colon)...]))
    }

    func validate() throws {
        switch (Cp.split(source), Cp.split(destination)) {
        case (.some, .some): throw ValidationError("copying between containers is not supported")
        case (nil, nil): throw ValidationError("must specify at least one container source")
        default: break
        }
    }

    func run() throws {
        let store = try engine()
        let files = ContainerFiles(store: store)
        if let (name, path) = Cp.split(source) {
            try files.copyOut(try store.resolve(name), from: path, to: destination == "-" ? nil : destination,
                              followLink: followLink, keepOwners: archive)
        } else if let (name, path) = Cp.split(destination) {
            try files.copyIn(try store.resolve(name), from: source == "-" ? nil : source, to: path,
                             followLink: followLink, keepOwners: archive)
        }
    }
}
