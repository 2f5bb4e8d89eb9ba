#if canImport(Glibc)
import Glibc
#endif
import DockerFormat
import Engine

/// POST /images/create without fromSrc: docker pull (the rest of /images/… is ImageEndpoints.swift).
extension API {
    /// POST /images/create (docker pull): busybox is built from the host's busybox-static as `box run` does on
    /// first use; other images come from `box pull`, which boxd does not do itself (yet).
    func pullImage(_ r: Request, _ c: Connection) throws {
        guard let from = r.query["fromImage"], !from.isEmpty else {
            throw APIError(400, "images/create needs fromImage (docker pull) or fromSrc (docker import)")
        }
        var reference = API.familiar(from)
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

    /// The CLI names Docker Hub's images in full (docker.io/library/busybox); box, as docker's own store does,
    /// keeps and shows their familiar names (busybox).
    static func familiar(_ name: String) -> String {
        var name = name
        for prefix in ["docker.io/", "index.docker.io/", "registry-1.docker.io/"] where name.hasPrefix(prefix) {
            name = String(name.dropFirst(prefix.count))
        }
        return name.hasPrefix("library/") ? String(name.dropFirst("library/".count)) : name
    }
}
