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

    /// Unpacks a layer tar into `directory` (which must exist), confined to it: libarchive refuses `..`,
    /// absolute paths and writes through symlinks (the SECURE_* flags). Ownership and modes are kept.
    public static func extract(_ tarPath: String, into directory: String) throws {
        guard let reader = archive_read_new(), let writer = archive_write_disk_new() else {
            throw BoxError(.layer, "libarchive: out of memory")
        }
        defer { archive_read_free(reader); archive_write_free(writer) }
        archive_read_support_format_tar(reader)
        archive_read_support_filter_all(reader)
        let flags = ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_OWNER | ARCHIVE_EXTRACT_XATTR
            | ARCHIVE_EXTRACT_SECURE_SYMLINKS | ARCHIVE_EXTRACT_SECURE_NODOTDOT | ARCHIVE_EXTRACT_SECURE_NOABSOLUTEPATHS
        archive_write_disk_set_options(writer, flags)
        guard archive_read_open_filename(reader, tarPath, 1 << 16) == ARCHIVE_OK else {
            throw BoxError(.layer, "open \(tarPath): \(message(reader))")
        }
        let cwd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        defer { if cwd >= 0 { _ = fchdir(cwd); close(cwd) } }
        // libarchive resolves entry paths against the working directory.
        guard chdir(directory) == 0 else { throw BoxError.sys(.layer, "chdir \(directory)") }
        var entry: OpaquePointer?
        while true {
            let rc = archive_read_next_header(reader, &entry)
            if rc == ARCHIVE_EOF { break }
            guard rc == ARCHIVE_OK || rc == ARCHIVE_WARN, let entry else {
                throw BoxError(.layer, "read \(tarPath): \(message(reader))")
            }
            let name = archive_entry_pathname(entry).map { String(cString: $0) } ?? "?"
            if try applyWhiteout(name, in: directory) { continue }
            guard archive_write_header(writer, entry) == ARCHIVE_OK else {
                throw BoxError(.layer, "refusing entry \(name) in \(tarPath): \(message(writer))")
            }
            var buffer: UnsafeRawPointer?
            var size = 0
            var offset: la_int64_t = 0
            while true {
                let r = archive_read_data_block(reader, &buffer, &size, &offset)
                if r == ARCHIVE_EOF { break }
                guard r == ARCHIVE_OK else { throw BoxError(.layer, "read \(name) in \(tarPath): \(message(reader))") }
                guard archive_write_data_block(writer, buffer, size, offset) == ARCHIVE_OK else {
                    throw BoxError(.layer, "write \(name): \(message(writer))")
                }
            }
            guard archive_write_finish_entry(writer) == ARCHIVE_OK else {
                throw BoxError(.layer, "finish \(name): \(message(writer))")
            }
        }
    }

    /// OCI whiteouts become overlayfs's own: `.wh.NAME` a 0:0 character device NAME (NAME deleted in this
    /// layer), `.wh..wh..opq` the trusted.overlay.opaque xattr on its directory (nothing below shows through).
    /// Returns true if `name` was a whiteout (and so is not extracted as a file).
    static func applyWhiteout(_ name: String, in directory: String) throws -> Bool {
        let parts = name.split(separator: "/").map(String.init)
        guard let base = parts.last, base.hasPrefix(".wh."), !parts.contains("..") else { return false }
        let parent = ([directory] + parts.dropLast()).joined(separator: "/")
        try Files.mkdirs(parent)
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
    public static func writeLayer(from upper: String, to path: String) throws {
        guard let a = archive_write_new(), let e = archive_entry_new() else { throw BoxError(.layer, "libarchive: out of memory") }
        defer { archive_entry_free(e); archive_write_free(a) }
        archive_write_set_format_pax_restricted(a)
        guard archive_write_open_filename(a, path) == ARCHIVE_OK else { throw BoxError(.layer, "create \(path): \(message(a))") }
        func add(_ relative: String, _ st: inout stat, link: String? = nil, file: String? = nil) throws {
            archive_entry_clear(e)
            archive_entry_set_pathname(e, relative)
            archive_entry_copy_stat(e, &st)
            if let link { archive_entry_set_symlink(e, link) }
            guard archive_write_header(a, e) == ARCHIVE_OK else { throw BoxError(.layer, "write \(relative): \(message(a))") }
            if let file, st.st_size > 0 {
                let fd = open(file, O_RDONLY | O_CLOEXEC)
                guard fd >= 0 else { throw BoxError.sys(.layer, "open \(file)") }
                defer { close(fd) }
                var buf = [UInt8](repeating: 0, count: 1 << 16)
                while true {
                    let n = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                    if n < 0 && errno == EINTR { continue }
                    guard n >= 0 else { throw BoxError.sys(.layer, "read \(file)") }
                    if n == 0 { break }
                    guard archive_write_data(a, buf, n) == n else { throw BoxError(.layer, "write \(relative): \(message(a))") }
                }
            }
        }
        func walk(_ dir: String, _ prefix: String) throws {
            for name in try Files.list(dir).sorted() {
                let full = dir + "/" + name, relative = prefix + name
                var st = stat()
                guard lstat(full, &st) == 0 else { throw BoxError.sys(.layer, "stat \(full)") }
                switch st.st_mode & S_IFMT {
                case S_IFCHR where st.st_rdev == 0:
                    var empty = stat()
                    empty.st_mode = S_IFREG | 0o644
                    empty.st_mtim = st.st_mtim
                    try add(prefix + ".wh." + name, &empty)
                case S_IFDIR:
                    try add(relative, &st)
                    if box_is_opaque(full) == 1 {
                        var empty = stat()
                        empty.st_mode = S_IFREG | 0o644
                        empty.st_mtim = st.st_mtim
                        try add(relative + "/.wh..wh..opq", &empty)
                    }
                    try walk(full, relative + "/")
                case S_IFLNK:
                    var target = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
                    let n = readlink(full, &target, target.count - 1)
                    guard n >= 0 else { throw BoxError.sys(.layer, "readlink \(full)") }
                    try add(relative, &st, link: String(decoding: target[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self))
                case S_IFREG:
                    try add(relative, &st, file: full)
                default:
                    try add(relative, &st)  // devices, fifos: metadata only
                }
            }
        }
        try walk(upper, "")
        guard archive_write_close(a) == ARCHIVE_OK else { throw BoxError(.layer, "close \(path): \(message(a))") }
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

    public static func sha256(_ bytes: [UInt8]) -> String {
        var ctx = sha256_ctx()
        nettle_sha256_init(&ctx)
        nettle_sha256_update(&ctx, bytes.count, bytes)
        return finish(&ctx)
    }

    private static func finish(_ ctx: inout sha256_ctx) -> String {
        var digest = [UInt8](repeating: 0, count: 32)
        nettle_sha256_digest(&ctx, 32, &digest)
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(64)
        for byte in digest { out.append(digits[Int(byte >> 4)]); out.append(digits[Int(byte & 15)]) }
        return "sha256:" + String(decoding: out, as: UTF8.self)
    }

    private static func message(_ a: OpaquePointer) -> String {
        archive_error_string(a).map { String(cString: $0) } ?? "unknown libarchive error"
    }
}
