#if canImport(Glibc)
import Glibc
#endif
import CSpawn

/// The directories of removed containers, kept for the next ones instead of being deleted and made again.
///
///     BOX_ROOT/spare/c-<id>   a container directory holding at most `files`, which the next container writes
///                             over in place before the directory is renamed to containers/<its id>
///     BOX_ROOT/spare/l-<id>   a writable layer's directory with its empty merged/ (the next container makes
///                             diff/ and work/ anew: an overlay kept alive by a copy of its mount in some other
///                             mount namespace would still use the old ones)
///
/// Why: every inode a start does not make is time saved, at that start and at the next ones. ext4 without a
/// journal (the filesystem of the VMs boxlab is measured on) steps over every inode freed in the last minutes at
/// each allocation in the same block group, one buffer lookup each; a `box run --rm` made about twenty inodes
/// and freed them again. With a spare, it renames two directories and writes its files in place instead of
/// making ten inodes: 7.6 ms of each `box run --rm` here, which the guard (box <= 1.0x crun) needs
/// (bench/README.md, 2026-12-07). A hosts file stays the same inode from one container to the next: a process
/// on the host that entered a dead container's mount namespace alone (`nsenter -m`) and stayed there would
/// see the next container's.
///
/// A new container's directory is always written in spare/ first and renamed into containers/ whole, so no
/// reader ever sees a container directory without its config and state.
struct Spares {
    /// Per kind: more removals at once than this are deleted as before.
    static let limit = 4
    /// What a spare container directory keeps: the records only the host reads and writes, written whole at
    /// create (config, state and the state's sibling, see Files.replace)...
    static let records: Set<String> = ["config.v2.json", "state.json", "state.json.monitor"]
    /// ...and, only as they were made, the files bind-mounted into the container (read-write, so its root
    /// may have changed their owner, mode, extended attributes or flags: such a file goes, and the next
    /// container gets a new one).
    static let mounted: Set<String> = ["hostname", "hosts", "resolv.conf"]

    let root: EngineRoot
    var dir: String { root.spare }

    /// A directory to write a new container in: a spare, or a new one. It is renamed to spare/new-<id> first,
    /// so a create that fails and cannot delete it never hands it out again. Under the engine lock, which
    /// every taker holds: any other new-* is a failed or crashed create's, and goes.
    func containerDirectory(for id: String) throws -> String {
        try Files.mkdirs(dir, mode: 0o700)
        let staging = dir + "/new-" + id
        for name in try Files.list(dir) where name.hasPrefix("new-") { try? Files.removeTree(dir + "/" + name) }
        if let spare = take("c-"), rename(spare, staging) == 0 {
            for name in (try? Files.list(staging)) ?? [] where !Spares.records.contains(name) && !Spares.mounted.contains(name) {
                try Files.removeTree(staging + "/" + name)
            }
            return staging
        }
        try Files.mkdirs(staging, mode: 0o710)
        return staging
    }

    /// Moves a spare layer directory (with its empty merged/) to `path`; false if there is none. One holding
    /// anything else is deleted: no container may start on another's files.
    func layer(to path: String) -> Bool {
        guard let spare = take("l-") else { return false }
        guard (try? Files.list(spare)) == ["merged"], (try? Files.list(spare + "/merged"))?.isEmpty == true,
              !Rootfs.isMounted(spare + "/merged") else {
            try? Files.removeTree(spare)
            return false
        }
        return rename(spare, path) == 0
    }

    private func take(_ prefix: String) -> String? {
        ((try? Files.list(dir)) ?? []).first { $0.hasPrefix(prefix) }.map { dir + "/" + $0 }
    }

    /// Keeps what `ContainerStore.discard` moved to trash as spares where it can: a container directory once
    /// emptied of all but its records and its untouched mounted files, a layer once its diff/ and work/ are
    /// deleted. What cannot be kept (a full pool, anything unexpected) is deleted as before.
    func keep(_ trash: String) throws {
        let name = String(trash.split(separator: "/").last ?? "")
        let id = name.split(separator: "-").last.map(String.init) ?? ""
        try? Files.mkdirs(dir, mode: 0o700)  // a root older than spare/
        if name.hasPrefix("container-"), Files.isDirectory(trash, followingLinks: false), count("c-") < Spares.limit {
            for entry in try Files.list(trash) {
                let path = trash + "/" + entry
                if Spares.records.contains(entry) || (Spares.mounted.contains(entry) && Spares.untouched(path)) { continue }
                try Files.removeTree(path)
            }
            if rename(trash, dir + "/c-" + id) == 0 { return }
        } else if name.hasPrefix("layer-"), Files.isDirectory(trash, followingLinks: false), count("l-") < Spares.limit {
            for entry in try Files.list(trash) where entry != "merged" {
                try Files.removeTree(trash + "/" + entry)
            }
            let merged = trash + "/merged"
            // Never a layer whose overlay is still mounted, nor a merged/ with anything in it.
            if Files.isDirectory(merged, followingLinks: false), !Rootfs.isMounted(merged), (try? Files.list(merged))?.isEmpty == true,
               rename(trash, dir + "/l-" + id) == 0 {
                return
            }
        }
        try Files.removeTree(trash)
    }

    /// A mounted file as create made it: a small regular file of root's with mode 0644, one link, no extended
    /// attribute (an ACL or a file capability is one), and writable (not made immutable or append-only).
    static func untouched(_ path: String) -> Bool {
        let fd = open(path, O_WRONLY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG, st.st_mode & 0o7777 == 0o644,
              st.st_uid == 0, st.st_gid == 0, st.st_nlink == 1, st.st_size <= 65536 else { return false }
        return box_xattr_list_size(fd) == 0
    }

    private func count(_ prefix: String) -> Int {
        ((try? Files.list(dir)) ?? []).filter { $0.hasPrefix(prefix) }.count
    }
}
