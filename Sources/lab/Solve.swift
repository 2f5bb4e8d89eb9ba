#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Engine
import LabKit

struct Solve: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "solve",
        abstract: "Run the current step's reference solution (recorded as solved, not as your pass)",
        discussion: """
        Shows the commands and runs them. Interactive parts are replaced by detached equivalents (box run -d, \
        a background unshare). Use --show to only print them.
        """)

    @Flag(help: "Only print the solution, do not run it")
    var show = false

    func run() throws {
        let r = try runner()
        guard let (lab, step) = try currentPosition(r, start: false) else { throw BoxError(.usage, noLabMessage(), exitCode: 1) }
        let screen = Screen(runner: r)
        say(screen.style.bold("Reference solution for \(lab.id) · \(step.title):"))
        for line in r.solution(step, of: lab) { say(screen.style.cyan("    " + line)) }
        if show { return }
        try r.begin(step, of: lab)
        say("")
        let (status, _) = try r.runSolution(step, of: lab, capture: false)
        guard status == 0 else { throw BoxError(.usage, "the solution failed (exit \(status)): `sudo lab check` says what the system looks like", exitCode: 1) }
        switch r.awaitPass(step, of: lab, seconds: 10) {
        case .pass(let why):
            try r.recordPass(step, of: lab, solved: true)
            screen.passed(step, why, solved: true)
            try screen.next(after: lab)
        case .fail(let f):
            screen.failure(f)
            throw ExitCode(1)
        }
    }
}
