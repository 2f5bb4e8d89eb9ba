/// Everything `box create` / `box run` accept, before validation. The front end fills it from flags; the
/// engine turns it into a ContainerSpec in exactly one place (`ContainerStore.create`).
public struct CreateOptions: Sendable, Equatable {
    public var image: String
    public var command: [String] = []
    public var name: String?
    public var hostname: String?
    public var env: [String] = []
    public var workdir: String?
    public var volumes: [String] = []
    public var user: String?
    public var entrypoint: String?
    public var labels: [String] = []
    public var network: String = Network.defaultName
    public var publish: [String] = []
    public var capAdd: [String] = []
    public var capDrop: [String] = []
    /// --privileged: every capability and every device (no device cgroup rules), as docker's flag gives.
    public var privileged = false
    /// --security-opt: "seccomp=unconfined" runs without docker's seccomp profile (see Seccomp.validate).
    public var securityOpt: [String] = []
    public var tty = false
    public var interactive = false
    public var autoRemove = false
    public var memory: String?
    public var memorySwap: String?
    public var cpuShares: Int64?
    public var cpus: Double?
    public var cpusetCpus: String?
    public var pidsLimit: Int64?
    public var restart: String?
    public var initProcess = false

    // MARK: docker's run/create flags beyond the first ones (box's RunFlags.swift; checked in RunSettings.swift)
    public var addHosts: [String] = []          // --add-host NAME:IP
    public var dns: [String] = []               // --dns IP
    public var dnsSearch: [String] = []         // --dns-search DOMAIN
    public var dnsOptions: [String] = []        // --dns-option OPTION
    public var domainname: String?              // --domainname
    public var readOnly = false                 // --read-only
    public var shmSize: String?                 // --shm-size 128m
    public var stopSignal: String?              // --stop-signal SIGUSR1
    public var stopTimeout: Int?                // --stop-timeout SECONDS
    public var sysctls: [String] = []           // --sysctl KEY=VALUE
    public var ulimits: [String] = []           // --ulimit NAME=SOFT[:HARD]
    public var groupAdd: [String] = []          // --group-add GROUP
    public var expose: [String] = []            // --expose PORT[/PROTO]
    public var oomScoreAdj: Int?                // --oom-score-adj -1000..1000
    public var noHealthcheck = false            // --no-healthcheck
    public var cpuPeriod: Int64?                // --cpu-period µs
    public var cpuQuota: Int64?                 // --cpu-quota µs
    public var cpusetMems: String?              // --cpuset-mems 0
    public var memoryReservation: String?       // --memory-reservation 32m
    public var memorySwappiness: Int64?         // --memory-swappiness 0..100
    public var oomKillDisable = false           // --oom-kill-disable
    public var cidfile: String?                 // --cidfile (written by box; recorded here)
    public var logDriver: String?               // --log-driver json-file|none
    public var devices: [String] = []           // --device HOST[:CONTAINER][:PERMISSIONS]
    public var uts: String?                     // --uts host
    public var ipc: String?                     // --ipc private|shareable|host

    // Mounts beyond -v (see MountPlan): --mount, --tmpfs, --volumes-from, as typed.
    public var mounts: [String] = []
    public var tmpfs: [String] = []
    public var volumesFrom: [String] = []

    /// Validates the resource flags and turns them into cgroup limits, with docker's rules and messages.
    /// `allowSwapAlone`: `box update --memory-swap` may change swap without repeating --memory.
    public func resources(allowSwapAlone: Bool = false) throws -> Resources {
        var r = Resources()
        if let memory {
            r.Memory = try CreateOptions.bytes(memory, flag: "--memory")
            // docker: "Minimum memory limit allowed is 6MB"
            guard r.Memory >= 6 << 20 else { throw BoxError(.usage, "minimum memory limit allowed is 6MB (--memory \(memory))") }
        }
        if let memorySwap {
            r.MemorySwap = memorySwap == "-1" ? -1 : try CreateOptions.bytes(memorySwap, flag: "--memory-swap")
            guard r.Memory > 0 || allowSwapAlone else { throw BoxError(.usage, "--memory-swap needs --memory as well") }
            guard r.MemorySwap == -1 || r.MemorySwap >= r.Memory else {
                throw BoxError(.usage, "--memory-swap (memory plus swap) must be at least --memory")
            }
        }
        if let cpuShares {
            guard cpuShares >= 2 && cpuShares <= 262_144 else { throw BoxError(.usage, "--cpu-shares must be between 2 and 262144") }
            r.CpuShares = cpuShares
        }
        if let cpus {
            guard cpus > 0 && cpus <= 1024 else { throw BoxError(.usage, "--cpus must be a positive number of CPUs, e.g. 0.5") }
            r.NanoCpus = Int64(cpus * 1e9)
        }
        if let cpusetCpus {
            guard !cpusetCpus.isEmpty, cpusetCpus.allSatisfy({ $0.isNumber || $0 == "," || $0 == "-" }) else {
                throw BoxError(.usage, "invalid --cpuset-cpus \"\(cpusetCpus)\": use a list like 0-1,3")
            }
            r.CpusetCpus = cpusetCpus
        }
        if let pidsLimit {
            guard pidsLimit > 0 else { throw BoxError(.usage, "--pids-limit must be a positive number") }
            r.PidsLimit = pidsLimit
        }
        try moreResources(&r)
        return r
    }

    /// `box update` (and boxd's): the limits these options give, validated as `resources` does, written over
    /// `current`; the limits not given stay as they are.
    public func update(_ current: inout Resources) throws {
        let given = try resources(allowSwapAlone: true)
        if memory != nil { current.Memory = given.Memory }
        if memorySwap != nil { current.MemorySwap = given.MemorySwap }
        if cpuShares != nil { current.CpuShares = given.CpuShares }
        if cpus != nil { current.NanoCpus = given.NanoCpus }
        if cpusetCpus != nil { current.CpusetCpus = given.CpusetCpus }
        if pidsLimit != nil { current.PidsLimit = given.PidsLimit }
        if cpuPeriod != nil { current.CpuPeriod = given.CpuPeriod }
        if cpuQuota != nil { current.CpuQuota = given.CpuQuota }
        if cpusetMems != nil { current.CpusetMems = given.CpusetMems }
        if memoryReservation != nil { current.MemoryReservation = given.MemoryReservation }
    }

    /// "32m", "1g", "512k", "1048576" -> bytes (docker's units.RAMInBytes: binary units, case-insensitive).
    public static func bytes(_ text: String, flag: String) throws -> Int64 {
        var digits = text.lowercased()
        if digits.hasSuffix("b") { digits.removeLast() }
        var unit: Int64 = 1
        if let last = digits.last, let shift = ["k": 10, "m": 20, "g": 30, "t": 40][last] {
            unit = Int64(1) << Int64(shift)
            digits.removeLast()
        }
        guard let value = Double(digits), value >= 0, value * Double(unit) < 9e18 else {
            throw BoxError(.usage, "invalid size for \(flag): \"\(text)\" (use a number with an optional unit: 32m, 1g)")
        }
        return Int64(value * Double(unit))
    }

    public init(image: String) { self.image = image }
}
