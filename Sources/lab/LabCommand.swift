#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Engine
import Exercises
import LabKit
import Labs

struct LabCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lab",
        abstract: "Hands-on labs on namespaces and cgroups, checked from the kernel's own state.",
        discussion: """
        Type `sudo lab next` and follow it. Each step says what to do in your own
        terminals; when you have done it, `lab next` checks it from the kernel
        (processes, namespaces, mounts, the engine's journal) and shows the next
        step. Nothing you type is matched as text: only what you did counts, and
        only if you did it after the step began.

        Stuck? `lab hint` gives one more hint each time, `lab check` says what the
        check expected and what it saw, `lab solve` runs the reference solution
        (recorded as solved, not as your pass).

        Your progress is in ~/.local/state/boxlab/progress.jsonl: yours, not root's.

        A typical session:
          sudo lab next      # start, or go on where you left off
          sudo lab watch     # re-checks every second while you work elsewhere
          sudo lab status    # every lab and step, with times
        """,
        version: "0.1.0",
        subcommands: [
            Next.self, CheckVerb.self, Answer.self, HintVerb.self, Watch.self, Solve.self, ListLabs.self, Start.self,
            Status.self, Reset.self, Join.self, Serve.self, Doctor.self, Selftest.self, SyncVerb.self, MapVerb.self,
        ]
    )
}

/// Every lab and exercise, in order.
let catalog: [Lab] = guidedLabs + exercises

/// The runner for the learner behind sudo. Every verb that looks into namespaces needs root.
func runner() throws -> Runner {
    guard geteuid() == 0 else {
        throw BoxError(.usage, "lab reads other processes' namespaces and starts containers: run it with sudo (sudo lab ...)",
                       exitCode: 1)
    }
    let workRoot = getenv("LAB_WORKROOT").map { String(cString: $0) }.flatMap { $0.isEmpty ? nil : $0 } ?? Runner.defaultWorkRoot
    return Runner(catalog: catalog, workRoot: workRoot)
}

func say(_ text: String) { _ = writeFully(1, Array(shown(text + "\n").utf8)) }

/// Root without sudo (a VM with no sudo installed, a root shell) types the steps' commands without it: they are
/// shown so. Through sudo, or as another user, they are shown as written.
let typesSudo = geteuid() != 0 || getenv("SUDO_USER") != nil
func shown(_ text: String) -> String { typesSudo ? text : Markdown.withoutSudo(text) }
func writeErr(_ text: String) { _ = writeFully(2, Array(text.utf8)) }

func printJSON<T: Encodable>(_ value: T) throws {
    say(String(decoding: try Files.encode(value, pretty: true), as: UTF8.self))
}

/// `--json`, for the verbs that print for scripts too (list, status, check, doctor).
struct JSONOutput: ParsableArguments {
    @Flag(help: "Print as JSON")
    var json = false
}
