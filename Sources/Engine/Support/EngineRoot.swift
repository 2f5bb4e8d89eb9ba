#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// Where the engine keeps everything. `BOX_ROOT` (default /var/lib/box) holds state that survives a reboot,
/// laid out so learners can `ls` it as the seeds do with /var/lib/docker:
///
///     BOX_ROOT/
///       repositories.json          image names and tags -> image id (sha256 of the config)
///       imagedb/sha256/<hex>       image configs (OCI JSON); <hex> is the image id, the sha256 of the file
///       blobs/sha256/<hex>         layer tars, named by their diff_id
///       overlay2/<layer>/diff      an image layer, unpacked once, shared as a lowerdir by every container
///       overlay2/<ctr>/{diff,work,merged}  a container's writable layer; merged is mounted while it runs
///       containers/<id>/           config.v2.json, state.json (and state.json.monitor, see Files.replace),
///                                  hostname, hosts, resolv.conf, <id>-json.log (from its first output on),
///                                  network.json (while it runs)
///       events.jsonl               the append-only event journal (`box events`)
///       seccomp/                   docker's seccomp profile compiled to BPF, one file per set of capabilities
///       trash/, spare/             removed containers' directories being deleted, or kept for new ones
///
/// `BOX_RUN` (default /run/box, or BOX_ROOT/run when BOX_ROOT is set) holds what dies with the machine: each
/// container's monitor socket, and the networks' address leases.
public struct EngineRoot: Sendable {
    public let path: String
    public let runPath: String
    /// Whether this root (and every copy of this value) passed onlyRootCanChange in this process. Once it has,
    /// nothing but root could change those directories: the walk (some twenty stats) is not made again at every
    /// prepare, five of which come in each `box run`.
    private let owned = OwnershipChecked()

    private final class OwnershipChecked: Sendable {
        let passed = Atomic<Bool>(false)
    }

    public init(path: String, runPath: String? = nil) {
        self.path = path
        self.runPath = runPath ?? path + "/run"
    }

    /// From the environment: BOX_ROOT and BOX_RUN.
    public static func fromEnvironment() -> EngineRoot {
        let env = { (name: String) -> String? in getenv(name).map { String(cString: $0) }.flatMap { $0.isEmpty ? nil : $0 } }
        if let root = env("BOX_ROOT") {
            return EngineRoot(path: root, runPath: env("BOX_RUN"))
        }
        return EngineRoot(path: "/var/lib/box", runPath: env("BOX_RUN") ?? "/run/box")
    }

    public var repositories: String { path + "/repositories.json" }
    public var blobs: String { path + "/blobs/sha256" }
    public var imagedb: String { path + "/imagedb/sha256" }
    public var overlay: String { path + "/overlay2" }
    public var containers: String { path + "/containers" }
    public var events: String { path + "/events.jsonl" }
    public var lockFile: String { path + "/.lock" }
    public var tmp: String { path + "/tmp" }
    /// Removed containers whose files are still being deleted (see ContainerStore.discard).
    public var trash: String { path + "/trash" }
    /// Removed containers' directories kept for new ones, and new containers' directories being written (Spares).
    public var spare: String { path + "/spare" }

    public func blob(_ digest: String) -> String { blobs + "/" + Digest.hex(digest) }
    public func imageConfig(_ id: String) -> String { imagedb + "/" + Digest.hex(id) }
    public func layerDir(_ diffID: String) -> String { overlay + "/" + Digest.hex(diffID) }
    public func containerDir(_ id: String) -> String { containers + "/" + id }
    public func socket(_ id: String) -> String { runPath + "/" + id + ".sock" }

    /// Creates the directories the engine needs (idempotent). A root that has its lock file (made after the first
    /// prepare) and its run directory (gone after a reboot when it is in /run) has them all: two checks instead of
    /// eight mkdirs on every locked step, six of them in each `box run`. (trash/, newer than some roots, is made
    /// where it is used.)
    ///
    /// Everything below the root that holds layers, containers or images is root's alone (0700), as moby made
    /// /var/lib/docker's after CVE-2021-41091: a layer holds whatever its image or the container's root put
    /// there, setuid-root programs and device nodes among them, and its path is in the world-readable mountinfo.
    /// The root itself stays 0711 (BOX_ROOT may be a directory the admin chose; box never changes its mode).
    public func prepare() throws {
        if !owned.passed.load(ordering: .acquiring) { try onlyRootCanChange() }
        if access(lockFile, F_OK) == 0 && access(runPath, F_OK) == 0 {
            owned.passed.store(true, ordering: .releasing)
            return
        }
        // Looked at again once each exists: another user may have made it (in /tmp, say) since the first look,
        // and mkdirs takes a directory that is there as done.
        try Files.mkdirs(path, mode: 0o711)
        try onlyRootCanChange()
        try Files.mkdirs(runPath, mode: 0o711)
        try onlyRootCanChange()
        owned.passed.store(true, ordering: .releasing)
        for dir in [blobs, imagedb, overlay, containers, tmp, trash] { try Files.mkdirs(dir, mode: 0o700) }
        try closeToOthers()
    }

    /// Root's engine must keep its data where no other user can swap it: a BOX_ROOT (or BOX_RUN) that another
    /// user owns or may write, or whose parent directories they may rename, would let them plant a symlink
    /// (`blobs -> /etc`) that root then writes through, or a layer root then mounts: local root. So, when root
    /// runs box, every directory from / down to each of them that exists is root's, not writable by other users
    /// (a world-writable one only if sticky, as /tmp is, and never the data directory itself), and no symlink on
    /// the way is another user's. A few stats per command. What does not exist yet, box makes root's (0700/0711).
    func onlyRootCanChange() throws {
        guard geteuid() == 0 else { return }
        for (dir, variable) in [(path, "BOX_ROOT"), (runPath, "BOX_RUN")] {
            guard dir.hasPrefix("/") else {
                throw BoxError(.store, "\(variable) must be an absolute path, not \(dir)", exitCode: 125)
            }
            // The path as given (its symlinks' owners), and where it leads: a root-owned symlink to a directory
            // below another user's must not pass.
            var paths = [dir]
            if let real = realpath(dir, nil) {
                let resolved = String(cString: real)
                free(real)
                if resolved != dir { paths.append(resolved) }
            }
            for p in paths { try Self.onlyRootCanChange(p, variable: variable, given: dir) }
        }
    }

    private static func onlyRootCanChange(_ dir: String, variable: String, given: String) throws {
        var prefix = ""
        let parts = dir.split(separator: "/")
        for (i, part) in parts.enumerated() {
            prefix += "/" + part
            var link = stat(), st = stat()
            guard lstat(prefix, &link) == 0 else { break }  // the rest is box's to make (prepare looks again then)
            guard stat(prefix, &st) == 0 else { break }
            let last = i == parts.count - 1
            let why: String?
            if (link.st_mode & S_IFMT) == S_IFLNK && link.st_uid != 0 {
                why = "is a symlink owned by uid \(link.st_uid)"
            } else if st.st_uid != 0 {
                why = "is owned by uid \(st.st_uid)"
            } else if st.st_mode & 0o002 != 0 && (last || st.st_mode & S_ISVTX == 0) {
                why = "is writable by every user"
            } else if st.st_mode & 0o020 != 0 && st.st_gid != 0 && (last || st.st_mode & S_ISVTX == 0) {
                why = "is writable by group \(st.st_gid)"
            } else {
                why = nil
            }
            if let why {
                throw BoxError(.store, "\(variable) \(given) is not safe for root's engine: \(prefix) \(why), so another user could swap what box writes there. Use a directory only root can change (sudo chown root: and chmod go-w on it and its parents), or unset \(variable)", exitCode: 125)
            }
        }
    }

    /// The modes prepare gives, and that an older box did not: its layer dirs were 0755 below an overlay2/ of
    /// 0711, so any user who read a path in mountinfo could walk in. Closes such a root (one stat when there is
    /// nothing to do; every box command calls it): the engine's directories 0700, each layer 0700, each container
    /// directory 0710 (docker's), the event journal (it records command lines) 0600. overlay2/ is closed last:
    /// a command killed half way leaves it open, and the next one finishes the work.
    public func closeToOthers() throws {
        var st = stat()
        guard lstat(overlay, &st) == 0, (st.st_mode & S_IFMT) == S_IFDIR, st.st_mode & 0o077 != 0 else { return }
        func restrict(_ path: String, _ mode: mode_t) throws {
            var st = stat()
            // A directory or a file, never through a symlink (chmod follows them), and nothing that is not there.
            guard lstat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFDIR || (st.st_mode & S_IFMT) == S_IFREG,
                  st.st_mode & 0o7777 != mode else { return }
            guard chmod(path, mode) == 0 else { throw BoxError.sys(.store, "chmod \(String(mode, radix: 8)) \(path)") }
        }
        for dir in [path + "/blobs", blobs, path + "/imagedb", imagedb, containers, tmp, trash, spare] { try restrict(dir, 0o700) }
        for name in (try? Files.list(overlay)) ?? [] { try restrict(overlay + "/" + name, 0o700) }
        for name in (try? Files.list(containers)) ?? [] { try restrict(containers + "/" + name, 0o710) }
        for name in (try? Files.list(spare)) ?? [] { try restrict(spare + "/" + name, name.hasPrefix("c-") ? 0o710 : 0o700) }
        try restrict(events, 0o600)
        try restrict(overlay, 0o700)
    }

    /// Runs `body` holding the engine-wide lock: creating, naming and removing objects happen one at a time.
    public func locked<T>(_ body: () throws -> T) throws -> T {
        try prepare()
        return try Lock.withLock(lockFile, body)
    }
}

public enum Digest {
    /// "sha256:abc..." -> "abc..."; a bare hex string is returned as is.
    public static func hex(_ digest: String) -> String {
        digest.hasPrefix("sha256:") ? String(digest.dropFirst(7)) : digest
    }
    public static func isValidHex(_ s: String) -> Bool {
        s.count == 64 && s.utf8.allSatisfy { ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 102) }
    }
}
