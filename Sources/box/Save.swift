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
    @Argument(help: "Images (name or id)")
    var images: [String]

    func validate() throws {
        guard ArchiveFormat(rawValue: format) != nil || format == "oci-archive" else {
            throw ValidationError("unknown format \(format): use docker-archive or oci")
        }
        guard !images.isEmpty else { throw ValidationError("\"box save\" requires at least 1 argument.") }
    }

    func run() throws {
        let store = try engine()
        let save = ImageSave(store: store.images)
        let kind = ArchiveFormat(rawValue: format) ?? .oci
        if output == nil && isatty(1) == 1 {
            throw BoxError(.usage, "cowardly refusing to save to a terminal. Use the -o flag or redirect", exitCode: 1)
        }
        // The default image is built on first use, by save too.
        if images.contains(where: { (try? ImageReference(parsing: $0))?.description == DefaultImage.reference }) {
            _ = try DefaultImage.ensure(store.images)
        }
        let (bytes, layers) = try save.layerBytes(images)  // also: every name resolves before a file is made
        let progress = Progress("Saving", bytes: bytes, layers: layers)
        if let output {
            // Into a temporary file renamed at the end: a failed save leaves no half archive under the name.
            let tmp = output + ".tmp-\(getpid())"
            do {
                let tar = try TarWriter(path: tmp)
                tar.onBytes = progress.add
                try save.write(images, format: kind, to: tar, onLayer: progress.layer)
                guard rename(tmp, output) == 0 else { throw BoxError.sys(.image, "rename \(tmp) to \(output)") }
            } catch {
                unlink(tmp)
                throw error
            }
        } else {
            let tar = try TarWriter(fd: 1, name: "standard output")
            tar.onBytes = progress.add
            try save.write(images, format: kind, to: tar, onLayer: progress.layer)
        }
        progress.finish()
    }
}
