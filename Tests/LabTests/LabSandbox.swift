import Foundation
import Testing
@testable import Engine

let isRoot = getuid() == 0
let needsRoot: Comment = "needs root: namespaces, mounts and /proc of other processes (run ./test.sh with sudo)"

/// One test's own learner: a fresh engine root, progress journal and lab work directory under /tmp, the real
/// `lab` and `box` binaries, and a clean-up that leaves nothing behind.
final class LabSandbox: @unchecked Sendable {
    let base: String
    let bin: String

    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    init() throws {
        var template = Array("/tmp/labsandbox-XXXXXX".utf8CString)
        guard let dir = mkdtemp(&template) else { throw BoxError.sys(.store, "mkdtemp") }
        base = String(cString: dir)
        // The test bundle sits next to the `lab` and `box` it depends on (.build/<triple>/debug/).
        bin = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent().path
    }

    var environment: [String: String] {
        ["BOX_ROOT": base + "/box", "LAB_HOME": base + "/home", "LAB_WORKROOT": base + "/work", "LAB_LEARNER": "tester",
         "PATH": bin + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"), "NO_COLOR": "1"]
    }

    @discardableResult
    func lab(_ args: String...) throws -> Result { try run([bin + "/lab"] + args) }

    @discardableResult
    func box(_ args: String...) throws -> Result { try run([bin + "/box"] + args) }

    @discardableResult
    func sh(_ script: String) throws -> Result { try run(["/bin/sh", "-c", script]) }

    func run(_ argv: [String], prefix: [String] = [], extra: [String: String] = [:]) throws -> Result {
        let p = Process()
        let full = prefix + argv
        p.executableURL = URL(fileURLWithPath: full[0])
        p.arguments = Array(full.dropFirst())
        p.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }.merging(extra) { $1 }
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        p.standardInput = FileHandle.nullDevice
        try p.run()
        let group = DispatchGroup()
        nonisolated(unsafe) var errData = Data()
        group.enter()
        DispatchQueue.global().async { errData = err.fileHandleForReading.readDataToEndOfFile(); group.leave() }
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        p.waitUntilExit()
        return Result(status: p.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                      stderr: String(decoding: errData, as: UTF8.self))
    }

    var mountsUnderBase: [String] { Rootfs.mountPoints().filter { $0.hasPrefix(base + "/") } }

    deinit {
        _ = try? lab("reset", "--all")
        if let ids = try? box("ps", "-aq", "--no-trunc").stdout.split(separator: "\n"), !ids.isEmpty {
            _ = try? run([bin + "/box", "rm", "-f"] + ids.map(String.init))
        }
        NetworkStore(root: EngineRoot(path: base + "/box")).destroyAll()
        let leftovers = mountsUnderBase
        #expect(leftovers.isEmpty, "mounts left behind: \(leftovers)")
        for m in leftovers.reversed() { umount2(m, Int32(MNT_DETACH)) }
        try? FileManager.default.removeItem(atPath: base)
    }
}
