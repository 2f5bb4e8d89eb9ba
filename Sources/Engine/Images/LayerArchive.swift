#if canImport(Glibc)
import Glibc
#endif
import CLibarchive
import CNettle
import CSpawn

/// Layer tars, read and written with libarchive: no hand-written tar anywhere in the engine.
public enum LayerArchive {
    /// One entry of a tar being written.
    public struct Entry: Sendable {
        public enum Kind: Sendable {
            case directory
            case file(source: String)  // content copied from a host file
            case text(String)          // small inline content
            case symlink(String)
        }
        public var path: String
        public var kind: Kind
        public var mode: mode_t
        public var mtime: Int64

        public init(_ path: String, _ kind: Kind, mode: mode_t, mtime: Int64) {
            self.path = path
            self.kind = kind
            self.mode = mode
            self.mtime = mtime
        }
    }

    /// Writes a POSIX (pax) tar of `entries`, in the order given, owned by root.
    public static func write(_ entries: [Entry], to path: String) throws {
        guard let a = archive_write_new() else { throw BoxError(.layer, "libarchive: out of memory") }
        defer { archive_write_free(a) }
        archive_write_set_format_pax_restricted(a)
        guard archive_write_open_filename(a, path) == ARCHIVE_OK else {
            throw BoxError(.layer, "create \(path): \(message(a))")
        }
        guard let e = archive_entry_new() else { throw BoxError(.layer, "libarchive: out of memory") }
        defer { archive_entry_free(e) }
        for entry in entries {
            archive_entry_clear(e)
            archive_entry_set_pathname(e, entry.path)
            archive_entry_set_mtime(e, time_t(entry.mtime), 0)
            archive_entry_set_uid(e, 0)
            archive_entry_set_gid(e, 0)
            var content: [UInt8] = []
            switch entry.kind {
            case .directory:
                archive_entry_set_filetype(e, 0o040000)
            case .symlink(let target):
                archive_entry_set_filetype(e, 0o120000)
                archive_entry_set_symlink(e, target)
            case .text(let text):
                archive_entry_set_filetype(e, 0o100000)
                content = Array(text.utf8)
            case .file(let source):
                archive_entry_set_filetype(e, 0o100000)
                content = try Files.read(source)
            }
            archive_entry_set_perm(e, entry.mode)
            archive_entry_set_size(e, la_int64_t(content.count))
            guard archive_write_header(a, e) == ARCHIVE_OK else {
                throw BoxError(.layer, "write \(entry.path) to \(path): \(message(a))")
            }
            if !content.isEmpty {
                let n = content.withUnsafeBytes { archive_write_data(a, $0.baseAddress, $0.count) }
                guard n == content.count else { throw BoxError(.layer, "write \(entry.path): \(message(a))") }
            }
        }
        guard archive_write_close(a) == ARCHIVE_OK else { throw BoxError(.layer, "close \(path): \(message(a))") }
    }

    /// How an archive is unpacked. `.layer`: an image layer, kept exactly (owners, modes, times, xattrs, device
    /// nodes) with OCI whiteouts turned into overlayfs ones. `.plain`: files, directories and links only, owned
    /// by whoever unpacks them, `.wh.` names kept as files (`box cp`, the outer tar of `box load`).
    public enum ExtractMode: Sendable { case layer, plain }

    /// Unpacks a tar (compressed or not) into `directory` (which must exist), confined to it whatever the
    /// archive says: an absolute name is resolved inside the directory as docker and containerd do (`/etc/x`
    /// is `etc/x`; `/` is the directory itself), and an entry with `..`, a hardlink to such a path, or a write
    /// through a symlink (one the archive made itself, or one already there) is refused with an error naming
    /// the entry.
    /// Names are checked here (and again by libarchive's SECURE_NODOTDOT/NOABSOLUTEPATHS); symlinks on the way
    /// by `Confinement`, which remembers the directories it has seen: libarchive's SECURE_SYMLINKS opens every
    /// directory of every entry's path, which made a 5,000-file layer take seconds.
    /// `label` is what errors call the tar (the name an archive gave it), if not its path. `owners` keeps the
    /// archive's owners in `.plain` mode too (`box cp -a`; a layer always keeps them).
    public static func extract(_ tarPath: String, into directory: String, mode: ExtractMode = .layer, label: String? = nil,
                               owners: Bool = false, noOverwriteDirNonDir: Bool = false, onBytes: ((Int) -> Void)? = nil) throws {
        try extract(fd: nil, name: tarPath, into: directory, mode: mode, label: label, owners: owners,
                    noOverwriteDirNonDir: noOverwriteDirNonDir, onBytes: onBytes)
    }

    /// The same, from an open descriptor (standard input); `name` is what errors call it. With
    /// `noOverwriteDirNonDir` (docker's copy-in option), an entry that would replace a directory with a
    /// non-directory, or the other way round, fails the extraction (moby's pkg/archive, "cannot overwrite").
    public static func extract(fd: Int32?, name path: String, into directory: String, mode: ExtractMode = .layer,
                               label: String? = nil, owners: Bool = false, noOverwriteDirNonDir: Bool = false,
                               onBytes: ((Int) -> Void)? = nil) throws {
        let tarPath = label ?? path
        guard let reader = archive_read_new(), let writer = archive_write_disk_new() else {
            throw BoxError(.layer, "libarchive: out of memory")
        }
        defer { archive_read_free(reader); archive_write_free(writer) }
        archive_read_support_format_tar(reader)
        archive_read_support_filter_all(reader)
        var flags = ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_PERM
            | ARCHIVE_EXTRACT_SECURE_NODOTDOT | ARCHIVE_EXTRACT_SECURE_NOABSOLUTEPATHS
        if mode == .layer { flags |= ARCHIVE_EXTRACT_OWNER | ARCHIVE_EXTRACT_XATTR }
        if owners { flags |= ARCHIVE_EXTRACT_OWNER }
        archive_write_disk_set_options(writer, flags)
        let opened = fd.map { archive_read_open_fd(reader, $0, 1 << 16) } ?? archive_read_open_filename(reader, path, 1 << 16)
        guard opened == ARCHIVE_OK else {
            throw BoxError(.layer, "open \(tarPath): \(message(reader))")
        }
        let cwd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        defer { if cwd >= 0 { _ = fchdir(cwd); close(cwd) } }
        // libarchive resolves entry paths against the working directory.
        guard chdir(directory) == 0 else { throw BoxError.sys(.layer, "chdir \(directory)") }
        var confinement = Confinement()
        var entry: OpaquePointer?
        var last = "the first entry"
        var count = 0
        while true {
            let rc = archive_read_next_header(reader, &entry)
            if rc == ARCHIVE_EOF { break }
            guard rc == ARCHIVE_OK || rc == ARCHIVE_WARN, let entry else {
                let at = count == 0 ? "" : " after entry \(last)"
                throw BoxError(.layer, "read \(tarPath)\(at): \(message(reader))")
            }
            count += 1
            let given = archive_entry_pathname(entry).map { String(cString: $0) } ?? "?"
            func refuse(_ why: String) -> BoxError { BoxError(.layer, "refusing entry \(given) in \(tarPath): \(why)") }
            let name = inRoot(given)
            if let why = unsafeName(name) { throw refuse(why) }
            if name != given { archive_entry_set_pathname(entry, name) }
            let type = archive_entry_filetype(entry)
            if name.isEmpty {
                // `/` (umoci writes one): the layer's root, which is the directory being unpacked into.
                guard type == UInt32(Glibc.S_IFDIR) else { throw refuse("the layer's root is not a directory") }
                continue
            }
            let givenLink = archive_entry_hardlink(entry).map { String(cString: $0) }
            let hardlink = givenLink.map(inRoot)
            if let link = hardlink, let why = unsafeName(link) { throw refuse("hardlink to \(link): \(why)") }
            if let link = hardlink, link != givenLink { archive_entry_set_hardlink(entry, link) }
            if noOverwriteDirNonDir {
                var st = stat()
                let existing = name.hasSuffix("/") ? String(name.reversed().drop { $0 == "/" }.reversed()) : name  // "x/": lstat the entry, not through it
                if lstat(existing, &st) == 0, (st.st_mode & S_IFMT == S_IFDIR) != (type == UInt32(Glibc.S_IFDIR)) {
                    let what = st.st_mode & S_IFMT == S_IFDIR ? "cannot overwrite directory \"/\(existing)\" with non-directory"
                                                              : "cannot overwrite non-directory \"/\(existing)\" with directory"
                    throw BoxError(.usage, what + " (extracting \(tarPath))", exitCode: 1)
                }
            }
            if let why = confinement.check(name, isDirectory: type == UInt32(Glibc.S_IFDIR)) { throw refuse(why) }
            if let link = hardlink,
               let why = confinement.check(link, isDirectory: false, hardlinkTarget: archive_entry_size(entry) > 0) {
                throw refuse("hardlink to \(link): \(why)")
            }
            if mode == .plain && type != UInt32(Glibc.S_IFREG) && type != UInt32(Glibc.S_IFDIR) && type != UInt32(Glibc.S_IFLNK) {
                throw refuse("not a file, directory or symlink")
            }
            if mode == .layer, try applyWhiteout(name, in: directory, archive: tarPath) { last = name; continue }
            let written = archive_write_header(writer, entry)
            guard written == ARCHIVE_OK || written == ARCHIVE_WARN else { throw refuse(message(writer)) }
            var buffer: UnsafeRawPointer?
            var size = 0
            var offset: la_int64_t = 0
            while true {
                let r = archive_read_data_block(reader, &buffer, &size, &offset)
                if r == ARCHIVE_EOF { break }
                guard r == ARCHIVE_OK || r == ARCHIVE_WARN else {
                    throw BoxError(.layer, "read \(name) in \(tarPath): \(message(reader))")
                }
                guard archive_write_data_block(writer, buffer, size, offset) == ARCHIVE_OK else {
                    throw refuse(message(writer))
                }
                onBytes?(size)
            }
            let finished = archive_write_finish_entry(writer)
            guard finished == ARCHIVE_OK || finished == ARCHIVE_WARN else { throw refuse(message(writer)) }
            if type != UInt32(Glibc.S_IFDIR) { confinement.replaced(name) }
            last = name
        }
    }

    /// Keeps an extraction inside its directory (the working directory): every directory on an entry's way
    /// must be a real directory, never a symlink, whether the archive made it or it was there before.
    /// Directories already checked are remembered, so a layer of many files costs one lstat per directory,
    /// not one open per path component per entry. Only the extraction writes there (a staging directory,
    /// or a container frozen for `box cp`), so what was checked stays true until an entry replaces it.
    struct Confinement {
        private var directories = Set<String>()

        /// Nil if `path` may be written; else why not. A symlink where a directory entry goes is removed
        /// first (libarchive would otherwise follow it and set the modes of whatever it points at). With
        /// `hardlinkTarget`, the path must not be a symlink: data written to the new link would go through it.
        mutating func check(_ path: String, isDirectory: Bool, hardlinkTarget: Bool = false) -> String? {
            let parts = path.split(separator: "/").filter { $0 != "." }
            var prefix = ""
            for (i, part) in parts.enumerated() {
                prefix += (prefix.isEmpty ? "" : "/") + part
                let isLast = i == parts.count - 1
                if !isLast && directories.contains(prefix) { continue }
                var st = stat()
                guard lstat(prefix, &st) == 0 else { return nil }  // absent: what libarchive makes is real
                let type = st.st_mode & S_IFMT
                if isLast {
                    if type == S_IFLNK && isDirectory { unlink(prefix) }
                    if type == S_IFLNK && hardlinkTarget { return "\(prefix) is a symlink" }
                    return nil
                }
                guard type == S_IFDIR else {
                    return type == S_IFLNK ? "\(prefix) is a symlink: no write goes through it" : "\(prefix) is not a directory"
                }
                directories.insert(prefix)
            }
            return nil
        }

        /// An entry that is not a directory was written at `path`: forget what was known there.
        mutating func replaced(_ path: String) {
            let clean = path.split(separator: "/").filter { $0 != "." }.joined(separator: "/")
            guard directories.remove(clean) != nil else { return }
            directories = directories.filter { !$0.hasPrefix(clean + "/") }
        }
    }

    /// An entry's name (or a hardlink's target) as docker reads it: pkg/archive cleans each name and joins it
    /// under the layer's root, so a leading `/` names that root, never the host's. `/etc/x` is `etc/x`, and `/`
    /// (the root itself, which `umoci insert ROOTFS /` writes) is empty. `..` stays for `unsafeName` to refuse.
    static func inRoot(_ name: String) -> String {
        String(name.drop { $0 == "/" })
    }

    /// Why an entry name (or a hardlink's target) would land outside the directory, or nil if it would not.
    static func unsafeName(_ name: String) -> String? {
        if name.hasPrefix("/") { return "absolute path" }
        if name.split(separator: "/").contains("..") { return "path contains '..'" }
        return nil
    }

    /// OCI whiteouts become overlayfs's own: `.wh.NAME` a 0:0 character device NAME (NAME deleted in this
    /// layer), `.wh..wh..opq` the trusted.overlay.opaque xattr on its directory (nothing below shows through).
    /// Returns true if `name` was a whiteout (and so is not extracted as a file). Every directory on the way
    /// must be a real directory of this layer: a whiteout is never made through a symlink.
    static func applyWhiteout(_ name: String, in directory: String, archive: String) throws -> Bool {
        let parts = name.split(separator: "/").map(String.init).filter { $0 != "." }
        guard let base = parts.last, base.hasPrefix(".wh.") else { return false }
        var parent = directory
        for part in parts.dropLast() {
            parent += "/" + part
            var st = stat()
            if lstat(parent, &st) != 0 {
                guard mkdir(parent, 0o755) == 0 else { throw BoxError.sys(.layer, "mkdir \(parent)") }
            } else if (st.st_mode & S_IFMT) != S_IFDIR {
                throw BoxError(.layer, "refusing entry \(name) in \(archive): \(part) is not a directory (a whiteout through a symlink?)")
            }
        }
        if base == ".wh..wh..opq" {
            guard box_set_opaque(parent) == 0 else {
                throw BoxError.sys(.layer, "mark \(parent) opaque")
            }
        } else {
            let target = parent + "/" + base.dropFirst(4)
            guard mknod(target, S_IFCHR | 0o000, 0) == 0 || errno == EEXIST else {
                throw BoxError.sys(.layer, "whiteout \(target)")
            }
        }
        return true
    }

    /// Writes a container's upper directory as an OCI layer tar: overlay whiteouts (0:0 character devices)
    /// become `.wh.NAME` entries and opaque directories get a `.wh..wh..opq` entry.
    public static func writeLayer(from upper: String, to path: String, onBytes: ((Int) -> Void)? = nil) throws {
        let tar = try TarWriter(path: path)
        tar.onBytes = onBytes
        try tar.tree(upper, as: "", whiteouts: true)
        try tar.close()
    }

    /// True if the file starts with the magic of a compressor libarchive reads (gzip, zstd, bzip2, xz).
    public static func isCompressed(_ path: String) throws -> Bool {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw BoxError.sys(.layer, "open \(path)") }
        defer { close(fd) }
        var head = [UInt8](repeating: 0, count: 6)
        let n = pread(fd, &head, 6, 0)
        guard n >= 3 else { return false }
        return head[0..<2] == [0x1f, 0x8b] || head[0..<3] == [0x42, 0x5a, 0x68]
            || (n >= 4 && head[0..<4] == [0x28, 0xb5, 0x2f, 0xfd]) || (n >= 6 && head == [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00])
    }

    /// Writes the uncompressed content of `source` (gzip, zstd, bzip2, xz or none, as libarchive detects it)
    /// to `target`, and returns its sha256: for a layer, its diff_id.
    public static func decompress(_ source: String, to target: String, onBytes: ((Int) -> Void)? = nil) throws -> String {
        guard let reader = archive_read_new() else { throw BoxError(.layer, "libarchive: out of memory") }
        defer { archive_read_free(reader) }
        archive_read_support_format_raw(reader)
        archive_read_support_filter_all(reader)
        guard archive_read_open_filename(reader, source, 1 << 16) == ARCHIVE_OK else {
            throw BoxError(.layer, "open \(source): \(message(reader))")
        }
        var entry: OpaquePointer?
        guard archive_read_next_header(reader, &entry) == ARCHIVE_OK else {
            throw BoxError(.layer, "read \(source): \(message(reader))")
        }
        let fd = open(target, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw BoxError.sys(.layer, "create \(target)") }
        defer { close(fd) }
        var ctx = sha256_ctx()
        nettle_sha256_init(&ctx)
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = buffer.withUnsafeMutableBytes { archive_read_data(reader, $0.baseAddress, $0.count) }
            if n == 0 { break }
            guard n > 0 else { throw BoxError(.layer, "decompress \(source): \(message(reader))") }
            nettle_sha256_update(&ctx, n, buffer)
            try Files.writeAll(fd, Array(buffer[0..<n]), path: target)
            onBytes?(n)
        }
        return finish(&ctx)
    }

    /// sha256 of a file, "sha256:<hex>": the diff_id of a layer tar, the id of a config.
    public static func sha256(file path: String) throws -> String {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw BoxError.sys(.layer, "open \(path)") }
        defer { close(fd) }
        var ctx = sha256_ctx()
        nettle_sha256_init(&ctx)
        var buf = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 { if errno == EINTR { continue }; throw BoxError.sys(.layer, "read \(path)") }
            if n == 0 { break }
            nettle_sha256_update(&ctx, n, buf)
        }
        return finish(&ctx)
    }

    public static func sha256(_ bytes: [UInt8]) -> String { Digest.sha256(bytes) }

    private static func finish(_ ctx: inout sha256_ctx) -> String { Digest.finish(&ctx) }

    static func message(_ a: OpaquePointer) -> String {
        let text = archive_error_string(a).map { String(cString: $0) } ?? "unknown libarchive error"
        // libarchive says "Write error" for any failed write: say which, and what to do about a full disk.
        let code = archive_errno(a)
        guard code > 0 else { return text }
        let reason = String(cString: strerror(code))
        if text.contains(reason) { return text }
        if code == ENOSPC || code == EDQUOT {
            return text + ": " + reason + " (the filesystem is full: free space there, or write elsewhere)"
        }
        return text + ": " + reason
    }
}
