import ArgumentParser
import Engine
import LabKit

struct Doctor: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "doctor",
        abstract: "Check that this machine can run the labs, and say what to fix",
        discussion: "Works without root too (it then says so). Exits 1 if anything needs fixing.")

    @OptionGroup var output: JSONOutput

    func run() throws {
        let findings = LabKit.Doctor.examine()
        if output.json {
            try printJSON(findings)
        } else {
            let style = Style.forStandardOutput()
            var rows = [["", "CHECK", "FOUND", "FIX"]]
            for f in findings { rows.append([f.ok ? "ok" : "!!", f.name, f.observed, f.fix]) }
            say(table(rows).split(separator: "\n").map { line in
                line.hasPrefix("!!") ? style.yellow(String(line)) : String(line)
            }.joined(separator: "\n"))
        }
        if findings.contains(where: { !$0.ok }) { throw ExitCode(1) }
    }
}

