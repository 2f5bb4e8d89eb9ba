#if canImport(Glibc)
import Glibc
#endif
import Engine

/// POST /build: docker's classic builder's API (what `DOCKER_BUILDKIT=0 docker build` sends): the context
/// as a tar in the body, the Dockerfile's name in `dockerfile`, names in `t`; the answer is the JSON stream of
/// `{"stream": …}` lines, `{"aux": {"ID": …}}` and, if a step fails, `{"error": …, "errorDetail": …}`.
/// box's builder (Engine/Containers/Build.swift) runs the steps.
extension API {
    func build(_ r: Request, _ c: Connection) throws {
        let tags = try r.all("t").compactMap { try API.reference(repo: $0, tag: nil) }  // bad names: refused before any work
        guard !r.body.isEmpty else { throw APIError(400, "build needs the context as a tar in the request body") }
        if let remote = r.query["remote"], !remote.isEmpty {
            throw APIError(400, "boxd builds from the context in the request body, not from \(remote)")
        }
        let quiet = r.flag("q")
        try withBodyFile(r, "build") { tar in
            let staging = try ImageStaging(store: store.images, purpose: "build")
            let context = staging.dir + "/context"
            try Files.mkdirs(context)
            try LayerArchive.extract(tar, into: context, mode: .plain)
            let named = r.query["dockerfile"].flatMap { $0.isEmpty ? nil : $0 }
            let candidates = named.map { [$0] } ?? ["Dockerfile", "Boxfile"]
            guard let file = try candidates.map({ try ScopedPath.resolve($0, in: context) }).first(where: Files.exists),
                  let text = Files.readIfPresent(file) else {
                throw APIError(400, "Cannot locate specified Dockerfile: \(named ?? "Dockerfile")")
            }
            let instructions = try Builder.parse(text)
            c.startStream(contentType: "application/json")
            do {
                let id = try Builder(store: store).build(instructions, context: context, tag: tags.first,
                                                         useCache: !r.flag("nocache")) { line in
                    if !quiet || line.hasPrefix("Successfully") { c.chunk(API.message("stream", line + "\n")) }
                }
                try store.root.locked { for tag in tags.dropFirst() { try store.images.tag(id, as: tag) } }
                c.chunk(Array((JSONValue.object([("aux", ["ID": .string(id)])]).compact() + "\n").utf8))
            } catch {
                let message = (error as? BoxError)?.message ?? "\(error)"
                c.chunk(Array((JSONValue.object([("errorDetail", ["message": .string(message)]), ("error", .string(message))]).compact(escapeHTML: false) + "\n").utf8))
            }
            c.endStream()
        }
    }
}
