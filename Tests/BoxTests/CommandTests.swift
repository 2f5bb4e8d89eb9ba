import Foundation
import Testing
import TestSupport
@testable import Engine

@Suite("The tests' command runner")
struct CommandTests {
    @Test("a command past its deadline is killed and reported with what it printed; one that ends is not")
    func deadline() throws {
        let stuck = try Command.run(["/bin/sh", "-c", "echo before; exec sleep 60"], deadline: 1)
        #expect(stuck.timedOut && stuck.status == -1 && stuck.out == "before")
        // A child that outlives the command and keeps its output open is not waited for: the command's exit is
        // its end. One still running at the deadline goes with the command (a process group of its own).
        let leak = try Command.run(["/bin/sh", "-c", "sleep 60 & echo started; exit 4"], deadline: 30)
        #expect(!leak.timedOut && leak.status == 4 && leak.out == "started")
        _ = try Command.run(["/usr/bin/pkill", "-f", "^sleep 60$"])
        let group = try Command.run(["/bin/sh", "-c", "sleep 61 & echo $!; wait"], deadline: 1)
        #expect(group.timedOut)
        let child = try #require(Int32(group.out))
        #expect(Sandbox.eventually(5) { kill(child, 0) != 0 || HostProcess.state(child) == "Z" }, "sleep 61 outlived its command's deadline")
        let quick = try Command.run(["/bin/sh", "-c", "echo out; echo err >&2; exit 3"])
        #expect(!quick.timedOut && quick.status == 3 && quick.out == "out" && quick.stderr == "err\n")
        let typed = try Command.run(["/bin/cat"], input: "a", typing: [(seconds: 0.05, text: "b")])
        #expect(typed.stdout == "ab")
    }
}
