import Foundation
import Testing
import TestSupport

@Suite("The tests' command runner")
struct CommandTests {
    @Test("a command past its deadline is killed and reported with what it printed; one that ends is not")
    func deadline() throws {
        let stuck = try Command.run(["/bin/sh", "-c", "echo before; exec sleep 60"], deadline: 1)
        #expect(stuck.timedOut && stuck.status == -1 && stuck.out == "before")
        // A child that outlives the command and keeps its output open is not waited for either.
        let leak = try Command.run(["/bin/sh", "-c", "sleep 60 & echo started"], deadline: 1)
        #expect(leak.timedOut && leak.out == "started")
        let quick = try Command.run(["/bin/sh", "-c", "echo out; echo err >&2; exit 3"])
        #expect(!quick.timedOut && quick.status == 3 && quick.out == "out" && quick.stderr == "err\n")
        let typed = try Command.run(["/bin/cat"], input: "a", typing: [(seconds: 0.05, text: "b")])
        #expect(typed.stdout == "ab")
    }
}
