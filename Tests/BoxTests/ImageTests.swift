import Foundation
import Testing
@testable import Engine

@Suite("Images: commit, diff, history, tag", .enabled(if: isRoot, Comment(rawValue: needsRoot)))
struct ImageTests {
    @Test("commit of a running container makes a new layer; the base image stays as it was")
    func commitRunning() throws {
        let box = try Sandbox()
        _ = try box.detached("--name", "c1", "busybox", "sh", "-c",
                             "mkdir -p /root/testfolder; echo hi > /root/testfolder/testfile; rm /etc/group; sleep 1000")
        #expect(Sandbox.eventually { (try? box.run("exec", "c1", "test", "-e", "/etc/group").status) == 1 })
        let diff = try box.run("diff", "c1").stdout
        #expect(diff == "C /etc\nD /etc/group\nC /root\nA /root/testfolder\nA /root/testfolder/testfile\n")

        let commit = try box.run("commit", "-m", "a note", "-c", "CMD [\"cat\", \"/root/testfolder/testfile\"]", "c1", "notes:v1")
        #expect(commit.status == 0, "\(commit.stderr)")
        #expect(commit.out.hasPrefix("sha256:"))
        #expect(try box.inspect("c1", "{{.State.Status}}") == "running")  // thawed after the copy
        #expect(try box.run("run", "--rm", "notes:v1").out == "hi")
        #expect(try box.run("run", "--rm", "notes:v1", "test", "-e", "/etc/group").status == 1, "the deletion was not carried")
        #expect(try box.run("run", "--rm", "busybox", "test", "-e", "/root/testfolder/testfile").status == 1)
        #expect(try box.run("run", "--rm", "busybox", "test", "-e", "/etc/group").status == 0)

        let base = try box.inspect("busybox", "{{json .RootFS.Layers}}")
        let layers = try JSONValue.parse(try box.inspect("notes:v1", "{{json .RootFS.Layers}}"))
        guard case .array(let items) = layers else { Issue.record("no layers"); return }
        #expect(items.count == 2)
        #expect(try JSONValue.parse(base) == .array([items[0]]), "the new image does not share the base layer")
        let history = try box.run("history", "notes:v1").stdout.split(separator: "\n")
        #expect(history.count == 3 && history[1].contains("a note") && history[2].hasPrefix("<missing>"))
        #expect(box.events.contains { $0.action == "commit" && $0.attributes["ref"] == "notes:v1" })
    }

    @Test("tag gives an image another name; a bad change or name is refused and nothing is stored")
    func tagAndBadInput() throws {
        let box = try Sandbox()
        try box.run("create", "--name", "c1", "busybox")
        #expect(try box.run("tag", "busybox", "mine:1").status == 0)
        #expect(try box.inspect("mine:1", "{{.Id}}") == (try box.inspect("busybox", "{{.Id}}")))
        let before = try FileManager.default.contentsOfDirectory(atPath: box.engineRoot.imagedb).count
        let bad = try box.run("commit", "-c", "RUN rm -rf /", "c1", "x")
        #expect(bad.status != 0 && bad.stderr.contains("unsupported change"))
        #expect(try box.run("commit", "c1", "Bad:Name").status != 0)
        #expect(try FileManager.default.contentsOfDirectory(atPath: box.engineRoot.imagedb).count == before)
    }

    @Test("rmi untags first, refuses an image a container came from, then removes only unshared layers")
    func rmi() throws {
        let box = try Sandbox()
        try box.run("run", "--name", "c1", "busybox", "sh", "-c", "echo x > /x")
        #expect(try box.run("commit", "c1", "mine:1").status == 0)
        try box.run("tag", "mine:1", "mine:2")
        #expect(try box.run("rmi", "mine:2").out == "Untagged: mine:2")
        try box.run("run", "--name", "user", "mine:1", "true")
        let refused = try box.run("rmi", "mine:1")
        #expect(refused.status == 1 && refused.stderr.contains("(must force) - container "), "\(refused.stderr)")
        try box.run("rm", "user")
        let removed = try box.run("rmi", "mine:1").stdout.split(separator: "\n")
        #expect(removed.first == "Untagged: mine:1" && removed.count == 3, "\(removed)")
        let layers = try FileManager.default.contentsOfDirectory(atPath: box.engineRoot.overlay).filter { $0.count == 64 }
        let busyboxLayer = try box.inspect("busybox", "{{index .RootFS.Layers 0}}").dropFirst(7)
        #expect(layers.contains(String(busyboxLayer)), "the shared base layer was removed")
        #expect(try box.run("run", "--rm", "busybox", "true").status == 0)
        #expect(try box.run("rmi", "mine:1").status == 1)
    }
}
