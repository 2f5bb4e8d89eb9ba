#if canImport(Glibc)
import Glibc
#endif

/// A path inside a root filesystem (a container's, an unpacked archive's), resolved as the kernel would if
/// that root were `/`, the way docker's FollowSymlinkInScope does: `..` stops at the root, an absolute
/// symlink starts again from the root, so no symlink can lead out of it.
public enum ScopedPath {
    /// Returns the host path `root/...` that `path` names inside `root`. Components that do not exist are
    /// kept as they are. `followLast: false` leaves a symlink in the last component unresolved (it is the
    /// thing to copy, not its target).
    public static func resolve(_ path: String, in root: String, followLast: Bool = true) throws -> String {
        var resolved: [String] = []
        var pending = path.split(separator: "/").map(String.init).reversed() as [String]
        var links = 0
        while let part = pending.popLast() {
            if part == "." { continue }
            if part == ".." { _ = resolved.popLast(); continue }
            let candidate = root + "/" + (resolved + [part]).joined(separator: "/")
            var st = stat()
            let isLast = pending.allSatisfy { $0 == "." }
            guard lstat(candidate, &st) == 0, (st.st_mode & S_IFMT) == S_IFLNK, followLast || !isLast else {
                resolved.append(part)
                continue
            }
            links += 1
            guard links <= 255 else { throw BoxError(.image, "too many levels of symbolic links in \(path)") }
            guard let text = Files.readLink(candidate) else { throw BoxError.sys(.image, "readlink \(candidate)") }
            if text.hasPrefix("/") { resolved = [] }
            pending.append(contentsOf: text.split(separator: "/").map(String.init).reversed())
        }
        return resolved.isEmpty ? root : root + "/" + resolved.joined(separator: "/")
    }
}
