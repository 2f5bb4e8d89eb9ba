import ArgumentParser
import Engine
import HostMap

struct MapVerb: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "map",
        abstract: "Draw the host and its containers: namespaces, processes with both PIDs, cgroups, network, layers",
        discussion: """
        Everything in the picture is read from the kernel (/proc, mountinfo, cgroupfs, /sys/class/net) or from \
        box's own records (addresses and MACs, which the host cannot read without entering the container's \
        network namespace). Per container:

          namespaces  their inode numbers: two processes are in the same namespace when the numbers match.
                      "⇆ NAME": shared with another container (--network container:NAME); "the host's": the
                      container got no namespace of this kind.
          processes   HOST PID is the host's number, PID the container's own: one process, two numbers.
                      "← PID 1" is the container's init.
          cgroup      memory, pids and CPU limits with their use, frozen (box pause), OOM kills.
          network     eth0's address ↔ the host's end of the veth pair ↔ the bridge, published ports.
          filesystem  the image's read-only layers (overlay lowerdirs), the container's writable upper dir
                      with what it added, changed and deleted (whiteouts), and the merged mount.

        Processes that the learner put into namespaces of their own outside any container (unshare) are drawn
        after the containers. On a terminal the picture is redrawn every second, like watch (Ctrl-C ends it),
        with what changed since the map started marked.

        Try:
          sudo box run -d --name c1 busybox sleep 600
          sudo box run -d --name c2 --network container:c1 busybox sleep 600
          sudo box map --focus c2        # c2's net namespace is drawn shared with c1
          sudo box map --plain           # the same as text, for a screen reader or a log
          sudo box map --svg map.svg     # for slides
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
        let store = try engine()
        var session = MapSession(facts: { EngineFacts.read(store) }, changes: .now(), focus: focus)
        try session.run(svg.map { .svg($0) } ?? (plain ? .plain : (once ? .once : .terminal(interval: interval))))
    }
}
