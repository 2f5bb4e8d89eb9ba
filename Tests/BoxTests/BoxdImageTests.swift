import Foundation
import Testing
import TestSupport
@testable import Engine

/// A boxd of the test's own (the sandbox's BOX_ROOT, a socket in the sandbox, the sandbox's box as its
/// helper), driven by the real docker CLI with a client config of the test's own. Stopped by stop().
private final class Daemon {
    let socket: String
    let config: String
    let log: String
    let process = Process()

    init(_ box: Sandbox) throws {
        let dir = try box.scratch("boxd")
        socket = dir + "/docker.sock"
        config = dir + "/docker-config"
        log = dir + "/boxd.log"
        try FileManager.default.createDirectory(atPath: config, withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        let output = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        process.executableURL = URL(fileURLWithPath: box.box).deletingLastPathComponent().appendingPathComponent("boxd")
        process.arguments = ["-H", "unix://" + socket]
        process.environment = ["BOX_ROOT": box.root, "BOX_HELPER": box.box, "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"]
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let up = Sandbox.eventually(20) { FileManager.default.fileExists(atPath: socket) }
        #expect(up, "boxd did not create its socket: \(logText)")
    }

    var logText: String { (try? String(contentsOfFile: log, encoding: .utf8)) ?? "" }
    var environment: [String: String] { ["DOCKER_HOST": "unix://" + socket, "DOCKER_CONFIG": config, "DOCKER_BUILDKIT": "0"] }

    @discardableResult
    func docker(_ args: String...) throws -> Command.Result {
        let cli = FileManager.default.isExecutableFile(atPath: "/usr/local/bin/docker") ? "/usr/local/bin/docker" : "/usr/bin/docker"
        return try Sandbox.exec([cli] + args, environment: environment)
    }

    /// curl on the socket: the body, and the status code.
    func curl(_ args: String...) throws -> (body: String, status: Int) {
        let r = try Sandbox.exec(["/usr/bin/curl", "-s", "--unix-socket", socket, "-w", "\n%{http_code}"] + args)
        let lines = r.stdout.split(separator: "\n", omittingEmptySubsequences: false)
        return (lines.dropLast().joined(separator: "\n"), Int(lines.last ?? "") ?? 0)
    }

    func stop() {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGTERM)
        process.waitUntilExit()
    }
}

@Suite("boxd: images, networks, files and system through the docker CLI", .enabled(if: isRoot, Comment(rawValue: needsRoot)), .serialized)
struct BoxdImageTests {
    @Test("images, inspect, history, tag and rmi answer as docker's and change box's image store")
    func imagesAndTags() throws {
        let box = try Sandbox()
        let d = try Daemon(box)
        defer { d.stop() }
        let list = try d.docker("images", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}")
        #expect(list.status == 0, "\(list.stderr) \(d.logText)")
        let busybox = try box.store.images.resolve("busybox")
        #expect(list.out == "busybox:latest \(busybox.shortID)", "\(list.stdout)")

        let tag = try d.docker("tag", "busybox", "team/bb:v1")
        #expect(tag.status == 0, "\(tag.stderr)")
        #expect(try box.store.images.resolve("team/bb:v1").id == busybox.id)
        #expect(try box.run("images").out.contains("team/bb"))
        let filtered = try d.docker("images", "--filter", "reference=team/*", "--format", "{{.Repository}}:{{.Tag}}")
        #expect(filtered.out == "team/bb:v1", "\(filtered.stdout) \(filtered.stderr)")
        let dangling = try d.docker("images", "--filter", "dangling=true", "-q")
        #expect(dangling.status == 0 && dangling.out.isEmpty, "\(dangling.stdout) \(dangling.stderr)")

        let id = try d.docker("image", "inspect", "--format", "{{.Id}} {{.RepoTags}} {{.Os}}", "team/bb:v1")
        #expect(id.out == "\(busybox.id) [busybox:latest team/bb:v1] linux", "\(id.stdout) \(id.stderr)")
        let history = try d.docker("history", "--format", "{{.ID}}", "--no-trunc", "busybox")
        #expect(history.status == 0 && history.out.split(separator: "\n").first.map(String.init) == busybox.id, "\(history.stdout) \(history.stderr)")

        let rmi = try d.docker("rmi", "team/bb:v1")
        #expect(rmi.out == "Untagged: team/bb:v1", "\(rmi.stdout) \(rmi.stderr)")
        #expect(throws: BoxError.self) { _ = try box.store.images.resolve("team/bb:v1") }
        #expect(try box.store.images.resolve("busybox").id == busybox.id)

        // Bad requests: docker's error shape, and the store as it was.
        let missing = try d.docker("rmi", "nosuch:1")
        #expect(missing.status != 0 && missing.stderr.contains("No such image"), "\(missing.stderr)")
        let badName = try d.curl("-X", "POST", "http://localhost/v1.41/images/busybox/tag?repo=..%2Fevil&tag=x")
        #expect(badName.status == 400 && badName.body.contains("\"message\""), "\(badName)")
        let badFilter = try d.curl("http://localhost/v1.41/images/json?filters=%7B%22colour%22%3A%5B%22x%22%5D%7D")
        #expect(badFilter.status == 400, "\(badFilter)")
        #expect(try box.store.images.list().map(\.names) == [["busybox:latest"]])
    }

    @Test("diff, commit, cp both ways, export, import, and save | load round-trip an image through boxd")
    func filesAndArchives() throws {
        let box = try Sandbox()
        let d = try Daemon(box)
        defer { d.stop() }
        let made = try box.run("run", "--name", "c1", "busybox", "sh", "-c", "echo hi > /note && rm /bin/cpio")
        #expect(made.status == 0, "\(made.stderr)")
        let id = try box.inspect("c1", "{{.Id}}")

        let diff = try d.docker("diff", "c1")
        #expect(diff.status == 0, "\(diff.stderr) \(d.logText)")
        let changes = Set(diff.stdout.split(separator: "\n").map(String.init))
        #expect(changes.contains("A /note") && changes.contains("D /bin/cpio"), "\(diff.stdout)")

        // cp out, then in: the file lands in the container's writable layer.
        let dir = try box.scratch("cp")
        let out = try d.docker("cp", "c1:/note", dir + "/")
        #expect(out.status == 0, "\(out.stderr) \(d.logText)")
        #expect((try? String(contentsOfFile: dir + "/note", encoding: .utf8)) == "hi\n")
        try "from the host\n".write(toFile: dir + "/in.txt", atomically: true, encoding: .utf8)
        let into = try d.docker("cp", dir + "/in.txt", "c1:/root/")
        #expect(into.status == 0, "\(into.stderr) \(d.logText)")
        let upper = box.store.layerPath(id) + "/diff/root/in.txt"
        #expect((try? String(contentsOfFile: upper, encoding: .utf8)) == "from the host\n")
        let nowhere = try d.docker("cp", "c1:/no/such/file", dir + "/")
        #expect(nowhere.status != 0 && nowhere.stderr.contains("Could not find the file"), "\(nowhere.stderr)")

        // commit: an image of the container's changes, in box's store under the name given.
        let commit = try d.docker("commit", "-c", "CMD [\"cat\", \"/note\"]", "c1", "snap:1")
        #expect(commit.status == 0, "\(commit.stderr) \(d.logText)")
        let snap = try box.store.images.resolve("snap:1")
        #expect(commit.out == snap.id)
        #expect(snap.config.config.Cmd == ["cat", "/note"])
        #expect(try box.run("run", "--rm", "snap:1").out == "hi")

        // save | load: the image goes, and comes back with the same id.
        let archive = dir + "/snap.tar"
        let save = try d.docker("save", "-o", archive, "snap:1")
        #expect(save.status == 0, "\(save.stderr) \(d.logText)")
        let rmi = try d.docker("rmi", "snap:1")
        #expect(rmi.status == 0 && rmi.stdout.contains("Deleted: \(snap.id)"), "\(rmi.stdout) \(rmi.stderr)")
        #expect(throws: BoxError.self) { _ = try box.store.images.resolve("snap:1") }
        let load = try d.docker("load", "-i", archive)
        #expect(load.status == 0 && load.out == "Loaded image: snap:1", "\(load.stdout) \(load.stderr) \(d.logText)")
        #expect(try box.store.images.resolve("snap:1").id == snap.id)

        // export | import: one flat layer with the container's files.
        let flat = dir + "/flat.tar"
        let export = try d.docker("export", "-o", flat, "c1")
        #expect(export.status == 0, "\(export.stderr)")
        let names = try Sandbox.exec(["/usr/bin/tar", "-tf", flat]).stdout
        #expect(names.contains("note") && names.contains("root/in.txt"), "\(names.prefix(300))")
        let imported = try d.docker("import", "-m", "flat", flat, "flat:1")
        #expect(imported.status == 0, "\(imported.stderr) \(d.logText)")
        let flatImage = try box.store.images.resolve("flat:1")
        #expect(imported.out == flatImage.id && flatImage.config.rootfs.diff_ids.count == 1)
        #expect(try box.run("run", "--rm", "flat:1", "cat", "/root/in.txt").out == "from the host")

        // save of several names: one archive naming both; a directory copied in lands whole.
        let both = dir + "/both.tar"
        #expect(try d.docker("save", "-o", both, "snap:1", "flat:1").status == 0)
        let manifest = try Sandbox.exec(["/usr/bin/tar", "-xOf", both, "manifest.json"]).stdout
        #expect(manifest.contains("snap:1") && manifest.contains("flat:1"), "\(manifest)")
        try FileManager.default.createDirectory(atPath: dir + "/tree/sub", withIntermediateDirectories: true)
        try "deep\n".write(toFile: dir + "/tree/sub/leaf", atomically: true, encoding: .utf8)
        #expect(try d.docker("cp", dir + "/tree", "c1:/").status == 0)
        #expect((try? String(contentsOfFile: box.store.layerPath(id) + "/diff/tree/sub/leaf", encoding: .utf8)) == "deep\n")
        let notTar = try d.curl("-X", "PUT", "--data-binary", "not a tar", "http://localhost/v1.41/containers/c1/archive?path=/root")
        #expect(notTar.status >= 400 && notTar.body.contains("\"message\""), "\(notTar)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: box.store.layerPath(id) + "/diff/root") == ["in.txt"])

        // A container's image cannot go while the container is there: 409, and the store keeps it.
        let busy = try d.docker("rmi", "busybox")
        #expect(busy.status != 0 && busy.stderr.contains("conflict"), "\(busy.stderr)")
        #expect((try? box.store.images.resolve("busybox")) != nil)
        let badLoad = try d.curl("-X", "POST", "--data-binary", "not a tar", "http://localhost/v1.41/images/load")
        #expect(badLoad.status >= 400 && badLoad.body.contains("\"message\""), "\(badLoad)")
    }

    @Test("network create, ls, inspect, rm and prune are box's networks")
    func networks() throws {
        let box = try Sandbox()
        let d = try Daemon(box)
        defer { d.stop() }
        defer { NetworkStore(root: box.engineRoot).destroyAll() }
        let create = try d.docker("network", "create", "--subnet", "10.251.7.0/24", "n1")
        #expect(create.status == 0, "\(create.stderr) \(d.logText)")
        let n = try NetworkStore(root: box.engineRoot).get("n1")
        #expect(create.out == n.Id && n.Subnet.description == "10.251.7.0/24")
        let ls = try d.docker("network", "ls", "--format", "{{.Name}} {{.Driver}}")
        #expect(ls.stdout.contains("n1 bridge"), "\(ls.stdout) \(ls.stderr)")
        let inspect = try d.docker("network", "inspect", "--format", "{{range .IPAM.Config}}{{.Subnet}} {{.Gateway}}{{end}}", "n1")
        #expect(inspect.out == "10.251.7.0/24 10.251.7.1", "\(inspect.stdout) \(inspect.stderr)")
        let again = try d.docker("network", "create", "n1")
        #expect(again.status != 0 && again.stderr.contains("already exists"), "\(again.stderr)")
        let badDriver = try d.docker("network", "create", "-d", "overlay", "n2")
        #expect(badDriver.status != 0 && (try? NetworkStore(root: box.engineRoot).get("n2")) == nil)
        let rm = try d.docker("network", "rm", "n1")
        #expect(rm.status == 0, "\(rm.stderr)")
        #expect((try? NetworkStore(root: box.engineRoot).get("n1")) == nil)
        let missing = try d.docker("network", "rm", "n1")
        #expect(missing.status != 0 && missing.stderr.contains("not found"), "\(missing.stderr)")
        _ = try d.docker("network", "create", "n3")
        let prune = try d.docker("network", "prune", "-f")
        #expect(prune.stdout.contains("n3"), "\(prune.stdout) \(prune.stderr)")
        #expect((try? NetworkStore(root: box.engineRoot).get("n3")) == nil)
    }

    @Test("build (the classic builder's API), system df, stats, update and the prunes")
    func buildAndSystem() throws {
        let box = try Sandbox()
        let d = try Daemon(box)
        defer { d.stop() }
        let context = try box.scratch("context")
        try "FROM busybox\nCOPY greeting /greeting\nRUN echo built >> /greeting\nCMD [\"cat\", \"/greeting\"]\n"
            .write(toFile: context + "/Dockerfile", atomically: true, encoding: .utf8)
        try "hello\n".write(toFile: context + "/greeting", atomically: true, encoding: .utf8)
        let build = try d.docker("build", "-t", "built:1", context)
        #expect(build.status == 0, "\(build.stdout) \(build.stderr) \(d.logText)")
        #expect(build.stdout.contains("Step 3/4 : RUN echo built >> /greeting") && build.stdout.contains("Successfully tagged built:1"), "\(build.stdout)")
        #expect(try box.run("run", "--rm", "built:1").out == "hello\nbuilt")
        let broken = try box.scratch("broken")
        try "FROM busybox\nRUN exit 3\n".write(toFile: broken + "/Dockerfile", atomically: true, encoding: .utf8)
        let failed = try d.docker("build", "-t", "broken:1", broken)
        #expect(failed.status != 0, "\(failed.stdout)")
        #expect((try? box.store.images.resolve("broken:1")) == nil)

        // stats and update on a running container.
        let id = try box.detached("--name", "s1", "busybox", "sleep", "1000")
        let stats = try d.docker("stats", "--no-stream", "--format", "{{.Name}} {{.PIDs}}", "s1")
        #expect(stats.out == "s1 1", "\(stats.stdout) \(stats.stderr) \(d.logText)")
        let update = try d.docker("update", "--memory", "64m", "--pids-limit", "50", "s1")
        #expect(update.status == 0, "\(update.stderr)")
        let spec = try box.store.load(id).spec
        #expect(spec.HostConfig.Resources?.Memory == 64 << 20 && spec.HostConfig.Resources?.PidsLimit == 50)
        let tooSmall = try d.docker("update", "--memory", "1m", "s1")
        #expect(tooSmall.status != 0 && tooSmall.stderr.contains("6MB"), "\(tooSmall.stderr)")
        #expect(try box.store.load(id).spec.HostConfig.Resources?.Memory == 64 << 20)

        // system df counts what box's store holds.
        let df = try d.docker("system", "df", "--format", "{{.Type}} {{.TotalCount}} {{.Active}}")
        let images = try box.store.images.list().count
        #expect(df.stdout.contains("Images \(images) 1") && df.stdout.contains("Containers 1 1"), "\(df.stdout) \(df.stderr) \(d.logText)")

        // container prune takes the stopped ones only; image prune the unnamed build steps.
        let stopped = try box.run("create", "--name", "gone", "busybox", "true")
        #expect(stopped.status == 0)
        let prune = try d.docker("container", "prune", "-f")
        #expect(prune.status == 0 && prune.stdout.contains(stopped.out), "\(prune.stdout) \(prune.stderr)")
        #expect(try box.store.list().map(\.id) == [id])
        let before = try box.store.images.list().count
        let imagePrune = try d.docker("image", "prune", "-f")
        #expect(imagePrune.status == 0, "\(imagePrune.stderr)")
        #expect(try box.store.images.list().count < before)
        #expect(try box.run("run", "--rm", "built:1").out == "hello\nbuilt")
        _ = try box.run("rm", "-f", "s1")
    }

    @Test("cp's stat header (Go's file modes) is the one a real dockerd sends for the same files")
    func statHeaderAsDockerd() throws {
        let box = try Sandbox()
        let d = try Daemon(box)
        defer { d.stop() }
        let script = "echo hi > /note && chmod 4750 /note && mkdir /d && ln -s /note /d/link"
        #expect(try box.run("run", "--name", "c1", "busybox", "sh", "-c", script).status == 0)
        let paths = ["/note", "/d", "/d/link", "/d/", "/bin/busybox"]
        func header(_ socket: String, _ path: String) throws -> JSONValue? {
            let r = try Sandbox.exec(["/usr/bin/curl", "-sI", "--unix-socket", socket, "http://localhost/v1.41/containers/c1/archive?path=" + path])
            let line = r.stdout.split(separator: "\r\n").first { $0.lowercased().hasPrefix("x-docker-container-path-stat:") }
            guard let line, let data = Data(base64Encoded: String(line.split(separator: " ").last ?? "")) else { return nil }
            guard case .object(var fields) = try JSONValue.parse(bytes: Array(data)) else { return nil }
            fields.removeAll { $0.0 == "mtime" }  // the two containers' files were written at different moments
            // A directory's size is its filesystem's (the two roots may be on different ones).
            if case .int(let mode)? = fields.first(where: { $0.0 == "mode" })?.1, mode & (1 << 31) != 0 { fields.removeAll { $0.0 == "size" } }
            return .object(fields.sorted { $0.0 < $1.0 })
        }
        let ours = try paths.map { try header(d.socket, $0) }
        #expect(ours.allSatisfy { $0 != nil }, "\(ours)")
        guard let dockerd = Dockerd(purpose: "boxdstat") else { return }
        defer { dockerd.stop() }
        let tar = box.root + "-busybox.tar"
        box.scratchDirs.append(tar)
        #expect(try box.run("save", "-o", tar, "busybox").status == 0)
        #expect(try dockerd.docker(["load", "-i", tar]).status == 0)
        #expect(try dockerd.docker(["run", "--name", "c1", "--network", "none", "busybox", "sh", "-c", script]).status == 0)
        let theirs = try paths.map { try header(String(dockerd.socket.dropFirst("unix://".count)), $0) }
        for (i, path) in paths.enumerated() {
            #expect(ours[i] == theirs[i], "\(path): boxd \(ours[i].map { $0.compact() } ?? "none"), dockerd \(theirs[i].map { $0.compact() } ?? "none")")
        }
    }

    @Test("docker-py (Debian's python3-docker) drives boxd: images, tags, networks, and containers where boxd serves them")
    func dockerPy() throws {
        // Debian's python3 and its python3-docker (setup.sh --deps-only installs it), not whatever python3 is first on PATH.
        let python = "/usr/bin/python3"
        guard (try? Sandbox.exec([python, "-c", "import docker"]).status) == 0 else {
            Issue.record("python3-docker is not installed: sudo ./setup.sh --deps-only installs it")
            return
        }
        let box = try Sandbox()
        let d = try Daemon(box)
        defer { d.stop() }
        // The container endpoints are the other half of boxd (branch boxd): without them the scenario covers
        // images and networks only, and says so.
        let probe = try d.curl("-X", "POST", "-H", "Content-Type: application/json", "-d", "{}", "http://localhost/v1.41/containers/create")
        let imagesOnly = probe.body.contains("page not found")
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("DockerPy/scenario.py").path
        let r = try Sandbox.exec([python, script] + (imagesOnly ? ["--images-only"] : []), environment: d.environment)
        #expect(r.status == 0, "\(r.stdout) \(r.stderr) \(d.logText)")
        guard case .object(let fields)? = try? JSONValue.parse(r.out) else {
            Issue.record("the scenario printed no JSON: \(r.stdout) \(r.stderr)")
            return
        }
        let seen = JSONValue.object(fields)
        #expect(seen["api"] == "1.41")
        #expect(seen["busybox"] == .string(try box.store.images.resolve("busybox").id))
        #expect(seen["tags"] == ["busybox:latest", "pytag:v1"] && seen["listed"] == ["busybox:latest", "pytag:v1"] && seen["after"] == ["busybox:latest"], "\(r.out)")
        #expect(seen["removed"] == [["Untagged": "pytag:v1"]], "\(r.out)")
        #expect(seen["networks"]?.items.contains("pynet") == true && seen["networks_after"]?.items.contains("pynet") == false, "\(r.out)")
        #expect(seen["missing"] == "ImageNotFound")
        #expect((try? box.store.images.resolve("pytag:v1")) == nil)
        #expect((try? NetworkStore(root: box.engineRoot).get("pynet")) == nil)
        if !imagesOnly {
            #expect(seen["logs"] == "started" && seen["exec"] == [3, "from exec"] && seen["status"] == "running", "\(r.out)")
            #expect(seen["stopped"] == "exited" && seen["left"] == [], "\(r.out)")
            #expect(try box.store.list().isEmpty)
        }
    }
}

private extension JSONValue {
    var items: [JSONValue] { if case .array(let a) = self { return a }; return [] }
}
