import Foundation
import Testing
@testable import Engine
@testable import LabKit
@testable import Labs
@testable import Exercises

@Suite("LabKit units")
struct UnitTests {
    @Test("the journal keeps every whole record across a torn last line, and fences it off")
    func tornJournal() throws {
        let dir = NSTemporaryDirectory() + "journal-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let j = ProgressJournal(directory: dir)
        try j.append(ProgressRecord(.start, lab: "a"))
        // What a crash in the middle of write(2) could leave.
        tearLastLine(j)
        try j.append(ProgressRecord(.step, lab: "a", step: "one"))
        let records = j.records()
        #expect(records.map(\.event) == [.start, .step])
        #expect(try String(contentsOfFile: j.path, encoding: .utf8).split(separator: "\n").count == 3)
    }

    @Test("progress: a reset forgets the lab; a step's clock starts at its first showing only")
    func fold() {
        var first = ProgressRecord(.step, lab: "a", step: "s")
        first.clock = StepClock(wall: Timestamp(seconds: 100), boot: 1, bootID: "x")
        var again = ProgressRecord(.step, lab: "a", step: "s")
        again.clock = StepClock(wall: Timestamp(seconds: 200), boot: 2, bootID: "x")
        let p = Progress([ProgressRecord(.start, lab: "a"), first, again, ProgressRecord(.pass, lab: "a", step: "s")])
        #expect(p.step("a", "s").started?.wall.seconds == 100)
        #expect(p.step("a", "s").done)
        let reset = Progress([ProgressRecord(.start, lab: "a"), first, ProgressRecord(.reset, lab: "a")])
        #expect(reset.labs["a"] == nil)
    }

    @Test("per-learner values are stable for one learner and differ between learners")
    func learnerValues() {
        let alice = Learner(name: "alice", uid: 1000, gid: 1000, home: "/home/alice")
        let bob = Learner(name: "bob", uid: 1001, gid: 1001, home: "/home/bob")
        let values = (0..<3).map { _ in pidNamespaces.values["seconds"]!(alice) }
        #expect(Set(values).count == 1)
        let names = ["alice", "bob", "carol", "dave", "erin"].map {
            utsIpcNet.values["hostname"]!(Learner(name: $0, uid: 0, gid: 0, home: "/"))
        }
        #expect(Set(names).count > 1)
        #expect(pidNamespaces.values["seconds"]!(alice) != pidNamespaces.values["seconds"]!(bob))
        // A word and a number, drawn by the keys the labs used before pick(numbered:) existed: every learner keeps
        // the words and hostnames they had.
        let words = ["otter", "heron", "lynx", "marten", "osprey", "badger", "kestrel", "ibex"]
        #expect(utsIpcNet.values["hostname"]!(alice) == alice.pick("host", from: words) + "-" + String(10 + alice.number("hostname", below: 90)))
        #expect(alice.pick("word", from: words, numbered: 100..<1000) == alice.pick("word", from: words) + "-" + String(100 + alice.number("word", below: 900)))
    }

    @Test("mountinfo: escapes, optional fields and propagation")
    func mountinfo() {
        let text = """
        36 35 98:0 /mnt1 /mnt/with\\040space rw,noatime master:1 shared:7 - ext3 /dev/root rw,errors=continue
        40 36 0:5 / /proc rw - proc proc rw
        """
        let m = Mount.parse(text)
        #expect(m.count == 2)
        #expect(m[0].mountPoint == "/mnt/with space")
        #expect(m[0].root == "/mnt1")
        #expect(m[0].peerGroup == 7 && m[0].propagation == "shared")
        #expect(m[1].propagation == "private" && m[1].fsType == "proc")
        #expect(Mount.table(of: getpid()).contains { $0.mountPoint == "/" })
    }

    @Test("probes read this process: start time, namespaces, interfaces")
    func probes() throws {
        let me = try #require(Proc.read(getpid()))
        #expect(me.isAlive)
        #expect(me.namespace(.mnt) != nil)
        #expect(Namespaces.interfaces(of: getpid()).contains("lo"))
        #expect(Namespaces.addresses(of: getpid()).contains("127.0.0.1"))
        // A process started now is after a clock taken a tick ago, and not after one taken a second later.
        let before = StepClock.now()
        usleep(20_000)
        let p = try #require(Proc.read(getpid()))
        #expect(!p.started(after: before), "this test process started before the clock")
        let child = Process()
        child.executableURL = URL(fileURLWithPath: "/bin/sleep")
        child.arguments = ["5"]
        try child.run()
        defer { child.terminate() }
        #expect(try #require(Proc.read(child.processIdentifier)).started(after: before))
    }

    @Test("the hostname probe reads another UTS namespace", .enabled(if: isRoot, needsRoot))
    func hostnameProbe() throws {
        let child = Process()
        child.executableURL = URL(fileURLWithPath: "/usr/bin/unshare")
        child.arguments = ["--uts", "sh", "-c", "hostname probe-test && exec sleep 5"]
        try child.run()
        defer { child.terminate() }
        var seen: String?
        for _ in 0..<100 where seen != "probe-test" {
            usleep(20_000)
            seen = Namespaces.hostname(of: child.processIdentifier)
        }
        #expect(seen == "probe-test")
        #expect(Namespaces.hostname(of: getpid()) != "probe-test")
    }

    @Test("Markdown: code blocks kept, paragraphs wrapped, inline code unmarked, values filled in, no colour when plain")
    func markdown() {
        let text = """
        # Title
        A paragraph with `inline code` and **bold** that is long enough to be wrapped at forty columns for sure.
        ```
        sudo box run -it --name c1 busybox sh
        ```
        - a list item
        1. a numbered one
        """
        let out = Markdown.render(text, Style(color: false, width: 40))
        #expect(out.contains("TITLE"))
        #expect(out.contains("    sudo box run -it --name c1 busybox sh"))
        #expect(!out.contains("`") && !out.contains("**") && !out.contains("\u{1b}"))
        #expect(out.split(separator: "\n").allSatisfy { $0.count <= 40 || $0.hasPrefix("    sudo") })
        #expect(out.contains("- a list item") && out.contains("1. a numbered one"))
        let colored = Markdown.render("`x`", Style(color: true, width: 40))
        #expect(colored.contains("\u{1b}[36m"))
        let v = Markdown.substitute("sleep {{seconds}} {{.State.Pid}}", values: pidNamespaces.values,
                                    learner: Learner(name: "a", uid: 0, gid: 0, home: "/"))
        #expect(!v.contains("{{seconds}}") && v.contains("{{.State.Pid}}"))
    }

    @Test("every lab is well formed: ids unique, steps with instructions, a check, a solution; seeds among 000-004")
    func catalogShape() {
        let all = guidedLabs + exercises
        #expect(Set(all.map(\.id)).count == all.count)
        #expect(guidedLabs.count >= 3 && !exercises.isEmpty)
        for lab in all {
            #expect(!lab.steps.isEmpty && !lab.summary.isEmpty && !lab.seeds.isEmpty, "\(lab.id)")
            // Each seed named is one of the documents in ../shared/seeds (000_..., 001_...).
            #expect(lab.seeds.allSatisfy { $0.count == 3 && Int($0).map { (0...4).contains($0) } == true }, "\(lab.id): \(lab.seeds)")
            #expect(Set(lab.steps.map(\.id)).count == lab.steps.count, "\(lab.id): duplicate step ids")
            for step in lab.steps {
                #expect(!step.instructions.isEmpty && !step.solution.isEmpty, "\(lab.id)/\(step.id)")
            }
            for p in lab.prerequisites { #expect(all.contains { $0.id == p }, "\(lab.id) needs unknown \(p)") }
        }
        #expect(exercises.allSatisfy { $0.kind == .exercise && $0.steps.count == 1 })
    }
}

@Suite("LabKit probes of the host")
struct HostProbeTests {
    @Test("cgroup files: this process's cgroup is found and a file of it read")
    func cgroupFiles() {
        let me = getpid()
        #expect(CgroupFiles.path(of: me) != nil || CgroupFiles.path(of: me, controller: "memory") != nil)
        #expect(CgroupFiles.read("cgroup.procs", of: me, controller: "memory")?.split(separator: "\n").contains("\(me)") == true
                || CgroupFiles.read("cgroup.procs", of: me, controller: "pids")?.split(separator: "\n").contains("\(me)") == true)
    }
}

@Suite("LabKit units: names, suggestions, display")
struct RunnerUnitTests {
    @Test("a lab's names are read from its box commands: --name, commit, build -t, tag, import, network create")
    func ownedNames() {
        var o = OwnedNames()
        o.read("box run -dit --name c1 busybox sh; sudo box run -d --name=web -p 8080:80 busybox httpd")
        o.read("box commit -m 'x' c1 ubuntu-htop:v1 && box build -t hello:1 {{workdir}} | box tag abc mine/img")
        o.read("`box save img | gzip > f`; cat f | box import - flat:latest\nbox network create --subnet 10.9.0.0/24 labnet")
        #expect(o.containers == ["c1", "web"])
        #expect(o.images == ["ubuntu-htop", "hello", "mine/img", "flat"])
        #expect(o.networks == ["labnet"])
        #expect(o.hasImage("hello:2") && o.hasImage("hello") && !o.hasImage("busybox"))
        #expect(OwnedNames.repository("localhost:5000/x:1") == "localhost:5000/x")
        #expect(OwnedNames.repository("localhost:5000/x") == "localhost:5000/x")
    }

    @Test("suggestions: a typo or a unique prefix, never a far word")
    func suggestion() {
        #expect(Suggestion.closest(to: "nxt", among: ["next", "check", "list"]) == "next")
        #expect(Suggestion.closest(to: "pid-namespace", among: ["pid-namespaces", "uts-ipc-net"]) == "pid-namespaces")
        #expect(Suggestion.closest(to: "sta", among: ["status", "solve", "list"]) == "status")
        #expect(Suggestion.closest(to: "zzzzzz", among: ["next", "check"]) == nil)
    }

    @Test("sudo is taken off commands only")
    func withoutSudo() {
        #expect(Markdown.withoutSudo("sudo box run -it c1") == "box run -it c1")
        #expect(Markdown.withoutSudo("type `sudo lab next`, or (sudo kill 5); x|sudo tee") == "type `lab next`, or (kill 5); x|tee")
        #expect(Markdown.withoutSudo("a pseudo terminal") == "a pseudo terminal")
    }
}

@Suite("The catalogue")
struct CatalogTests {
    let catalog = guidedLabs + exercises

    @Test("ids are unique, every step has a check, a solution and instructions, every question a form")
    func wellFormed() {
        #expect(Set(catalog.map(\.id)).count == catalog.count)
        for lab in catalog {
            #expect(!lab.steps.isEmpty, "\(lab.id) has no step")
            #expect(Set(lab.steps.map(\.id)).count == lab.steps.count, "\(lab.id) repeats a step id")
            for step in lab.steps {
                #expect(!step.solution.isEmpty, "\(lab.id)/\(step.id) has no reference solution")
                #expect(!step.instructions.isEmpty, "\(lab.id)/\(step.id) has no instructions")
                if let q = step.question { #expect(!q.form.isEmpty && step.solution.joined().contains("lab answer"), "\(lab.id)/\(step.id)") }
            }
            for p in lab.prerequisites { #expect(catalog.contains { $0.id == p }, "\(lab.id) builds on unknown \(p)") }
        }
    }

    @Test("every seed document is reproduced by at least two labs")
    func seedsCited() throws {
        let seeds = try FileManager.default.contentsOfDirectory(atPath: seedDirectory)
            .filter { $0.hasSuffix(".txt") }.map { String($0.prefix(3)) }
        try #require(!seeds.isEmpty, "no seed documents in \(seedDirectory)")
        for seed in seeds {
            let citing = catalog.filter { $0.seeds.contains(seed) }.map(\.id)
            #expect(citing.count >= 2, "seed \(seed) is cited by \(citing)")
        }
    }

    @Test("solutions never look for processes host-wide (pgrep, pidof, pkill outside a container): two runs at once collide")
    func noHostWidePgrep() {
        for lab in catalog {
            for step in lab.steps {
                for line in step.solution {
                    let hostWide = ["pgrep", "pkill", "killall"].contains { line.contains($0) }
                        || (line.contains("pidof") && !line.contains("box exec"))
                    #expect(!hostWide, "\(lab.id)/\(step.id): \(line)")
                }
            }
        }
    }
}

/// The seeds: SEEDS_DIR, or the first shared/seeds beside a folder above the project (the workplace lays
/// them out beside the checkout: ../shared/seeds; a worktree may sit deeper).
let seedDirectory: String = ProcessInfo.processInfo.environment["SEEDS_DIR"] ?? {
    var dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    while dir.path != "/" {
        let candidate = dir.appendingPathComponent("shared/seeds").path
        if FileManager.default.fileExists(atPath: candidate) { return candidate }
        dir = dir.deletingLastPathComponent()
    }
    return "../shared/seeds (not found: set SEEDS_DIR)"
}()

@Suite("Classroom, the attendee's side: the chained journal and the HTTP client")
struct ClassroomClientTests {
    @Test("each journal line names the sha256 of the whole line before it, across a torn line and concurrent writers")
    func chain() throws {
        let dir = NSTemporaryDirectory() + "chain-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let j = ProgressJournal(directory: dir)
        try j.append(ProgressRecord(.start, lab: "a"))
        tearLastLine(j)
        // Two writers at once, as lab watch and lab answer can be.
        DispatchQueue.concurrentPerform(iterations: 2) { i in
            for n in 0..<20 { try? j.append(ProgressRecord(.hint, lab: "a", step: "s\(i)-\(n)")) }
        }
        let lines = j.lines()
        #expect(lines.count == 41)
        #expect(lines[0].record.prev == nil)
        for k in 1..<lines.count {
            let expected = String(LayerArchive.sha256(lines[k - 1].line).dropFirst(7))
            #expect(lines[k].record.prev == expected, "line \(k) does not chain to line \(k - 1)")
        }
    }

    @Test("URLs: host, port, path; an https or portless-garbage URL is refused with what to type")
    func endpoints() throws {
        let e = try HTTP.Endpoint("http://10.0.0.5:8469/")
        #expect(e.host == "10.0.0.5" && e.port == 8469 && e.path == "/")
        #expect(e.url("api/join") == "http://10.0.0.5:8469/api/join")
        let v6 = try HTTP.Endpoint("http://[::1]:9000/room")
        #expect(v6.host == "::1" && v6.port == 9000 && v6.url("api/x") == "http://[::1]:9000/room/api/x")
        #expect(try HTTP.Endpoint("http://example").port == 80)
        #expect(throws: BoxError.self) { try HTTP.Endpoint("https://x:1/") }
        #expect(throws: BoxError.self) { try HTTP.Endpoint("http://x:99999/") }
    }

    @Test("responses: Content-Length, chunked, to the end; garbage is an error")
    func responses() throws {
        let plain = try HTTP.parse(Array("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokEXTRA".utf8), from: "u")
        #expect(plain.status == 200 && plain.text == "ok")
        let chunked = try HTTP.parse(Array("HTTP/1.1 409 Conflict\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n{\"a\"\r\n3\r\n:1}\r\n0\r\n\r\n".utf8), from: "u")
        #expect(chunked.status == 409 && chunked.text == "{\"a\":1}")
        let toEnd = try HTTP.parse(Array("HTTP/1.0 403 Forbidden\r\n\r\nno".utf8), from: "u")
        #expect(toEnd.status == 403 && toEnd.text == "no")
        #expect(throws: BoxError.self) { try HTTP.parse(Array("garbage".utf8), from: "u") }
    }

    @Test("a server that is not there: a clear error at once, not a hang")
    func refused() throws {
        let port = ClassroomEndToEndTests.freePort()
        let start = Date()
        #expect { try HTTP.request("GET", "http://127.0.0.1:\(port)/api/room", timeout: 2) } throws: { error in
            "\(error)".contains("connection refused")
        }
        #expect(Date().timeIntervalSince(start) < 2)
    }
}

/// What a crash in the middle of write(2) could leave at the end of a journal: half a record, no newline.
func tearLastLine(_ j: ProgressJournal) {
    let fd = open(j.path, O_WRONLY | O_APPEND)
    _ = "{\"event\":\"pass\",\"lab\":\"a\",\"ti".withCString { write(fd, $0, strlen($0)) }
    close(fd)
}
