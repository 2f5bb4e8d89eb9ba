import ArgumentParser
import Engine
import LabKit

struct Start: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "start",
        abstract: "Start a lab (or go back to one) and show its current step",
        discussion: "Labs with prerequisites ask you to finish those first; --force starts anyway.")

    @Argument(help: "The lab's id (see lab list)")
    var lab: String

    @Flag(help: "Start even if its prerequisites are not done")
    var force = false

    func run() throws {
        let r = try runner()
        let lab = try r.lab(self.lab)
        let p = r.progress()
        let missing = r.missingPrerequisites(lab, p)
        if !missing.isEmpty && !force {
            throw BoxError(.usage, "\(lab.id) builds on \(missing.joined(separator: ", ")): finish that first, or use --force", exitCode: 1)
        }
        let screen = Screen(runner: r)
        if p.labs[lab.id]?.started == nil { screen.intro(lab) }
        try r.start(lab)
        guard let step = r.progress().currentStep(of: lab) else {
            say("You have finished \(lab.id). `sudo lab reset \(lab.id)` lets you do it again.")
            return
        }
        try r.begin(step, of: lab)
        screen.step(step, of: lab)
    }
}
