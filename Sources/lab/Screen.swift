import Engine
import LabKit

/// How steps, verdicts and progress look on the terminal; shared by the verbs.
struct Screen {
    let runner: Runner
    let style = Style.forStandardOutput()

    func intro(_ lab: Lab) {
        let kind = lab.kind == .exercise ? "Exercise" : "Lab"
        say(style.bold("\(kind): \(lab.title)") + style.dim("  (\(lab.id), about \(lab.minutes) min, seeds \(lab.seeds.joined(separator: ", ")))"))
        say(Markdown.render(lab.summary, style))
        say("")
    }

    func step(_ step: Step, of lab: Lab) {
        let n = (lab.index(of: step.id) ?? 0) + 1
        let position = lab.kind == .exercise ? "goal" : "step \(n) of \(lab.steps.count)"
        say(style.bold(style.green("== \(lab.id) · \(position) · \(step.title)")))
        say("")
        say(Markdown.render(runner.substitute(step.instructions, lab), style))
        if let q = step.question {
            say("")
            say(style.bold("Question: ") + runner.substitute(q.prompt, lab))
            say("Answer with:  " + style.cyan("sudo lab answer \(q.form)"))
        }
        say("")
        say(style.dim(step.question == nil
            ? "When you have done it: sudo lab next (or keep sudo lab watch running). Stuck? sudo lab hint"
            : "Stuck? sudo lab hint"))
    }

    func passed(_ step: Step, _ why: String, solved: Bool = false) {
        say(style.green(solved ? "✓ solved by the reference solution: " : "✓ passed: ") + why)
        say("")
    }

    func failure(_ f: Failure) {
        say(style.yellow("✗ not yet"))
        say("  expected: \(f.expected)")
        say("  observed: \(f.observed)")
        say("  try:      \(f.tryThis)")
    }

    /// After a pass: the next step, or the end of the lab.
    func next(after lab: Lab) throws {
        if let step = runner.progress().currentStep(of: lab) {
            try runner.begin(step, of: lab)
            self.step(step, of: lab)
            return
        }
        completed(lab)
    }

    /// The one message that says a lab is complete, whichever verb found it so (next, check, watch, solve).
    func completed(_ lab: Lab) {
        let p = runner.progress()
        let solved = lab.steps.filter { p.step(lab.id, $0.id).passed == nil }.count
        say(style.bold(style.green("✓ \(lab.kind == .exercise ? "Exercise" : "Lab") \(lab.id) complete.")) +
            (solved == 0 ? "" : style.dim(" (\(solved) of \(lab.steps.count) step(s) solved by the reference solution)")))
        if let following = runner.suggestedLab(runner.progress()) {
            say("Next: \(following.title) (\(following.id)). Type " + style.cyan("sudo lab next") + " to start it.")
        } else {
            say("That was the last one: every lab and exercise is done. `sudo lab status` shows your times.")
        }
        say(style.dim("`sudo lab reset \(lab.id)` removes the containers and files this lab made."))
    }
}

/// The learner's current lab and step, starting the suggested lab if none is current. nil when all are done.
func currentPosition(_ r: Runner, start: Bool) throws -> (Lab, Step)? {
    let p = r.progress()
    if let lab = r.currentLab(p), let step = p.currentStep(of: lab) { return (lab, step) }
    guard start, let lab = r.suggestedLab(p) else { return nil }
    let screen = Screen(runner: r)
    if let done = r.lastCompleted(p) {
        say(screen.style.dim("You have finished \(done.id); moving on to the next one, \(lab.id)."))
        say("")
    }
    try r.start(lab)
    screen.intro(lab)
    return lab.steps.first.map { (lab, $0) }
}

/// Checks `step` and, if it passes, records the pass (or, for a solution's answer, the solve) and shows what
/// comes next. Returns the verdict.
@discardableResult
func checkAndAdvance(_ r: Runner, _ lab: Lab, _ step: Step, showFailure: Bool, solved: Bool = false) throws -> Verdict {
    let screen = Screen(runner: r)
    let verdict = r.check(step, of: lab)
    switch verdict {
    case .pass(let why):
        try r.recordPass(step, of: lab, solved: solved)
        screen.passed(step, why, solved: solved)
        try screen.next(after: lab)
    case .fail(let f):
        r.recordFailure(f, step, of: lab)
        if showFailure { screen.failure(f) }
    }
    return verdict
}

func noLabMessage() -> String {
    "You are not in a lab: `sudo lab next` starts the next one, `sudo lab list` shows them all."
}

/// Left-aligned columns, as box prints its tables.
func table(_ rows: [[String]]) -> String {
    guard let first = rows.first else { return "" }
    var widths = [Int](repeating: 0, count: first.count)
    for row in rows { for (i, cell) in row.enumerated() where i < widths.count { widths[i] = max(widths[i], cell.count) } }
    return rows.map { row in
        row.enumerated().map { i, cell in
            i == row.count - 1 ? cell : cell + String(repeating: " ", count: widths[i] - cell.count + 3)
        }.joined()
    }.joined(separator: "\n")
}

func say(_ text: String, terminator: String) { _ = writeFully(1, Array(shown(text + terminator).utf8)) }
