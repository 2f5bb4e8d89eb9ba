import ArgumentParser
import Engine
import LabKit

struct Answer: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "answer",
        abstract: "Answer the current step's question",
        discussion: """
        Some steps ask a question whose answer you find by looking at the system, e.g. which PID a process has \
        inside a container and on the host. The answer is checked against the kernel's state right now.
          sudo lab answer 7 12345
        """)

    @Argument(help: "The answer, as the step's question asks for it")
    var values: [String]

    func validate() throws {
        if values.isEmpty { throw ValidationError("give the answer: lab answer VALUE...") }
    }

    func run() throws {
        let r = try runner()
        guard let (lab, step) = try currentPosition(r, start: false) else { throw BoxError(.usage, noLabMessage(), exitCode: 1) }
        guard step.question != nil else {
            throw BoxError(.usage, "this step (\(step.title)) asks no question: do what it says, then sudo lab next", exitCode: 1)
        }
        try r.begin(step, of: lab)
        let solving = r.isRunningSolution(of: lab)
        if !solving, let wait = r.answerCoolDown(step, of: lab) {
            let tries = r.progress().step(lab.id, step.id).wrong.count
            throw BoxError(.usage, "\(tries) answers to this step were wrong: wait \(wait) s before the next one. Meanwhile, " +
                           "`sudo lab hint` helps and `sudo lab check` says what the check looks at.", exitCode: 1)
        }
        try r.recordAnswer(values, step, of: lab)
        // An answer given by `lab solve` (or selftest) is the reference solution's, recorded as solved.
        let verdict = try checkAndAdvance(r, lab, step, showFailure: true, solved: solving)
        if !verdict.passed {
            if !solving { try r.recordWrongAnswer(step, of: lab) }
            throw ExitCode(1)
        }
    }
}
