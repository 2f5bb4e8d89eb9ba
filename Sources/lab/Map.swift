import ArgumentParser
import Engine
import HostMap
import LabKit

struct MapVerb: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "map",
        abstract: "Draw what you built: namespaces, processes with both PIDs, cgroups, network, image layers",
        discussion: """
        The picture every lab describes in words, read live from the kernel and \
        from box's records, redrawn every second (Ctrl-C ends it). What is new or \
        changed since your current step began is marked: new processes and \
        containers by their start times; limits, states and file counts by what \
        they were when the map started.

        Reading it:
          1234 ⇆ c2       a namespace shared with container c2: the same number
                          is the same namespace
          the host's:     kinds of namespace the container did not get its own of
          HOST PID  PID   one process, two numbers: the host's and its own
                          pid namespace's
          ← PID 1         the container's init: when it ends, the container ends
          upper (rw)      the container's writable layer: files added, changed,
                          and deleted (a whiteout hides a file of an image layer)
          lower (ro)      the image's read-only layers, top first

        Try:
          sudo lab map --focus c1
          sudo lab map --plain          # the same as text: a screen reader, a log
          sudo lab map --svg map.svg
        """)

    @OptionGroup var options: MapOptions

    func run() throws {
        var session = Self.session(try runner(), focus: options.focus)
        try session.run(options.output)
    }

    /// The learner's map, with what began after their current step's start marked.
    static func session(_ r: Runner, focus: String?) -> MapSession {
        // The current step's start, from the journal; without a step in progress, the map's own start.
        var changes = MapChanges.now()
        let p = r.progress()
        if let lab = r.currentLab(p), let step = p.currentStep(of: lab), let clock = p.step(lab.id, step.id).started {
            changes.since = clock.wall
            // A step begun in an earlier boot: every process now alive is newer than it.
            changes.sinceTicks = clock.bootID == StepClock.currentBootID() ? MapChanges.ticks(bootNanoseconds: clock.boot) : 0
        }
        let store = r.engine
        return MapSession(facts: { EngineFacts.read(store) }, changes: changes, focus: focus)
    }

    /// What `lab __sync` sends when the instructor asks for the map (issue 22): `lab map --plain`'s text of
    /// box's containers only; the rest of the learner's machine (sandboxed apps, services) is not the class's.
    static func classroom(_ r: Runner) throws -> String {
        var session = session(r, focus: nil)
        return try session.classroomText()
    }
}
