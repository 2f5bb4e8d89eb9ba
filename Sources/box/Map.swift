import ArgumentParser
import Engine
import HostMap

struct MapVerb: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "map",
        abstract: "Draw the host and its containers: namespaces, processes with both PIDs, cgroups, network, layers",
        discussion: """
        Read from the kernel (/proc, mountinfo, cgroupfs, /sys/class/net) and from \
        box's records (addresses and MACs, which the host cannot read without \
        entering the container's network namespace). Per container:

          namespaces   inode numbers: the same number is the same namespace;
                       "⇆ NAME" shared with another container (--network
                       container:NAME); "the host's": none of its own
          processes    HOST PID is the host's number, PID the container's own:
                       one process, two numbers; "← PID 1" is its init
          cgroup       memory, pids and CPU limits with their use, frozen
                       (box pause), OOM kills
          network      eth0's address ↔ the host's veth ↔ the bridge, ports
          filesystem   the image's read-only layers (overlay lowerdirs), the
                       writable upper dir with what was added, changed and
                       deleted (whiteouts), the merged mount

        Processes put into namespaces of their own outside any container \
        (unshare) are drawn after the containers. On a terminal the picture is \
        redrawn every second, like watch (Ctrl-C ends it), with what changed \
        since the map started marked.

        Try:
          sudo box run -d --name c1 busybox sleep 600
          sudo box run -d --name c2 --network container:c1 busybox sleep 600
          sudo box map --focus c2      # c2's net namespace drawn shared with c1
          sudo box map --plain         # the same as text: a screen reader, a log
          sudo box map --svg map.svg   # for slides
        """)

    @OptionGroup var options: MapOptions

    func run() throws {
        let store = try engine()
        var session = MapSession(facts: { EngineFacts.read(store) }, changes: .now(), focus: options.focus)
        try session.run(options.output)
    }
}
