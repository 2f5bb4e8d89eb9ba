#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Engine

struct Save: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "save",
        abstract: "Save images to a tar archive (docker-archive, or an OCI image layout)",
        discussion: """
        Writes to standard output unless -o is given (but never to a terminal). The archive holds each image's
        config JSON, one layer.tar per layer and a manifest.json naming them: unpack it and look.
          box save -o busybox.tar busybox && mkdir x && tar -C x -xf busybox.tar && cat x/manifest.json
          box save --format oci busybox notes:v1 > images.tar
        """)
    @Option(name: [.short, .long], help: "Write to a file, instead of standard output")
    var output: String?
    @Option(name: .long, help: "docker-archive (the default) or oci")
    var format: String = ArchiveFormat.docker.rawValue
    @Option(name: .long, help: "The platform to save: only the host's (linux/amd64 here), which every box image is")
    var platform: String?
    @Argument(help: "Images (name or id)")
    var images: [String]

    func validate() throws {
        guard ArchiveFormat(rawValue: format) != nil || format == "oci-archive" else {
            throw ValidationError("unknown format \(format): use docker-archive or oci")
        }
        guard !images.isEmpty else { throw ValidationError("\"box save\" requires at least 1 argument.") }
    }

    func run() throws {
        try platform.map(ImageConfig.checkPlatform)
        let store = try engine()
        let save = ImageSave(store: store.images)
        let kind = ArchiveFormat(rawValue: format) ?? .oci
        try refuseTerminal(output)
        // The default image is built on first use, by save too.
        if images.contains(where: DefaultImage.isNamed(by:)) {
            _ = try DefaultImage.ensure(store.images)
        }
        let items = try save.items(images)  // every name resolves before a file is made
        let (bytes, layers) = save.layerBytes(items)
        let progress = Progress("Saving", bytes: bytes, layers: layers)
        try writeTar(to: output, root: store.root) { tar in
            tar.onBytes = progress.add
            try save.write(items, format: kind, to: tar, onLayer: progress.layer)
        }
        progress.finish()
    }
}

/// `box save` and `box export` to standard output: never to a terminal (docker's words).
func refuseTerminal(_ output: String?) throws {
    if output == nil && isatty(1) == 1 {
        throw BoxError(.usage, "cowardly refusing to save to a terminal. Use the -o flag or redirect", exitCode: 1)
    }
}

/// Writes a tar to `output`, through a temporary file renamed at the end (a failure leaves no half archive
/// under the name), or to standard output, which must not be a terminal.
func writeTar(to output: String?, root: EngineRoot, _ body: (TarWriter) throws -> Void) throws {
    guard let output else {
        try refuseTerminal(nil)
        try body(try TarWriter(fd: 1, name: "standard output"))
        return
    }
    let tmp = output + ".tmp-\(getpid())"
    // The intent: if this process is killed before the rename, `box system prune` finds the partial file by it.
    var cwd = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
    let absolute = tmp.hasPrefix("/") || getcwd(&cwd, cwd.count) == nil ? tmp : String(cString: cwd) + "/" + tmp
    let intent = root.runPath + "/output-\(getpid())"
    try root.prepare()
    try Files.writeAtomically(intent, Array(absolute.utf8), durable: false)
    defer { unlink(intent) }
    do {
        try body(try TarWriter(path: tmp))
        guard rename(tmp, output) == 0 else { throw BoxError.sys(.image, "rename \(tmp) to \(output)") }
    } catch {
        unlink(tmp)
        throw error
    }
}
