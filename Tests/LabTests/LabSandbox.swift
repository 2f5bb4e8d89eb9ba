import Foundation
import Testing
import TestSupport
@testable import Engine
@testable import LabKit

let isRoot = getuid() == 0
let needsRoot: Comment = "needs root: namespaces, mounts and /proc of other processes (run ./test.sh with sudo)"

/// One test's own learner: a fresh engine root, progress journal and lab work directory under /tmp, the real
/// `lab` and `box` binaries, and a clean-up that leaves nothing behind.
final class LabSandbox: @unchecked Sendable {
    let scratch: Scratch
    var base: String { scratch.base }
    let bin: String

    typealias Result = Command.Result

    init() throws {
        scratch = try Scratch(prefix: "labsandbox")
        bin = LabSandbox.binDirectory
    }

    /// The test bundle sits next to the `lab`, `box` and `lab-server` it depends on (.build/<triple>/debug/).
    static var binDirectory: String {
        URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent().path
    }

    var environment: [String: String] {
        ["BOX_ROOT": base + "/box", "LAB_HOME": base + "/home", "LAB_WORKROOT": base + "/work", "LAB_LEARNER": "tester",
         "PATH": bin + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"), "NO_COLOR": "1"]
    }

    @discardableResult
    func lab(_ args: String...) throws -> Result { try run([bin + "/lab"] + args) }

    /// `lab ARGS` started in this learner's environment and left running (a `watch`, a second selftest), its
    /// stdout and stderr both into `output`; the caller waits for it, or ends it.
    func startLab(_ args: [String]) throws -> (process: Process, output: Pipe) {
        let p = Process(), output = Pipe()
        p.executableURL = URL(fileURLWithPath: bin + "/lab")
        p.arguments = args
        p.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        p.standardOutput = output
        p.standardError = output
        p.standardInput = FileHandle.nullDevice
        try p.run()
        return (p, output)
    }

    @discardableResult
    func box(_ args: String...) throws -> Result { try run([bin + "/box"] + args) }

    @discardableResult
    func sh(_ script: String) throws -> Result { try run(["/bin/sh", "-c", script]) }

    /// Runs `prefix + argv` in this learner's environment; one still running at its deadline is killed, and
    /// the test fails naming it.
    func run(_ argv: [String], prefix: [String] = [], extra: [String: String] = [:]) throws -> Result {
        let full = prefix + argv
        let r = try Command.run(full, environment: environment.merging(extra) { $1 })
        #expect(!r.timedOut, "\(Command.overrun(full))")
        return r
    }

    var mountsUnderBase: [String] { scratch.mounts }

    deinit {
        // A background `lab __sync` of this learner's (a joined room whose server is gone retries for minutes):
        // found by the home it was started with, never host-wide by name.
        for p in Proc.all() where p.environment.contains("LAB_HOME=" + base + "/home") || p.environment.contains { $0.hasPrefix("LAB_HOME=" + base + "/") } {
            if p.commandLine.dropFirst().first == "__sync" { kill(p.pid, SIGKILL) }
        }
        _ = try? lab("reset", "--all")
        let leftovers = scratch.cleanUp(engine: EngineRoot(path: base + "/box")) { ids in _ = try? run([bin + "/box", "rm", "-f"] + ids) }
        #expect(leftovers.isEmpty, "mounts left behind: \(leftovers)")
    }
}
