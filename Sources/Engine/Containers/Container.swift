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

    public var shortID: String { String(ID.prefix(12)) }
    /// The compiled seccomp filter its processes run under (nil: unconfined); see Seccomp.filterFile.
    func seccompFilter(root: EngineRoot) throws -> String? {
        try Seccomp.filterFile(securityOpt: self.HostConfig.SecurityOpt ?? [], privileged: self.HostConfig.Privileged, caps: self.Capabilities, root: root)
    }
    /// The container's cgroup, below each hierarchy root.
    public var cgroup: String { "box/" + ID }
}

/// config.v2.json is written once per container, by `box run` on its way to the start: its tree by hand (see
/// JSONWritable). A test holds it to JSONTree's encoding of the same spec, every optional set and none.
extension ContainerSpec: JSONWritable {
    public var jsonTree: JSONValue {
        var config: [(String, JSONValue)] = [
            ("Cmd", JSONValue(strings: self.Config.Cmd)), ("Env", JSONValue(strings: self.Config.Env)),
            ("Hostname", .string(self.Config.Hostname)), ("Image", .string(self.Config.Image)),
            ("Labels", JSONValue(stringTable: self.Config.Labels)), ("OpenStdin", .bool(self.Config.OpenStdin)),
            ("StdinOnce", .bool(self.Config.StdinOnce)), ("Tty", .bool(self.Config.Tty)), ("User", .string(self.Config.User)),
            ("WorkingDir", .string(self.Config.WorkingDir)),
        ]
        if let entrypoint = self.Config.Entrypoint { config.append(("Entrypoint", JSONValue(strings: entrypoint))) }
        let h = self.HostConfig
        var host: [(String, JSONValue)] = [
            ("AutoRemove", .bool(h.AutoRemove)), ("Binds", JSONValue(strings: h.Binds)), ("CapAdd", JSONValue(strings: h.CapAdd)),
            ("CapDrop", JSONValue(strings: h.CapDrop)), ("NetworkMode", .string(h.NetworkMode)), ("Privileged", .bool(h.Privileged)),
        ]
        if let r = h.Resources {
            host.append(("Resources", .sortedObject([
                ("CpuShares", .int(r.CpuShares)), ("CpusetCpus", .string(r.CpusetCpus)), ("Memory", .int(r.Memory)),
                ("MemorySwap", .int(r.MemorySwap)), ("NanoCpus", .int(r.NanoCpus)), ("PidsLimit", .int(r.PidsLimit)),
            ])))
        }
        if let p = h.RestartPolicy {
            host.append(("RestartPolicy", .sortedObject([("MaximumRetryCount", .int(Int64(p.MaximumRetryCount))), ("Name", .string(p.Name))])))
        }
        if let i = h.Init { host.append(("Init", .bool(i))) }
        if let ports = h.PortBindings { host.append(("PortBindings", .array(ports.map { $0.jsonTree }))) }
        if let opts = h.SecurityOpt { host.append(("SecurityOpt", JSONValue(strings: opts))) }
        return .sortedObject([
            ("Args", JSONValue(strings: Args)), ("Capabilities", .int(Int64(clamping: Capabilities))),
            ("Config", .sortedObject(config)), ("Created", .string(Created.rfc3339)), ("HostConfig", .sortedObject(host)),
            ("ID", .string(ID)), ("Image", .string(Image)), ("LayerDirs", JSONValue(strings: LayerDirs)),
            ("Name", .string(Name)), ("Path", .string(Path)),
        ])
    }
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

extension ContainerState: JSONWritable {
    public var jsonTree: JSONValue {
        var members: [(String, JSONValue)] = [
            ("Error", .string(Error)), ("ExitCode", .int(Int64(ExitCode))), ("FinishedAt", .string(FinishedAt.rfc3339)),
            ("MonitorPid", .int(Int64(MonitorPid))), ("MonitorStartTime", .int(Int64(clamping: MonitorStartTime))),
            ("OOMKilled", .bool(OOMKilled)), ("Pid", .int(Int64(Pid))), ("PidStartTime", .int(Int64(clamping: PidStartTime))),
            ("RestartCount", .int(Int64(RestartCount))),
        ]
        if let Signal { members.append(("Signal", .int(Int64(Signal)))) }
        members += [("StartedAt", .string(StartedAt.rfc3339)), ("Status", .string(Status.rawValue))]
        return .object(members)
    }
}

extension ContainerState: JSONReadable {
    public init(json: JSONValue) throws {
        let m = try JSONMembers(json)
        self.init()
        Status = try m.parsed("Status", "a container status") { ContainerStatus(rawValue: $0) }
        Pid = try m.integer("Pid", Int32.self)
        ExitCode = try m.integer("ExitCode", Int32.self)
        Error = try m.string("Error")
        OOMKilled = try m.bool("OOMKilled")
        StartedAt = try m.time("StartedAt")
        FinishedAt = try m.time("FinishedAt")
        Signal = try m.optionalInteger("Signal", Int32.self)
        MonitorPid = try m.integer("MonitorPid", Int32.self)
        MonitorStartTime = try m.integer("MonitorStartTime", UInt64.self)
        PidStartTime = try m.integer("PidStartTime", UInt64.self)
        RestartCount = try m.integer("RestartCount", Int.self)
    }
}

/// A container as read from the store.
public struct Container: Sendable {
    public var spec: ContainerSpec
    public var state: ContainerState

    public var id: String { spec.ID }
    public var name: String { spec.Name }
}
