#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Engine

/// docker's run/create flags beyond the first ones (ContainerOptions has those): what box honours, and what it
/// refuses, each with the reason (a BoxError(.usage, "--FLAG: REASON", exitCode: 125), never a bare "unknown
/// option"). The engine checks the values (RunSettings.swift) before anything is written.
struct RunFlags: ParsableArguments {
    // MARK: honoured
    @Option(name: .customLong("add-host"), help: "Add a line to /etc/hosts (NAME:IP)")
    var addHost: [String] = []
    @Option(name: .long, help: "Name server for the container's resolv.conf (instead of the host's)")
    var dns: [String] = []
    @Option(name: .customLong("dns-search"), help: "DNS search domain for resolv.conf (\".\": none)")
    var dnsSearch: [String] = []
    @Option(name: .customLong("dns-option"), help: "DNS option for resolv.conf (e.g. ndots:2)")
    var dnsOption: [String] = []
    @Option(name: .long, help: "Container NIS domain name")
    var domainname: String?
    @Option(name: .customLong("env-file"), help: "Read environment variables from a file (KEY=VALUE or KEY a line; # comments)")
    var envFile: [String] = []
    @Option(name: .customLong("label-file"), help: "Read labels from a file (KEY=VALUE a line; # comments)")
    var labelFile: [String] = []
    @Option(name: .long, help: "Write the container id to this file (which must not exist)")
    var cidfile: String?
    @Flag(name: .customLong("read-only"), help: "Mount the container's root filesystem read-only")
    var readOnly = false
    @Option(name: .customLong("shm-size"), help: "Size of /dev/shm (e.g. 128m; default 64m)")
    var shmSize: String?
    @Option(name: .customLong("stop-signal"), help: "Signal box stop sends first (default SIGTERM)")
    var stopSignal: String?
    @Option(name: .customLong("stop-timeout"), help: "Seconds box stop waits before SIGKILL (default 10; -1: for ever)")
    var stopTimeout: Int?
    @Option(name: .long, help: "Namespaced kernel parameter (KEY=VALUE: net.*, fs.mqueue.*, kernel.msg*, kernel.sem, kernel.shm*)")
    var sysctl: [String] = []
    @Option(name: .long, help: "Resource limit of the container's processes (NAME=SOFT[:HARD], e.g. nofile=1024:2048)")
    var ulimit: [String] = []
    @Option(name: .customLong("group-add"), help: "Add a supplementary group (a name of the image's /etc/group, or a number)")
    var groupAdd: [String] = []
    @Option(name: .long, help: "Expose a port or a range of ports (recorded in Config.ExposedPorts)")
    var expose: [String] = []
    @Option(name: .long, help: "Add a host device to the container (/dev/HOST[:/dev/CONTAINER][:rwm])")
    var device: [String] = []
    @Option(name: .customLong("oom-score-adj"), help: "Tune the OOM killer's preference for the container (-1000 to 1000)")
    var oomScoreAdj: Int?
    @Flag(name: .customLong("no-healthcheck"), help: "Disable any container-specified HEALTHCHECK (box runs none)")
    var noHealthcheck = false
    @OptionGroup var cfs: CFSLimits
    @Option(name: .customLong("memory-swappiness"), help: "Tune the container's memory swappiness (0 to 100; cgroup v1)")
    var memorySwappiness: Int64?
    @Flag(name: .customLong("oom-kill-disable"), help: "Disable the OOM killer (cgroup v1)")
    var oomKillDisable = false
    @Option(name: .customLong("sig-proxy"), help: "Proxy received signals to the process (true or false)")
    var sigProxy: Bool = true
    @Flag(name: [.short, .long], help: "Suppress the pull output (box run never pulls)")
    var quiet = false
    @Option(name: .long, help: "Pull image before running: missing or never (box run does not pull: box pull first)")
    var pull: String?
    @Option(name: .long, help: "Set platform if server is multi-platform capable (this machine's only)")
    var platform: String?
    @Flag(name: .customLong("disable-content-trust"), help: "Skip image verification (box verifies no signatures)")
    var disableContentTrust = false
    @Option(name: .long, help: "IPC mode: private or shareable (the container's own IPC namespace), or host")
    var ipc: String?
    @Option(name: .long, help: "PID namespace: the container's own (host is refused)")
    var pid: String?
    @Option(name: .long, help: "UTS namespace: the container's own, or host (the host's name)")
    var uts: String?
    @Option(name: .long, help: "User namespace: host (box maps no users)")
    var userns: String?
    @Option(name: .long, help: "Cgroup namespace: private (host is refused)")
    var cgroupns: String?
    @Option(name: .long, help: "Isolation technology: default")
    var isolation: String?
    @Option(name: .customLong("log-driver"), help: "Logging driver: json-file (the default) or none (no log kept)")
    var logDriver: String?
    @Option(name: .customLong("detach-keys"), help: "Detach key sequence: ctrl-p,ctrl-q")
    var detachKeys: String?
    @Option(name: [.short, .long], help: "Attach to STDIN, STDOUT or STDERR (box attaches stdout and stderr, and stdin with -i)")
    var attach: [String] = []

    // MARK: refused, with the reason
    @Flag(name: [.customShort("P"), .customLong("publish-all")], help: "Refused: box publishes only what -p names")
    var publishAll = false
    @Option(name: .customLong("log-opt"), help: "Refused: box's json-file log has no options")
    var logOpt: [String] = []
    @Option(name: .customLong("health-cmd"), help: "Refused: box runs no health checks")
    var healthCmd: String?
    @Option(name: .customLong("health-interval"), help: "Refused: box runs no health checks")
    var healthInterval: String?
    @Option(name: .customLong("health-retries"), help: "Refused: box runs no health checks")
    var healthRetries: String?
    @Option(name: .customLong("health-timeout"), help: "Refused: box runs no health checks")
    var healthTimeout: String?
    @Option(name: .customLong("health-start-period"), help: "Refused: box runs no health checks")
    var healthStartPeriod: String?
    @Option(name: .customLong("health-start-interval"), help: "Refused: box runs no health checks")
    var healthStartInterval: String?
    @Option(name: .customLong("device-cgroup-rule"), help: "Refused: box's device rules are runc's defaults")
    var deviceCgroupRule: [String] = []
    @Option(name: .long, help: "Refused: box has no GPU support")
    var gpus: String?
    @Option(name: .long, help: "Refused: box gives addresses in order from the network's pool")
    var ip: String?
    @Option(name: .long, help: "Refused: box's networks are IPv4 only")
    var ip6: String?
    @Option(name: .customLong("link-local-ip"), help: "Refused: box gives no link-local addresses")
    var linkLocalIp: [String] = []
    @Option(name: .customLong("mac-address"), help: "Refused: box derives the MAC address from the IP address")
    var macAddress: String?
    @Option(name: .customLong("network-alias"), help: "Refused: box's networks know containers by their names only")
    var networkAlias: [String] = []
    @Option(name: .long, help: "Refused (legacy links): use a network of your own, where containers reach each other by name")
    var link: [String] = []
    @Option(name: .customLong("kernel-memory"), help: "Refused: kernel memory limits are gone from the kernel (cgroup v2, Linux 6.x)")
    var kernelMemory: String?
    @Option(name: .customLong("blkio-weight"), help: "Refused: box does not join the blkio/io controller")
    var blkioWeight: String?
    @Option(name: .customLong("blkio-weight-device"), help: "Refused: box does not join the blkio/io controller")
    var blkioWeightDevice: [String] = []
    @Option(name: .customLong("device-read-bps"), help: "Refused: box does not join the blkio/io controller")
    var deviceReadBps: [String] = []
    @Option(name: .customLong("device-write-bps"), help: "Refused: box does not join the blkio/io controller")
    var deviceWriteBps: [String] = []
    @Option(name: .customLong("device-read-iops"), help: "Refused: box does not join the blkio/io controller")
    var deviceReadIops: [String] = []
    @Option(name: .customLong("device-write-iops"), help: "Refused: box does not join the blkio/io controller")
    var deviceWriteIops: [String] = []
    @Option(name: .customLong("cpu-rt-period"), help: "Refused: box gives its cgroup no real-time budget")
    var cpuRtPeriod: String?
    @Option(name: .customLong("cpu-rt-runtime"), help: "Refused: box gives its cgroup no real-time budget")
    var cpuRtRuntime: String?
    @Option(name: .customLong("cpu-count"), help: "Refused: Windows containers only")
    var cpuCount: String?
    @Option(name: .customLong("cpu-percent"), help: "Refused: Windows containers only")
    var cpuPercent: String?
    @Option(name: .customLong("io-maxbandwidth"), help: "Refused: Windows containers only")
    var ioMaxbandwidth: String?
    @Option(name: .customLong("io-maxiops"), help: "Refused: Windows containers only")
    var ioMaxiops: String?
    @Option(name: .customLong("cgroup-parent"), help: "Refused: box puts every container under box/")
    var cgroupParent: String?
    @Option(name: .customLong("init-path"), help: "Refused: box's init (--init) is built in")
    var initPath: String?
    @Option(name: .long, help: "Refused: box is its own runtime")
    var runtime: String?
    @Option(name: .customLong("storage-opt"), help: "Refused: box's overlay layers have no per-container options (no quota)")
    var storageOpt: [String] = []
    @Option(name: .long, help: "Refused: box keeps no OCI annotations")
    var annotation: [String] = []
    @Flag(name: .customLong("use-api-socket"), help: "Refused: box has no API socket to give")
    var useApiSocket = false

    /// The first flag given that box cannot honour, as an error saying why.
    func refusal() -> BoxError? {
        func refuse(_ flag: String, _ reason: String) -> BoxError { BoxError(.usage, "\(flag): \(reason)", exitCode: 125) }
        let health = "box runs no health checks (docker's monitor runs them; box's does not yet): leave out --health-*, or check from outside with box exec"
        let blkio = "box does not put containers in the blkio/io cgroup controller, so it cannot weigh or throttle their disk I/O"
        let windows = "a flag for Windows containers only"
        let refused: [(Bool, String, String)] = [
            (publishAll, "--publish-all", "box publishes only the ports -p names (-p HOSTPORT:PORT)"),
            (!logOpt.isEmpty, "--log-opt", "box's json-file log takes no options (no max-size/max-file rotation)"),
            (healthCmd != nil, "--health-cmd", health), (healthInterval != nil, "--health-interval", health),
            (healthRetries != nil, "--health-retries", health), (healthTimeout != nil, "--health-timeout", health),
            (healthStartPeriod != nil, "--health-start-period", health), (healthStartInterval != nil, "--health-start-interval", health),
            (!deviceCgroupRule.isEmpty, "--device-cgroup-rule", "box's device cgroup rules are runc's defaults (--privileged: none)"),
            (gpus != nil, "--gpus", "box has no GPU support"),
            (ip != nil, "--ip", "box gives each container the next free address of its network's pool"),
            (ip6 != nil, "--ip6", "box's networks are IPv4 only"),
            (!linkLocalIp.isEmpty, "--link-local-ip", "box gives no link-local addresses"),
            (macAddress != nil, "--mac-address", "box derives a container's MAC address from its IP address"),
            (!networkAlias.isEmpty, "--network-alias", "box's networks know a container by its name only"),
            (!link.isEmpty, "--link", "legacy links are not supported: put the containers on a network of your own (box network create), where they reach each other by name"),
            (kernelMemory != nil, "--kernel-memory", "kernel memory limits are deprecated and gone from the kernel (Linux 6.x, cgroup v2)"),
            (blkioWeight != nil, "--blkio-weight", blkio), (!blkioWeightDevice.isEmpty, "--blkio-weight-device", blkio),
            (!deviceReadBps.isEmpty, "--device-read-bps", blkio), (!deviceWriteBps.isEmpty, "--device-write-bps", blkio),
            (!deviceReadIops.isEmpty, "--device-read-iops", blkio), (!deviceWriteIops.isEmpty, "--device-write-iops", blkio),
            (cpuRtPeriod != nil, "--cpu-rt-period", "box gives its cgroup no real-time CPU budget"),
            (cpuRtRuntime != nil, "--cpu-rt-runtime", "box gives its cgroup no real-time CPU budget"),
            (cpuCount != nil, "--cpu-count", windows), (cpuPercent != nil, "--cpu-percent", windows),
            (ioMaxbandwidth != nil, "--io-maxbandwidth", windows), (ioMaxiops != nil, "--io-maxiops", windows),
            (cgroupParent != nil, "--cgroup-parent", "box puts every container's cgroup under box/"),
            (initPath != nil, "--init-path", "box's init (--init) is built into box"),
            (runtime != nil, "--runtime", "box is its own runtime: there is no other to choose"),
            (!storageOpt.isEmpty, "--storage-opt", "box's overlay layers take no per-container options (no size quota)"),
            (!annotation.isEmpty, "--annotation", "box keeps no OCI annotations"),
            (useApiSocket, "--use-api-socket", "box has no API socket to give a container"),
            (logDriver.map { !["json-file", "none"].contains($0) } ?? false, "--log-driver", "box logs to json-file (box logs reads it) or to none only"),
            (pull == "always", "--pull", "box run does not pull: run box pull first"),
            (pull.map { !["always", "missing", "never"].contains($0) } ?? false, "--pull",
             "invalid pull option \"\(pull ?? "")\": must be one of \"always\", \"missing\" or \"never\""),
            (ipc.map { !["", "private", "shareable", "host"].contains($0) } ?? false, "--ipc",
             "box gives a container an IPC namespace of its own (private) or the host's (host); none and container: are not supported"),
            (pid.map { !$0.isEmpty } ?? false, "--pid", "box gives every container a PID namespace of its own (its monitor relies on it)"),
            (uts.map { !["", "host"].contains($0) } ?? false, "--uts", "invalid UTS mode: \(uts ?? "") (the container's own, or host)"),
            (userns.map { !["", "host"].contains($0) } ?? false, "--userns", "box runs containers without a user namespace (host) only"),
            (cgroupns.map { !["", "private"].contains($0) } ?? false, "--cgroupns", "box gives every container a cgroup namespace of its own (private)"),
            (isolation.map { !["", "default"].contains($0) } ?? false, "--isolation", "Linux containers have the default isolation only"),
            (detachKeys.map { $0 != "ctrl-p,ctrl-q" } ?? false, "--detach-keys", "box's detach keys are fixed: ctrl-p,ctrl-q"),
            (platform.map { !RunFlags.platforms.contains($0) } ?? false, "--platform",
             "box runs images for this machine only (\(RunFlags.platforms.last ?? "linux"))"),
        ]
        if let (_, flag, reason) = refused.first(where: { $0.0 }) { return refuse(flag, reason) }
        if !attach.isEmpty {
            let streams = Set(attach.map { $0.lowercased() })
            guard streams.isSubset(of: ["stdin", "stdout", "stderr"]) else {
                return refuse("--attach", "invalid argument \"\(attach.joined(separator: ","))\": STDIN, STDOUT or STDERR")
            }
            guard streams.isSuperset(of: ["stdout", "stderr"]) else {
                return refuse("--attach", "box attaches both stdout and stderr: give -a stdout -a stderr (and -a stdin with -i), or none")
            }
        }
        return nil
    }

    /// "linux", "linux/amd64" on x86_64 (docker's names of this machine's platform).
    static var platforms: [String] {
        var u = utsname()
        uname(&u)
        let machine = withUnsafeBytes(of: &u.machine) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        let arch = ["x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm"][machine] ?? machine
        return ["linux", "linux/" + arch]
    }

    /// Fills the honoured flags in; --env-file and --label-file come before -e and -l (which win), as docker's.
    func fill(_ o: inout CreateOptions) throws {
        if let refusal = refusal() { throw refusal }
        if attach.contains(where: { $0.lowercased() == "stdin" }) && !o.interactive {
            throw BoxError(.usage, "--attach stdin: needs -i (box forwards stdin only with -i)", exitCode: 125)
        }
        o.env = try envFile.flatMap { try RunFlags.lines($0, flag: "--env-file") } + o.env
        o.labels = try labelFile.flatMap { try RunFlags.lines($0, flag: "--label-file") } + o.labels
        o.addHosts = addHost
        o.dns = dns
        o.dnsSearch = dnsSearch
        o.dnsOptions = dnsOption
        o.domainname = domainname
        o.readOnly = readOnly
        o.shmSize = shmSize
        o.stopSignal = stopSignal
        o.stopTimeout = stopTimeout
        o.sysctls = sysctl
        o.ulimits = ulimit
        o.groupAdd = groupAdd
        o.expose = expose
        o.oomScoreAdj = oomScoreAdj
        o.noHealthcheck = noHealthcheck
        cfs.fill(&o)
        o.memorySwappiness = memorySwappiness
        o.oomKillDisable = oomKillDisable
        o.cidfile = cidfile
        o.logDriver = logDriver
        o.devices = device
        o.uts = uts
        o.ipc = ipc
    }

    /// The entries of an --env-file or --label-file: one a line, blank lines and # comments skipped, leading
    /// white space trimmed (docker's opts.ParseEnvFile).
    static func lines(_ path: String, flag: String) throws -> [String] {
        guard let text = Files.readIfPresent(path) else {
            throw BoxError(.usage, "\(flag): open \(path): \(String(cString: strerror(errno)))", exitCode: 125)
        }
        return try text.split(separator: "\n", omittingEmptySubsequences: true).compactMap { (raw: Substring) throws -> String? in
            let line = String(raw.drop { $0 == " " || $0 == "\t" }).trimmingSuffix("\r")
            if line.isEmpty || line.hasPrefix("#") { return nil }
            let key = line.prefix { $0 != "=" }
            if key.isEmpty || key.contains(where: { $0 == " " || $0 == "\t" }) {
                throw BoxError(.usage, "\(flag) \(path): variable '\(key)' contains whitespaces", exitCode: 125)
            }
            return line
        }
    }
}

/// --cidfile: made (it must not exist) before the container is, as docker's; the id written once it exists,
/// and the file removed if the container could not be made.
struct CIDFile {
    let path: String
    let fd: Int32

    init?(_ path: String?) throws {
        guard let path else { return nil }
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            if errno == EEXIST {
                throw BoxError(.usage, "Container ID file found, make sure the other container isn't running or delete \(path)", exitCode: 125)
            }
            throw BoxError(.usage, "failed to create the container ID file \(path): \(String(cString: strerror(errno)))", exitCode: 125)
        }
        self.path = path
        self.fd = fd
    }

    func write(_ id: String) throws {
        defer { close(fd) }
        let bytes = Array(id.utf8)
        guard Glibc.write(fd, bytes, bytes.count) == bytes.count else {
            throw BoxError(.create, "write the container ID file \(path)", errno: errno)
        }
    }

    func discard() {
        close(fd)
        unlink(path)
    }

    /// Runs `create` and records the id of the container it made; without it, nothing is left behind.
    static func around(_ path: String?, _ create: () throws -> Container) throws -> Container {
        let file = try CIDFile(path)
        let c: Container
        do { c = try create() } catch { file?.discard(); throw error }
        try file?.write(c.id)
        return c
    }
}

extension String {
    func trimmingSuffix(_ suffix: String) -> String { hasSuffix(suffix) ? String(dropLast(suffix.count)) : self }
}

/// The cgroup limits run, create and update share beyond ResourceOptions' (Resources' optional fields).
struct CFSLimits: ParsableArguments {
    @Option(name: .customLong("cpu-period"), help: "Limit CPU CFS (Completely Fair Scheduler) period, in µs")
    var cpuPeriod: Int64?
    @Option(name: .customLong("cpu-quota"), help: "Limit CPU CFS (Completely Fair Scheduler) quota, in µs a period")
    var cpuQuota: Int64?
    @Option(name: .customLong("cpuset-mems"), help: "Memory nodes the container may use (e.g. 0-1)")
    var cpusetMems: String?
    @Option(name: .customLong("memory-reservation"), help: "Memory soft limit (e.g. 32m)")
    var memoryReservation: String?

    var isEmpty: Bool { cpuPeriod == nil && cpuQuota == nil && cpusetMems == nil && memoryReservation == nil }

    func fill(_ o: inout CreateOptions) {
        o.cpuPeriod = cpuPeriod
        o.cpuQuota = cpuQuota
        o.cpusetMems = cpusetMems
        o.memoryReservation = memoryReservation
    }
}
