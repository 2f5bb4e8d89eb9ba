import ArgumentParser
import Engine
import LabKit

struct Next: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "next",
        abstract: "Show the current step; if you have done it, record it and show the next one",
        discussion: """
        The first time, it starts the first lab. Afterwards it checks the step you are on, from the kernel's \
        state: if it passes, the next step is shown; if not, the step is shown again with what is missing.
        """)

    func run() throws {
        let r = try runner()
        guard let (lab, step) = try currentPosition(r, start: true) else {
            say("Every lab and exercise is done. `sudo lab status` shows them; `sudo lab reset LAB` lets you do one again.")
            return
        }
        let screen = Screen(runner: r)
        if r.progress().step(lab.id, step.id).started == nil {
            try r.begin(step, of: lab)
            screen.step(step, of: lab)
            return
        }
        let verdict = try checkAndAdvance(r, lab, step, showFailure: false)
        if case .fail(let f) = verdict {
            screen.step(step, of: lab)
            say("")
            say(screen.style.yellow("Not done yet: ") + f.observed + ".  " + screen.style.dim("(sudo lab check explains, sudo lab hint helps)"))
        }
    }
}

struct CheckVerb: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Check the current step and explain the result: what was expected, what the kernel shows",
        discussion: "Exits 0 if the step passes (and records it), 1 if not.")

    @Flag(help: "Print the verdict as JSON")
    var json = false

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
            if !json, let done = r.lastCompleted(r.progress()) {
                Screen(runner: r).completed(done)
                return
            }
            throw BoxError(.usage, noLabMessage(), exitCode: 1)
        }
        try r.begin(step, of: lab)
        let verdict = r.check(step, of: lab)
        if case .pass = verdict { try r.recordPass(step, of: lab) }
        if json {
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

struct HintVerb: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "hint", abstract: "Show the next hint for the current step")

    func run() throws {
        let r = try runner()
        guard let (lab, step) = try currentPosition(r, start: false) else { throw BoxError(.usage, noLabMessage(), exitCode: 1) }
        let style = Style.forStandardOutput()
        guard let (n, text) = try r.nextHint(step, of: lab) else {
            say("This step has no hints. `sudo lab check` says what is missing; `sudo lab solve` runs the solution.")
            return
        }
        say(style.bold("Hint \(n) of \(step.hints.count): ") + Markdown.render(r.substitute(text, lab), style))
        if n == step.hints.count { say(style.dim("That was the last hint. `sudo lab solve` runs the reference solution.")) }
    }
}
