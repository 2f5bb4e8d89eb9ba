#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Engine
import LabKit

struct Watch: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "watch",
        abstract: "Re-check the current step about once a second and announce the pass",
        discussion: """
        Keep it running in one terminal while you work in the others: when a step passes, it rings the \
        terminal bell and shows the next one. It does not depend on file-system events: it reads the \
        kernel's state each time. Ctrl-C stops it.
        """)

    @Option(help: "Seconds between checks")
    var interval: Double = 1

    func validate() throws {
        if !(interval >= 0.2 && interval <= 60) { throw ValidationError("--interval must be between 0.2 and 60 seconds") }
    }

    func run() throws {
        let r = try runner()
        var shown: String?
        var rounds = 0
        while true {
            guard let (lab, step) = try currentPosition(r, start: true) else {
                say("Every lab and exercise is done.")
                return
            }
            if shown != lab.id + "/" + step.id {
                if r.progress().step(lab.id, step.id).started == nil {
                    try r.begin(step, of: lab)
                    Screen(runner: r).step(step, of: lab)
                }
                say(Style.forStandardOutput().dim("watching \(lab.id) · \(step.title) (Ctrl-C to stop)"))
                shown = lab.id + "/" + step.id
            }
            if r.check(step, of: lab).passed {
                say("\u{7}", terminator: "")
                try checkAndAdvance(r, lab, step, showFailure: false)
                shown = nil
                continue
            }
            // In a workshop's room: what was recorded goes out, and the instructor's messages come in, as it runs.
            rounds += 1
            if rounds % max(1, Int(5 / interval)) == 0 {
                showMessages(r.classroom)
                spawnSync(r.classroom)
            }
            usleep(UInt32(interval * 1_000_000))
        }
    }
}
