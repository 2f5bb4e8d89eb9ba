import ArgumentParser
import Engine
import LabKit

struct CheckVerb: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Check the current step and explain the result: what was expected, what the kernel shows",
        discussion: "Exits 0 if the step passes (and records it), 1 if not.")

    @OptionGroup var output: JSONOutput

    struct Report: Encodable {
        var lab: String
        var step: String
        var passed: Bool
        var message: String?
        var expected: String?
        var observed: String?
        var tryThis: String?
    }

    func run() throws {
        let r = try runner()
        guard let (lab, step) = try currentPosition(r, start: false) else {
            // After the last step of a lab: say so, as `lab next` did when it passed.
            if !output.json, let done = r.lastCompleted(r.progress()) {
                Screen(runner: r).completed(done)
                return
            }
            throw BoxError(.usage, noLabMessage(), exitCode: 1)
        }
        try r.begin(step, of: lab)
        let verdict = r.check(step, of: lab)
        switch verdict {
        case .pass: try r.recordPass(step, of: lab)
        case .fail(let f): r.recordFailure(f, step, of: lab)
        }
        if output.json {
            switch verdict {
            case .pass(let why): try printJSON(Report(lab: lab.id, step: step.id, passed: true, message: why))
            case .fail(let f): try printJSON(Report(lab: lab.id, step: step.id, passed: false, expected: f.expected,
                                                    observed: f.observed, tryThis: f.tryThis))
            }
        } else {
            let screen = Screen(runner: r)
            say(screen.style.bold("\(lab.id) · \(step.title)"))
            switch verdict {
            case .pass(let why):
                screen.passed(step, why)
                if r.progress().isComplete(lab) { screen.completed(lab) } else { say("`sudo lab next` shows the next step.") }
            case .fail(let f): screen.failure(f)
            }
        }
        if !verdict.passed { throw ExitCode(1) }
    }
}
