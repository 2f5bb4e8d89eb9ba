#if canImport(Glibc)
import Glibc
#endif
import FoundationEssentials
import CSpawn

/// Small, allocation-light file helpers on top of libc. The engine avoids full Foundation: `box run` is
/// start-up bound, and FoundationEssentials plus Glibc cover what it needs.
public enum Files {
    public static func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }

    /// `followingLinks: false`: a symbolic link to a directory is not one (lstat).
    public static func isDirectory(_ path: String, followingLinks: Bool = true) -> Bool {
        var st = stat()
        return (followingLinks ? stat(path, &st) : lstat(path, &st)) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
    }

    public static func read(_ path: String) throws -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw BoxError.sys(.store, "open \(path)") }
        defer { close(fd) }
        // Sized from fstat (one read for a regular file, no 64 KiB buffer to clear); /proc files say 0 and
        // grow the buffer as they are read.
        var st = stat()
        let size = fstat(fd, &st) == 0 && st.st_size > 0 ? Int(st.st_size) : 0
        var out = [UInt8](repeating: 0, count: max(size + 1, 4096))
        var used = 0
        while true {
            if used == out.count { out += [UInt8](repeating: 0, count: out.count) }
            let n = out.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress! + used, $0.count - used) }
            if n < 0 { if errno == EINTR { continue }; throw BoxError.sys(.store, "read \(path)") }
            if n == 0 { break }
            used += n
        }
        out.removeSubrange(used...)
        return out
    }

    public static func readString(_ path: String) throws -> String {
        String(decoding: try read(path), as: UTF8.self)
    }

    /// Reads a small file, nil if it cannot be read (for /proc files that may vanish at any moment).
    public static func readIfPresent(_ path: String) -> String? {
        try? readString(path)
    }

    /// Writes via a temporary file and rename: a reader sees the old or the new content, never a part, even if
    /// the writer is killed with SIGKILL halfway. `durable` adds an fsync before the rename, so the new content
    /// also survives a power cut; files the engine can regenerate skip it (each fsync costs a container's start
    /// up to a millisecond). `exclusive`: the temporary file is a new one this open makes, under a random name
    /// (O_EXCL: never a file someone placed there; O_NOFOLLOW: never through a symlink), with `mode` from the
    /// start: for secrets (box login's credentials).
    public static func writeAtomically(_ path: String, _ bytes: some Collection<UInt8>, mode: mode_t = 0o644,
                                       durable: Bool = true, exclusive: Bool = false) throws {
        let tmp = exclusive ? "\(path).tmp-\(getpid())-\(UInt32.random(in: .min ... .max))" : "\(path).tmp-\(getpid())"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_CLOEXEC | (exclusive ? O_EXCL | O_NOFOLLOW : O_TRUNC), mode)
        guard fd >= 0 else { throw BoxError.sys(.store, "create \(tmp)") }
        let data = Array(bytes)
        do {
            try writeAll(fd, data, path: tmp)
            guard !durable || fsync(fd) == 0 else { throw BoxError.sys(.store, "fsync \(tmp)") }
            close(fd)
        } catch {
            close(fd)
            unlink(tmp)
            throw error
        }
        guard rename(tmp, path) == 0 else {
            let err = errno
            unlink(tmp)
            throw BoxError.sys(.store, "rename \(tmp) to \(path)", errno: err)
        }
    }

    /// The size of the file at `path` (following symlinks), or nil if there is none.
    public static func size(_ path: String) -> Int64? {
        var st = stat()
        return stat(path, &st) == 0 ? Int64(st.st_size) : nil
    }

    /// Replaces the file at `path` atomically, as writeAtomically does, without making or freeing an inode:
    /// `bytes` are written over `sibling` in place, then the two are swapped (renameat2 RENAME_EXCHANGE), so
    /// `sibling` keeps the old content for the next write. One of the two always holds a whole record, even
    /// after a power cut: readers fall back to the sibling (ContainerStore.loadState). For a file rewritten
    /// again and again (a container's state, a network's leases), on a filesystem where making an inode and
    /// freeing a block cost (see Spares). Only one writer may use a given sibling at a time; a filesystem
    /// that cannot exchange, or no file at `path` yet, gets a plain rename.
    public static func replace(_ path: String, _ bytes: [UInt8], sibling: String, durable: Bool = false) throws {
        try rewrite(sibling, bytes, durable: durable)
        if box_rename_exchange(sibling, path) != 0 {
            guard errno == ENOENT || errno == EINVAL || errno == ENOSYS, rename(sibling, path) == 0 else {
                throw BoxError.sys(.store, "replace \(path)")
            }
        }
        // Durable: the swap itself reaches the disk before the next write goes in place into the old file.
        if durable, let slash = path.lastIndex(of: "/") {
            let dir = open(String(path[..<slash]), O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            if dir >= 0 { _ = fsync(dir); close(dir) }
        }
    }

    /// Writes `bytes` over the file at `path` from its start and cuts it to their length, making it if there is
    /// none: the same inode, so no inode is made or freed and, for a file that stays within its first block, no
    /// block either. Only for files nobody reads meanwhile (a spare container directory, replace's sibling).
    public static func rewrite(_ path: String, _ bytes: [UInt8], mode: mode_t = 0o644, durable: Bool = false) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, mode)
        guard fd >= 0 else { throw BoxError.sys(.store, "open \(path)") }
        defer { close(fd) }
        try writeAll(fd, bytes, path: path)
        guard ftruncate(fd, off_t(bytes.count)) == 0 else { throw BoxError.sys(.store, "truncate \(path)") }
        guard !durable || fsync(fd) == 0 else { throw BoxError.sys(.store, "fsync \(path)") }
    }

    public static func writeAtomically(_ path: String, _ text: String, mode: mode_t = 0o644, durable: Bool = true) throws {
        try writeAtomically(path, Array(text.utf8), mode: mode, durable: durable)
    }

    public static func writeAll(_ fd: Int32, _ bytes: [UInt8], path: String) throws {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if n < 0 { if errno == EINTR { continue }; throw BoxError.sys(.store, "write \(path)") }
            offset += n
        }
    }

    /// Appends one record with a single write(2) on an O_APPEND descriptor (then fsyncs, if `durable`):
    /// records from concurrent writers never interleave, and a record is either whole or absent.
    public static func append(_ path: String, _ line: String, durable: Bool = true, mode: mode_t = 0o644) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, mode)
        guard fd >= 0 else { throw BoxError.sys(.store, "open \(path)") }
        defer { close(fd) }
        try writeAll(fd, Array(line.utf8), path: path)
        if durable { _ = fsync(fd) }
    }

    /// The target of the symbolic link at `path`, or nil (errno set) if it is not one.
    public static func readLink(_ path: String) -> String? {
        var buf = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let n = readlink(path, &buf, buf.count - 1)
        return n < 0 ? nil : String(decoding: buf[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The path itself first, its parents only when it says ENOENT: a start makes four directories whose parents
    /// exist, and a mkdir of every component from / was twenty syscalls.
    public static func mkdirs(_ path: String, mode: mode_t = 0o755) throws {
        if mkdir(path, mode) == 0 || errno == EEXIST { return }
        guard errno == ENOENT, let slash = path.lastIndex(of: "/"), slash != path.startIndex else {
            throw BoxError.sys(.store, "mkdir \(path)")
        }
        try mkdirs(String(path[..<slash]), mode: mode)
        if mkdir(path, mode) != 0 && errno != EEXIST { throw BoxError.sys(.store, "mkdir \(path)") }
    }

    /// Creates an empty file if none is there (a bind-mount target).
    public static func touch(_ path: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw BoxError.sys(.store, "create \(path)") }
        close(fd)
    }

    /// rm -rf that never crosses into a mounted filesystem: a leftover mount under the tree is an error, not
    /// something to delete through.
    public static func removeTree(_ path: String) throws {
        var st = stat()
        guard lstat(path, &st) == 0 else { return }
        if (st.st_mode & S_IFMT) != S_IFDIR {
            guard unlink(path) == 0 || errno == ENOENT else { throw BoxError.sys(.remove, "remove \(path)") }
            return
        }
        let device = st.st_dev
        try removeContents(path, device: device)
        guard rmdir(path) == 0 || errno == ENOENT else { throw BoxError.sys(.remove, "remove \(path)") }
    }

    private static func removeContents(_ dir: String, device: dev_t) throws {
        for name in try list(dir) {
            let child = dir + "/" + name
            var st = stat()
            guard lstat(child, &st) == 0 else { continue }
            if (st.st_mode & S_IFMT) == S_IFDIR {
                guard st.st_dev == device else {
                    throw BoxError(.remove, "refusing to remove \(child): another filesystem is mounted there")
                }
                try removeContents(child, device: device)
                guard rmdir(child) == 0 || errno == ENOENT else { throw BoxError.sys(.remove, "remove \(child)") }
            } else {
                guard unlink(child) == 0 || errno == ENOENT else { throw BoxError.sys(.remove, "remove \(child)") }
            }
        }
    }

    /// Directory entries, without "." and "..". Empty if the directory does not exist.
    public static func list(_ dir: String) throws -> [String] {
        guard let d = opendir(dir) else {
            if errno == ENOENT { return [] }
            throw BoxError.sys(.store, "open directory \(dir)")
        }
        defer { closedir(d) }
        var names: [String] = []
        while let entry = readdir(d) {
            let name = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    /// Reads one of the engine's own JSON files (see JSONTree for why not JSONDecoder).
    public static func decode<T: Decodable>(_ type: T.Type, from path: String) throws -> T {
        let bytes = try read(path)
        do {
            return try JSONTree.decode(T.self, from: bytes)
        } catch {
            throw BoxError(.store, "\(path) is not valid: \(error)")
        }
    }

    /// JSON for one of the engine's own files: keys sorted; `pretty` indents it for learners who `cat` it.
    public static func encode<T: Encodable>(_ value: T, pretty: Bool = false) throws -> [UInt8] {
        text(try JSONTree.encode(value), pretty: pretty)
    }

    private static func text(_ json: JSONValue, pretty: Bool) -> [UInt8] {
        Array((pretty ? json.prettyPrinted(indent: "  ", escapeHTML: false) : json.compact(escapeHTML: false)).utf8)
    }

    /// JSON whose bytes are hashed into an id (an image config): JSONEncoder's exact output, as box has
    /// always written it, so an image built again gets the same id.
    public static func encodeBlob<T: Encodable>(_ value: T) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return Array(try encoder.encode(value))
    }
}

/// An exclusive flock(2) held for the lifetime of the value's scope: `try Lock.withLock(path) { ... }`.
public enum Lock {
    /// Runs `body` holding the lock if nobody holds it; nil, without waiting, if someone does.
    public static func withLockIfFree<T>(_ path: String, _ body: () throws -> T) throws -> T? {
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw BoxError.sys(.store, "open lock \(path)") }
        defer { close(fd) }
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            if errno == EWOULDBLOCK { return nil }
            if errno != EINTR { throw BoxError.sys(.store, "lock \(path)") }
        }
        return try body()
    }

    public static func withLock<T>(_ path: String, _ body: () throws -> T) throws -> T {
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw BoxError.sys(.store, "open lock \(path)") }
        defer { close(fd) }
        while flock(fd, LOCK_EX) != 0 {
            if errno != EINTR { throw BoxError.sys(.store, "lock \(path)") }
        }
        return try body()
    }
}
