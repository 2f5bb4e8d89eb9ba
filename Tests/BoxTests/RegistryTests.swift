import Foundation
import Testing
import TestSupport
@testable import Engine
@testable import Registry

let needsRegistry = "needs root and Debian's docker-registry (apt-get install docker-registry; setup.sh --deps-only installs it)"

/// `box push` and `box pull` (issue 20) against Debian's docker-registry on loopback, skopeo on the other end,
/// and a fake registry for what a real one never does (wrong digests, a connection cut mid-layer).
@Suite("Registry: box push and pull", .enabled(if: isRoot && LocalRegistry.installed, Comment(rawValue: needsRegistry)),
       .timeLimit(.minutes(5)))
struct RegistryTests {
    /// busybox:latest made in `box` and named `NAME` (the test's push target).
    func tagged(_ box: Sandbox, _ name: String) throws -> String {
        #expect(try box.run("images", "-q").status == 0)
        let r = try box.run("tag", "busybox", name)
        #expect(r.status == 0, "box tag: \(r.stderr)")
        return try box.inspect(name, "{{.Id}}")
    }

    @Test("push, commit and push again: only the new layer is uploaded; a fresh root pulls the same image id")
    func roundTrip() throws {
        let a = try Sandbox()
        let registry = try LocalRegistry(in: a)
        let name = "\(registry.address)/me/app"
        let baseID = try tagged(a, name + ":1")
        let first = try a.run("push", name + ":1")
        #expect(first.status == 0, "push: \(first.stderr)")
        #expect(first.stdout.contains("The push refers to repository [\(name)]"))
        #expect(first.stdout.contains(": Pushed"))
        let digest1 = try #require(first.stdout.split(separator: "\n").first { $0.hasPrefix("1: digest: sha256:") })
        let manifest1 = String(digest1.split(separator: " ")[2])
        let baseLayers = try ImageStore(root: a.engineRoot).config(baseID).rootfs.diff_ids
        // The registry keeps manifests as blobs too.
        #expect(registry.blobs == Set(baseLayers + [baseID, manifest1]), "the registry holds the layers, the config and the manifest, nothing else")

        // One more layer: a file in a container, committed.
        #expect(try a.run("run", "--name", "c", "busybox", "sh", "-c", "echo hello > /greeting").status == 0)
        #expect(try a.run("commit", "c", name + ":2").status == 0)
        let newID = try a.inspect(name + ":2", "{{.Id}}")
        let newLayers = try ImageStore(root: a.engineRoot).config(newID).rootfs.diff_ids
        #expect(newLayers.count == baseLayers.count + 1)
        let before = registry.blobs
        let uploadsBefore = registry.requests.filter { $0.contains("\"PUT /v2/me/app/blobs/uploads/") }.count
        let second = try a.run("push", name + ":2")
        #expect(second.status == 0, "second push: \(second.stderr)")
        let lines = second.stdout.split(separator: "\n")
        #expect(lines.filter { $0.hasSuffix(": Layer already exists") }.count == baseLayers.count, "\(second.stdout)")
        #expect(lines.filter { $0.hasSuffix(": Pushed") }.count == 1, "\(second.stdout)")
        // From the registry's own storage and log: exactly the new layer, the new config and the manifest arrived.
        let manifest2 = String(try #require(lines.first { $0.hasPrefix("2: digest: ") }).split(separator: " ")[2])
        #expect(registry.blobs.subtracting(before) == [newLayers.last!, newID, manifest2])
        let uploads = registry.requests.filter { $0.contains("\"PUT /v2/me/app/blobs/uploads/") }.count - uploadsBefore
        #expect(uploads == 2, "blob uploads in the registry's log: one layer and one config")

        // A fresh engine root pulls the image: same id, the file is there.
        let b = try Sandbox()
        let pull = try b.run("pull", name + ":2")
        #expect(pull.status == 0, "pull: \(pull.stderr)")
        #expect(pull.stdout.contains("Status: Downloaded newer image for \(name):2"))
        #expect(try b.inspect(name + ":2", "{{.Id}}") == newID)
        #expect(pull.stdout.contains("Digest: \(manifest2)"), "pull's Digest is push's manifest digest")
        let cat = try b.run("run", "--rm", name + ":2", "cat", "/greeting")
        #expect(cat.out == "hello", "\(cat.stderr)")
        // Pulling what is there downloads nothing.
        let gets = registry.requests.filter { $0.contains("\"GET /v2/me/app/blobs/") }.count
        let again = try b.run("pull", name + ":2")
        #expect(again.status == 0)
        #expect(again.stdout.contains("Status: Image is up to date for \(name):2"), "\(again.stdout)")
        #expect(registry.requests.filter { $0.contains("\"GET /v2/me/app/blobs/") }.count == gets, "no blob downloaded again")
        // The base image by digest: its layers are there already, only the config is fetched; no tag.
        let byDigest = try b.run("pull", name + "@" + manifest1)
        #expect(byDigest.status == 0, "\(byDigest.stderr)")
        #expect(byDigest.stdout.contains("Already exists"))
        #expect(try b.run("inspect", baseID).status == 0)
        #expect(try ImageStore(root: b.engineRoot).list().first { $0.id == baseID }?.names == [], "a pull by digest tags nothing")
        registry.stop()
    }

    @Test("skopeo reads what box pushed, and box pulls what skopeo pushed (gzip layers, docker schema 2)")
    func skopeo() throws {
        let a = try Sandbox()
        let registry = try LocalRegistry(in: a)
        let id = try tagged(a, "\(registry.address)/box/made:1")
        let push = try a.run("push", "\(registry.address)/box/made:1")
        #expect(push.status == 0, "\(push.stderr)")
        let inspect = try Sandbox.exec(["/usr/bin/skopeo", "inspect", "--tls-verify=false", "docker://\(registry.address)/box/made:1"])
        #expect(inspect.status == 0, "skopeo inspect: \(inspect.stderr)")
        let digest = push.stdout.split(separator: "\n").first { $0.hasPrefix("1: digest: ") }?.split(separator: " ")[2]
        #expect(digest.map { inspect.stdout.contains("\"Digest\": \"\($0)\"") } == true, "\(inspect.stdout)")
        let config = try Sandbox.exec(["/usr/bin/skopeo", "inspect", "--config", "--raw", "--tls-verify=false", "docker://\(registry.address)/box/made:1"])
        #expect(config.status == 0 && LayerArchive.sha256(Array(config.stdout.utf8)) == id, "the config skopeo reads is the image's")

        // skopeo pushes box's saved image with gzip-compressed layers under a docker schema 2 manifest.
        let dir = try a.scratch("skopeo")
        #expect(try a.run("save", "-o", dir + "/busybox.tar", "busybox").status == 0)
        let copy = try Sandbox.exec(["/usr/bin/skopeo", "copy", "--dest-tls-verify=false", "--format", "v2s2",
                                     "docker-archive:\(dir)/busybox.tar", "docker://\(registry.address)/sk/busybox:v2"])
        #expect(copy.status == 0, "skopeo copy: \(copy.stderr)")
        let b = try Sandbox()
        let pull = try b.run("pull", "\(registry.address)/sk/busybox:v2")
        #expect(pull.status == 0, "pull of skopeo's push: \(pull.stderr)")
        #expect(try b.inspect("\(registry.address)/sk/busybox:v2", "{{.Id}}") == id, "gzip on the wire, the same image id in box")
        let raw = try Sandbox.exec(["/usr/bin/skopeo", "inspect", "--raw", "--tls-verify=false", "docker://\(registry.address)/sk/busybox:v2"])
        #expect(raw.stdout.contains("application/vnd.docker.distribution.manifest.v2+json") && raw.stdout.contains("tar.gzip"))
        #expect(try b.run("run", "--rm", "\(registry.address)/sk/busybox:v2", "true").status == 0)
        registry.stop()
    }

    @Test("a layer another repository of the registry has is mounted from it, not sent again")
    func mount() throws {
        let a = try Sandbox()
        let registry = try LocalRegistry(in: a)
        _ = try tagged(a, "\(registry.address)/team/one:1")
        #expect(try a.run("push", "\(registry.address)/team/one:1").status == 0)
        #expect(try a.run("tag", "busybox", "\(registry.address)/team/two:1").status == 0)
        let uploads = { registry.requests.filter { $0.contains("\"PUT /v2/team/two/blobs/uploads/") }.count }
        let push = try a.run("push", "\(registry.address)/team/two:1")
        #expect(push.status == 0, "\(push.stderr)")
        let layers = try ImageStore(root: a.engineRoot).resolve("busybox").config.rootfs.diff_ids
        #expect(push.stdout.split(separator: "\n").filter { $0.hasSuffix(": Mounted from team/one") }.count == layers.count, "\(push.stdout)")
        #expect(uploads() == 1, "only the config is uploaded to team/two; its layers are mounted")
        let b = try Sandbox()
        #expect(try b.run("pull", "\(registry.address)/team/two:1").status == 0, "team/two pulls whole")
        registry.stop()
    }

    @Test("a chunked upload (PATCH with Content-Range) stores the same image as a monolithic one")
    func chunked() throws {
        let a = try Sandbox()
        let registry = try LocalRegistry(in: a)
        let id = try tagged(a, "\(registry.address)/in/parts:1")
        let layer = try ImageStore(root: a.engineRoot).pushable("busybox").layers[0]
        let chunk = layer.size / 3 + 1
        let push = try a.run("push", "--chunk-size", String(chunk), "\(registry.address)/in/parts:1")
        #expect(push.status == 0, "\(push.stderr)")
        let patches = registry.requests.filter { $0.contains("\"PATCH /v2/in/parts/blobs/uploads/") }.count
        #expect(patches == 3, "three chunks of the \(layer.size)-byte layer (the config goes in one PUT): \(patches) PATCH requests")
        let b = try Sandbox()
        #expect(try b.run("pull", "\(registry.address)/in/parts:1").status == 0)
        #expect(try b.inspect("\(registry.address)/in/parts:1", "{{.Id}}") == id)
        registry.stop()
    }

    @Test("a real docker pulls what box pushed: the same image id, and it runs")
    func docker() throws {
        let a = try Sandbox()
        let registry = try LocalRegistry(in: a)
        guard let dockerd = Dockerd(purpose: "registry") else {
            print("skipped the docker comparison: docker.io is not installed here")
            return
        }
        defer { dockerd.stop() }
        #expect(try a.run("run", "--name", "c", "busybox", "sh", "-c", "echo from-box > /origin").status == 0)
        #expect(try a.run("commit", "c", "\(registry.address)/to/docker:1").status == 0)
        let id = try a.inspect("\(registry.address)/to/docker:1", "{{.Id}}")
        #expect(try a.run("push", "\(registry.address)/to/docker:1").status == 0)
        // 127.0.0.0/8 is an insecure registry to docker too: plain HTTP, no flag needed.
        let pull = try dockerd.docker(["pull", "\(registry.address)/to/docker:1"])
        #expect(pull.status == 0, "docker pull: \(pull.stderr)")
        #expect(try dockerd.docker(["inspect", "--format", "{{.Id}}", "\(registry.address)/to/docker:1"]).out == id)
        let run = try dockerd.docker(["run", "--rm", "--network", "none", "\(registry.address)/to/docker:1", "cat", "/origin"])
        #expect(run.out == "from-box", "\(run.stderr)")
        registry.stop()
    }

    @Test("a multi-platform image (an OCI index): box pulls this machine's")
    func index() throws {
        let a = try Sandbox()
        let registry = try LocalRegistry(in: a)
        let id = try tagged(a, "\(registry.address)/multi/app:1")
        #expect(try a.run("push", "\(registry.address)/multi/app:1").status == 0)
        let manifest = try Sandbox.exec(["/usr/bin/skopeo", "inspect", "--raw", "--tls-verify=false", "docker://\(registry.address)/multi/app:1"])
        let bytes = Array(manifest.stdout.utf8)
        let other = "riscv64"
        // An index naming the image for this machine and one for another (the same manifest: only the entry differs).
        let index = """
        {"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[\
        {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"\(LayerArchive.sha256(bytes))","size":\(bytes.count),"platform":{"architecture":"\(other)","os":"linux"}},\
        {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"\(LayerArchive.sha256(bytes))","size":\(bytes.count),"platform":{"architecture":"\(ImageConfig.hostArchitecture)","os":"linux"}}]}
        """
        let put = try Sandbox.exec(["/usr/bin/curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "-X", "PUT",
                                    "-H", "Content-Type: application/vnd.oci.image.index.v1+json", "--data-binary", index,
                                    "http://\(registry.address)/v2/multi/app/manifests/all"])
        #expect(put.out == "201", "PUT the index: \(put.stdout) \(put.stderr)")
        let b = try Sandbox()
        let pull = try b.run("pull", "\(registry.address)/multi/app:all")
        #expect(pull.status == 0, "\(pull.stderr)")
        #expect(pull.stdout.contains("Digest: \(LayerArchive.sha256(Array(index.utf8)))"), "the digest shown is the index's")
        #expect(try b.inspect("\(registry.address)/multi/app:all", "{{.Id}}") == id)
        registry.stop()
    }

    @Test("a tag the registry does not have, and a registry that is not there: clear errors, nothing stored")
    func notFound() throws {
        let a = try Sandbox()
        let registry = try LocalRegistry(in: a)
        #expect(try a.run("images", "-q").status == 0)
        let before = a.storeListing()
        let missing = try a.run("pull", "\(registry.address)/no/such:1")
        #expect(missing.status == 1, "docker pull exits 1 for a registry's refusal")
        #expect(missing.stderr.contains("has no no/such:1"), "\(missing.stderr)")
        // The registry's port is not a tag: the default tag is said.
        let untagged = try a.run("pull", "\(registry.address)/no/such")
        #expect(untagged.status == 1 && untagged.stdout.contains("Using default tag: latest"), "\(untagged.stdout)")
        #expect(untagged.stderr.contains("has no no/such:latest"), "\(untagged.stderr)")
        let bogus = try a.run("pull", "--bogus", "\(registry.address)/no/such:1")
        #expect(bogus.status == 125, "a flag box does not know exits 125, as docker's: \(bogus.stderr)")
        let port = try freeLoopbackPort()
        let nobody = try a.run("pull", "127.0.0.1:\(port)/me/app:1")
        #expect(nobody.status == 1, "docker pull exits 1 for a registry that is not there")
        #expect(nobody.stderr.contains("connection refused") && nobody.stderr.contains("is the registry running"), "\(nobody.stderr)")
        #expect(a.storeListing() == before, "a failed pull changes nothing in the store")
        let push = try a.run("push", "\(registry.address)/not/here:1")
        #expect(push.status == 1 && push.stderr.contains("does not exist locally"), "\(push.stderr)")
        registry.stop()
    }

    /// The blobs of box's busybox, served by a fake registry that can lie about them.
    struct Served {
        var config: [UInt8]
        var layer: [UInt8]
        var manifest: [UInt8]
        var id: String
        var layerDigest: String
        var manifestDigest: String
    }

    func served(_ a: Sandbox) throws -> Served {
        #expect(try a.run("images", "-q").status == 0)
        let image = try ImageStore(root: a.engineRoot).pushable("busybox")
        let layer = try #require(FileManager.default.contents(atPath: image.layers[0].path))
        return Served(config: try Files.read(image.config.path), layer: Array(layer), manifest: image.manifest,
                      id: image.image.id, layerDigest: image.layers[0].digest, manifestDigest: image.manifestDigest)
    }

    /// A registry serving `s` as me/app (any tag), with `manifest` or `layer` in place of the real ones.
    /// `authorized`: whether a request may be answered (a 401 `challenge` otherwise).
    func fake(_ s: Served, manifest: [UInt8]? = nil, layer: FakeRegistry.Reply? = nil,
              authorized: @escaping @Sendable ([String: String]) -> Bool = { _ in true }, challenge: String = "") throws -> FakeRegistry {
        try FakeRegistry { request in
            guard authorized(request.headers) else { return .init(status: 401, headers: [("WWW-Authenticate", challenge)]) }
            let path = request.path
            if path == "/v2/" { return .init() }
            if path.contains("/manifests/") {
                return .init(headers: [("Content-Type", Distribution.ociManifest)], body: manifest ?? s.manifest)
            }
            if path.hasSuffix(s.id) { return .init(body: s.config) }
            if path.hasSuffix(s.layerDigest) { return layer ?? .init(body: s.layer) }
            return .init(status: 404, body: Array(#"{"errors":[{"code":"BLOB_UNKNOWN","message":"blob unknown to registry"}]}"#.utf8))
        }
    }

    /// A fresh root after `box images` (busybox is built there); the pull must fail, change nothing, tag nothing.
    func failingPull(_ name: String, from server: FakeRegistry, says: String) throws {
        let b = try Sandbox()
        #expect(try b.run("images", "-q").status == 0)
        // Its busybox would make the layer "Already exists": remove it, so the pull has to download.
        #expect(try b.run("rmi", "busybox").status == 0)
        let before = b.storeListing()
        let r = try b.run("pull", "\(server.address)/\(name)")
        #expect(r.status == 1, "the pull must fail, with docker's exit code: \(r.stdout)")
        #expect(r.stderr.contains(says), "\(r.stderr)")
        #expect(r.stderr.contains("nothing was stored") || r.stderr.contains("box pull again"), "the error says what to do: \(r.stderr)")
        #expect(b.storeListing() == before, "nothing half-stored, no tag")
    }

    @Test("a manifest whose digest is not the one asked for is refused")
    func badManifest() throws {
        let a = try Sandbox()
        let s = try served(a)
        var changed = s.manifest
        changed.insert(UInt8(ascii: " "), at: changed.count - 1)  // the same JSON, other bytes: another digest
        let server = try fake(s, manifest: changed)
        try failingPull("me/app@\(s.manifestDigest)", from: server, says: "not the one asked for")
        server.stop()
    }

    @Test("a manifest with a negative size is refused, not a crash")
    func negativeSize() throws {
        let a = try Sandbox()
        let s = try served(a)
        for field in ["config", "layers"] {
            var json = try #require(try JSONSerialization.jsonObject(with: Data(s.manifest)) as? [String: Any])
            if field == "config" {
                var config = try #require(json["config"] as? [String: Any])
                config["size"] = -5
                json["config"] = config
            } else {
                var layers = try #require(json["layers"] as? [[String: Any]])
                layers[0]["size"] = -5
                json["layers"] = layers
            }
            let server = try fake(s, manifest: Array(try JSONSerialization.data(withJSONObject: json)))
            try failingPull("me/app:1", from: server, says: "is -5 bytes")
            server.stop()
        }
    }

    @Test("a layer whose sha256 is not its digest is refused, before it is unpacked")
    func badLayer() throws {
        let a = try Sandbox()
        let s = try served(a)
        var layer = s.layer
        layer[layer.count / 2] ^= 0xff
        let server = try fake(s, layer: .init(body: layer))
        try failingPull("me/app:1", from: server, says: "arrived with sha256")
        server.stop()
    }

    @Test("a connection cut in the middle of a layer: an error that says so, nothing stored")
    func droppedConnection() throws {
        let a = try Sandbox()
        let s = try served(a)
        let server = try fake(s, layer: .init(body: s.layer, cutAfter: s.layer.count / 3))
        try failingPull("me/app:1", from: server, says: "box pull again")
        #expect(server.paths.contains("GET /v2/me/app/blobs/\(s.layerDigest)"))
        server.stop()
    }

    @Test("a retry after a failed pull does not download again the layers that arrived whole")
    func resume() throws {
        let a = try Sandbox()
        #expect(try a.run("run", "--name", "c", "busybox", "sh", "-c", "echo two > /two").status == 0)
        #expect(try a.run("commit", "c", "two:layers").status == 0)
        let image = try ImageStore(root: a.engineRoot).pushable("two:layers")
        let blobs = try image.layers.map { Array(try Files.read($0.path)) }
        let config = try Files.read(image.config.path)
        let manifest = image.manifest, layers = image.layers.map(\.digest), id = image.image.id
        let attempts = FakeRegistry.Recorder()
        let server = try FakeRegistry { request in
            let path = request.path
            if path.contains("/manifests/") { return .init(headers: [("Content-Type", Distribution.ociManifest)], body: manifest) }
            if path.hasSuffix(id) { return .init(body: config) }
            if path.hasSuffix(layers[0]) { return .init(body: blobs[0]) }
            if path.hasSuffix(layers[1]) {
                attempts.add(path)
                // The first two times, the connection breaks in the middle of the second layer.
                return attempts.lines.count <= 2 ? .init(body: blobs[1], cutAfter: blobs[1].count / 2) : .init(body: blobs[1])
            }
            return .init(status: 404)
        }
        let b = try Sandbox()
        let first = try b.run("pull", "\(server.address)/me/two:1")
        #expect(first.status != 0 && first.stderr.contains("box pull again"), "\(first.stderr)")
        #expect(try ImageStore(root: b.engineRoot).list().isEmpty, "nothing stored after the failure")
        // A retry that fails again keeps what it resumed from, for the next one.
        let second = try b.run("pull", "\(server.address)/me/two:1")
        #expect(second.status != 0 && second.stderr.contains("box pull again"), "\(second.stderr)")
        let third = try b.run("pull", "\(server.address)/me/two:1")
        #expect(third.status == 0, "\(third.stderr)")
        #expect(try b.inspect("\(server.address)/me/two:1", "{{.Id}}") == id)
        #expect(server.paths.filter { $0.hasSuffix(layers[0]) }.count == 1, "the first layer was downloaded once: \(server.paths)")
        #expect(server.paths.filter { $0.hasSuffix(layers[1]) }.count == 3)
        #expect((try? FileManager.default.contentsOfDirectory(atPath: b.root + "/tmp/pull-blobs")) ?? [] == [], "the kept layers go once the pull is complete")
        server.stop()
    }

    @Test("a blob redirected to another origin that answers 401: the registry's credentials never go there, the pull fails saying so")
    func redirectKeepsCredentials() throws {
        let a = try Sandbox()
        let s = try served(a)
        let seen = FakeRegistry.Recorder()
        let storage = try FakeRegistry { request in
            seen.add(request.headers["authorization"] ?? "none")
            return .init(status: 401, headers: [("WWW-Authenticate", #"Basic realm="storage""#)])
        }
        let basic = "Basic " + Data("teacher:s3cret".utf8).base64EncodedString()
        let server = try fake(s, layer: .init(status: 307, headers: [("Location", "http://\(storage.address)/v2/me/app/blobs/\(s.layerDigest)")]),
                              authorized: { $0["authorization"] == basic }, challenge: #"Basic realm="registry""#)
        let env = ["BOX_CONFIG": try a.scratch("config")]
        let login = try a.run(["login", "-u", "teacher", "--password-stdin", server.address], input: "s3cret\n", environment: env)
        #expect(login.status == 0, "\(login.stderr)")
        let b = try Sandbox()
        #expect(try b.run(["images", "-q"], environment: env).status == 0)
        #expect(try b.run(["rmi", "busybox"], environment: env).status == 0)
        let before = b.storeListing()
        let r = try b.run(["pull", "\(server.address)/me/app:1"], environment: env)
        #expect(r.status == 1, "the pull must fail: \(r.stdout)")
        #expect(r.stderr.contains("http://\(storage.address)") && r.stderr.contains("asks for credentials"), "\(r.stderr)")
        #expect(!seen.lines.isEmpty && seen.lines.allSatisfy { $0 == "none" }, "the other origin saw: \(seen.lines)")
        #expect(b.storeListing() == before)
        storage.stop()
        server.stop()
    }

    @Test("an upload Location on another origin gets no Authorization header")
    func uploadElsewhereKeepsCredentials() throws {
        let a = try Sandbox()
        let seen = FakeRegistry.Recorder()
        let uploads = try FakeRegistry { request in
            seen.add(request.headers["authorization"] ?? "none")
            return .init(status: 201)
        }
        let basic = "Basic " + Data("teacher:s3cret".utf8).base64EncodedString()
        let server = try FakeRegistry { request in
            guard request.headers["authorization"] == basic else {
                return .init(status: 401, headers: [("WWW-Authenticate", #"Basic realm="registry""#)])
            }
            if request.path == "/v2/" { return .init() }
            if request.method == "HEAD" { return .init(status: 404) }
            // The same repository's path, so a cache keyed by repository alone would match it.
            if request.method == "POST" { return .init(status: 202, headers: [("Location", "http://\(uploads.address)/v2/me/app/blobs/uploads/1")]) }
            if request.method == "PUT", request.path.contains("/manifests/") { return .init(status: 201) }
            return .init(status: 400)
        }
        let env = ["BOX_CONFIG": try a.scratch("config")]
        let name = "\(server.address)/me/app:1"
        _ = try tagged(a, name)
        let login = try a.run(["login", "-u", "teacher", "--password-stdin", server.address], input: "s3cret\n", environment: env)
        #expect(login.status == 0, "\(login.stderr)")
        let push = try a.run(["push", name], environment: env)
        #expect(push.status == 0, "\(push.stderr)")
        #expect(!seen.lines.isEmpty && seen.lines.allSatisfy { $0 == "none" }, "the upload origin saw: \(seen.lines)")
        uploads.stop()
        server.stop()
    }

    @Test("login with htpasswd: refused without, a wrong password refused, credentials 0600, logout forgets them")
    func login() throws {
        let a = try Sandbox()
        let registry = try LocalRegistry(in: a, htpasswd: ("teacher", "s3cret"))
        let config = try a.scratch("config")
        let env = ["BOX_CONFIG": config]
        let name = "\(registry.address)/class/app:1"
        _ = try tagged(a, name)
        let anonymous = try a.run(["push", name], environment: env)
        #expect(anonymous.status != 0 && anonymous.stderr.contains("box login \(registry.address)"), "\(anonymous.stderr)")
        let wrong = try a.run(["login", "-u", "teacher", "--password-stdin", registry.address], input: "nope\n", environment: env)
        #expect(wrong.status != 0 && wrong.stderr.contains("refused"), "\(wrong.stderr)")
        #expect(!FileManager.default.fileExists(atPath: config + "/config.json"), "a refused login keeps nothing")
        let right = try a.run(["login", "-u", "teacher", "--password-stdin", registry.address], input: "s3cret\n", environment: env)
        #expect(right.status == 0 && right.stdout.contains("Login Succeeded"), "\(right.stderr)")
        var st = stat()
        #expect(stat(config + "/config.json", &st) == 0 && st.st_mode & 0o777 == 0o600)
        let push = try a.run(["push", name], environment: env)
        #expect(push.status == 0, "\(push.stderr)")
        let b = try Sandbox()
        #expect(try b.run(["pull", name], environment: env).status == 0)
        let out = try a.run(["logout", registry.address], environment: env)
        #expect(out.stdout.contains("Removing login credentials for \(registry.address)"))
        let c = try Sandbox()
        let denied = try c.run(["pull", name], environment: env)
        #expect(denied.status != 0 && denied.stderr.contains("box login"), "\(denied.stderr)")
        registry.stop()
    }

    @Test("login and logout change auths[REGISTRY] only: docker's other keys stay as they were")
    func loginKeepsOtherKeys() throws {
        let a = try Sandbox()
        let server = try FakeRegistry { _ in .init() }
        let config = try a.scratch("config")
        let others = #"""
        {"credsStore":"desktop","credHelpers":{"gcr.io":"gcloud"},"proxies":{"default":{"httpProxy":"http://proxy:3128"}},"HttpHeaders":{"X-Meta":"1"},"auths":{"other.example":{"auth":"dTpw","identitytoken":"tok"}}}
        """#
        try others.write(toFile: config + "/config.json", atomically: false, encoding: .utf8)
        let env = ["BOX_CONFIG": config]
        let login = try a.run(["login", "-u", "teacher", "--password-stdin", server.address], input: "s3cret\n", environment: env)
        #expect(login.status == 0, "\(login.stderr)")
        let after = try JSONValue.parse(bytes: try Files.read(config + "/config.json"))
        let before = try JSONValue.parse(others)
        for key in ["credsStore", "credHelpers", "proxies", "HttpHeaders"] { #expect(after[key] == before[key], "\(key)") }
        #expect(after["auths"]?["other.example"] == before["auths"]?["other.example"])
        #expect(after["auths"]?[server.address]?["auth"] == .string(Data("teacher:s3cret".utf8).base64EncodedString()))
        var st = stat()
        #expect(stat(config + "/config.json", &st) == 0 && st.st_mode & 0o777 == 0o600)
        let logout = try a.run(["logout", server.address], environment: env)
        #expect(logout.status == 0, "\(logout.stderr)")
        #expect(try JSONValue.parse(bytes: try Files.read(config + "/config.json")) == before, "logout leaves the file as it was before login")
        #expect(try FileManager.default.contentsOfDirectory(atPath: config) == ["config.json"], "no temporary file left")
        server.stop()
    }

    @Test("a bearer-token registry: the token server gets the credentials, the registry the token")
    func bearer() throws {
        let a = try Sandbox()
        let s = try served(a)
        let token = "tok-\(getpid())"
        let basic = "Basic " + Data("teacher:s3cret".utf8).base64EncodedString()
        let tokenServer = try FakeRegistry { request in
            // Only the scope the registry's challenge named, and only with the right user and password.
            request.path.contains("scope=repository%3Ame%2Fapp%3Apull") && request.path.contains("service=fake")
                && request.headers["authorization"] == basic
                ? .init(body: Array(#"{"token":"\#(token)"}"#.utf8)) : .init(status: 401)
        }
        let server = try fake(s, authorized: { $0["authorization"] == "Bearer " + token },
                              challenge: #"Bearer realm="http://\#(tokenServer.address)/token",service="fake",scope="repository:me/app:pull""#)
        let config = try a.scratch("config")
        let env = ["BOX_CONFIG": config]
        let b = try Sandbox()
        let anonymous = try b.run(["pull", "\(server.address)/me/app:1"], environment: env)
        #expect(anonymous.status != 0 && anonymous.stderr.contains("box login \(server.address)"), "\(anonymous.stderr)")
        let login = try b.run(["login", "-u", "teacher", "--password-stdin", server.address], input: "s3cret", environment: env)
        #expect(login.status == 0, "\(login.stderr)")
        let pull = try b.run(["pull", "\(server.address)/me/app:1"], environment: env)
        #expect(pull.status == 0, "\(pull.stderr)")
        #expect(try b.inspect("\(server.address)/me/app:1", "{{.Id}}") == s.id)
        #expect(tokenServer.paths.allSatisfy { $0.hasPrefix("GET /token?") } && !tokenServer.paths.isEmpty)
        tokenServer.stop()
        server.stop()
    }
}

@Suite("Registry: names and challenges")
struct RegistryNameTests {
    @Test("names: registry, repository and the name box stores, as docker resolves them")
    func names() throws {
        let hub = try RemoteReference(parsing: "busybox")
        #expect(hub.registry == "docker.io" && hub.repository == "library/busybox" && hub.local?.description == "busybox:latest")
        let full = try RemoteReference(parsing: "docker.io/library/busybox:1.36")
        #expect(full.registry == "docker.io" && full.repository == "library/busybox" && full.local?.description == "busybox:1.36")
        let user = try RemoteReference(parsing: "me/app:2")
        #expect(user.registry == "docker.io" && user.repository == "me/app" && user.tag == "2")
        let local = try RemoteReference(parsing: "localhost:5000/me/app:1")
        #expect(local.registry == "localhost:5000" && local.repository == "me/app" && local.local?.description == "localhost:5000/me/app:1")
        let digest = "sha256:" + String(repeating: "ab", count: 32)
        let pinned = try RemoteReference(parsing: "127.0.0.1:5000/app@" + digest)
        #expect(pinned.digest == digest && pinned.tag == nil && pinned.local == nil && pinned.manifestReference == digest)
        #expect(throws: BoxError.self) { try RemoteReference(parsing: "app@sha256:xyz") }
        #expect(throws: BoxError.self) { try RemoteReference(parsing: "Me/App") }
        #expect(RegistryEndpoint(registry: "localhost:5000").baseURL == "http://localhost:5000")
        #expect(RegistryEndpoint(registry: "127.0.0.1:5000").secure == false)
        #expect(RegistryEndpoint(registry: "10.0.0.5:5000").baseURL == "https://10.0.0.5:5000")
        #expect(RegistryEndpoint(registry: "10.0.0.5:5000", insecure: ["10.0.0.5:5000"]).baseURL == "http://10.0.0.5:5000")
        #expect(RegistryEndpoint(registry: "docker.io").baseURL == "https://registry-1.docker.io")
    }

    @Test("credentials belong to an origin: scheme, host and port")
    func origins() {
        #expect(RegistryClient.origin(of: "https://Reg.example/v2/") == "https://reg.example:443")
        #expect(RegistryClient.origin(of: "https://reg.example:443/x") == RegistryClient.origin(of: "https://reg.example/y"))
        #expect(RegistryClient.origin(of: "http://reg.example/v2/") != RegistryClient.origin(of: "https://reg.example/v2/"))
        #expect(RegistryClient.origin(of: "http://127.0.0.1:5000/v2/") != RegistryClient.origin(of: "http://127.0.0.1:5001/v2/"))
        #expect(RegistryClient.origin(of: "https://user@other.example/v2/") == "https://other.example:443")
    }

    @Test("WWW-Authenticate challenges are read as RFC 7235 says")
    func challenges() {
        let (scheme, p) = RegistryClient.parseChallenge(#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull,push""#)
        #expect(scheme == "Bearer")
        #expect(p == ["realm": "https://auth.docker.io/token", "service": "registry.docker.io", "scope": "repository:library/busybox:pull,push"])
        let (basic, q) = RegistryClient.parseChallenge(#"Basic realm="box-test""#)
        #expect(basic == "Basic" && q["realm"] == "box-test")
    }
}
