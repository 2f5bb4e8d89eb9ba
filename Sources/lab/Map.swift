import ArgumentParser
import Engine
import HostMap
import LabKit

struct MapVerb: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "map",
        abstract: "Draw what you built: namespaces, processes with both PIDs, cgroups, network, image layers",
        discussion: """
        The picture every lab describes in words, read live from the kernel and from box's records, redrawn \
        every second (Ctrl-C ends it). What is new or changed since your current step began is marked: new \
        processes and containers by their start times, limits, states and file counts by what they were \
        when the map started.

        Reading it:
          namespace numbers   the same number means the same namespace. "⇆ c1": shared with container c1;
                              "the host's": no namespace of its own of that kind.
          HOST PID / PID      one process, two numbers: the host's and the one inside its pid namespace.
          ← PID 1             the container's init: when it ends, the container ends.
          upper / lower       the writable layer over the image's read-only ones; a whiteout hides a file
                              of a lower layer (what rm does in a container).

        Try:
          sudo lab map --focus c1
          sudo lab map --plain          # the same as text, for a screen reader or a log
          sudo lab map --svg map.svg
        """)

    @Option(help: "Draw only this container (name or id prefix), or one group of isolated processes")
    var focus: String?

    @Flag(help: "Plain text, no line drawing, no colours, printed once: for a screen reader or a log")
    var plain = false

    @Option(help: ArgumentHelp("Write the picture as SVG to this file instead", valueName: "file"))
    var svg: String?

    @Flag(help: "Print one picture and exit (what happens anyway when the output is not a terminal)")
    var once = false

    @Option(help: "Seconds between redraws")
    var interval: Double = 1

    func validate() throws {
        if [plain, svg != nil, once].filter({ $0 }).count > 1 { throw ValidationError("choose one of --plain, --svg and --once") }
        if !(interval >= 0.2 && interval <= 60) { throw ValidationError("--interval must be between 0.2 and 60 seconds") }
    }

    func run() throws {
        let r = try runner()
        // The current step's start, from the journal; without a step in progress, the map's own start.
        var changes = MapChanges.now()
        let p = r.progress()
        if let lab = r.currentLab(p), let step = p.currentStep(of: lab), let clock = p.step(lab.id, step.id).started {
            changes.since = clock.wall
            // A step begun in an earlier boot: every process now alive is newer than it.
            changes.sinceTicks = clock.bootID == StepClock.currentBootID() ? MapChanges.ticks(bootNanoseconds: clock.boot) : 0
        }
        let store = r.engine
        var session = MapSession(facts: { EngineFacts.read(store) }, changes: changes, focus: focus)
        try session.run(svg.map { .svg($0) } ?? (plain ? .plain : (once ? .once : .terminal(interval: interval))))
    }
}
