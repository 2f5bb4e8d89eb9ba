/// A bind mount from `-v HOST:CONTAINER[:OPTIONS]`, OPTIONS a comma-separated list of `ro`|`rw` and
/// `dev`|`nodev` (podman's names for the device option; docker has none). A volume is `nodev` unless `dev` is
/// asked for, as podman's are: a device node made in it (container root has CAP_MKNOD) or already there does
/// not open, whatever the device cgroup allows.
///
/// The same type is every mount a container has beyond its image (ContainerSpec.MountPoints): a named volume
/// (`host` is its BOX_ROOT/volumes/NAME/_data) and a tmpfs (`--tmpfs`, `--mount type=tmpfs`) too.
public struct Volume: Sendable, Equatable, Codable {
    public enum Kind: String, Sendable, Codable { case bind, volume, tmpfs }
    public var host: String
    public var container: String
    public var readOnly: Bool
    /// `dev`: device nodes in the volume open (within what the device cgroup allows).
    public var devices: Bool
    public var kind: Kind = .bind
    /// A volume's name (kind .volume).
    public var name: String? = nil
    /// A tmpfs's mount data (size=, mode=, as the kernel takes them), and whether programs in it may run
    /// (docker's tmpfs is noexec unless `exec` is asked for).
    public var tmpfsData: String? = nil
    public var exec: Bool? = nil
    /// `volume-nocopy`: the image's content at the mount point is not copied into a new empty volume.
    public var noCopy: Bool? = nil
    /// docker inspect's Mounts[].Mode: the -v options as typed ("z" for a named volume without any), "" for
    /// --mount and --volumes-from; nil for a --tmpfs (docker lists those under HostConfig.Tmpfs only).
    public var mode: String? = nil

    /// Whether this volume is mounted at /dev itself (then box makes no device node there: it is a host directory).
    public var isDev: Bool { container.split(separator: "/").filter { $0 != "." } == ["dev"] }

    public init(host: String, container: String, readOnly: Bool, devices: Bool = false, kind: Kind = .bind, name: String? = nil) {
        self.host = host
        self.container = container
        self.readOnly = readOnly
        self.devices = devices
        self.kind = kind
        self.name = name
    }

    /// docker's rules for a container path (absolute, not /, no ..), and box's own: not in /proc.
    static func checkTarget(_ path: String, _ what: String) throws {
        guard path.hasPrefix("/"), path.split(separator: "/").contains(where: { $0 != "." }) else {
            throw BoxError(.usage, "\(what): the container path must be absolute and not /", exitCode: 125)
        }
        guard !path.split(separator: "/").contains("..") else {
            throw BoxError(.usage, "\(what): the container path may not contain ..", exitCode: 125)
        }
        // The kernel's /proc is box's (masked and read-only parts included): a mount over /proc/sys or
        // /proc/sysrq-trigger would hand the container the host's knobs or hide what masks them. runc refuses
        // the same (checkProcMount).
        guard path.split(separator: "/").first(where: { $0 != "." }) != "proc" else {
            throw BoxError(.usage, "\(what): /proc belongs to the container's own proc filesystem; mount elsewhere (e.g. /host\(path))", exitCode: 125)
        }
    }

    public init(parsing text: String) throws {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 2 || parts.count == 3 else {
            throw BoxError(.usage, "invalid volume \"\(text)\": use HOST:CONTAINER or HOST:CONTAINER:ro")
        }
        guard parts[0].hasPrefix("/") else {
            throw BoxError(.usage, "invalid volume \"\(text)\": the host path must be absolute (a name without a slash is a named volume)")
        }
        try Volume.checkTarget(parts[1], "invalid volume \"\(text)\"")
        var readOnly: Bool?, devices: Bool?
        for option in parts.count == 3 ? parts[2].split(separator: ",", omittingEmptySubsequences: false) : [] {
            switch option {
            case "ro", "rw":
                guard readOnly == nil else { throw BoxError(.usage, "invalid volume \"\(text)\": ro or rw, once") }
                readOnly = option == "ro"
            case "dev", "nodev":
                guard devices == nil else { throw BoxError(.usage, "invalid volume \"\(text)\": dev or nodev, once") }
                devices = option == "dev"
            default:
                throw BoxError(.usage, "invalid volume \"\(text)\": the options are ro or rw, and dev or nodev, separated by commas (e.g. ro,dev)")
            }
        }
        host = parts[0]
        container = parts[1]
        self.readOnly = readOnly ?? false
        self.devices = devices ?? false
    }
}

/// `-u UID[:GID]` or `-u NAME[:GROUP]`, names looked up in the image's /etc/passwd and /etc/group.
public struct UserSpec: Sendable, Equatable {
    public var uid: UInt32
    public var gid: UInt32
    /// Supplementary groups: the primary group, then every group of the image's /etc/group that lists the
    /// user by name (as `docker run busybox id` shows: groups=0(root),10(wheel)); only the named group with
    /// -u USER:GROUP.
    public var groups: [UInt32] = []

    public init(uid: UInt32, gid: UInt32, groups: [UInt32]? = nil) {
        self.uid = uid
        self.gid = gid
        self.groups = groups ?? [gid]
    }

    public static func resolve(_ text: String, layers: [String]) throws -> UserSpec {
        // No user: root, looked up like any other (its groups count too).
        let parts = (text.isEmpty ? "0" : text).split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        /// The entries of /etc/passwd or /etc/group of the topmost layer that has the file (as in the merged view).
        func entries(_ file: String) -> [[String]] {
            for layer in layers.reversed() {
                guard let content = Files.readIfPresent(layer + "/etc/" + file) else { continue }
                return content.split(separator: "\n").map { $0.split(separator: ":", omittingEmptySubsequences: false).map(String.init) }
            }
            return []
        }
        func lookup(_ file: String, _ name: String) -> [String]? { entries(file).first { $0.first == name } }
        var gid: UInt32? = nil
        let uid: UInt32
        var name: String? = nil
        if let n = UInt32(parts[0]) {
            uid = n
            // A number the image's passwd knows has that entry's name and group (runc's GetExecUser); else gid 0.
            let known = entries("passwd").first { $0.count > 3 && UInt32($0[2]) == n }
            name = known?[0]
            gid = known.flatMap { UInt32($0[3]) }
        } else if let fields = lookup("passwd", parts[0]), fields.count > 3, let n = UInt32(fields[2]) {
            uid = n
            name = parts[0]
            gid = UInt32(fields[3])
        } else {
            throw BoxError(.usage, "unable to find user \(parts[0]): no matching entries in the image's /etc/passwd", exitCode: 125)
        }
        if parts.count == 2 {
            if let n = UInt32(parts[1]) {
                gid = n
            } else if let fields = lookup("group", parts[1]), fields.count > 2, let n = UInt32(fields[2]) {
                gid = n
            } else {
                throw BoxError(.usage, "unable to find group \(parts[1]): no matching entries in the image's /etc/group")
            }
        }
        let primary = gid ?? 0
        // Only when no group is named: with -u USER:GROUP docker and runc keep to that one group.
        var groups = [primary]
        if parts.count == 1, let name {
            let member = entries("group").filter { $0.count > 3 && $0[3].split(separator: ",").contains(Substring(name)) }
            groups += member.compactMap { UInt32($0[2]) }.filter { $0 != primary }
        }
        return UserSpec(uid: uid, gid: primary, groups: groups)
    }
}
