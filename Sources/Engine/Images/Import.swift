#if canImport(Glibc)
import Glibc
#endif

/// `box import`: a flat filesystem tar (what `box export` writes, compressed or not) becomes an image of one
/// layer, with no history but the import itself, and an empty config unless `changes` set something.
public struct ImageImport {
    public let store: ImageStore
    public init(store: ImageStore) { self.store = store }

    /// Returns the new image's id. `source` nil: the tar comes on `fd` (docker's `-`).
    public func run(_ source: String?, fd: Int32 = 0, reference: ImageReference?, message: String = "",
                    changes: [String] = [], staging: ImageStaging) throws -> String {
        var config = ImageConfig.Config()
        for change in changes { try config.apply(change) }  // bad input: before any work
        let path: String
        if let source {
            path = source
        } else {
            path = staging.dir + "/stdin.tar"
            let out = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
            guard out >= 0 else { throw BoxError.sys(.image, "create \(path)") }
            defer { close(out) }
            var buffer = [UInt8](repeating: 0, count: 1 << 16)
            while true {
                let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                if n < 0 && errno == EINTR { continue }
                guard n >= 0 else { throw BoxError.sys(.image, "read standard input") }
                if n == 0 { break }
                try Files.writeAll(out, Array(buffer[0..<n]), path: path)
            }
        }
        guard Files.exists(path) else { throw BoxError(.image, "open \(path): no such file or directory", exitCode: 1) }
        guard !Files.isDirectory(path) else { throw BoxError(.image, "\(path) is a directory, not a tar file", exitCode: 1) }
        let (_, diffID) = try staging.addLayer(from: path, consume: source == nil, label: source ?? "standard input")
        let now = Timestamp.now().rfc3339
        let image = ImageConfig(
            architecture: ImageConfig.hostArchitecture, os: "linux", created: now, config: config,
            rootfs: .init(diff_ids: [diffID]),
            history: [.init(created: now, created_by: nil, comment: message.isEmpty ? "Imported from \(source ?? "-")" : message)])
        let (id, _) = try staging.addConfig(try Files.encodeBlob(image), name: "the new config")
        if let reference { staging.tag(id, as: reference) }
        try staging.commit()
        return id
    }
}
