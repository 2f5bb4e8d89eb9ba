import Foundation
import Testing
@testable import Engine

@Suite("Images: export, import, cp, image prune", .enabled(if: isRoot, Comment(rawValue: needsRoot)))
struct ExportCpTests {
    @Test("export of a stopped container is its merged filesystem; import makes a one-layer image of it")
    func exportImport() throws {
        let box = try Sandbox()
        try box.run("run", "--name", "c1", "busybox", "sh", "-c", "echo hello > /root/note && rm /etc/group && mkdir /data")
        let dir = try box.scratch("export")
        let r = try box.run("export", "-o", dir + "/c1.tar", "c1")
        #expect(r.status == 0, "\(r.stderr)")
        #expect(box.mountsUnderRoot.isEmpty, "the overlay mounted for the export is still there")
        let listing = try Sandbox.sh("/usr/bin/tar", "-tf", dir + "/c1.tar").stdout.split(separator: "\n").map(String.init)
        #expect(listing.contains("root/note") && listing.contains("bin/busybox") && listing.contains("data/"))
        #expect(!listing.contains("etc/group"), "a deleted file was exported")
        #expect(!listing.contains { $0.contains(".wh.") }, "whiteouts in a flat export")

        let imported = try box.run("import", "-c", "CMD [\"cat\", \"/root/note\"]", dir + "/c1.tar", "flat:v1")
        #expect(imported.status == 0 && imported.out.hasPrefix("sha256:"), "\(imported.stderr)")
        #expect(try box.run("run", "--rm", "flat:v1").out == "hello")
        #expect(try box.run("run", "--rm", "flat:v1", "test", "-e", "/etc/group").status == 1)
        #expect(try box.inspect("flat:v1", "{{len .RootFS.Layers}}") == "1")
        let history = try box.run("history", "flat:v1").stdout.split(separator: "\n")
        #expect(history.count == 2 && history[1].contains("Imported from \(dir)/c1.tar"), "\(history)")

        // From standard input, gzip-compressed: the same layer, so the same diff_id.
        let piped = try Sandbox.exec(["/bin/sh", "-c", "gzip -c '\(dir)/c1.tar' | '\(box.box)' import - flat:v2"], environment: ["BOX_ROOT": box.root])
        #expect(piped.status == 0, "\(piped.stderr)")
        #expect(try box.inspect("flat:v2", "{{json .RootFS.Layers}}") == (try box.inspect("flat:v1", "{{json .RootFS.Layers}}")))
        let missing = try box.run("import", dir + "/nosuch.tar", "flat:v3")
        #expect(missing.status == 1 && missing.stderr.contains("no such file or directory"), "\(missing.stderr)")
    }

    @Test("export of a running container reads its live merged mount and leaves it mounted")
    func exportRunning() throws {
        let box = try Sandbox()
        _ = try box.detached("--name", "c1", "busybox", "sh", "-c", "echo live > /live; sleep 1000")
        #expect(Sandbox.eventually { (try? box.run("exec", "c1", "test", "-e", "/live").status) == 0 })
        let dir = try box.scratch("live")
        #expect(try box.run("export", "-o", dir + "/c1.tar", "c1").status == 0)
        let content = try Sandbox.sh("/usr/bin/tar", "-xOf", dir + "/c1.tar", "live").stdout
        #expect(content == "live\n")
        #expect(try box.inspect("c1", "{{.State.Status}}") == "running")
        #expect(try box.run("exec", "c1", "true").status == 0)
    }

    @Test("cp copies out of and into a container, running or stopped, with docker's naming rules")
    func cpBothWays() throws {
        let box = try Sandbox()
        _ = try box.detached("--name", "c1", "busybox", "sh", "-c", "mkdir -p /srv/sub && echo a > /srv/a && echo b > /srv/sub/b; sleep 1000")
        #expect(Sandbox.eventually { (try? box.run("exec", "c1", "test", "-e", "/srv/sub/b").status) == 0 })
        let dir = try box.scratch("cp")
        let fm = FileManager.default

        // Out: a file to a new name, a directory into an existing directory, a directory's contents.
        #expect(try box.run("cp", "c1:/srv/a", dir + "/renamed").status == 0)
        #expect(try String(contentsOfFile: dir + "/renamed", encoding: .utf8) == "a\n")
        try fm.createDirectory(atPath: dir + "/into", withIntermediateDirectories: false)
        #expect(try box.run("cp", "c1:/srv", dir + "/into").status == 0)
        #expect(try String(contentsOfFile: dir + "/into/srv/sub/b", encoding: .utf8) == "b\n")
        #expect(try box.run("cp", "c1:/srv/.", dir + "/contents").status == 0)
        #expect(try fm.contentsOfDirectory(atPath: dir + "/contents").sorted() == ["a", "sub"])
        let missing = try box.run("cp", "c1:/nope", dir + "/x")
        #expect(missing.status == 1 && missing.stderr.contains("Could not find the file /nope in container c1"), "\(missing.stderr)")

        // In: to a new name, into a directory; the container sees them at once.
        try Data("from host\n".utf8).write(to: URL(fileURLWithPath: dir + "/host.txt"))
        #expect(try box.run("cp", dir + "/host.txt", "c1:/srv/sub/").status == 0)
        #expect(try box.run("exec", "c1", "cat", "/srv/sub/host.txt").out == "from host")
        #expect(try box.run("cp", dir + "/into/srv", "c1:/copied").status == 0)
        #expect(try box.run("exec", "c1", "cat", "/copied/sub/b").out == "b")
        #expect(try box.inspect("c1", "{{.State.Status}}") == "running", "left frozen")

        // A stopped container: through a temporary mount, which is gone afterwards.
        try box.run("stop", "-t", "0", "c1")
        #expect(try box.run("cp", dir + "/host.txt", "c1:/stopped.txt").status == 0)
        #expect(try box.run("cp", "c1:/stopped.txt", dir + "/back.txt").status == 0)
        #expect(try String(contentsOfFile: dir + "/back.txt", encoding: .utf8) == "from host\n")
        #expect(box.mountsUnderRoot.isEmpty)
        try box.run("start", "c1")
        #expect(try box.run("exec", "c1", "cat", "/stopped.txt").out == "from host")
    }

    @Test("cp resolves symlinks inside the container: a link to / or .. never reaches the host")
    func cpConfined() throws {
        let box = try Sandbox()
        let outside = try box.scratch("outside")
        try Data("host secret\n".utf8).write(to: URL(fileURLWithPath: outside + "/secret"))
        // Links that would lead out of the root if the host followed them. The container has a directory
        // of the same name as the host's outside one, so a confined copy has somewhere to land.
        let made = try box.run("run", "--name", "linker", "busybox", "sh", "-c",
                               "mkdir -p \(outside) && ln -s \(outside) /abs && ln -s ../../../../../../../..\(outside) /rel")
        #expect(made.status == 0, "\(made.stderr)")
        let dir = try box.scratch("cp-out")
        // Out: /abs/secret is <outside>/secret inside the container, which does not exist there.
        for link in ["/abs/secret", "/rel/secret"] {
            let out = try box.run("cp", "linker:" + link, dir + "/got")
            #expect(out.status == 1 && out.stderr.contains("Could not find the file"), "\(link): \(out.stderr)")
            #expect(!FileManager.default.fileExists(atPath: dir + "/got"), "\(link) was copied from the host")
        }
        // In: a write through either link lands inside the container, not on the host.
        try Data("written\n".utf8).write(to: URL(fileURLWithPath: dir + "/payload"))
        for link in ["/abs/", "/rel/"] {
            let into = try box.run("cp", dir + "/payload", "linker:" + link)
            #expect(into.status == 0, "\(link): \(into.stderr)")
        }
        #expect(try String(contentsOfFile: outside + "/secret", encoding: .utf8) == "host secret\n")
        #expect(try FileManager.default.contentsOfDirectory(atPath: outside) == ["secret"], "cp wrote on the host")
        let back = try box.run("cp", "linker:\(outside)/payload", dir + "/check")
        #expect(back.status == 0, "the copy is not inside the container: \(back.stderr)")
        #expect(try String(contentsOfFile: dir + "/check", encoding: .utf8) == "written\n")
    }

    @Test("image prune removes dangling images, -a unused ones, never one a container uses")
    func prune() throws {
        let box = try Sandbox()
        try box.run("run", "--name", "c1", "busybox", "sh", "-c", "echo 1 > /one")
        let first = try box.run("commit", "c1", "mine:1").out
        try box.run("run", "--name", "c2", "busybox", "sh", "-c", "echo 2 > /two")
        #expect(try box.run("commit", "c2", "mine:1").status == 0)  // mine:1 moves: the first image dangles
        try box.run("commit", "c2", "kept:1")
        let refused = try box.run("image", "prune")
        #expect(refused.status == 1 && refused.stderr.contains("-f"), "prune without -f and no terminal")

        let r = try box.run("image", "prune", "-f")
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("deleted: \(first)"), "\(r.stdout)")
        #expect(r.stdout.contains("Total reclaimed space:"))
        #expect(try box.run("inspect", first).status == 1)
        #expect(try box.run("inspect", "mine:1").status == 0 && (try box.run("inspect", "kept:1").status) == 0)

        // -a: every image no container was created from; busybox is in use by c1 and c2.
        try box.run("run", "--name", "c3", "kept:1", "true")
        let all = try box.run("image", "prune", "-a", "-f")
        #expect(all.status == 0, "\(all.stderr)")
        #expect(all.stdout.contains("untagged: mine:1"), "\(all.stdout)")
        #expect(try box.run("inspect", "mine:1").status == 1)
        #expect(try box.run("inspect", "kept:1").status == 0, "an image a container uses was pruned")
        #expect(try box.run("inspect", "busybox").status == 0)
        #expect(try box.run("start", "-a", "c3").status == 0, "c3's layers were removed")
    }
}
