import ArgumentParser
import Engine
import LabKit

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
