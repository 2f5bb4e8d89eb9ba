import Foundation
import Testing
@testable import Engine

/// skopeo and umoci, the reference tools for docker-archive and OCI layouts, installed by setup.sh. In CI
/// (CI=true) they must be there; elsewhere the suite skips itself without them. Local files only: no registry.
let interopTools = ["/usr/bin/skopeo", "/usr/bin/umoci"].allSatisfy { FileManager.default.isExecutableFile(atPath: $0) }
let interopRequired = ProcessInfo.processInfo.environment["CI"] == "true"

@Suite("Images: interop with skopeo and umoci", .enabled(if: isRoot, Comment(rawValue: needsRoot)),
       .enabled(if: interopTools || interopRequired, "skopeo and umoci are not installed (sudo ./setup.sh --deps-only)"))
struct InteropTests {
    /// busybox plus one committed layer holding /root/note.
    func noteImage(_ box: Sandbox) throws -> (id: String, diffIDs: JSONValue) {
        try box.run("run", "--name", "maker", "busybox", "sh", "-c", "echo hello > /root/note")
        let id = try box.run("commit", "-m", "a note", "maker", "notes:v1").out
        return (id, try JSONValue.parse(try box.inspect("notes:v1", "{{json .RootFS.Layers}}")))
    }

    static func skopeo(_ args: String...) throws -> Sandbox.Result {
        try Sandbox.exec(["/usr/bin/skopeo", "--insecure-policy"] + args)
    }

    @Test("skopeo inspect reads box save's docker-archive: the config digest is the image id, the layers the diff_ids")
    func skopeoInspect() throws {
        let box = try Sandbox()
        let (id, diffIDs) = try noteImage(box)
        let dir = try box.scratch("skopeo")
        #expect(try box.run("save", "-o", dir + "/notes.tar", "notes:v1").status == 0)
        let raw = try InteropTests.skopeo("inspect", "--raw", "docker-archive:\(dir)/notes.tar")
        #expect(raw.status == 0, "\(raw.stderr)")
        let manifest = try JSONValue.parse(raw.stdout)
        #expect(manifest["config"]?["digest"] == .string(id))
        guard case .array(let layers) = manifest["layers"] else { Issue.record("no layers: \(raw.stdout)"); return }
        #expect(JSONValue.array(layers.compactMap { $0["digest"] }) == diffIDs)
        let inspect = try JSONValue.parse(try InteropTests.skopeo("inspect", "docker-archive:\(dir)/notes.tar").stdout)
        #expect(inspect["Layers"] == diffIDs)
    }

    @Test("skopeo copy docker-archive -> oci layout, box load of that layout runs, and saves the same layers")
    func skopeoCopyThenLoad() throws {
        let source = try Sandbox()
        let (_, diffIDs) = try noteImage(source)
        let dir = try source.scratch("copy")
        #expect(try source.run("save", "-o", dir + "/notes.tar", "notes:v1").status == 0)
        let copy = try InteropTests.skopeo("copy", "-q", "docker-archive:\(dir)/notes.tar", "oci:\(dir)/layout:v1")
        #expect(copy.status == 0, "\(copy.stderr)")

        let box = try Sandbox()
        let r = try box.run("load", "-i", dir + "/layout")
        #expect(r.status == 0, "\(r.stderr)")
        // skopeo writes only the tag ("v1") as the name: docker, and box, load such an image by id.
        guard r.out.hasPrefix("Loaded image ID: sha256:") else { Issue.record("\(r.stdout)"); return }
        let id = String(r.out.dropFirst("Loaded image ID: ".count))
        #expect(try JSONValue.parse(try box.inspect(id, "{{json .RootFS.Layers}}")) == diffIDs)
        #expect(try box.run("run", "--rm", id, "cat", "/root/note").out == "hello")

        // And back out: the layers box saves are the ones it was given.
        try box.run("tag", id, "again:v1")
        #expect(try box.run("save", "-o", dir + "/again.tar", "again:v1").status == 0)
        let again = try JSONValue.parse(try InteropTests.skopeo("inspect", "docker-archive:\(dir)/again.tar").stdout)
        #expect(again["Layers"] == diffIDs)
    }

    @Test("an OCI layout made by umoci (gzip layers, a config without Env) loads and runs; umoci unpacks box's")
    func umoci() throws {
        let box = try Sandbox()
        let dir = try box.scratch("umoci")
        let layout = dir + "/layout", bundle = dir + "/bundle"
        try Sandbox.sh("/usr/bin/umoci", "init", "--layout", layout)
        try Sandbox.sh("/usr/bin/umoci", "new", "--image", layout + ":t1")
        try Sandbox.sh("/usr/bin/umoci", "unpack", "--image", layout + ":t1", bundle)
        try FileManager.default.createDirectory(atPath: bundle + "/rootfs/bin", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: "/bin/busybox", toPath: bundle + "/rootfs/bin/busybox")
        try Sandbox.sh("/usr/bin/umoci", "repack", "--image", layout + ":t1", bundle)
        try Sandbox.sh("/usr/bin/umoci", "config", "--image", layout + ":t1",
                       "--config.cmd", "/bin/busybox", "--config.cmd", "echo", "--config.cmd", "from umoci")
        let r = try box.run("load", "-i", layout)
        #expect(r.status == 0 && r.out.hasPrefix("Loaded image ID: sha256:"), "\(r.stdout) \(r.stderr)")
        let id = String(r.out.dropFirst("Loaded image ID: ".count))
        #expect(try box.run("run", "--rm", id).out == "from umoci")

        // The other way: box save --format oci, unpacked by umoci.
        _ = try noteImage(box)
        #expect(try box.run("save", "--format", "oci", "-o", dir + "/notes.tar", "notes:v1").status == 0)
        try FileManager.default.createDirectory(atPath: dir + "/saved", withIntermediateDirectories: false)
        try Sandbox.sh("/usr/bin/tar", "-C", dir + "/saved", "-xf", dir + "/notes.tar")
        try Sandbox.sh("/usr/bin/umoci", "unpack", "--image", dir + "/saved:v1", dir + "/unpacked")
        #expect(try String(contentsOfFile: dir + "/unpacked/rootfs/root/note", encoding: .utf8) == "hello\n")
    }
}
