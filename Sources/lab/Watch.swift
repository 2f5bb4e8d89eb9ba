#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Engine
import LabKit

struct Watch: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "watch",
        abstract: "Re-check the current step about once a second and announce the pass",
        discussion: """
        Keep it running in one terminal while you work in the others: when a step passes, it rings the \
        terminal bell and shows the next one. It does not depend on file-system events: it reads the \
        kernel's state each time. Ctrl-C stops it.
        """)

    @Option(help: "Seconds between checks")
    var interval: Double = 1

    func validate() throws {
        if !(interval >= 0.2 && interval <= 60) { throw ValidationError("--interval must be between 0.2 and 60 seconds") }
    }

    func run() throws {
        let r = try runner()
        var shown: String?
        while true {
            guard let (lab, step) = try currentPosition(r, start: true) else {
                say("Every lab and exercise is done.")
                return
            }
            if shown != lab.id + "/" + step.id {
                if r.progress().step(lab.id, step.id).started == nil {
                    try r.begin(step, of: lab)
                    Screen(runner: r).step(step, of: lab)
                }
                say(Style.forStandardOutput().dim("watching \(lab.id) · \(step.title) (Ctrl-C to stop)"))
                shown = lab.id + "/" + step.id
            }
            if r.check(step, of: lab).passed {
                say("\u{7}", terminator: "")
                try checkAndAdvance(r, lab, step, showFailure: false)
                shown = nil
                continue
            }
            usleep(UInt32(interval * 1_000_000))
        }
    }
}

func say(_ text: String, terminator: String) { _ = writeFully(1, Array((text + terminator).utf8)) }

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
