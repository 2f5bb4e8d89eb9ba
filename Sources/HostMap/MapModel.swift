import Engine

/// What `box map` and `lab map` draw: the host, its containers and the processes the learner put in namespaces
/// of their own, as the kernel and box's state show them at one moment. Plain values, so two moments compare
/// (what changed) and a fixture tree gives a model a test can read.
public struct HostMapModel: Sendable, Equatable {
    public var cgroupMode: CgroupMode
    /// The host's namespaces (PID 1's): the reference for "shared with the host".
    public var hostNamespaces: [NamespaceKind: UInt64]
    public var bridges: [BridgeView]
    public var containers: [ContainerView]
    /// Processes in namespaces of their own that belong to no container of this engine (`unshare`, another
    /// engine's containers), grouped by the namespaces they are in.
    public var isolated: [IsolatedGroup]
    /// System services that systemd started in namespaces of their own (PrivateTmp=, PrivateNetwork=...): left
    /// out of the picture, named in a line under it.
    public var services: [String]
    /// When it was read.
    public var readAt: Timestamp
}

/// One namespace of a container or group, and who else is in it.
public struct NamespaceView: Sendable, Equatable {
    public enum Sharing: Sendable, Equatable {
        /// A namespace of its own.
        case own
        /// The host's (the container did not get a new one of this kind).
        case host
        /// Another container's or group's, by name (`--network container:NAME`).
        case with(String)
    }
    public var kind: NamespaceKind
    public var inode: UInt64
    public var sharing: Sharing
}

/// A process, with its pid on the host and in its own pid namespace, and its children.
public struct ProcessView: Sendable, Equatable {
    public var hostPid: Int32
    /// The pid in the innermost pid namespace (the last of NSpid): what `ps` inside shows.
    public var nsPid: Int32
    public var command: String
    public var state: String
    public var startTicks: UInt64
    public var children: [ProcessView]

    /// PID 1 of its pid namespace: the init every other process there is reparented to.
    public var isInit: Bool { nsPid == 1 }

    /// The tree in drawing order, with each process's depth.
    public func flattened(depth: Int = 0) -> [(depth: Int, process: ProcessView)] {
        [(depth, self)] + children.flatMap { $0.flattened(depth: depth + 1) }
    }
}

/// A cgroup's limits (nil: none) and use, read from whichever hierarchy holds each controller.
public struct CgroupView: Sendable, Equatable {
    /// Below each hierarchy's root ("box/ID").
    public var path: String
    public var memoryUsage: Int64?
    public var memoryLimit: Int64?
    public var pidsCurrent: Int64?
    public var pidsLimit: Int64?
    /// CPUs per period (cfs_quota/cfs_period, cpu.max), nil without a quota.
    public var cpuQuota: Double?
    /// cpu.shares (v1) or cpu.weight (v2).
    public var cpuWeight: Weight?
    /// CPU time used, in nanoseconds.
    public var cpuUsage: UInt64?
    public var frozen: Bool
    public var oomKills: Int64

    public struct Weight: Sendable, Equatable {
        public var file: String
        public var value: Int64
    }

    /// The same limits and states (use left out: it changes all the time).
    public func sameSettings(as other: CgroupView) -> Bool {
        memoryLimit == other.memoryLimit && pidsLimit == other.pidsLimit && cpuQuota == other.cpuQuota
            && cpuWeight == other.cpuWeight && frozen == other.frozen && oomKills == other.oomKills
    }
}

/// A container's network: its eth0 (box's record, checked against the addresses of its namespace), the host's
/// end of the veth pair and the bridge it is on.
public struct NetworkView: Sendable, Equatable {
    /// "bridge", a user network's name, "host", "none" or "container:NAME".
    public var mode: String
    public var address: String?
    public var prefix: Int?
    public var mac: String?
    /// The addresses the kernel has in the container's network namespace (proc/PID/net/fib_trie).
    public var kernelAddresses: [String]
    public var hostVeth: String?
    /// The bridge the host's veth is enslaved to, as the kernel says (sys/class/net/VETH/master).
    public var vethMaster: String?
    public var bridge: String?
    public var subnet: String?
    public var ports: [String]
}

/// A container's root filesystem: the image's layers under its own upper directory, merged by overlayfs.
public struct FilesystemView: Sendable, Equatable {
    /// The image's layer directories, top first (as overlayfs's lowerdir lists them).
    public var lowerdirs: [String]
    public var upperdir: String
    public var merged: String
    public var mounted: Bool
    public var added: Int
    public var changed: Int
    public var whiteouts: Int
}

public struct ContainerView: Sendable, Equatable {
    public var name: String
    public var id: String
    public var status: String
    public var created: Timestamp
    public var startedAt: Timestamp
    public var namespaces: [NamespaceView]
    public var processes: [ProcessView]
    public var cgroup: CgroupView?
    public var network: NetworkView
    public var filesystem: FilesystemView

    public var shortID: String { String(id.prefix(12)) }
}

/// Host processes sharing a set of namespaces that are not the host's, outside every container.
public struct IsolatedGroup: Sendable, Equatable {
    /// A name for the picture: "unshare:PID" after its first process.
    public var name: String
    public var namespaces: [NamespaceView]
    public var processes: [ProcessView]
}

/// A bridge network of box's, and whether the kernel has its device.
public struct BridgeView: Sendable, Equatable {
    public var network: String
    public var device: String
    public var subnet: String
    public var gateway: String
    public var present: Bool
}
