#if canImport(Glibc)
import Glibc
#endif

/// A named volume as `docker volume inspect` shows it. Kept in BOX_ROOT/volumes/NAME/volume.json, beside the
/// directory containers see, NAME/_data (docker's /var/lib/docker/volumes/NAME/_data; docker keeps the rest in
/// metadata.db).
public struct VolumeRecord: Codable, Sendable, Equatable {
    public var Name: String
    public var Driver: String
    public var CreatedAt: Timestamp
    public var Labels: [String: String]?
    public var Options: [String: String]?
    /// Made for one container (`-v /path`, `--mount type=volume,target=/path`): `rm -v` and `volume prune`
    /// without -a remove it (docker 23 labels these com.docker.volume.anonymous).
    public var Anonymous: Bool?
}

/// The named volumes under BOX_ROOT/volumes: plain directories of the host, bind-mounted into containers.
public struct VolumeStore: Sendable {
    public let root: EngineRoot
    public init(root: EngineRoot) { self.root = root }

    public var directory: String { root.path + "/volumes" }
    func recordPath(_ name: String) -> String { directory + "/" + name + "/volume.json" }
    /// What containers mount: BOX_ROOT/volumes/NAME/_data.
    public func dataPath(_ name: String) -> String { directory + "/" + name + "/_data" }

    /// docker's rule for a local volume's name (volume/local: volumeNameRegex, at least two characters): never
    /// a `/` nor `..`, so a name stays one directory below BOX_ROOT/volumes.
    public static func validate(_ name: String, exitCode: Int32 = 1) throws {
        guard Names.isValid(name), name != "." && name != ".." else {
            throw BoxError(.usage, "create \(name): \"\(name)\" includes invalid characters for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host directory, use absolute path", exitCode: exitCode)
        }
        guard name.count >= 2 else {
            throw BoxError(.usage, "create \(name): volume name is too short, names should be at least two alphanumeric characters", exitCode: exitCode)
        }
    }

    /// Creates a volume, or returns the one of that name as it is (docker's `volume create` is idempotent).
    /// No name: an anonymous one named by 64 random hex digits. The caller holds the engine lock when a
    /// container is created with it (so `volume rm` cannot take it away in between). Which containers use a
    /// volume is the container store's to say (ContainerStore.volumeUsers): this folder is below it.
    public func create(_ name: String? = nil, driver: String = "local", labels: [String: String] = [:],
                       options: [String: String] = [:], anonymous: Bool = false) throws -> VolumeRecord {
        guard driver == "local" else {
            throw BoxError(.usage, "error looking up volume plugin \(driver): plugin \"\(driver)\" not found", exitCode: 1)
        }
        if let bad = options.keys.sorted().first(where: { !["type", "device", "o", "size"].contains($0) }) {
            throw BoxError(.usage, "invalid option key: \"\(bad)\"", exitCode: 1)
        }
        if !options.isEmpty {
            // docker's local driver mounts TYPE DEVICE with O at _data on first use; box's volumes are
            // directories only.
            throw BoxError(.usage, "box's local volumes are plain directories: --opt type, device and o (a filesystem mounted at the volume) are not supported", exitCode: 1)
        }
        var rng = SystemRandomNumberGenerator()
        let name = name ?? (0..<8).map { _ in JSONValue.hex(UInt32.random(in: 0...UInt32.max, using: &rng), width: 8) }.joined()
        try Self.validate(name)
        if let existing = try? get(name) { return existing }
        let record = VolumeRecord(Name: name, Driver: driver, CreatedAt: .now(), Labels: labels,
                                  Options: options.isEmpty ? nil : options, Anonymous: anonymous ? true : nil)
        // Made in tmp/ and renamed into place whole: no reader sees a volume without its record.
        try Files.mkdirs(directory, mode: 0o701)
        try Files.mkdirs(root.tmp, mode: 0o700)
        let staging = root.tmp + "/volume-pid\(getpid())-" + name  // system prune clears a crash's (Prune.owner)
        try? Files.removeTree(staging)
        try Files.mkdirs(staging, mode: 0o701)
        try Files.mkdirs(staging + "/_data", mode: 0o755)
        try Files.writeAtomically(staging + "/volume.json", try Files.encode(record, pretty: true))
        if rename(staging, directory + "/" + name) != 0 {
            let e = errno
            try? Files.removeTree(staging)
            if (e == EEXIST || e == ENOTEMPTY), let existing = try? get(name) { return existing }  // made meanwhile
            throw BoxError.sys(.store, "create volume \(name)", errno: e)
        }
        return record
    }

    public func get(_ name: String) throws -> VolumeRecord {
        guard Names.isValid(name), Files.exists(recordPath(name)) else {
            throw BoxError(.state, "get \(name): no such volume", exitCode: 1)
        }
        return try Files.decode(VolumeRecord.self, from: recordPath(name))
    }

    /// Every volume, by name.
    public func list() throws -> [VolumeRecord] {
        try Files.list(directory).sorted().compactMap { try? get($0) }
    }

    /// Out of the store first (renamed into tmp/), then deleted: never through a mount or a link in it. The
    /// caller holds the engine lock and has checked that no container uses it (ContainerStore.removeVolume).
    public func delete(_ name: String) throws {
        try Files.mkdirs(root.tmp, mode: 0o700)
        let doomed = root.tmp + "/volume-rm-pid\(getpid())-" + name
        try? Files.removeTree(doomed)
        guard rename(directory + "/" + name, doomed) == 0 else { throw BoxError.sys(.remove, "remove volume \(name)") }
        try Files.removeTree(doomed)
    }

    /// Bytes of the files below `path` (docker's directory.Size: regular files' sizes, links not followed).
    public static func size(_ path: String) -> Int64 {
        var total: Int64 = 0
        for name in (try? Files.list(path)) ?? [] {
            var st = stat()
            guard lstat(path + "/" + name, &st) == 0 else { continue }
            total += (st.st_mode & S_IFMT) == S_IFDIR ? size(path + "/" + name) : Int64(st.st_size)
        }
        return total
    }

    /// Refuses a filter `matches` does not know, before anything is removed.
    public static func validateFilters(_ filters: [String]) throws {
        _ = try matches(VolumeRecord(Name: "", Driver: "local", CreatedAt: .zero), filters: filters, inUse: false)
    }

    /// docker's `volume ls` filters: dangling=true|false, name=SUBSTRING, label=KEY[=VALUE], driver=NAME.
    public static func matches(_ v: VolumeRecord, filters: [String], inUse: Bool) throws -> Bool {
        var byKey: [String: [String]] = [:]
        for f in filters {
            let parts = f.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
            guard parts.count == 2, ["dangling", "name", "label", "driver"].contains(parts[0]) else {
                throw BoxError(.usage, "invalid filter '\(parts[0])'", exitCode: 1)
            }
            byKey[parts[0], default: []].append(parts[1])
        }
        for value in byKey["dangling"] ?? [] {
            guard ["true", "1", "false", "0"].contains(value) else {
                throw BoxError(.usage, "invalid filter 'dangling=\(value)'", exitCode: 1)
            }
            if (value == "true" || value == "1") == inUse { return false }
        }
        if let names = byKey["name"], !names.contains(where: { v.Name.contains($0) }) { return false }
        if let drivers = byKey["driver"], !drivers.contains(v.Driver) { return false }
        for label in byKey["label"] ?? [] {
            let kv = label.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
            guard let value = v.Labels?[kv[0]] else { return false }
            if kv.count == 2 && value != kv[1] { return false }
        }
        return true
    }
}
