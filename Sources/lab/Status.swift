import ArgumentParser
import Engine
import LabKit

struct Status: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "status", abstract: "Show every lab and step: done, solved or open, with times")

    @Flag(help: "Print as JSON")
    var json = false

    struct StepRow: Encodable {
        var lab, step, title, status: String
        var started: String?
        var finished: String?
        var seconds: Int64?
        var hints: Int
    }

    func run() throws {
        let r = try runner()
        let p = r.progress()
        var rows: [StepRow] = []
        for lab in catalog where p.labs[lab.id]?.started != nil {
            for step in lab.steps {
                let s = p.step(lab.id, step.id)
                let status = s.passed != nil ? "passed" : s.solved != nil ? "solved" : s.started != nil ? "current" : "-"
                let end = s.passed ?? s.solved
                let seconds = s.started.flatMap { start in end.map { ($0.unixNanoseconds - start.wall.unixNanoseconds) / 1_000_000_000 } }
                rows.append(StepRow(lab: lab.id, step: step.id, title: step.title, status: status,
                                    started: s.started?.wall.rfc3339, finished: end?.rfc3339, seconds: seconds, hints: s.hints))
            }
        }
        if json { return try printJSON(rows) }
        say("Learner: \(r.learner.name)   progress: \(r.journal.path)")
        if rows.isEmpty {
            say("No lab started yet: `sudo lab next` starts the first one.")
            return
        }
        var lines = [["LAB", "STEP", "STATUS", "TIME", "HINTS"]]
        for row in rows {
            lines.append([row.lab, row.title, row.status, row.seconds.map { Timestamp.humanDuration($0) } ?? "",
                          row.hints == 0 ? "" : String(row.hints)])
        }
        say(table(lines))
        for lab in catalog where p.labs[lab.id]?.started == nil { say("\(lab.id): not started") }
    }
}

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
