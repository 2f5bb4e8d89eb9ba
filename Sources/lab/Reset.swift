import ArgumentParser
import Engine
import LabKit

struct Reset: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reset",
        abstract: "Undo a lab: remove what it and you made during it, and its progress",
        discussion: """
        Removes the containers created and images committed since the lab started (from box's event journal), \
        processes its solutions started, the lab's own files and mounts, and its progress, so that you can \
        start it afresh. Without LAB: the current lab.
        """)

    @Argument(help: "The lab's id (default: the current lab)")
    var lab: String?

    @Flag(help: "Reset every lab")
    var all = false

    func validate() throws {
        if all && lab != nil { throw ValidationError("give a LAB or --all, not both") }
    }

    func run() throws {
        let r = try runner()
        let labs: [Lab]
        if all {
            labs = catalog.filter { r.progress().labs[$0.id] != nil }
        } else if let id = lab {
            labs = [try r.lab(id)]
        } else {
            let p = r.progress()
            guard let current = r.currentLab(p) else {
                let recent = catalog.filter { p.labs[$0.id] != nil }
                    .max { (p.labs[$0.id]?.touched ?? .zero) < (p.labs[$1.id]?.touched ?? .zero) }
                throw BoxError(.usage, "no lab is in progress: name the one to reset, e.g. sudo lab reset \(recent?.id ?? "pid-namespaces") (or --all)",
                               exitCode: 1)
            }
            labs = [current]
        }
        for lab in labs {
            let removed = try r.reset(lab)
            say("\(lab.id): reset" + (removed.isEmpty ? " (nothing to remove)" : ", removed:"))
            for line in removed { say("  " + line) }
        }
        if labs.isEmpty { say("No lab has progress to reset.") }
    }
}
