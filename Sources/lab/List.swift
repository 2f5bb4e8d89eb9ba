import ArgumentParser
import Engine
import LabKit

struct ListLabs: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List the labs and exercises, with your progress")

    @OptionGroup var output: JSONOutput

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
        if output.json { return try printJSON(rows) }
        say(table([["LAB", "KIND", "MIN", "STATUS", "TITLE"]] + rows.map { [$0.id, $0.kind, String($0.minutes), $0.status, $0.title] }))
        say("")
        say("`sudo lab next` goes on; `sudo lab start LAB` picks one.")
    }
}
