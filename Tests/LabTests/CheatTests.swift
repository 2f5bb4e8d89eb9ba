import Foundation
import Testing
@testable import Engine
@testable import LabKit

/// Work that is not the step's must not pass it, and the runner must not be gamed: each of these passed (or
/// was refused when it was right) in a playthrough of the labs as a learner.
@Suite("lab: cheats fail, right work passes", .serialized)
struct CheatTests {
    @Test("step 1 of pid-namespaces teaches -it: detached containers running sleep do not pass it", .enabled(if: isRoot, needsRoot))
    func detachedIsNotInteractive() throws {
        let s = try LabSandbox()
        try s.lab("start", "pid-namespaces")
        try s.box("run", "-d", "--name", "c1", "busybox", "sleep", "600")
        try s.box("run", "-d", "--name", "c2", "busybox", "sleep", "600")
        let r = try s.lab("check")
        #expect(r.status == 1 && r.stdout.contains("-it"), "\(r.stdout)")
        try s.box("rm", "-f", "c1", "c2")
        // A shell without -i -t ends at once: the message says so, not just "exited".
        try s.box("run", "-d", "--name", "c1", "busybox", "sh")
        try s.box("wait", "c1")
        let bare = try s.lab("check")
        #expect(bare.stdout.contains("a shell with no terminal"), "\(bare.stdout)")
        try s.box("rm", "-f", "c1")
        try s.box("run", "-dit", "--name", "c1", "busybox", "sh")
        try s.box("run", "-dit", "--name", "c2", "busybox", "sh")
        #expect(try s.lab("check").status == 0)
    }

    @Test("a pass message does not give away the next step's answer", .enabled(if: isRoot, needsRoot))
    func passDoesNotReveal() throws {
        let s = try LabSandbox()
        try s.lab("start", "pid-namespaces")
        #expect(try s.lab("solve").status == 0)
        let solved = try s.lab("solve")
        #expect(solved.status == 0)
        let host = try s.sh("box top c1 | awk '/ sleep [0-9]+$/ {print $2}'").stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(!host.isEmpty)
        let passLine = solved.stdout.split(separator: "\n").first { $0.contains("solved by the reference solution") } ?? ""
        #expect(!passLine.isEmpty && !passLine.contains(host), "\(passLine)")
    }

    @Test("lab solve on a question step is recorded as solved, not as the learner's pass", .enabled(if: isRoot, needsRoot))
    func solvedIsSolved() throws {
        let s = try LabSandbox()
        try s.lab("start", "pid-namespaces")
        for _ in 0..<3 { #expect(try s.lab("solve").status == 0) }  // two-pids is the third step, a question
        let status = try s.lab("status", "--json").stdout
        let rows = try JSONSerialization.jsonObject(with: Data(status.utf8)) as? [[String: Any]] ?? []
        let twoPids = rows.first { $0["step"] as? String == "two-pids" }
        #expect(twoPids?["status"] as? String == "solved", "\(status)")
        #expect(!rows.contains { $0["status"] as? String == "passed" }, "\(status)")
    }

    @Test("wrong answers: three are free, then each waits longer; the journal records them; the answer is never told piecewise",
          .enabled(if: isRoot, needsRoot))
    func answerCoolDown() throws {
        let s = try LabSandbox()
        try s.lab("start", "pid-namespaces")
        #expect(try s.lab("solve").status == 0)
        #expect(try s.lab("solve").status == 0)
        for guess in ["1 1", "2 2", "3 3"] {
            let r = try s.lab("answer", guess.split(separator: " ").map(String.init)[0], "1")
            #expect(r.status == 1 && r.stdout.contains("does not match"), "\(guess): \(r.stdout)\(r.stderr)")
        }
        let fourth = try s.lab("answer", "4", "4")
        #expect(fourth.status == 1 && fourth.stderr.contains("wait") && fourth.stderr.contains("3 answers"), "\(fourth.stdout)\(fourth.stderr)")
        let journal = try String(contentsOfFile: s.base + "/home/progress.jsonl", encoding: .utf8)
        #expect(journal.components(separatedBy: "\"wrong\"").count - 1 == 3, "\(journal)")
        // Not even the right answer is taken during the cool-down.
        let right = try s.sh("lab answer $(box top c1 | awk '/ sleep [0-9]+$/ {print $4, $2}')")
        #expect(right.status == 1 && right.stderr.contains("wait"), "\(right.stdout)\(right.stderr)")
    }

    @Test("unshare -m sleep is not a shell: the step that asks for one refuses it", .enabled(if: isRoot, needsRoot))
    func sleepIsNotAShell() throws {
        let s = try LabSandbox()
        try s.lab("start", "mount-namespaces")
        // As a learner would start it by hand (the lab's marker stands for the terminal a learner's has).
        try s.sh("BOXLAB_LAB=mount-namespaces@\(s.base)/home setsid unshare -m sleep 300 </dev/null >/dev/null 2>&1 & echo $! > \(s.base)/sleep.pid")
        let r = try checkUntil(s, shows: "not a shell")
        #expect(r.status == 1 && r.stdout.contains("not a shell"), "\(r.stdout)")
        try s.sh("kill $(cat \(s.base)/sleep.pid)")
        #expect(try s.lab("solve").status == 0)
    }

    @Test("memory-hog: a decoy killed and started again is not kept running", .enabled(if: isRoot, needsRoot))
    func decoyRestarted() throws {
        let s = try LabSandbox()
        try s.lab("start", "--force", "memory-hog")
        let names = ["ex-api", "ex-cache", "ex-worker"]
        let rss = try names.map { name -> (String, Int) in
            let pid = try s.box("inspect", "--format", "{{.State.Pid}}", name).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            let kib = try s.sh("awk '/^VmRSS/ {print $2}' /proc/\(pid)/status").stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            return (name, Int(kib) ?? 0)
        }
        let hog = rss.max { $0.1 < $1.1 }!.0
        let decoy = names.first { $0 != hog }!
        try s.sh("kill -9 $(box inspect --format '{{.State.Pid}}' \(decoy)) $(box inspect --format '{{.State.Pid}}' \(hog))")
        try s.box("wait", decoy, hog)
        #expect(try s.box("start", decoy).status == 0)
        let r = try s.lab("check")
        #expect(r.status == 1 && r.stdout.contains("started again"), "\(r.stdout)")
    }

    @Test("registry push-again: a wrong app:2 pushed first, then the right one, passes; app:1's layers did not travel again",
          .enabled(if: isRoot, needsRoot),
          .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/docker-registry"), "docker-registry is not installed"))
    func wrongPushThenRightPush() throws {
        let s = try LabSandbox()
        try s.lab("start", "registry")
        for _ in 0..<2 { #expect(try s.lab("solve").status == 0) }  // the registry runs, app:1 is pushed
        let yml = try String(contentsOfFile: s.base + "/work/registry/registry.yml", encoding: .utf8)
        let addr = try #require(yml.split(separator: "\n").first { $0.contains("addr: 127.0.0.1:") }, "\(yml)")
        let repo = "127.0.0.1:" + (addr.split(separator: ":").last.map { $0.trimmingCharacters(in: .whitespaces) } ?? "") + "/class/app"
        // Wrong first: app:2 committed from busybox, not from app:1, and pushed (its blobs arrive in this step).
        #expect(try s.box("run", "--name", "wrong", "busybox", "sh", "-c", "echo wrong > /version").status == 0)
        #expect(try s.box("commit", "wrong", repo + ":2").status == 0)
        #expect(try s.box("push", repo + ":2").status == 0)
        let wrong = try s.lab("check")
        #expect(wrong.status == 1, "\(wrong.stdout)")
        // Then right: from app:1, pushed again. The wrong push's blobs stay in the storage; the step passes.
        #expect(try s.box("run", "--name", "reg-v2", repo + ":1", "sh", "-c", "echo right > /version").status == 0)
        #expect(try s.box("commit", "reg-v2", repo + ":2").status == 0)
        #expect(try s.box("push", repo + ":2").status == 0)
        let right = try s.lab("check")
        #expect(right.status == 0 && right.stdout.contains("were already there"), "\(right.stdout)")
    }

    @Test("a host kill -9 after box start passes kill-pid-1, even after an earlier box kill; a --rm c1 is found by its events",
          .enabled(if: isRoot, needsRoot))
    func rightWorkPasses() throws {
        let s = try LabSandbox()
        try s.lab("start", "pid-namespaces")
        for _ in 0..<5 { #expect(try s.lab("solve").status == 0) }
        // On kill-pid-1 now: box kill first (wrong), then start again and kill from the host (right).
        try s.box("kill", "c1")
        try s.box("wait", "c1")
        let byBox = try s.lab("check")
        #expect(byBox.status == 1 && byBox.stdout.contains("box kill ended it"), "\(byBox.stdout)")
        #expect(try s.box("start", "c1").status == 0)
        try s.sh("kill -9 $(box inspect --format '{{.State.Pid}}' c1)")
        try s.box("wait", "c1")
        let fromHost = try s.lab("check")
        #expect(fromHost.status == 0, "\(fromHost.stdout)")
    }

    @Test("kill-pid-1 with a --rm c1: the container is gone after the kill, and its events still say how it ended",
          .enabled(if: isRoot, needsRoot))
    func removedContainerJudgedByItsEvents() throws {
        let s = try LabSandbox()
        try s.lab("start", "pid-namespaces")
        for _ in 0..<5 { #expect(try s.lab("solve").status == 0) }
        try s.box("rm", "-f", "c1")
        try s.box("run", "-dit", "--rm", "--name", "c1", "busybox", "sh")
        try s.sh("kill -9 $(box inspect --format '{{.State.Pid}}' c1)")
        var gone = false
        for _ in 0..<50 where !gone { gone = try s.box("inspect", "c1").status != 0; if !gone { usleep(100_000) } }
        #expect(gone, "the --rm container was not removed")
        let r = try s.lab("check")
        #expect(r.status == 0 && r.stdout.contains("died of signal 9"), "\(r.stdout)")
    }

    @Test("lab check after the last step says the lab is complete; lab next then moves on and says so", .enabled(if: isRoot, needsRoot))
    func completion() throws {
        let s = try LabSandbox()
        try s.lab("start", "pid-namespaces")
        var last = ""
        for _ in 0..<6 { last = try s.lab("solve").stdout }
        #expect(last.contains("Lab pid-namespaces complete"), "\(last)")
        let check = try s.lab("check")
        #expect(check.status == 0 && check.stdout.contains("Lab pid-namespaces complete"), "\(check.stdout)\(check.stderr)")
        let next = try s.lab("next")
        #expect(next.stdout.contains("You have finished pid-namespaces; moving on"), "\(next.stdout)")
    }

    @Test("commands are shown without sudo to root without sudo, and with it through sudo", .enabled(if: isRoot, needsRoot))
    func sudoShownAsTyped() throws {
        let s = try LabSandbox()
        let root = try s.run([s.bin + "/lab", "start", "pid-namespaces"], prefix: ["/usr/bin/env", "-u", "SUDO_USER"])
        #expect(root.stdout.contains("box run -it --name c1") && !root.stdout.contains("sudo box"), "\(root.stdout)")
        // Through sudo the learner is nobody, whose progress lab keeps (as them) in a directory of theirs.
        chmod(s.base, 0o711)
        try s.sh("cp -a \(s.base)/home \(s.base)/nobody && chown -R nobody: \(s.base)/nobody")
        let viaSudo = try s.run([s.bin + "/lab", "check"], extra: ["SUDO_USER": "nobody", "LAB_HOME": s.base + "/nobody"])
        #expect(viaSudo.stdout.contains("sudo box run -it"), "\(viaSudo.stdout)")
    }

    @Test("a mistyped verb or lab id gets a suggestion", .enabled(if: isRoot, needsRoot))
    func suggestions() throws {
        let s = try LabSandbox()
        let verb = try s.lab("nxt")
        #expect(verb.status == 2 && verb.stderr.contains("did you mean `lab next`"), "\(verb.stderr)")
        let id = try s.lab("start", "pid-namespace")
        #expect(id.status != 0 && id.stderr.contains("did you mean pid-namespaces"), "\(id.stderr)")
    }
}

@Suite("lab: who sent the signal", .serialized)
struct SignalOriginTests {
    @Test("kill-from-host: the same kill done by box exec inside c1 does not pass; the kernel's record says who sent it",
          .enabled(if: isRoot, needsRoot), .enabled(if: SignalTrace.isSupported, "this kernel has no tracefs"))
    func killThroughExecIsNotFromTheHost() throws {
        let s = try LabSandbox()
        try s.lab("start", "pid-namespaces")
        for _ in 0..<4 { #expect(try s.lab("solve").status == 0) }
        try s.box("exec", "c1", "sh", "-c", "kill $(pidof sleep)")
        let r = try checkUntil(s, shows: "it came from box")
        #expect(r.status == 1 && r.stdout.contains("it came from box"), "\(r.stdout)")
        // The step's trace instance (this learner's: other suites trace the same step beside it) goes with the reset.
        let mine = Runner.signalTracePrefix(journal: s.base + "/home", lab: "pid-namespaces") + "kill-from-host"
        #expect(SignalTrace.instances(prefix: mine) == [mine])
        #expect(try s.lab("reset").status == 0)
        #expect(SignalTrace.instances(prefix: mine).isEmpty)
    }

    @Test("the trace parser reads tracefs lines: sender with dashes in its name, forks")
    func parse() {
        let text = """
        # tracer: nop
                    kill-4242    [001] d..1.  1234.567890: signal_generate: sig=15 errno=0 code=0 comm=sleep pid=4200 grp=1 res=0
           my-prog -x-77     [000] .....  1235.000001: signal_generate: sig=9 errno=0 code=0 comm=a b pid=9 grp=1 res=1
                    bash-4100    [000] .....  1234.500000: sched_process_fork: comm=bash pid=4100 child_comm=bash child_pid=4242
        """
        let (signals, forks) = SignalTrace.parse(text)
        #expect(signals == [
            SignalTrace.Sent(sender: 4242, senderComm: "kill", signal: 15, target: 4200, result: 0, time: 1234.56789),
            SignalTrace.Sent(sender: 77, senderComm: "my-prog -x", signal: 9, target: 9, result: 1, time: 1235.000001),
        ])
        #expect(forks == [SignalTrace.Fork(parent: 4100, parentComm: "bash", child: 4242, childComm: "bash")])
    }
}

/// `lab check` until its output shows `text`, for `seconds` at most (a process started in the background may
/// take a moment to be there, or gone, on a loaded machine); the last result either way.
func checkUntil(_ s: LabSandbox, shows text: String, seconds: Double = 8) throws -> LabSandbox.Result {
    let deadline = Date().addingTimeInterval(seconds)
    var r = try s.lab("check")
    while !r.stdout.contains(text) && Date() < deadline {
        usleep(200_000)
        r = try s.lab("check")
    }
    return r
}
