#if canImport(Glibc)
import Glibc
#endif
import CLibarchive

/// libarchive, loaded on first use rather than at every start.
///
/// Linked the usual way, libarchive brings nine more libraries into every process (libxml2 and ICU for xar,
/// acl, and a library per compression format): the dynamic loader spends about 2 ms mapping and relocating them
/// at each `box` and `lab` start, although only the image verbs (save, load, import, export, cp, commit,
/// build) ever read or write an archive. So the few functions box uses are looked up with dlopen/dlsym when
/// the first archive is made, as systemd does for its optional libraries (src/shared/dlopen-*.c). The header
/// still gives the types and constants; the link has no -larchive (see Package.swift), so a direct call to a
/// C function that bypasses this table fails the build instead of loading libarchive behind our back.
enum Libarchive {
    /// Why the library could not be loaded, or nil once it is.
    static var unavailable: String? { table.failure }

    /// What a failed `*_new()` means: the library is missing, or memory ran out.
    static var newFailed: String {
        unavailable ?? "libarchive: out of memory"
    }

    // MARK: the functions box calls, in libarchive's names without the archive_ prefix

    static func read_new() -> OpaquePointer? { table.read_new?() }
    static func write_new() -> OpaquePointer? { table.write_new?() }
    static func write_disk_new() -> OpaquePointer? { table.write_disk_new?() }
    static func entry_new() -> OpaquePointer? { table.entry_new?() }

    @discardableResult static func read_free(_ a: OpaquePointer) -> Int32 { f.read_free(a) }
    @discardableResult static func write_free(_ a: OpaquePointer) -> Int32 { f.write_free(a) }
    static func entry_free(_ e: OpaquePointer) { f.entry_free(e) }
    static func error_string(_ a: OpaquePointer) -> UnsafePointer<CChar>? { f.error_string(a) }
    /// The errno behind the last error ("Write error" hides ENOSPC), 0 if none.
    static func errno(_ a: OpaquePointer) -> Int32 { f.errno(a) }

    @discardableResult static func read_support_format_tar(_ a: OpaquePointer) -> Int32 { f.read_support_format_tar(a) }
    @discardableResult static func read_support_format_raw(_ a: OpaquePointer) -> Int32 { f.read_support_format_raw(a) }
    @discardableResult static func read_support_filter_all(_ a: OpaquePointer) -> Int32 { f.read_support_filter_all(a) }
    static func read_open_fd(_ a: OpaquePointer, _ fd: Int32, _ block: Int) -> Int32 { f.read_open_fd(a, fd, block) }
    static func read_open_filename(_ a: OpaquePointer, _ path: UnsafePointer<CChar>, _ block: Int) -> Int32 {
        f.read_open_filename(a, path, block)
    }
    static func read_next_header(_ a: OpaquePointer, _ e: UnsafeMutablePointer<OpaquePointer?>) -> Int32 { f.read_next_header(a, e) }
    static func read_data(_ a: OpaquePointer, _ buf: UnsafeMutableRawPointer?, _ n: Int) -> Int { f.read_data(a, buf, n) }
    static func read_data_block(_ a: OpaquePointer, _ buf: UnsafeMutablePointer<UnsafeRawPointer?>,
                                _ size: UnsafeMutablePointer<Int>, _ offset: UnsafeMutablePointer<Int64>) -> Int32 {
        f.read_data_block(a, buf, size, offset)
    }

    @discardableResult static func write_set_format_pax_restricted(_ a: OpaquePointer) -> Int32 { f.write_set_format_pax_restricted(a) }
    @discardableResult static func write_set_bytes_in_last_block(_ a: OpaquePointer, _ n: Int32) -> Int32 {
        f.write_set_bytes_in_last_block(a, n)
    }
    static func write_open_fd(_ a: OpaquePointer, _ fd: Int32) -> Int32 { f.write_open_fd(a, fd) }
    static func write_open_filename(_ a: OpaquePointer, _ path: UnsafePointer<CChar>) -> Int32 { f.write_open_filename(a, path) }
    static func write_header(_ a: OpaquePointer, _ e: OpaquePointer) -> Int32 { f.write_header(a, e) }
    static func write_data(_ a: OpaquePointer, _ buf: UnsafeRawPointer?, _ n: Int) -> Int { f.write_data(a, buf, n) }
    static func write_data_block(_ a: OpaquePointer, _ buf: UnsafeRawPointer?, _ n: Int, _ offset: Int64) -> Int {
        f.write_data_block(a, buf, n, offset)
    }
    static func write_finish_entry(_ a: OpaquePointer) -> Int32 { f.write_finish_entry(a) }
    static func write_close(_ a: OpaquePointer) -> Int32 { f.write_close(a) }
    @discardableResult static func write_disk_set_options(_ a: OpaquePointer, _ flags: Int32) -> Int32 { f.write_disk_set_options(a, flags) }

    static func entry_clear(_ e: OpaquePointer) { _ = f.entry_clear(e) }
    static func entry_copy_stat(_ e: OpaquePointer, _ st: UnsafePointer<stat>) { f.entry_copy_stat(e, st) }
    static func entry_set_pathname(_ e: OpaquePointer, _ s: UnsafePointer<CChar>) { f.entry_set_pathname(e, s) }
    static func entry_set_symlink(_ e: OpaquePointer, _ s: UnsafePointer<CChar>) { f.entry_set_symlink(e, s) }
    static func entry_set_filetype(_ e: OpaquePointer, _ type: UInt32) { f.entry_set_filetype(e, type) }
    static func entry_set_perm(_ e: OpaquePointer, _ mode: mode_t) { f.entry_set_perm(e, mode) }
    static func entry_set_size(_ e: OpaquePointer, _ n: Int64) { f.entry_set_size(e, n) }
    static func entry_set_mtime(_ e: OpaquePointer, _ t: time_t, _ ns: Int) { f.entry_set_mtime(e, t, ns) }
    static func entry_set_uid(_ e: OpaquePointer, _ id: Int64) { f.entry_set_uid(e, id) }
    static func entry_set_gid(_ e: OpaquePointer, _ id: Int64) { f.entry_set_gid(e, id) }
    static func entry_pathname(_ e: OpaquePointer) -> UnsafePointer<CChar>? { f.entry_pathname(e) }
    static func entry_hardlink(_ e: OpaquePointer) -> UnsafePointer<CChar>? { f.entry_hardlink(e) }
    static func entry_filetype(_ e: OpaquePointer) -> mode_t { f.entry_filetype(e) }
    static func entry_size(_ e: OpaquePointer) -> Int64 { f.entry_size(e) }

    // MARK: loading

    /// Every other function is called only on an archive or entry a `*_new()` above returned, so the library
    /// is loaded by then.
    private static var f: Functions { table.functions! }

    private static let table = Table()

    private struct Table: @unchecked Sendable {  // function pointers and a message, set once
        var functions: Functions?
        var failure: String?
        var read_new: (@convention(c) () -> OpaquePointer?)? { functions?.read_new }
        var write_new: (@convention(c) () -> OpaquePointer?)? { functions?.write_new }
        var write_disk_new: (@convention(c) () -> OpaquePointer?)? { functions?.write_disk_new }
        var entry_new: (@convention(c) () -> OpaquePointer?)? { functions?.entry_new }

        init() {
            // libarchive.so.13 is the soname since libarchive 3.0 (2011); the unversioned name is -dev only.
            guard let handle = dlopen("libarchive.so.13", RTLD_NOW | RTLD_LOCAL) ?? dlopen("libarchive.so", RTLD_NOW | RTLD_LOCAL) else {
                let why = dlerror().map { String(cString: $0) } ?? "not found"
                failure = "libarchive could not be loaded (\(why)): install it (sudo apt-get install libarchive13)"
                return
            }
            do {
                functions = try Functions(handle)
            } catch {
                failure = "libarchive is too old: \(error)"
            }
        }
    }

    private struct Missing: Error, CustomStringConvertible {
        let symbol: String
        var description: String { "it has no \(symbol)" }
    }

    private struct Functions {
        let read_new, write_new, write_disk_new, entry_new: @convention(c) () -> OpaquePointer?
        let read_free, write_free, read_support_format_tar, read_support_format_raw, read_support_filter_all,
            write_set_format_pax_restricted, write_finish_entry, write_close: @convention(c) (OpaquePointer?) -> Int32
        let entry_free: @convention(c) (OpaquePointer?) -> Void
        let error_string: @convention(c) (OpaquePointer?) -> UnsafePointer<CChar>?
        let errno: @convention(c) (OpaquePointer?) -> Int32
        let read_open_fd: @convention(c) (OpaquePointer?, Int32, Int) -> Int32
        let read_open_filename: @convention(c) (OpaquePointer?, UnsafePointer<CChar>?, Int) -> Int32
        let read_next_header: @convention(c) (OpaquePointer?, UnsafeMutablePointer<OpaquePointer?>?) -> Int32
        let read_data: @convention(c) (OpaquePointer?, UnsafeMutableRawPointer?, Int) -> Int
        let read_data_block: @convention(c) (OpaquePointer?, UnsafeMutablePointer<UnsafeRawPointer?>?,
                                             UnsafeMutablePointer<Int>?, UnsafeMutablePointer<Int64>?) -> Int32
        let write_set_bytes_in_last_block, write_open_fd, write_disk_set_options: @convention(c) (OpaquePointer?, Int32) -> Int32
        let write_open_filename: @convention(c) (OpaquePointer?, UnsafePointer<CChar>?) -> Int32
        let write_header: @convention(c) (OpaquePointer?, OpaquePointer?) -> Int32
        let write_data: @convention(c) (OpaquePointer?, UnsafeRawPointer?, Int) -> Int
        let write_data_block: @convention(c) (OpaquePointer?, UnsafeRawPointer?, Int, Int64) -> Int
        let entry_clear: @convention(c) (OpaquePointer?) -> OpaquePointer?
        let entry_copy_stat: @convention(c) (OpaquePointer?, UnsafePointer<stat>?) -> Void
        let entry_set_pathname, entry_set_symlink: @convention(c) (OpaquePointer?, UnsafePointer<CChar>?) -> Void
        let entry_set_filetype, entry_set_perm: @convention(c) (OpaquePointer?, UInt32) -> Void
        let entry_set_size, entry_set_uid, entry_set_gid: @convention(c) (OpaquePointer?, Int64) -> Void
        let entry_set_mtime: @convention(c) (OpaquePointer?, time_t, Int) -> Void
        let entry_pathname, entry_hardlink: @convention(c) (OpaquePointer?) -> UnsafePointer<CChar>?
        let entry_filetype: @convention(c) (OpaquePointer?) -> UInt32
        let entry_size: @convention(c) (OpaquePointer?) -> Int64

        init(_ h: UnsafeMutableRawPointer) throws {
            func sym<T>(_ name: String) throws -> T {
                guard let p = dlsym(h, "archive_" + name) else { throw Missing(symbol: "archive_" + name) }
                return unsafeBitCast(p, to: T.self)
            }
            read_new = try sym("read_new"); write_new = try sym("write_new")
            write_disk_new = try sym("write_disk_new"); entry_new = try sym("entry_new")
            read_free = try sym("read_free"); write_free = try sym("write_free")
            read_support_format_tar = try sym("read_support_format_tar")
            read_support_format_raw = try sym("read_support_format_raw")
            read_support_filter_all = try sym("read_support_filter_all")
            write_set_format_pax_restricted = try sym("write_set_format_pax_restricted")
            write_finish_entry = try sym("write_finish_entry"); write_close = try sym("write_close")
            entry_free = try sym("entry_free"); error_string = try sym("error_string")
            errno = try sym("errno")
            read_open_fd = try sym("read_open_fd"); read_open_filename = try sym("read_open_filename")
            read_next_header = try sym("read_next_header"); read_data = try sym("read_data")
            read_data_block = try sym("read_data_block")
            write_set_bytes_in_last_block = try sym("write_set_bytes_in_last_block")
            write_open_fd = try sym("write_open_fd"); write_disk_set_options = try sym("write_disk_set_options")
            write_open_filename = try sym("write_open_filename"); write_header = try sym("write_header")
            write_data = try sym("write_data"); write_data_block = try sym("write_data_block")
            entry_clear = try sym("entry_clear"); entry_copy_stat = try sym("entry_copy_stat")
            entry_set_pathname = try sym("entry_set_pathname"); entry_set_symlink = try sym("entry_set_symlink")
            entry_set_filetype = try sym("entry_set_filetype"); entry_set_perm = try sym("entry_set_perm")
            entry_set_size = try sym("entry_set_size"); entry_set_uid = try sym("entry_set_uid")
            entry_set_gid = try sym("entry_set_gid"); entry_set_mtime = try sym("entry_set_mtime")
            entry_pathname = try sym("entry_pathname"); entry_hardlink = try sym("entry_hardlink")
            entry_filetype = try sym("entry_filetype"); entry_size = try sym("entry_size")
        }
    }
}
