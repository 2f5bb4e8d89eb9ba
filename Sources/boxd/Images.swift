#if canImport(Glibc)
import Glibc
#endif
import Engine

/// POST /images/create (docker pull): busybox is built from the host's busybox-static as `box run` does on
/// first use; other images come from `box pull`, which boxd does not do itself (yet).
extension API {
    func pullImage(_ r: Request, _ c: Connection) throws {
        guard let from = r.query["fromImage"], !from.isEmpty else {
            throw APIError(400, "images/create needs fromImage (importing with fromSrc is not supported by boxd)")
        }
        var reference = from
        if let tag = r.query["tag"], !tag.isEmpty { reference += (tag.hasPrefix("sha256:") ? "@" : ":") + tag }
        guard DefaultImage.isNamed(by: reference) else {
            throw APIError(404, "boxd cannot pull \(reference) (yet): pull it with `box pull \(reference)` on this machine, then use it here")
        }
        let image = try DefaultImage.ensure(store.images)
        c.startStream(contentType: "application/json")
        for status in ["Pulling from library/busybox", "Digest: " + image.id,
                       "Status: Image is up to date for busybox:latest (built from the host's busybox-static)"] {
            c.chunk(Array((JSONValue.object([("status", .string(status))]).compact() + "\n").utf8))
        }
        c.endStream()
    }
}
