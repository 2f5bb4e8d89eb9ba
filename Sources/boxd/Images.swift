#if canImport(Glibc)
import Glibc
#endif
import DockerFormat
import Engine

/// /images/…: pull (busybox only), list, inspect, tag and remove (moby's api/server/router/image).
extension API {
    func images(_ r: Request, _ parts: [String], _ c: Connection) throws {
        // A name may hold slashes (registry.example/team/app): it is everything between /images/ and the verb.
        let name = API.familiar(parts.dropFirst().dropLast().joined(separator: "/"))
        switch (r.method, parts.last ?? "") {
        case ("POST", "create") where parts.count == 2: try pullImage(r, c)
        case ("GET", "json") where parts.count == 2: try listImages(r, c)
        case ("GET", "json") where parts.count > 2:
            c.json(200, InspectView.image(try store.images.resolve(name), store: store.images))
        case ("POST", "tag") where parts.count > 2: try tagImage(r, name: name, c)
        case ("DELETE", _) where parts.count > 1:
            try removeImage(r, name: API.familiar(parts.dropFirst().joined(separator: "/")), c)
        default:
            throw APIError(404, "page not found: boxd does not serve \(r.method) /\(parts.joined(separator: "/")) (yet)")
        }
    }

    /// POST /images/create (docker pull): busybox is built from the host's busybox-static as `box run` does on
    /// first use; other images come from `box pull`, which boxd does not do itself (yet).
    func pullImage(_ r: Request, _ c: Connection) throws {
        guard let from = r.query["fromImage"], !from.isEmpty else {
            throw APIError(400, "images/create needs fromImage (importing with fromSrc is not supported by boxd)")
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

    func listImages(_ r: Request, _ c: Connection) throws {
        let filters = try Filters(r.query["filters"])
        try filters.check(["reference", "dangling", "label"])
        func matches(_ name: String, _ wanted: String) -> Bool { name == wanted || name == wanted + ":latest" || name.hasPrefix(wanted + ":") }
        // With a reference filter an image lists only the names that match it (moby does the same).
        let names = { (image: Image) -> [String] in
            guard let wanted = filters.values["reference"], !wanted.isEmpty else { return image.names }
            return image.names.filter { name in wanted.contains { matches(name, API.familiar($0)) } }
        }
        let images = try store.images.list().filter { image in
            filters.allows("reference") { wanted in image.names.contains { matches($0, API.familiar(wanted)) } }
                && filters.allows("dangling") { ($0 == "true") == image.names.isEmpty }
                && filters.values["label", default: []].allSatisfy { labelMatches($0, image.config.config.Labels ?? [:]) }
        }
        c.json(200, .array(images.map { image in
            let size = image.config.rootfs.diff_ids.reduce(Int64(0)) { $0 + API.diskUsage(store.root.layerDir($1)) }
            return [
                "Id": .string(image.id), "ParentId": "", "RepoTags": .array(names(image).map { .string($0) }), "RepoDigests": [],
                "Created": .int(image.config.created.flatMap { Timestamp.parse($0) }?.seconds ?? 0),
                "Size": .int(size), "SharedSize": -1, "VirtualSize": .int(size),
                "Labels": .object((image.config.config.Labels ?? [:]).sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) }),
                "Containers": -1,
            ]
        }))
    }

    /// Bytes in the files below `path` (a layer's unpacked tree), counted by blocks as du does.
    static func diskUsage(_ path: String) -> Int64 {
        var st = stat()
        guard lstat(path, &st) == 0 else { return 0 }
        var total = Int64(st.st_blocks) * 512
        if st.st_mode & S_IFMT == S_IFDIR, let names = try? Files.list(path) {
            for name in names { total += diskUsage(path + "/" + name) }
        }
        return total
    }

    func tagImage(_ r: Request, name: String, _ c: Connection) throws {
        guard let repo = r.query["repo"], !repo.isEmpty else { throw APIError(400, "tag needs ?repo=NAME (and &tag=TAG)") }
        let text = API.familiar(repo) + ":" + ((r.query["tag"]).flatMap { $0.isEmpty ? nil : $0 } ?? "latest")
        let reference: ImageReference
        do { reference = try ImageReference(parsing: text) } catch let e as BoxError { throw APIError(400, e.message) }
        let image = try store.images.resolve(name)
        try store.images.tag(image.id, as: reference)
        c.respond(201)
    }

    func removeImage(_ r: Request, name: String, _ c: Connection) throws {
        guard !r.flag("force") else { throw APIError(400, "rmi --force is not supported by box: remove the containers that use the image first") }
        let lines = try store.images.remove(name, users: try store.imageUsers())
        c.json(200, .array(lines.compactMap { line -> JSONValue? in
            let kv = line.split(separator: ":", maxSplits: 1).map { $0.trimmingSpaces() }
            guard kv.count == 2, kv[0] == "Untagged" || kv[0] == "Deleted" else { return nil }
            return .object([(kv[0], .string(kv[1]))])
        }))
    }
}
