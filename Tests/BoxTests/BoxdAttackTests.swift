import Foundation
import Testing
import TestSupport
@testable import Engine

/// What a client of boxd's socket (a member of the group `box`, or any local process with a tcp listener) must not
/// be able to do to the daemon itself, each found in a review of boxd.
@Suite("boxd: a client cannot crash the daemon or leave processes behind", .serialized)
struct BoxdAttackTests {
    @Test("a chunk size near Int.max is refused with 413, and boxd keeps serving (it used to overflow and crash)")
    func chunkSizeOverflow() throws {
        let box = try Sandbox()
        let d = try BoxdDaemon(box)
        defer { d.stop() }
        let answer = d.raw("POST /v1.41/containers/create HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
                           + "1\r\n{\r\n7fffffffffffffff\r\n")
        #expect(answer.hasPrefix("HTTP/1.1 413"), "\(answer)")
        #expect(kill(d.pid, 0) == 0, "boxd died: \(d.logText)")
        #expect(try d.curl("http://x/_ping").status == 200)
    }

    @Test("the monitors boxd starts are reaped when their containers end: no zombie children")
    func noZombieMonitors() throws {
        let box = try Sandbox()
        let d = try BoxdDaemon(box)
        defer { d.stop() }
        for i in 0..<3 {
            let r = try d.docker("run", "--rm", "--name", "z\(i)", "busybox", "true")
            #expect(r.status == 0, "\(r.stderr)")
        }
        // Every child of boxd that has ended is gone from the process table (a zombie is state Z with boxd as parent).
        let reaped = Sandbox.eventually(10) { zombies(of: d.pid).isEmpty }
        #expect(reaped, "zombie children of boxd: \(zombies(of: d.pid))")
    }

    /// boxd's children in state Z.
    func zombies(of parent: Int32) -> [Int32] {
        let pids = (try? FileManager.default.contentsOfDirectory(atPath: "/proc").compactMap { Int32($0) }) ?? []
        return pids.filter { pid in
            guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { return false }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            return fields.count > 2 && fields[0] == "Z" && Int32(fields[1]) == parent
        }
    }
}
