import Foundation
import Testing
import TestSupport
@testable import Engine
@testable import LabKit

/// Tests that need the real kernel run as root; elsewhere they are skipped with this reason.
let isRoot = getuid() == 0
let needsRoot = "needs root: namespaces, mounts and /proc of other processes (run ./test.sh with sudo)"

/// One test's own engine: a fresh BOX_ROOT under /tmp, the real `box` binary, and a clean-up that leaves
/// nothing behind (containers removed, no mount under the root, the directory gone).
final class Sandbox: @unchecked Sendable {
    let scratch: Scratch
    var root: String { scratch.base }
    let box: String
    /// Directories a test made next to the root (archives, unpacked layouts), removed with it.
    var scratchDirs: [String] = []

    typealias Result = Command.Result

    init() throws {
        scratch = try Scratch(prefix: "boxtest")
        // The test bundle sits next to the `box` it depends on (.build/<triple>/debug/).
        let exe = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        box = exe.deletingLastPathComponent().appendingPathComponent("box").path
    }

    /// A directory of this test's own, ROOT-NAME beside the root, made now and removed with the sandbox.
    func scratch(_ name: String) throws -> String {
        let dir = root + "-" + name
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        scratchDirs.append(dir)
        return dir
    }

    var engineRoot: EngineRoot { EngineRoot(path: root) }
    var store: ContainerStore { ContainerStore(root: engineRoot) }

    /// Runs `box ARGS`, waiting for it; stdin from `input` (or /dev/null).
    @discardableResult
    func run(_ args: String..., input: String? = nil) throws -> Result {
        try run(args, input: input)
    }

    func run(_ args: [String], input: String? = nil, environment extra: [String: String] = [:]) throws -> Result {
        // BOX_CONFIG (box login's credentials) in the root unless the test names one: never the host's ~/.box.
        try Self.exec([box] + args, input: input, environment: ["BOX_ROOT": root, "BOX_CONFIG": root + "/client-config"].merging(extra) { $1 })
    }

    /// Runs any host program (nsenter, kill...); see Command.run for `input` and `typing`. A command still
    /// running at its deadline is killed, and the test fails naming it.
    static func exec(_ argv: [String], input: String? = nil, typing: [(seconds: Double, text: String)] = [],
                     environment extra: [String: String] = [:]) throws -> Result {
        let r = try Command.run(argv, environment: extra, input: input, typing: typing)
        #expect(!r.timedOut, "\(Command.overrun(argv))")
        return r
    }

    /// Starts a detached container and returns its id.
    @discardableResult
    func detached(_ args: String...) throws -> String {
        let r = try run(["run", "-d"] + args)
        #expect(r.status == 0, "box run -d \(args) failed: \(r.stderr)")
        return r.out
    }

    func inspect(_ name: String, _ format: String) throws -> String {
        let r = try run("inspect", "--format", format, name)
        #expect(r.status == 0, "inspect failed: \(r.stderr)")
        return r.out
    }

    func pid(_ name: String) throws -> Int32 {
        Int32(try inspect(name, "{{.State.Pid}}")) ?? 0
    }

    /// Mount points below this sandbox's root, from the host's mountinfo.
    var mountsUnderRoot: [String] { scratch.mounts }

    /// Removes every container, checks nothing stayed mounted, deletes the root.
    func cleanUp() {
        let leftovers = scratch.cleanUp(engine: engineRoot) { ids in _ = try? run(["rm", "-f"] + ids) }
        #expect(leftovers.isEmpty, "mounts left behind: \(leftovers)")
        for dir in scratchDirs { try? FileManager.default.removeItem(atPath: dir) }
    }

    deinit { cleanUp() }

    /// Polls `condition` every 20 ms for up to `seconds` (for state that settles asynchronously).
    static func eventually(_ seconds: Double = 10, _ condition: () throws -> Bool) rethrows -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if try condition() { return true }
            usleep(20_000)
        }
        return try condition()
    }

    /// Events of this sandbox's journal, oldest first.
    var events: [Event] { EventJournal(root: engineRoot).read().events }
}
