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

