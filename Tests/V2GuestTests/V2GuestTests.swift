import Foundation
import Testing
import TestSupport
import LabKit
import Labs
import Exercises

/// box and every lab on a pure cgroup v2 kernel (issue 24): this host is hybrid v1, so the v2 driver's real
/// behaviour is tested in a qemu guest on Debian's cloud kernel booted with cgroup_no_v1=all. The guest is
/// booted once (Tests/V2Guest/run.sh, about three minutes under software emulation) with the release `box` and
/// `lab` in BOX_V2_GUEST_BIN, which test.sh builds; each test of Tests/V2Guest/guest-tests.sh is a test here,
/// reported by its name.
@Suite("cgroup v2 in a qemu guest (pure v2 kernel): box's v2 driver and every lab's selftest",
       .disabled(if: V2Guest.skipReason != nil, Comment(rawValue: V2Guest.skipReason ?? "")))
struct V2GuestTests {
    /// The guest's tests of box, in the order it runs them (guest-tests.sh's t_NAME functions).
    static let behaviours = ["v2_host", "oom_kill", "pids_limit", "pause", "cpu_weight", "cpu_max", "memory_max",
                             "update", "stats", "restart_policy", "device_cgroup", "bridge_network"]
    static let labs = (guidedLabs + exercises).map(\.id)

    @Test("the guest booted, ran every test and powered off")
    func guestFinished() async {
        let run = await V2Guest.run.value
        #expect(run.finished, "the guest did not finish (exit \(run.status)); its console ended with:\n\(run.tail)")
    }

    @Test("box on cgroup v2", arguments: behaviours)
    func behaviour(_ name: String) async {
        await V2Guest.run.value.expectPassed(name)
    }

    @Test("lab selftest on cgroup v2", arguments: labs)
    func labSelftest(_ id: String) async {
        await V2Guest.run.value.expectPassed("lab_selftest_" + id)
    }

    @Test("every test the guest ran has its name here, so none passes or fails unseen")
    func everyTestNamed() async {
        let known = Set(Self.behaviours + Self.labs.map { "lab_selftest_" + $0 })
        let ran = await V2Guest.run.value.results.keys
        #expect(ran.filter { !known.contains($0) }.sorted() == [], "add them to V2GuestTests.behaviours")
    }
}

/// One boot of the guest, shared by the suite's tests (a static let runs once, on first use). The tests await it:
/// the boot blocks a thread of its own for minutes, never one of the few (one a core) that run the tests.
struct V2Guest: Sendable {
    struct Result: Sendable {
        var passed: Bool
        var why: String
    }
    var status: Int32
    /// Exit 0 or 1 from run.sh: the guest finished and wrote its results (2: it could not be made or hung).
    var finished: Bool { status == 0 || status == 1 }
    var results: [String: Result]
    var tail: String

    func expectPassed(_ name: String, sourceLocation: SourceLocation = #_sourceLocation) {
        guard let r = results[name] else {
            Issue.record("\(name) did not run in the guest (exit \(status)); its console ended with:\n\(tail)", sourceLocation: sourceLocation)
            return
        }
        #expect(r.passed, "\(name): \(r.why)", sourceLocation: sourceLocation)
    }

    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("V2Guest/run.sh").path
    static let binaries = ProcessInfo.processInfo.environment["BOX_V2_GUEST_BIN"]

    /// Why the guest cannot run here, or nil.
    static let skipReason: String? = {
        guard getuid() == 0 else { return "needs root: the guest's root is made with debootstrap (run ./test.sh with sudo)" }
        guard let bin = binaries, !bin.isEmpty else {
            return "BOX_V2_GUEST_BIN is unset: ./test.sh builds the release box and lab the guest needs and sets it"
        }
        let path = (ProcessInfo.processInfo.environment["PATH"] ?? "") + ":/usr/sbin:/usr/bin:/sbin"
        func found(_ tool: String) -> Bool {
            path.split(separator: ":").contains { access("\($0)/\(tool)", X_OK) == 0 }
        }
        for (tool, package) in [("qemu-system-x86_64", "qemu-system-x86"), ("debootstrap", "debootstrap"), ("mkfs.ext4", "e2fsprogs")]
        where !found(tool) {
            return "\(tool) is missing (apt-get install \(package))"
        }
        let kernels = (try? FileManager.default.contentsOfDirectory(atPath: "/boot")) ?? []
        guard kernels.contains(where: { $0.hasPrefix("vmlinuz-") && $0.hasSuffix("-cloud-amd64") }) else {
            return "no Debian cloud kernel in /boot (apt-get install linux-image-cloud-amd64)"
        }
        for tool in ["box", "lab"] where access("\(bin)/\(tool)", X_OK) != 0 {
            return "\(bin)/\(tool) is missing (BOX_V2_GUEST_BIN names the release build's directory)"
        }
        return nil
    }()

    static let run = Task {
        await withCheckedContinuation { (done: CheckedContinuation<V2Guest, Never>) in
            Thread { done.resume(returning: boot()) }.start()
        }
    }

    static func boot() -> V2Guest {
        // Under emulation the whole run takes about three minutes; run.sh stops the guest at its own limit first.
        let r: Command.Result
        do {
            r = try Command.run(["/bin/bash", script, binaries ?? ""], deadline: 1800)
        } catch {
            return V2Guest(status: -1, results: [:], tail: "\(script) did not start: \(error)")
        }
        // Only the lines read back from the guest's disk count (run.sh prints them after "==> results").
        let lines = r.stdout.components(separatedBy: "==> results (from the guest's disk)\n").dropFirst().joined()
            .split(separator: "\n")
        var results: [String: Result] = [:]
        for line in lines where line.hasPrefix("V2GUEST-RESULT ") {
            let fields = line.split(separator: " ", maxSplits: 3, omittingEmptySubsequences: false)
            guard fields.count >= 3 else { continue }
            results[String(fields[1])] = Result(passed: fields[2] == "pass", why: fields.count > 3 ? String(fields[3]) : "")
        }
        let console = (r.stdout + r.stderr).split(separator: "\n", omittingEmptySubsequences: false)
        return V2Guest(status: r.timedOut ? -1 : r.status, results: results, tail: console.suffix(60).joined(separator: "\n"))
    }
}
