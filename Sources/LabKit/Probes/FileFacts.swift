#if canImport(Glibc)
import Glibc
#endif
import Engine

/// A file as lstat(2) shows it, read once: what checks ask of a file a learner made or changed (when, what
/// kind, which inode). Probes only read.
public struct FileFacts: Sendable {
    public let path: String
    public let inode: UInt64
    public let size: Int64
    /// The file type bits of st_mode (S_IFREG, S_IFCHR...).
    public let type: UInt32
    /// The permission bits of st_mode (0o7777: with setuid, setgid and sticky), and the owner.
    public let mode: UInt32
    public let uid: UInt32
    public let gid: UInt32
    public let device: (major: UInt32, minor: UInt32)
    /// The last write of its content (tar and cp -p may set it back) and the last change of its inode (which
    /// nothing but the kernel sets: what "made during this step" reads).
    public let modified: Timestamp
    public let changed: Timestamp

    /// lstat of `path` (a symlink is itself), or nil if there is nothing there.
    public static func lstat(_ path: String) -> FileFacts? {
        var st = Glibc.stat()
        guard Glibc.lstat(path, &st) == 0 else { return nil }
        return FileFacts(path: path, inode: UInt64(st.st_ino), size: Int64(st.st_size), type: st.st_mode & S_IFMT,
                         mode: st.st_mode & 0o7777, uid: st.st_uid, gid: st.st_gid,
                         device: major_minor(UInt64(st.st_rdev)),
                         modified: Timestamp(seconds: Int64(st.st_mtim.tv_sec), nanoseconds: Int32(st.st_mtim.tv_nsec)),
                         changed: Timestamp(seconds: Int64(st.st_ctim.tv_sec), nanoseconds: Int32(st.st_ctim.tv_nsec)))
    }

    public var isRegular: Bool { type == S_IFREG }
    public var isDirectory: Bool { type == S_IFDIR }
    /// An overlayfs whiteout: a character device 0/0 in an upper dir, which hides the lower file of its name.
    public var isWhiteout: Bool { type == S_IFCHR && device == (0, 0) }

    /// Its inode changed (made, written, linked) at or after the step began. File times come from the kernel's
    /// coarse clock, up to a tick behind the wall clock: 20 ms of slack.
    public func changed(since clock: StepClock) -> Bool {
        changed.unixNanoseconds >= clock.wall.unixNanoseconds - 20_000_000
    }

    /// "a regular file", "a character device 0/0"...: what a failure message says was found.
    public var kind: String {
        switch type {
        case S_IFREG: "a regular file"
        case S_IFDIR: "a directory"
        case S_IFLNK: "a symlink"
        case S_IFCHR: "a character device \(device.major)/\(device.minor)"
        default: "a special file"
        }
    }
}

/// glibc's gnu_dev_major and gnu_dev_minor, which are macros Swift cannot call.
private func major_minor(_ dev: UInt64) -> (UInt32, UInt32) {
    (UInt32(((dev >> 8) & 0xfff) | ((dev >> 32) & ~0xfff)), UInt32((dev & 0xff) | ((dev >> 12) & ~0xff)))
}

/// The layers of a container's root filesystem, from its PID 1's mount table: the overlay's read-only lower
/// dirs (the image's layers, top first), its upper dir (the container's own) and work dir.
public struct OverlayLayers: Sendable, Equatable {
    public var device: String
    public var lower: [String]
    public var upper: String
    public var work: String
}

extension Context {
    /// The overlay under `pid1`'s `/` (container `name`'s), or a failure that says what / is instead.
    public func overlay(of pid1: Proc, name: String) throws -> OverlayLayers {
        let root = try require(pid1.mounts.last { $0.mountPoint == "/" }, expected: "\(name)'s mount table",
                               observed: "\(name)'s PID 1 has no / in its mountinfo", tryThis: "sudo lab doctor")
        try require(root.fsType == "overlay", expected: "\(name)'s / to be an overlay mount",
                    observed: "it is \(root.fsType)", tryThis: "start \(name) with box run, from an image")
        var layers = OverlayLayers(device: root.device, lower: [], upper: "", work: "")
        for option in root.superOptions.split(separator: ",") {
            if option.hasPrefix("lowerdir=") { layers.lower = option.dropFirst(9).split(separator: ":").map(String.init) }
            if option.hasPrefix("upperdir=") { layers.upper = String(option.dropFirst(9)) }
            if option.hasPrefix("workdir=") { layers.work = String(option.dropFirst(8)) }
        }
        try require(!layers.upper.isEmpty && !layers.lower.isEmpty, expected: "lowerdir= and upperdir= in \(name)'s overlay options",
                    observed: root.superOptions, tryThis: "sudo lab doctor")
        return layers
    }
}

/// True if a typed id is at least 12 hex digits (or the whole id, with or without `sha256:`) that begin `hex`:
/// how an image, layer or container id is answered.
public func matchesID(_ given: String, _ hex: String) -> Bool {
    let g = Digest.hex(given.trimmed).lowercased()
    return g.count >= 12 && Digest.hex(hex).hasPrefix(g)
}
