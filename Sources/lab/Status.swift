import ArgumentParser
import DockerFormat
import Engine
import LabKit

struct Status: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "status", abstract: "Show every lab and step: done, solved or open, with times")

    @OptionGroup var output: JSONOutput

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
        if output.json { return try printJSON(rows) }
        say("Learner: \(r.learner.name)   progress: \(r.journal.path)")
        if let c = r.classroom.state() {
            let total = r.journal.lines().count
            let chain = c.chain == "broken" ? "; the server says your journal's chain is broken" : ""
            let last = c.lastSync.map { " (last sync \($0.rfc3339))" } ?? ""
            let error = c.lastError.map { "; last try failed: \($0)" } ?? ""
            say("Room: \(c.room.isEmpty ? c.url : c.room + " at " + c.url) as \(c.name): \(min(c.sent, total)) of \(total) record(s) sent\(last)\(chain)\(error)")
        }
        if rows.isEmpty {
            say("No lab started yet: `sudo lab next` starts the first one.")
            return
        }
        var lines = [["LAB", "STEP", "STATUS", "TIME", "HINTS"]]
        for row in rows {
            lines.append([row.lab, row.title, row.status, row.seconds.map { Units.humanDuration($0) } ?? "",
                          row.hints == 0 ? "" : String(row.hints)])
        }
        say(table(lines))
        for lab in catalog where p.labs[lab.id]?.started == nil { say("\(lab.id): not started") }
    }
}

