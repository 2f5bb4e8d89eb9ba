/// docker's `--mount type=volume|bind|tmpfs,source=…,target=…,…`, parsed as docker's CLI does (cli/opts/mount.go:
/// keys, aliases, booleans, sizes, the "cannot mix" rules and their messages) and kept, as docker's
/// HostConfig.Mounts keeps it, for `inspect`.
public struct MountRequest: Codable, Sendable, Equatable {
    public var kind: String
    public var source: String
    public var target: String
    public var readOnly: Bool = false
    public var noCopy: Bool = false
    public var volumeLabels: [String: String]? = nil
    public var volumeOptions: [String: String]? = nil
    public var volumeDriver: String? = nil
    public var tmpfsSize: Int64? = nil
    public var tmpfsMode: UInt32? = nil
    public var bindPropagation: String? = nil

    enum CodingKeys: String, CodingKey {
        case kind = "Type", source = "Source", target = "Target", readOnly = "ReadOnly", noCopy = "NoCopy"
        case volumeLabels = "VolumeLabels", volumeOptions = "VolumeOptions", volumeDriver = "VolumeDriver"
        case tmpfsSize = "TmpfsSize", tmpfsMode = "TmpfsMode", bindPropagation = "BindPropagation"
    }

    public init(parsing text: String) throws {
        func bad(_ why: String) -> BoxError {
            BoxError(.usage, "invalid argument \"\(text)\" for \"--mount\" flag: \(why)", exitCode: 125)
        }
        /// Go's strconv.ParseBool.
        func bool(_ key: String, _ value: String) throws -> Bool {
            if ["1", "t", "T", "true", "TRUE", "True"].contains(value) { return true }
            if ["0", "f", "F", "false", "FALSE", "False"].contains(value) { return false }
            throw bad("invalid value for \(key): \(value)")
        }
        func pair(_ value: String) -> (String, String) {
            let kv = value.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
            return (kv[0], kv.count > 1 ? kv[1] : "")
        }
        kind = ""
        source = ""
        target = ""
        var volumeKeys = false, bindKeys = false, tmpfsKeys = false
        for field in text.split(separator: ",", omittingEmptySubsequences: false).map(String.init) {
            let kv = field.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
            let key = kv[0].lowercased()
            guard kv.count == 2 else {
                switch key {
                case "readonly", "ro": readOnly = true
                case "volume-nocopy": noCopy = true; volumeKeys = true
                case "bind-nonrecursive": bindKeys = true
                default: throw bad("invalid field '\(field)' must be a key=value pair")
                }
                continue
            }
            let value = kv[1]
            switch key {
            case "type": kind = value
            case "source", "src": source = value
            case "target", "dst", "destination": target = value
            case "readonly", "ro": readOnly = try bool(key, value)
            case "consistency": break  // docker for Mac's; nothing on Linux
            case "bind-propagation":
                guard ["private", "rprivate", "shared", "rshared", "slave", "rslave"].contains(value) else {
                    throw bad("invalid value for \(key): \(value)")
                }
                bindPropagation = value; bindKeys = true
            case "bind-nonrecursive": _ = try bool(key, value); bindKeys = true
            case "volume-driver": volumeDriver = value; volumeKeys = true
            case "volume-label": let (k, v) = pair(value); volumeLabels = (volumeLabels ?? [:]).merging([k: v]) { $1 }; volumeKeys = true
            case "volume-nocopy": noCopy = try bool(key, value); volumeKeys = true
            case "volume-opt": let (k, v) = pair(value); volumeOptions = (volumeOptions ?? [:]).merging([k: v]) { $1 }; volumeKeys = true
            case "tmpfs-size":
                guard let bytes = try? CreateOptions.bytes(value, flag: "tmpfs-size") else { throw bad("invalid value for \(key): \(value)") }
                tmpfsSize = bytes; tmpfsKeys = true
            case "tmpfs-mode":
                guard let mode = UInt32(value, radix: 8) else { throw bad("invalid value for \(key): \(value)") }
                tmpfsMode = mode; tmpfsKeys = true
            default: throw bad("unexpected key '\(key)' in '\(field)'")
            }
        }
        if kind.isEmpty { kind = "volume" }
        guard !target.isEmpty else { throw bad("target is required") }
        if volumeKeys && kind != "volume" { throw bad("cannot mix 'volume-*' options with mount type '\(kind)'") }
        if bindKeys && kind != "bind" { throw bad("cannot mix 'bind-*' options with mount type '\(kind)'") }
        if tmpfsKeys && kind != "tmpfs" { throw bad("cannot mix 'tmpfs-*' options with mount type '\(kind)'") }
        // What docker's daemon checks next (volume/mounts/validate.go), with its words.
        func invalid(_ why: String) -> BoxError { BoxError(.usage, "invalid mount config for type \"\(kind)\": \(why)", exitCode: 125) }
        guard ["volume", "bind", "tmpfs"].contains(kind) else { throw invalid("mount type unknown") }
        guard target.hasPrefix("/") else { throw invalid("invalid mount path: '\(target)' mount path must be absolute") }
        try Volume.checkTarget(target, "invalid mount config for type \"\(kind)\"")
        switch kind {
        case "bind":
            guard !source.isEmpty else { throw invalid("field Source must not be empty") }
            guard source.hasPrefix("/") else { throw invalid("invalid mount path: '\(source)' mount path must be absolute") }
            guard Files.exists(source) else { throw invalid("bind source path does not exist: \(source)") }
        case "tmpfs":
            guard source.isEmpty else { throw invalid("field Source must not be specified") }
        default:
            if !source.isEmpty { try VolumeStore.validate(source, exitCode: 125) }
            if let driver = volumeDriver, driver != "local" {
                throw BoxError(.usage, "error looking up volume plugin \(driver): plugin \"\(driver)\" not found", exitCode: 125)
            }
        }
    }
}

/// Every mount a new container asks for (-v, --mount, --tmpfs, --volumes-from), checked before anything is
/// written and turned into the container's MountPoints (volumes made) in `resolve`, under the engine lock.
struct MountPlan {
    enum Item {
        case ready(Volume)
        /// A named volume (nil: anonymous), made on first use.
        case volume(name: String?, target: String, readOnly: Bool, devices: Bool, noCopy: Bool, mode: String,
                    labels: [String: String], options: [String: String])
    }
    var items: [Item] = []
    var volumesFrom: [(container: String, readOnly: Bool?)] = []

    init(_ o: CreateOptions) throws {
        for text in o.volumes { items.append(try Self.parseVolumeFlag(text)) }
        for text in o.mounts {
            let m = try MountRequest(parsing: text)
            switch m.kind {
            case "bind":
                items.append(.ready(Volume(host: m.source, container: m.target, readOnly: m.readOnly)))
            case "tmpfs":
                var data: [String] = []
                if let size = m.tmpfsSize { data.append("size=\(size)") }
                if let mode = m.tmpfsMode { data.append("mode=" + String(mode, radix: 8)) }
                var v = Volume(host: "tmpfs", container: m.target, readOnly: m.readOnly, kind: .tmpfs)
                v.tmpfsData = data.joined(separator: ",")
                v.mode = ""
                items.append(.ready(v))
            default:
                items.append(.volume(name: m.source.isEmpty ? nil : m.source, target: m.target, readOnly: m.readOnly,
                                     devices: false, noCopy: m.noCopy, mode: "", labels: m.volumeLabels ?? [:],
                                     options: m.volumeOptions ?? [:]))
            }
        }
        for text in o.tmpfs { items.append(.ready(try Self.parseTmpfsFlag(text))) }
        for text in o.volumesFrom {
            let parts = text.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
            var readOnly: Bool? = nil
            if parts.count == 2 {
                guard parts[1] == "ro" || parts[1] == "rw" else { throw BoxError(.usage, "invalid mode: \(parts[1])", exitCode: 125) }
                readOnly = parts[1] == "ro"
            }
            volumesFrom.append((parts[0], readOnly))
        }
        var seen = Set<String>()
        for target in items.map(\.target) {
            let clean = "/" + target.split(separator: "/").filter { $0 != "." }.joined(separator: "/")
            guard seen.insert(clean).inserted else { throw BoxError(.usage, "Duplicate mount point: \(clean)", exitCode: 125) }
        }
    }

    /// `-v`: /HOST:/CONTAINER[:OPTIONS] binds a host path (Volume(parsing:)); NAME:/CONTAINER[:OPTIONS] mounts
    /// the named volume NAME, made on first use; /CONTAINER alone an anonymous volume. A volume's OPTIONS are
    /// ro|rw, dev|nodev and nocopy.
    static func parseVolumeFlag(_ text: String) throws -> Item {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        if parts.count == 1 {
            try Volume.checkTarget(text, "invalid volume \"\(text)\"")
            return .volume(name: nil, target: text, readOnly: false, devices: false, noCopy: false, mode: "", labels: [:], options: [:])
        }
        if parts[0].hasPrefix("/") || parts.count > 3 { return .ready(try Volume(parsing: text)) }
        guard !parts[0].isEmpty else { throw BoxError(.usage, "invalid volume specification: '\(text)'", exitCode: 125) }
        try VolumeStore.validate(parts[0], exitCode: 125)
        try Volume.checkTarget(parts[1], "invalid volume \"\(text)\"")
        var readOnly: Bool?, devices: Bool?, noCopy = false
        for option in parts.count == 3 ? parts[2].split(separator: ",", omittingEmptySubsequences: false) : [] {
            switch option {
            case "ro" where readOnly == nil, "rw" where readOnly == nil: readOnly = option == "ro"
            case "dev" where devices == nil, "nodev" where devices == nil: devices = option == "dev"
            case "nocopy": noCopy = true
            default:
                throw BoxError(.usage, "invalid volume \"\(text)\": a volume's options are ro or rw, dev or nodev, and nocopy, once each, separated by commas")
            }
        }
        // docker records "z" (SELinux relabel) as a named volume's mode when none is given.
        return .volume(name: parts[0], target: parts[1], readOnly: readOnly ?? false, devices: devices ?? false, noCopy: noCopy,
                       mode: parts.count == 3 ? parts[2] : "z", labels: [:], options: [:])
    }

    /// `--tmpfs /CONTAINER[:OPTIONS]`: mount(8)'s tmpfs options (size=, mode=, uid=, gid=, nr_inodes=) and the
    /// flags ro|rw, exec|noexec, dev|nodev, suid is refused. docker's default: rw,nosuid,nodev,noexec.
    static func parseTmpfsFlag(_ text: String) throws -> Volume {
        let parts = text.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        try Volume.checkTarget(parts[0], "invalid tmpfs \"\(text)\"")
        var v = Volume(host: "tmpfs", container: parts[0], readOnly: false, kind: .tmpfs)
        var data: [String] = []
        for option in parts.count == 2 ? parts[1].split(separator: ",").map(String.init) : [] {
            let key = option.split(separator: "=", maxSplits: 1).first.map(String.init) ?? ""
            switch option {
            case "ro", "rw": v.readOnly = option == "ro"
            case "exec", "noexec": v.exec = option == "exec"
            case "dev", "nodev": v.devices = option == "dev"
            case "nosuid": break
            default:
                guard option.contains("="), ["size", "mode", "uid", "gid", "nr_inodes", "nr_blocks"].contains(key),
                      option.dropFirst(key.count + 1).allSatisfy({ $0.isLetter || $0.isNumber || $0 == "%" }) else {
                    throw BoxError(.usage, "invalid tmpfs \"\(text)\": options are size=, mode=, uid=, gid=, nr_inodes=, and ro|rw, exec|noexec, dev|nodev (suid is refused)")
                }
                data.append(option)
            }
        }
        v.tmpfsData = data.joined(separator: ",")
        return v
    }

    /// HostConfig.Tmpfs: docker's map of each --tmpfs path to its options.
    static func tmpfsMap(_ flags: [String]) -> [String: String] {
        var map: [String: String] = [:]
        for text in flags {
            let parts = text.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
            map[parts[0]] = parts.count > 1 ? parts[1] : ""
        }
        return map
    }

    /// The container's mounts, parents before children (docker sorts them by depth): volumes made or found
    /// (`volumes`' caller holds the engine lock), `--volumes-from` copied from the other containers.
    /// `created`: the volumes this call made (not those that were there), for the caller to remove if the
    /// container is not created after all.
    func resolve(volumes: VolumeStore, containers: ContainerStore, created: inout [String]) throws -> [Volume] {
        // Every --volumes-from container first: an unknown one refuses the container before any volume is made.
        let sources = try volumesFrom.map { other, readOnly -> (Container, Bool?) in
            do { return (try containers.resolve(other), readOnly) } catch var e as BoxError {
                e.exitCode = 125
                throw e
            }
        }
        var list: [Volume] = []
        for item in items {
            switch item {
            case .ready(let v): list.append(v)
            case let .volume(name, target, readOnly, devices, noCopy, mode, labels, options):
                let existed = name.map { (try? volumes.get($0)) != nil } ?? false
                let record = try volumes.create(name, labels: labels, options: options, anonymous: name == nil)
                if !existed { created.append(record.Name) }
                var v = Volume(host: volumes.dataPath(record.Name), container: target, readOnly: readOnly, devices: devices,
                               kind: .volume, name: record.Name)
                v.noCopy = noCopy ? true : nil
                v.mode = mode
                list.append(v)
            }
        }
        for (c, readOnly) in sources {
            for var v in c.spec.mountPoints where v.kind != .tmpfs && !list.contains(where: { $0.container == v.container }) {
                if let readOnly { v.readOnly = readOnly }
                v.mode = ""
                list.append(v)
            }
        }
        return list.sorted { $0.container.split(separator: "/").count < $1.container.split(separator: "/").count }
    }
}

extension MountPlan.Item {
    var target: String {
        switch self {
        case .ready(let v): v.container
        case .volume(_, let target, _, _, _, _, _, _): target
        }
    }
}

/// The container store's side of volumes: which containers use one, and removing only those none uses.
extension ContainerStore {
    /// The ids of the containers (any state) that mount volume `name`, as docker's "volume is in use" lists them.
    public func volumeUsers(_ name: String, in containers: [Container]) -> [String] {
        containers.filter { c in c.spec.mountPoints.contains { $0.kind == .volume && $0.name == name } }.map(\.id)
    }

    /// Removes a volume no container uses (docker: "volume is in use - [ID]", also with -f); with `force`
    /// a volume that does not exist is no error.
    public func removeVolume(_ name: String, force: Bool = false) throws {
        let volumes = VolumeStore(root: root)
        try root.locked {
            guard (try? volumes.get(name)) != nil else {
                if force { return }
                throw BoxError(.state, "get \(name): no such volume", exitCode: 1)
            }
            let users = volumeUsers(name, in: try list())
            guard users.isEmpty else {
                throw BoxError(.remove, "remove \(name): volume is in use - [\(users.joined(separator: ", "))]", exitCode: 1)
            }
            try volumes.delete(name)
        }
    }

    /// `volume prune`: every volume no container uses, anonymous ones only unless `all` (docker 23's rule;
    /// docker 20.10 removes named ones too). Returns the names removed and the bytes they held.
    public func pruneVolumes(all: Bool, filter: (VolumeRecord) -> Bool = { _ in true }) throws -> (names: [String], bytes: Int64) {
        let volumes = VolumeStore(root: root)
        return try root.locked {
            let containers = try list()
            var names: [String] = [], bytes: Int64 = 0
            for v in try volumes.list() where (all || v.Anonymous == true) && filter(v) && volumeUsers(v.Name, in: containers).isEmpty {
                let size = VolumeStore.size(volumes.dataPath(v.Name))
                try volumes.delete(v.Name)
                names.append(v.Name)
                bytes += size
            }
            return (names, bytes)
        }
    }
}
