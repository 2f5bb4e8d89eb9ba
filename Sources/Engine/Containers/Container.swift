/// What `box create`/`box run` decided about a container. Written once (config.v2.json, docker's file name)
/// and never changed while the container exists. Field names follow `docker inspect`.
public struct ContainerSpec: Codable, Sendable {
    public struct Config: Codable, Sendable {
        public var Hostname: String
        public var User: String
        public var Env: [String]
        public var Cmd: [String]
        public var Entrypoint: [String]?
        public var Image: String          // the name the user typed
        public var WorkingDir: String
        public var Labels: [String: String]
        public var Tty: Bool
        public var OpenStdin: Bool
        public var StdinOnce: Bool

        // docker's run flags beyond the first ones (RunSettings.swift); absent when not given.
        /// --domainname: the NIS domain name of the container's UTS namespace.
        public var Domainname: String?
        /// --stop-signal: what `box stop` sends first (docker keeps the name as typed, "SIGUSR1").
        public var StopSignal: String?
        /// --stop-timeout: `box stop`'s grace period when it is given no -t.
        public var StopTimeout: Int?
        /// --expose: "80/tcp" for each port; recorded (docker's -P would publish them).
        public var ExposedPorts: [String]?
        /// --no-healthcheck: ["NONE"], docker's Healthcheck.Test (box runs no health checks).
        public var Healthcheck: [String]?
    }
    public struct HostConfig: Codable, Sendable {
        public var Binds: [String]
        public var NetworkMode: String    // "bridge" (or another network's name) | "none" | "host" | "container:NAME"
        public var AutoRemove: Bool
        public var CapAdd: [String]
        public var CapDrop: [String]
        public var Privileged: Bool
        /// Limits written to the container's cgroup (absent in containers created before limits existed).
        public var Resources: Resources?
        public var RestartPolicy: RestartPolicy?
        /// --init: a tiny init is PID 1, the command its child.
        public var Init: Bool?
        /// -p: host ports forwarded to the container (absent in containers created before networks existed).
        public var PortBindings: [PortBinding]?
        /// --security-opt, as docker records it ("seccomp=unconfined"); absent when none was given.
        public var SecurityOpt: [String]?

        // docker's run flags beyond the first ones (RunSettings.swift); absent when not given.
        /// --add-host: "NAME:IP" lines of the container's /etc/hosts.
        public var ExtraHosts: [String]?
        /// --dns, --dns-search, --dns-option: the container's resolv.conf instead of the host's.
        public var Dns: [String]?
        public var DnsSearch: [String]?
        public var DnsOptions: [String]?
        /// --read-only: the root filesystem mounted read-only.
        public var ReadonlyRootfs: Bool?
        /// --shm-size: bytes of /dev/shm (64 MiB if absent).
        public var ShmSize: Int64?
        /// --sysctl: written in the container's namespaces before its command runs.
        public var Sysctls: [String: String]?
        /// --ulimit: set on PID 1 before its command runs.
        public var Ulimits: [Ulimit]?
        /// --group-add: supplementary groups beyond the user's (names of the image's /etc/group, or numbers).
        public var GroupAdd: [String]?
        /// --oom-score-adj: PID 1's /proc/PID/oom_score_adj.
        public var OomScoreAdj: Int?
        /// --cidfile: the file the id was written to.
        public var ContainerIDFile: String?
        /// --log-driver: "none" keeps no log (absent: json-file, box's log).
        public var LogDriver: String?
        /// --device: host device nodes bound into the container and allowed by its device rules.
        public var Devices: [DeviceMapping]?
        /// --uts host, --ipc host: the host's UTS or IPC namespace instead of one of the container's own.
        public var UTSMode: String?
        public var IpcMode: String?
        /// --mount, --tmpfs (docker's map of target to options), --volumes-from, as docker's HostConfig has them
        /// (absent in containers created before named volumes).
        public var Mounts: [MountRequest]? = nil
        public var Tmpfs: [String: String]? = nil
        public var VolumesFrom: [String]? = nil
    }

    public var ID: String
    public var Name: String               // without docker's leading "/"
    public var Created: Timestamp
    public var Image: String              // image id, sha256:...
    public var Path: String
    public var Args: [String]
    public var Config: Config
    public var HostConfig: HostConfig
    /// The image's unpacked layer directories, bottom first (overlay lowerdirs, reversed).
    public var LayerDirs: [String]
    /// Capability bits PID 1 keeps (docker's default 14, adjusted by --cap-add/--cap-drop).
    public var Capabilities: UInt64
    /// Every mount beyond the image, resolved at create (volumes' paths, --volumes-from copied), parents first;
    /// absent in containers created before named volumes, whose -v binds are all they have.
    public var MountPoints: [Volume]? = nil

    public var mountPoints: [Volume] { MountPoints ?? self.HostConfig.Binds.compactMap { try? Volume(parsing: $0) } }

    public var shortID: String { String(ID.prefix(12)) }
    /// The compiled seccomp filter its processes run under (nil: unconfined); see Seccomp.filterFile.
    func seccompFilter(root: EngineRoot) throws -> String? {
        try Seccomp.filterFile(securityOpt: self.HostConfig.SecurityOpt ?? [], privileged: self.HostConfig.Privileged, caps: self.Capabilities, root: root)
    }
    /// The container's cgroup, below each hierarchy root.
    public var cgroup: String { "box/" + ID }
}

/// `--restart no|on-failure[:N]|always|unless-stopped`, as docker's HostConfig.RestartPolicy.
public struct RestartPolicy: Codable, Sendable, Equatable {
    public var Name: String
    public var MaximumRetryCount: Int

    public init(parsing text: String) throws {
        let parts = text.split(separator: ":", maxSplits: 1).map(String.init)
        guard let name = parts.first, ["no", "on-failure", "always", "unless-stopped"].contains(name) else {
            throw BoxError(.usage, "invalid restart policy \"\(text)\": use no, on-failure[:N], always or unless-stopped")
        }
        Name = name
        MaximumRetryCount = 0
        if parts.count == 2 {
            guard name == "on-failure", let n = Int(parts[1]), n >= 0 else {
                throw BoxError(.usage, "invalid restart policy \"\(text)\": only on-failure takes a count (on-failure:3)")
            }
            MaximumRetryCount = n
        }
    }
}

public enum ContainerStatus: String, Codable, Sendable {
    case created, running, paused, restarting, removing, exited, dead
}

/// What changes as a container lives (state.json). Only the monitor writes it while the container runs;
/// `box` commands write it when no monitor is alive (reconciling after a crash, a failed start).
public struct ContainerState: Codable, Sendable {
    public var Status: ContainerStatus = .created
    public var Pid: Int32 = 0
    public var ExitCode: Int32 = 0
    public var Error: String = ""
    public var OOMKilled: Bool = false
    public var StartedAt: Timestamp = .zero
    public var FinishedAt: Timestamp = .zero
    /// Set when PID 1 was ended by a signal (the die event and `box stop` report it).
    public var Signal: Int32?
    /// The monitor that owns the container while it runs, and both processes' start times (field 22 of
    /// /proc/PID/stat), so a recycled pid is never mistaken for ours.
    public var MonitorPid: Int32 = 0
    public var MonitorStartTime: UInt64 = 0
    public var PidStartTime: UInt64 = 0
    public var RestartCount: Int = 0

    public init() {}

    public var Running: Bool { Status == .running || Status == .paused }
    public var Paused: Bool { Status == .paused }
}

/// A container as read from the store.
public struct Container: Sendable {
    public var spec: ContainerSpec
    public var state: ContainerState

    public var id: String { spec.ID }
    public var name: String { spec.Name }
}
