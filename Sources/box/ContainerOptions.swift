import ArgumentParser
import Engine

/// The flags `box run` and `box create` share (docker's names).
struct ContainerOptions: ParsableArguments {
    @Option(name: .long, help: "Assign a name to the container")
    var name: String?
    @Option(name: [.customShort("h"), .long], help: "Container host name (default: the first 12 characters of the id)")
    var hostname: String?
    @Option(name: [.short, .long], help: "Set an environment variable (KEY=VALUE, or KEY to copy the host's)")
    var env: [String] = []
    @Option(name: [.short, .customLong("workdir")], help: "Working directory inside the container")
    var workdir: String?
    @Option(name: [.short, .long], help: "Bind mount a volume: HOST:CONTAINER[:OPTIONS] (a host path), NAME:CONTAINER[:OPTIONS] (a named volume, made on first use) or CONTAINER (an anonymous volume); OPTIONS ro or rw, and dev (device nodes in it open; nodev is the default), comma-separated")
    var volume: [String] = []
    @Option(name: [.short, .long], help: "User to run as: UID[:GID] or a name from the image's /etc/passwd")
    var user: String?
    @Option(name: .long, help: "Overwrite the image's ENTRYPOINT")
    var entrypoint: String?
    @Option(name: [.short, .long], help: "Set metadata on the container (KEY=VALUE)")
    var label: [String] = []
    @Option(name: [.long, .customLong("net")], help: "Network: bridge (the default), a network's name, none (loopback only), host, or container:NAME (share NAME's)")
    var network: String = "bridge"
    @Option(name: [.short, .long], help: "Publish a container's port on the host: [IP:]HOSTPORT:CONTAINERPORT[/tcp]")
    var publish: [String] = []
    @Option(name: .customLong("cap-add"), help: "Add a Linux capability (e.g. NET_ADMIN, or ALL)")
    var capAdd: [String] = []
    @Option(name: .customLong("cap-drop"), help: "Drop a Linux capability (e.g. CHOWN, or ALL)")
    var capDrop: [String] = []
    @Flag(name: .long, help: "Give the container every capability and every device (no device cgroup rules) and no seccomp filter: it can then reach the host's disks and kernel. For a lab's experiments only")
    var privileged = false
    @Option(name: .customLong("security-opt"), help: "seccomp=unconfined: no seccomp filter (docker's default profile refuses about 50 syscalls, among them keyctl, unshare and setns without SYS_ADMIN, perf_event_open, io_uring, bpf, personality flags: all of the kernel's reach back); seccomp=FILE: a profile in docker's JSON format instead (what it allows is given away); no-new-privileges (always on)")
    var securityOpt: [String] = []
    @OptionGroup var limits: ResourceOptions
    @OptionGroup var mountFlags: MountFlags
    @Option(name: .long, help: "Restart policy: no, on-failure[:N], always, unless-stopped (the monitor restarts PID 1)")
    var restart: String?
    @Flag(name: .customLong("init"), help: "Run a tiny init as PID 1 that forwards signals and reaps zombies")
    var initProcess = false
    @Flag(name: [.short, .long], help: "Keep STDIN open even if not attached")
    var interactive = false
    @Flag(name: [.short, .long], help: "Allocate a pseudo-TTY")
    var tty = false
    @Flag(name: .customLong("rm"), help: "Automatically remove the container when it exits")
    var autoRemove = false
    @OptionGroup(title: "More of docker's flags") var more: RunFlags

    @Argument(help: "The image (busybox is built from the host's busybox-static on first use)")
    var image: String
    @Argument(parsing: .captureForPassthrough, help: "The command and its arguments (default: the image's)")
    var command: [String] = []

    func createOptions() throws -> CreateOptions {
        var o = CreateOptions(image: image)
        o.command = command
        o.name = name
        o.hostname = hostname
        o.env = env
        o.workdir = workdir
        o.volumes = volume
        o.user = user
        o.entrypoint = entrypoint
        o.labels = label
        o.network = network
        o.publish = publish
        o.capAdd = capAdd
        o.capDrop = capDrop
        o.privileged = privileged
        o.securityOpt = securityOpt
        o.tty = tty
        o.interactive = interactive
        o.autoRemove = autoRemove
        limits.fill(&o)
        mountFlags.fill(&o)
        o.restart = restart
        o.initProcess = initProcess
        try more.fill(&o)
        return o
    }
}

/// The cgroup limit flags, shared by `run`, `create` and `update` (docker's names).
struct ResourceOptions: ParsableArguments {
    @Option(name: [.short, .long], help: "Memory limit (e.g. 32m, 1g): the OOM killer ends the container beyond it")
    var memory: String?
    @Option(name: .customLong("memory-swap"), help: "Memory plus swap limit (-1: unlimited swap)")
    var memorySwap: String?
    @Option(name: [.customShort("c"), .customLong("cpu-shares")], help: "CPU shares, a relative weight (default 1024)")
    var cpuShares: Int64?
    @Option(name: .long, help: "Number of CPUs the container may use (e.g. 0.5)")
    var cpus: Double?
    @Option(name: .customLong("cpuset-cpus"), help: "CPUs the container may run on (e.g. 0-1,3)")
    var cpusetCpus: String?
    @Option(name: .customLong("pids-limit"), help: "Maximum number of processes in the container")
    var pidsLimit: Int64?

    var isEmpty: Bool {
        memory == nil && memorySwap == nil && cpuShares == nil && cpus == nil && cpusetCpus == nil && pidsLimit == nil
    }

    func fill(_ o: inout CreateOptions) {
        o.memory = memory
        o.memorySwap = memorySwap
        o.cpuShares = cpuShares
        o.cpus = cpus
        o.cpusetCpus = cpusetCpus
        o.pidsLimit = pidsLimit
    }
}
