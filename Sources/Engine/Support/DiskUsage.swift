#if canImport(Glibc)
import Glibc
#endif

/// How much a directory tree holds, counted as docker counts a layer's size (moby pkg/directory.Size): the
/// lstat size of every entry that is not a directory (a symlink counts its target's length), each inode once.
public enum DiskUsage {
    public static func size(of dir: String) -> Int64 {
        var seen = Set<UInt64>()
        return size(of: dir, seen: &seen)
    }

    /// The size of several trees, an inode shared by two of them counted once.
    public static func size(of dirs: [String]) -> Int64 {
        var seen = Set<UInt64>()
        return dirs.reduce(0) { $0 + size(of: $1, seen: &seen) }
    }

    static func size(of dir: String, seen: inout Set<UInt64>) -> Int64 {
        guard let handle = opendir(dir) else { return 0 }
        defer { closedir(handle) }
        let fd = dirfd(handle)
        var total: Int64 = 0
        while let entry = readdir(handle) {
            let name = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: Int(NAME_MAX) + 1) { String(cString: $0) }
            }
            if name == "." || name == ".." { continue }
            var st = stat()
            guard fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 else { continue }
            if (st.st_mode & S_IFMT) == S_IFDIR {
                total += size(of: dir + "/" + name, seen: &seen)
            } else if st.st_size > 0, seen.insert(UInt64(st.st_ino)).inserted {
                total += Int64(st.st_size)
            }
        }
        return total
    }
}
