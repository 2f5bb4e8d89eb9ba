import ArgumentParser
import Engine
import LabKit

struct ListLabs: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List the labs and exercises, with your progress")

    @Flag(help: "Print as JSON")
    var json = false

    struct Row: Encodable {
        var id, kind, title: String
        var minutes: Int
        var seeds: [String]
        var steps: Int
        var done: Int
        var status: String
    }

    func run() throws {
        let r = try runner()
        let p = r.progress()
        let rows = catalog.map { lab -> Row in
            let done = lab.steps.filter { p.step(lab.id, $0.id).done }.count
            let status = p.isComplete(lab) ? "done" : p.labs[lab.id]?.started != nil ? "step \(done + 1) of \(lab.steps.count)" : "not started"
            return Row(id: lab.id, kind: lab.kind.rawValue, title: lab.title, minutes: lab.minutes, seeds: lab.seeds,
                       steps: lab.steps.count, done: done, status: status)
        }
        if json { return try printJSON(rows) }
        say(table([["LAB", "KIND", "MIN", "STATUS", "TITLE"]] + rows.map { [$0.id, $0.kind, String($0.minutes), $0.status, $0.title] }))
        say("")
        say("`sudo lab next` goes on; `sudo lab start LAB` picks one.")
    }
}

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
