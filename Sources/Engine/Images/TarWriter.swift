#if canImport(Glibc)
import Glibc
#endif
import CLibarchive
import CSpawn

/// A tar being written with libarchive (pax), to a file or to an open descriptor (`box save` to stdout).
/// Entries are streamed: a layer of any size goes through a 64 KiB buffer.
public final class TarWriter {
    let archive: OpaquePointer
    let entry: OpaquePointer
    let name: String
    private var buffer = [UInt8](repeating: 0, count: 1 << 16)
    private var closed = false
    /// Called after each chunk of file content with the number of bytes just written.
    public var onBytes: ((Int) -> Void)?

    /// Creates (or truncates) the tar at `path`.
    public convenience init(path: String) throws {
        try self.init(name: path) { archive_write_open_filename($0, path) }
    }

    /// Writes to `fd`, which stays open; `name` is what errors call it ("standard output").
    public convenience init(fd: Int32, name: String) throws {
        try self.init(name: name) { archive_write_open_fd($0, fd) }
    }

    private init(name: String, open: (OpaquePointer) -> Int32) throws {
        guard let a = archive_write_new() else { throw BoxError(.layer, "libarchive: out of memory") }
        guard let e = archive_entry_new() else { archive_write_free(a); throw BoxError(.layer, "libarchive: out of memory") }
        archive = a
        entry = e
        self.name = name
        archive_write_set_format_pax_restricted(a)
        // No padding of the last block to 10 KiB: a tar of tars is then exactly the sum of its parts.
        archive_write_set_bytes_in_last_block(a, 1)
        guard open(a) == ARCHIVE_OK else {
            let m = LayerArchive.message(a)
            archive_entry_free(e)
            archive_write_free(a)
            throw BoxError(.layer, "create \(name): \(m)")
        }
    }

    deinit {
        archive_entry_free(entry)
        archive_write_free(archive)
    }

    private func header(_ path: String, type: mode_t, mode: mode_t, size: Int64 = 0, mtime: Int64, link: String? = nil) throws {
        archive_entry_clear(entry)
        archive_entry_set_pathname(entry, path)
        archive_entry_set_filetype(entry, UInt32(type))
        archive_entry_set_perm(entry, mode)
        archive_entry_set_size(entry, la_int64_t(size))
        archive_entry_set_mtime(entry, time_t(mtime), 0)
        archive_entry_set_uid(entry, 0)
        archive_entry_set_gid(entry, 0)
        if let link { archive_entry_set_symlink(entry, link) }
        guard archive_write_header(archive, entry) == ARCHIVE_OK else {
            throw BoxError(.layer, "write \(path) to \(name): \(LayerArchive.message(archive))")
        }
    }

    public func directory(_ path: String, mode: mode_t = 0o755, mtime: Int64) throws {
        try header(path, type: S_IFDIR, mode: mode, mtime: mtime)
    }

    public func symlink(_ path: String, to target: String, mtime: Int64) throws {
        try header(path, type: S_IFLNK, mode: 0o777, mtime: mtime, link: target)
    }

    /// A regular file with in-memory content (a manifest, a config).
    public func bytes(_ path: String, _ content: [UInt8], mode: mode_t = 0o644, mtime: Int64) throws {
        try header(path, type: S_IFREG, mode: mode, size: Int64(content.count), mtime: mtime)
        try data(content, count: content.count, path: path)
    }

    /// A regular file copied from a host file (a layer blob), owned by root.
    public func file(_ path: String, from source: String, mode: mode_t = 0o644, mtime: Int64) throws {
        let fd = open(source, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw BoxError.sys(.layer, "open \(source)") }
        defer { Glibc.close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw BoxError.sys(.layer, "stat \(source)") }
        try header(path, type: S_IFREG, mode: mode, size: Int64(st.st_size), mtime: mtime)
        try copy(fd, source: source, path: path)
    }

    /// Adds what is at `source` (not following a symlink there) as `path`, with its own metadata (owner, mode,
    /// times); a directory with everything below it. `whiteouts`: overlay whiteouts (0:0 character devices)
    /// become OCI `.wh.NAME` entries and opaque directories get a `.wh..wh..opq` entry (a container's upper dir
    /// as a layer); without it they are written as what they are.
    public func tree(_ source: String, as path: String, whiteouts: Bool = false) throws {
        var st = stat()
        guard lstat(source, &st) == 0 else { throw BoxError.sys(.layer, "stat \(source)") }
        if path.isEmpty {
            // The contents of a directory, without an entry for the directory itself.
            guard (st.st_mode & S_IFMT) == S_IFDIR else { throw BoxError(.layer, "\(source) is not a directory") }
            try children(source, prefix: "", whiteouts: whiteouts)
            return
        }
        try add(source, as: path, &st, whiteouts: whiteouts)
    }

    private func children(_ dir: String, prefix: String, whiteouts: Bool) throws {
        for child in try Files.list(dir).sorted() {
            let full = dir + "/" + child
            var st = stat()
            guard lstat(full, &st) == 0 else { throw BoxError.sys(.layer, "stat \(full)") }
            try add(full, as: prefix + child, &st, whiteouts: whiteouts)
        }
    }

    private func add(_ full: String, as path: String, _ st: inout stat, whiteouts: Bool) throws {
        let base = path.split(separator: "/").last.map(String.init) ?? path
        let parent = String(path.dropLast(base.count))
        switch st.st_mode & S_IFMT {
        case S_IFCHR where whiteouts && st.st_rdev == 0:
            try marker(parent + ".wh." + base, mtime: st.st_mtim)
        case S_IFDIR:
            try statHeader(path, &st)
            if whiteouts && box_is_opaque(full) == 1 { try marker(path + "/.wh..wh..opq", mtime: st.st_mtim) }
            try children(full, prefix: path + "/", whiteouts: whiteouts)
        case S_IFLNK:
            guard let target = Files.readLink(full) else { throw BoxError.sys(.layer, "readlink \(full)") }
            try statHeader(path, &st, link: target)
        case S_IFREG:
            let fd = open(full, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
            guard fd >= 0 else { throw BoxError.sys(.layer, "open \(full)") }
            defer { Glibc.close(fd) }
            try statHeader(path, &st)
            if st.st_size > 0 { try copy(fd, source: full, path: path, expected: Int64(st.st_size)) }
        case S_IFSOCK:
            return  // a socket cannot be archived (tar has no type for it), as GNU tar says too
        default:
            try statHeader(path, &st)  // devices, fifos: metadata only
        }
    }

    private func marker(_ path: String, mtime: timespec) throws {
        var empty = stat()
        empty.st_mode = S_IFREG | 0o644
        empty.st_mtim = mtime
        try statHeader(path, &empty)
    }

    private func statHeader(_ path: String, _ st: inout stat, link: String? = nil) throws {
        archive_entry_clear(entry)
        archive_entry_set_pathname(entry, path)
        archive_entry_copy_stat(entry, &st)
        if let link { archive_entry_set_symlink(entry, link) }
        guard archive_write_header(archive, entry) == ARCHIVE_OK else {
            throw BoxError(.layer, "write \(path) to \(name): \(LayerArchive.message(archive))")
        }
    }

    /// Copies a descriptor's content as the current entry's data. With `expected`, a file that shrank while
    /// being read is an error (the header already promised its size), as is one that grew.
    private func copy(_ fd: Int32, source: String, path: String, expected: Int64? = nil) throws {
        var total: Int64 = 0
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n >= 0 else { throw BoxError.sys(.layer, "read \(source)") }
            if n == 0 { break }
            try data(buffer, count: n, path: path)
            total += Int64(n)
        }
        if let expected, total != expected {
            throw BoxError(.layer, "\(source) changed size while being archived (\(expected) -> \(total) bytes)")
        }
    }

    private func data(_ bytes: [UInt8], count: Int, path: String) throws {
        guard count > 0 else { return }
        let n = bytes.withUnsafeBytes { archive_write_data(archive, $0.baseAddress, count) }
        guard n == count else { throw BoxError(.layer, "write \(path) to \(name): \(LayerArchive.message(archive))") }
        onBytes?(count)
    }

    /// Finishes the archive (the end-of-archive blocks). Without it, what was written is a truncated tar.
    public func close() throws {
        guard !closed else { return }
        closed = true
        guard archive_write_close(archive) == ARCHIVE_OK else {
            throw BoxError(.layer, "close \(name): \(LayerArchive.message(archive))")
        }
    }
}
