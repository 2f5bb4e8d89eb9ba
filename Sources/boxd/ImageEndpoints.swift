#if canImport(Glibc)
import Glibc
#endif
import Engine

/// images/json, {name}/json, {name}/history, {name}/tag, DELETE {name}, get (save), load, create?fromSrc
/// (import), commit and images/prune, in docker's shapes (moby's api/server/router/image, API 1.41).
extension API {
    /// Everything under /images but images/create?fromImage (the pull, elsewhere). An image's name may hold
    /// slashes (`localhost:5000/team/app`): it is what lies between `images/` and the last component.
    func images(_ r: Request, _ parts: [String], _ c: Connection) throws {
        let last = parts.last ?? ""
        let name = parts.dropFirst().dropLast().joined(separator: "/")
        switch (r.method, parts.count, last) {
        case ("GET", 2, "json"): c.json(200, try imageList(r))
        case ("GET", 2, "get"): try saveImages(r.all("names"), c)
        case ("POST", 2, "load"): try loadImages(r, c)
        case ("POST", 2, "prune"): c.json(200, try pruneImages(r))
        case ("GET", 3..., "json"): c.json(200, try imageInspect(name))
        case ("GET", 3..., "history"): c.json(200, try imageHistory(name))
        case ("GET", 3..., "get"): try saveImages([name], c)
        case ("POST", 3..., "tag"):
            try tagImage(name, repo: r.query["repo"] ?? "", tag: r.query["tag"] ?? "")
            c.respond(201)
        case ("DELETE", 2..., _):
            c.json(200, try removeImage(parts.dropFirst().joined(separator: "/"), force: r.flag("force")))
        default:
            throw APIError(404, "page not found: boxd does not serve \(r.method) \(r.path)")
        }
    }

    /// The image, or docker's 404 "No such image".
    func image(_ name: String) throws -> Image {
        let name = API.familiar(name)
        if DefaultImage.isNamed(by: name) { _ = try DefaultImage.ensure(store.images) }
        return try store.images.resolve(name)
    }

    /// The bytes of an image's layer tars, which is what box stores of it.
    func imageSize(_ image: Image) -> Int64 {
        image.config.rootfs.diff_ids.reduce(0) { $0 + (Files.size(store.root.blob($1)) ?? 0) }
    }

    static func seconds(_ rfc3339: String?) -> Int64 { rfc3339.flatMap { Timestamp.parse($0) }?.seconds ?? 0 }

    static func labels(_ l: [String: String]?) -> JSONValue {
        .object((l ?? [:]).sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) })
    }

    static func strings(_ list: [String]?) -> JSONValue { list.map { .array($0.map(JSONValue.string)) } ?? .null }

    // MARK: list, inspect, history

    /// GET /images/json: docker's ImageSummary per image. Filters: dangling, reference (a glob on the name
    /// with or without its tag, as docker's), label, before and since (an image: older or newer than it).
    func imageList(_ r: Request) throws -> JSONValue {
        let filters = try Filters(r.query["filters"])
        try filters.check(["dangling", "reference", "label", "before", "since"])
        if let d = filters.values["dangling"], d.contains(where: { !["true", "false", "1", "0"].contains($0) }) {
            throw APIError(400, "invalid filter 'dangling=\(d.joined(separator: ","))': use true or false")
        }
        func created(_ name: String) throws -> String {
            do { return try image(name).config.created ?? "" } catch let e as BoxError where e.message.hasPrefix("No such") {
                throw APIError(400, "invalid filter: \(e.message)")  // docker: a filter naming nothing is bad input
            }
        }
        let before = try filters.values["before"]?.first.map(created)
        let since = try filters.values["since"]?.first.map(created)
        _ = try DefaultImage.ensure(store.images)
        let users = try store.imageUsers()
        var out: [JSONValue] = []
        let all = try store.images.list()
        for image in all {
            let tags = image.names
            let when = image.config.created ?? ""
            guard filters.allows("dangling", { ["true", "1"].contains($0) == tags.isEmpty }),
                  filters.allows("label", { labelMatches($0, image.config.config.Labels ?? [:]) }),
                  filters.allows("reference", { pattern in tags.contains { API.referenceMatches(pattern, $0) } }),
                  before.map({ when < $0 }) ?? true, since.map({ when > $0 }) ?? true
            else { continue }
            if !r.flag("all") && tags.isEmpty && API.isIntermediate(image, among: all) {
                continue  // a build's cache step, which docker hides without -a
            }
            var summary = image
            if let patterns = filters.values["reference"], !patterns.isEmpty {  // docker lists the names that matched
                summary.names = tags.filter { tag in patterns.contains { API.referenceMatches($0, tag) } }
            }
            out.append(imageSummary(summary, users: users))
        }
        return .array(out)
    }

    /// docker's ImageSummary (images/json, system/df). `shared`: bytes of layers other images use too
    /// (-1, unknown, as docker's list has it).
    func imageSummary(_ image: Image, users: [ImageUser], shared: Int64 = -1) -> JSONValue {
        let size = imageSize(image)
        return [
            "Id": .string(image.id), "ParentId": "",
            "RepoTags": .array((image.names.isEmpty ? ["<none>:<none>"] : image.names).map(JSONValue.string)),
            "RepoDigests": .array(image.names.isEmpty ? ["<none>@<none>"] : []), "Created": .int(API.seconds(image.config.created)),
            "Size": .int(size), "VirtualSize": .int(size), "SharedSize": .int(shared),
            "Labels": API.labels(image.config.config.Labels),
            "Containers": .int(Int64(users.filter { $0.image == image.id }.count)),
        ]
    }

    /// An untagged image whose layers are all below another image's (a build step's result): docker lists it
    /// only with -a.
    static func isIntermediate(_ image: Image, among all: [Image]) -> Bool {
        let mine = image.config.rootfs.diff_ids
        return all.contains { other in
            other.id != image.id && !other.names.isEmpty && other.config.rootfs.diff_ids.count >= mine.count
                && Array(other.config.rootfs.diff_ids.prefix(mine.count)) == mine
                && (other.config.history?.count ?? 0) > (image.config.history?.count ?? 0)
        }
    }

    /// docker's reference filter: a path.Match glob against `name` or `name:tag` (familiar names).
    static func referenceMatches(_ pattern: String, _ name: String) -> Bool {
        let repository = name.lastIndex(of: ":").map { String(name[..<$0]) } ?? name
        return fnmatch(pattern, name, FNM_PATHNAME) == 0 || fnmatch(pattern, repository, FNM_PATHNAME) == 0
    }

    /// GET /images/{name}/json: docker's ImageInspect.
    func imageInspect(_ name: String) throws -> JSONValue {
        let found = try image(name)
        let names = try store.images.list().first { $0.id == found.id }?.names ?? found.names
        let config = found.config.config
        let size = imageSize(found)
        let containerConfig: JSONValue = [
            "Hostname": "", "Domainname": "", "User": .string(config.User ?? ""), "AttachStdin": false,
            "AttachStdout": false, "AttachStderr": false, "Tty": false, "OpenStdin": false, "StdinOnce": false,
            "Env": API.strings(config.Env), "Cmd": API.strings(config.Cmd), "Image": "", "Volumes": .null,
            "WorkingDir": .string(config.WorkingDir ?? ""), "Entrypoint": API.strings(config.Entrypoint),
            "OnBuild": .null, "Labels": config.Labels == nil ? .null : API.labels(config.Labels),
        ]
        return [
            "Id": .string(found.id), "RepoTags": .array(names.map(JSONValue.string)), "RepoDigests": [],
            "Parent": "", "Comment": .string(found.config.history?.last?.comment ?? ""),
            "Created": .string(found.config.created ?? ""), "Container": "", "ContainerConfig": containerConfig,
            "DockerVersion": "", "Author": "", "Config": containerConfig,
            "Architecture": .string(found.config.architecture), "Os": .string(found.config.os),
            "Size": .int(size), "VirtualSize": .int(size),
            "GraphDriver": ["Name": "overlay2", "Data": [
                "LowerDir": .string(found.config.rootfs.diff_ids.reversed().map { store.root.layerDir($0) + "/diff" }.joined(separator: ":")),
            ]],
            "RootFS": ["Type": "layers", "Layers": .array(found.config.rootfs.diff_ids.map(JSONValue.string))],
            "Metadata": ["LastTagTime": "0001-01-01T00:00:00Z"],
        ]
    }

    /// GET /images/{name}/history: newest first; only the top entry has the image's id (docker's
    /// `<missing>` for the layers below, which have no image of their own here).
    func imageHistory(_ name: String) throws -> JSONValue {
        let found = try image(name)
        let names = try store.images.list().first { $0.id == found.id }?.names ?? found.names
        var diffIDs = found.config.rootfs.diff_ids.makeIterator()
        let history = found.config.history ?? []
        var out: [JSONValue] = []
        for (i, h) in history.enumerated() {
            var size: Int64 = 0
            if h.empty_layer != true, let diffID = diffIDs.next() { size = Files.size(store.root.blob(diffID)) ?? 0 }
            let top = i == history.count - 1
            out.append([
                "Id": .string(top ? found.id : "<missing>"), "Created": .int(API.seconds(h.created)),
                "CreatedBy": .string(h.created_by ?? ""), "Tags": top ? .array(names.map(JSONValue.string)) : .null,
                "Size": .int(size), "Comment": .string(h.comment ?? ""),
            ])
        }
        return .array(out.reversed())
    }

    // MARK: tag, remove, prune

    /// The name `repo` and `tag` give (tag, commit, import), in box's familiar form: the CLI normalises
    /// `team/app` to `docker.io/team/app` and `busybox` to `docker.io/library/busybox`; box's store, like
    /// `box images`, has them as typed. nil for no repo.
    static func reference(repo: String?, tag: String?) throws -> ImageReference? {
        guard let repo, !repo.isEmpty else { return nil }
        let tag = tag ?? ""
        return try ImageReference(parsing: familiar(tag.isEmpty ? repo : repo + ":" + tag))
    }

    /// POST /images/{name}/tag?repo=…&tag=…: 201, no body.
    func tagImage(_ name: String, repo: String, tag: String) throws {
        guard let reference = try API.reference(repo: repo, tag: tag) else {
            throw APIError(400, "repository name must have at least one component")
        }
        let found = try image(name)
        try store.root.locked { try store.images.tag(found.id, as: reference) }
        store.journal.record(Event(type: "image", action: "tag", id: found.id, attributes: ["name": reference.description]))
    }

    /// The engine's report lines ("Untagged: x", "Deleted: sha256:…", either case) as docker's
    /// ImageDeleteResponseItem list.
    static func deleteItems(_ lines: [String]) -> [JSONValue] {
        lines.compactMap { line in
            for key in ["Untagged", "Deleted"] where line.lowercased().hasPrefix(key.lowercased() + ": ") {
                return .object([(key, .string(String(line.dropFirst(key.count + 2))))])
            }
            return nil
        }
    }

    /// DELETE /images/{name}: docker's `[{"Untagged": …}, {"Deleted": …}]`; 409 for an image a container
    /// was created from; `force` untags an image a container uses, and removes by id one named in several repositories.
    func removeImage(_ name: String, force: Bool) throws -> JSONValue {
        let found = try image(name)
        do {
            // The engine's remove, as `box rmi [-f]`: by name untags (force: even while a container uses it), by id
            // removes every name.
            let lines = try store.images.remove(API.familiar(name), users: try store.imageUsers(), force: force)
            for line in lines where line.hasPrefix("Deleted: ") || line.hasPrefix("Untagged: ") {
                let action = line.hasPrefix("Deleted") ? "delete" : "untag"
                store.journal.record(Event(type: "image", action: action, id: found.id, attributes: ["name": String(line.drop { $0 != " " }.dropFirst())]))
            }
            return .array(API.deleteItems(lines))
        } catch let e as BoxError where e.message.hasPrefix("conflict") {
            throw APIError(409, e.message)
        }
    }

    /// POST /images/prune: dangling images (all unused with dangling=false), docker's ImagesPruneReport.
    func pruneImages(_ r: Request) throws -> JSONValue {
        let filters = try Filters(r.query["filters"])
        try filters.check(["dangling"])
        let all = filters.values["dangling"].map { $0.contains { ["false", "0"].contains($0) } } ?? false
        let report = try ImagePrune(store: store.images).run(all: all, users: try store.imageUsers())
        return ["ImagesDeleted": .array(API.deleteItems(report.lines)), "SpaceReclaimed": .int(report.reclaimed)]
    }

    // MARK: save, load, import, commit

    /// GET /images/get?names=…: a docker-archive of the images, written to a file first (so a failure is an
    /// error answer, not half a tar) and then sent.
    func saveImages(_ names: [String], _ c: Connection) throws {
        guard !names.isEmpty else { throw APIError(400, "images/get needs at least one name (names=…)") }
        for name in names { _ = try image(name) }  // every name resolves before anything is written
        let save = ImageSave(store: store.images)
        let items = try save.items(names.map(API.familiar))
        try withTemporaryFile("save") { path in
            let tar = try TarWriter(path: path)
            try save.write(items, format: .docker, to: tar)
            c.sendFile(path, contentType: "application/x-tar")
        }
    }

    /// A file under the engine's tmp, removed after `body` (however it ends).
    func withTemporaryFile<T>(_ purpose: String, _ body: (String) throws -> T) throws -> T {
        try store.root.prepare()
        var template = Array((store.root.tmp + "/boxd-\(purpose)-XXXXXX").utf8CString)
        let fd = mkstemp(&template)
        guard fd >= 0 else { throw BoxError.sys(.store, "create a file in \(store.root.tmp)") }
        close(fd)
        let path = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        defer { unlink(path) }
        return try body(path)
    }

    /// The request's body written to a temporary file, for the engine's calls that read a tar from a path.
    func withBodyFile<T>(_ r: Request, _ purpose: String, _ body: (String) throws -> T) throws -> T {
        try withTemporaryFile(purpose) { path in
            try Files.rewrite(path, r.body, mode: 0o600)
            return try body(path)
        }
    }

    /// One line of docker's JSON message stream.
    static func message(_ key: String, _ text: String) -> [UInt8] {
        Array((JSONValue.object([(key, .string(text))]).compact(escapeHTML: false) + "\n").utf8)
    }

    /// POST /images/load: the archive in the body; docker's `{"stream":"Loaded image: …\n"}` lines.
    func loadImages(_ r: Request, _ c: Connection) throws {
        guard !r.body.isEmpty else { throw APIError(400, "images/load needs a tar archive in the request body") }
        let lines = try withBodyFile(r, "load") { path in
            let staging = try ImageStaging(store: store.images, purpose: "load")
            return try ImageLoad(store: store.images).load(.path(path), staging: staging)
        }
        for line in lines where line.hasPrefix("Loaded image") {
            store.journal.record(Event(type: "image", action: "load", id: String(line.drop { $0 != ":" }.dropFirst(2))))
        }
        c.respond(200, contentType: "application/json", body: lines.flatMap { API.message("stream", $0 + "\n") })
    }

    /// POST /images/create?fromSrc=-: `docker import`, the tar in the body; answers `{"status":"sha256:…"}`.
    func importImage(_ r: Request, _ c: Connection) throws {
        guard r.query["fromSrc"] == "-" else {
            throw APIError(400, "boxd imports from the request body only (fromSrc=-), not from a URL")
        }
        let reference = try API.reference(repo: r.query["repo"], tag: r.query["tag"])
        let message = r.query["message"] ?? ""
        let id = try withBodyFile(r, "import") { path in
            let staging = try ImageStaging(store: store.images, purpose: "import")
            return try ImageImport(store: store.images).run(path, reference: reference,
                                                            message: message.isEmpty ? "Imported from -" : message,
                                                            changes: r.all("changes"), staging: staging)
        }
        store.journal.record(Event(type: "image", action: "import", id: id))
        c.respond(200, contentType: "application/json", body: API.message("status", id))
    }

    /// POST /commit?container=…&repo=…&tag=…&comment=…&changes=…: 201 `{"Id":"sha256:…"}`.
    func commit(_ r: Request, _ c: Connection) throws {
        guard let name = r.query["container"], !name.isEmpty else { throw APIError(400, "commit needs container=NAME") }
        _ = try r.json()  // the config the CLI sends (empty from `docker commit`): malformed JSON is refused
        let reference = try API.reference(repo: r.query["repo"], tag: r.query["tag"])
        let container = try resolve(name)
        let id = try Engine.Commit(store: store).run(container, reference: reference, message: r.query["comment"] ?? "",
                                                     changes: r.all("changes").flatMap { $0.split(separator: "\n").map(String.init) })
        c.json(201, ["Id": .string(id)])
    }
}
