#if canImport(Glibc)
import Glibc
#endif
import CSpawn
import Engine

/// The files `lab` keeps in the learner's state directory (progress.jsonl, classroom.json and its lock), read
/// and written as the learner: `lab` runs as root, and the directory is the learner's, so anything in it may
/// be a symlink or a hard link to a file only root may write. Each open is done with the learner's filesystem
/// identity (setfsuid on the calling thread: the kernel then checks the learner's permissions, whatever the
/// path leads to) and O_NOFOLLOW (a symlink in place of one of these files is refused with a message, not
/// followed); the directory itself must be a real directory of the learner's.
public struct LearnerFiles: Sendable {
    /// Whose files these are; nil: the caller's own (a selftest's journal, a learner running lab without sudo).
    public let owner: (uid: uid_t, gid: gid_t)?
    public let name: String?

    public init(owner: (uid: uid_t, gid: gid_t)?, name: String? = nil) {
        self.owner = owner
        self.name = name
    }

    /// Runs `body` on this thread with the learner's filesystem identity. The credentials are the thread's
    /// own: `body` must not hop threads (it is synchronous), and other threads stay root meanwhile.
    public func asLearner<T>(_ body: () throws -> T) throws -> T {
        guard let owner, geteuid() == 0, owner.uid != 0 else { return try body() }
        let r = box_fs_enter(owner.uid, owner.gid, name)
        guard r == 0 else { throw BoxError.sys(.store, "take the learner's identity (uid \(owner.uid))", errno: -r) }
        defer { box_fs_leave() }
        return try body()
    }

    var uid: uid_t { owner?.uid ?? geteuid() }

    /// Checks that `directory` is a real directory (not a symlink) that belongs to the learner, creating it
    /// (and its missing parents) as the learner if it is not there.
    public func ensureDirectory(_ directory: String) throws {
        var st = stat()
        if lstat(directory, &st) != 0 {
            try asLearner {
                if mkdirs(directory) != 0 {
                    throw BoxError.sys(.store, "create the progress directory \(directory) as \(name ?? "uid \(uid)") (it must be somewhere they may write: their home)")
                }
            }
        }
        try checkDirectory(directory)
    }

    /// The refusal of a state directory that is a symlink or not the learner's.
    public func checkDirectory(_ directory: String) throws {
        var st = stat()
        guard lstat(directory, &st) == 0 else { throw BoxError.sys(.store, "stat \(directory)") }
        let kind = st.st_mode & S_IFMT
        if kind == S_IFLNK {
            throw BoxError(.usage, "\(directory) is a symbolic link: lab keeps progress in a real directory of the learner's and never writes through a link. Remove the link (rm \(directory)) and run the command again", exitCode: 1)
        }
        guard kind == S_IFDIR else {
            throw BoxError(.usage, "\(directory) is not a directory: lab keeps progress there. Move it away and run the command again", exitCode: 1)
        }
        guard st.st_uid == uid else {
            throw BoxError(.usage, "\(directory) belongs to uid \(st.st_uid), not to \(name ?? "the learner") (uid \(uid)): lab writes progress only into the learner's own directory. Give it back (sudo chown -R \(uid) \(directory)) or remove it", exitCode: 1)
        }
    }

    /// open(2) as the learner, never following a symlink at `path`. The descriptor, or an error that says
    /// what is wrong.
    public func open(_ path: String, _ flags: Int32, mode: mode_t = 0o644) throws -> Int32 {
        let (fd, err) = try asLearner { () -> (Int32, Int32) in
            let fd = Glibc.open(path, flags | O_NOFOLLOW | O_CLOEXEC, mode)
            return (fd, errno)
        }
        guard fd < 0 else { return fd }
        if err == ELOOP {
            throw BoxError(.usage, "\(path) is a symbolic link: lab never writes the learner's files through a link. Remove it (rm \(path)) and run the command again", exitCode: 1)
        }
        throw BoxError.sys(.store, "open \(path) as \(name ?? "uid \(uid)")", errno: err)
    }

    /// The whole file, read as the learner without following a symlink; nil if it is not there (or unreadable).
    public func read(_ path: String) -> [UInt8]? {
        guard let fd = try? open(path, O_RDONLY) else { return nil }
        defer { close(fd) }
        var out: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = buf.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 { if errno == EINTR { continue }; return nil }
            if n == 0 { return out }
            out += buf[0..<n]
        }
    }

    /// Writes `path` whole (a temporary file beside it, made with O_EXCL, then renamed over it), as the learner.
    public func writeAtomically(_ path: String, _ bytes: [UInt8], mode: mode_t = 0o600) throws {
        let tmp = "\(path).tmp-\(getpid())"
        _ = try? asLearner { unlink(tmp) }
        let fd = try open(tmp, O_WRONLY | O_CREAT | O_EXCL, mode: mode)
        do {
            try Files.writeAll(fd, bytes, path: tmp)
            guard fsync(fd) == 0 else { throw BoxError.sys(.store, "fsync \(tmp)") }
            close(fd)
        } catch {
            close(fd)
            _ = try? asLearner { unlink(tmp) }
            throw error
        }
        let (r, err) = try asLearner { () -> (Int32, Int32) in (rename(tmp, path), errno) }
        guard r == 0 else {
            _ = try? asLearner { unlink(tmp) }
            throw BoxError.sys(.store, "rename \(tmp) to \(path)", errno: err)
        }
    }

    public func unlink(_ path: String) {
        _ = try? asLearner { Glibc.unlink(path) }
    }

    /// mkdir -p, each directory made by the caller (the learner, inside asLearner). 0 or -1 (errno set).
    private func mkdirs(_ path: String) -> Int32 {
        if mkdir(path, 0o755) == 0 || errno == EEXIST { return 0 }
        guard errno == ENOENT, let slash = path.lastIndex(of: "/"), slash != path.startIndex else { return -1 }
        guard mkdirs(String(path[..<slash])) == 0 else { return -1 }
        return mkdir(path, 0o755) == 0 || errno == EEXIST ? 0 : -1
    }
}
