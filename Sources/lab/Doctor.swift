import ArgumentParser
import Engine
import LabKit

struct Doctor: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "doctor",
        abstract: "Check that this machine can run the labs, and say what to fix",
        discussion: "Works without root too (it then says so). Exits 1 if anything needs fixing.")

    @Flag(help: "Print as JSON")
    var json = false

    func run() throws {
        let findings = LabKit.Doctor.examine()
        if json {
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

struct Selftest: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "selftest",
        abstract: "Prove every step honest: its check fails before the work and passes after the solution",
        discussion: """
        For each lab, in a fresh engine root and progress journal: each step's check must fail, the reference \
        solution runs, the check must pass; then lab reset must leave no container, process or mount behind. \
        Exits 1 on any failure. Your own containers and progress are not touched.
        """)

    @Argument(help: "Labs to test (default: all)")
    var labs: [String] = []

    func run() throws {
        _ = try runner()
        let selected = try labs.isEmpty ? catalog : labs.map { id in
            try catalog.first { $0.id == id } ?? { throw BoxError(.usage, "no lab called \"\(id)\"", exitCode: 2) }()
        }
        let style = Style.forStandardOutput()
        var failed = 0
        for lab in selected {
            let ok = try LabKit.Selftest(catalog: catalog).run(lab) { o in
                let mark = o.ok ? style.green("ok  ") : style.red("FAIL")
                say("\(mark) \(o.lab)/\(o.step)  \(style.dim(o.detail))")
            }
            if !ok { failed += 1 }
        }
        say(failed == 0 ? "selftest: \(selected.count) lab(s), every step honest" : "selftest: \(failed) lab(s) failed")
        if failed > 0 { throw ExitCode(1) }
    }
}
