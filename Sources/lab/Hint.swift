import ArgumentParser
import Engine
import LabKit

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
