import CNettle

extension Digest {
    /// sha256 of `bytes`, "sha256:<hex>" (GNU Nettle; LayerArchive hashes files and streams the same way).
    public static func sha256(_ bytes: [UInt8]) -> String {
        var ctx = sha256_ctx()
        nettle_sha256_init(&ctx)
        nettle_sha256_update(&ctx, bytes.count, bytes)
        return finish(&ctx)
    }

    /// The digest of what `ctx` was fed, "sha256:<hex>".
    static func finish(_ ctx: inout sha256_ctx) -> String {
        var digest = [UInt8](repeating: 0, count: 32)
        nettle_sha256_digest(&ctx, 32, &digest)
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(64)
        for byte in digest { out.append(digits[Int(byte >> 4)]); out.append(digits[Int(byte & 15)]) }
        return "sha256:" + String(decoding: out, as: UTF8.self)
    }
}

/// sha256 of a stream fed piece by piece (a blob as it arrives from a registry), "sha256:<hex>" at the end.
public struct SHA256Stream {
    private var ctx = sha256_ctx()

    public init() { nettle_sha256_init(&ctx) }

    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        nettle_sha256_update(&ctx, bytes.count, base.assumingMemoryBound(to: UInt8.self))
    }

    public mutating func finish() -> String { Digest.finish(&ctx) }
}
