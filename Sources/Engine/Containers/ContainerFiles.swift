#if canImport(Glibc)
import Glibc
#endif

/// A container's files seen from the host: `box export` (the whole merged root filesystem as one flat tar)
/// and `box cp` (one path, either way). Both read the overlay as the container sees it: a running container's
/// `merged` mount, or, for a stopped one, the same overlay mounted for the moment of the copy (as docker does).
public struct ContainerFiles {
    public let store: ContainerStore
    public init(store: ContainerStore) { self.store = store }

    /// Runs `body` with the container's merged root filesystem, holding the engine lock so the container
    /// cannot start (and mount or unmount it) meanwhile. A running container is frozen while `body` runs, so
    /// none of its processes can swap a directory for a symlink between a path being resolved and used (the
    /// docker cp race, CVE-2018-15664, which docker closed the same way).
    public func withRootfs<T>(_ c: Container, freeze: Bool = false, _ body: (String) throws -> T) throws -> T {
        try store.root.locked {
            let current = try store.load(c.id)
            let layer = store.layerPath(c.id)
            let merged = layer + "/merged"
            if store.isStarting(current) {  // its monitor (or box run, for it) has mounted the overlay PID 1 is to use
                throw BoxError(.mount, "container \(c.name) is starting: try again", exitCode: 1)
            }
            if current.state.Running {
                guard Rootfs.isMounted(merged) else {
                    throw BoxError(.mount, "container \(c.name) is starting or stopping: try again", exitCode: 1)
                }
                let thaw = freeze && current.state.Status == .running
                let cgroups = Cgroups.driver()
                if thaw { try cgroups.freeze(c.spec.cgroup, true) }
                defer { if thaw { try? cgroups.freeze(c.spec.cgroup, false) } }
                return try body(merged)
            }
            try Rootfs.mountOverlay(layers: c.spec.LayerDirs, containerLayer: layer)
            defer { Rootfs.unmount(merged) }
            return try body(merged)
        }
    }

    /// `box export`: the merged root filesystem as one tar, no layers, no whiteouts, owners and modes kept.
    public func export(_ c: Container, to tar: TarWriter) throws {
        try withRootfs(c) { merged in try tar.tree(merged, as: "") }
        try tar.close()
    }

    /// Where a copy lands: the directory to unpack into, and the name the copied thing gets there ("" for
    /// the contents of a directory, SRC/. in docker's words).
    public struct Target: Equatable {
        public var directory: String
        public var name: String
    }

    /// docker cp's rules for a destination that may or may not exist. `dest` is a host path (already resolved
    /// inside the container for a copy in); `written` what the user typed, for messages.
    static func target(source: String, sourceIsDir: Bool, dest: String, written: String) throws -> Target {
        var st = stat()
        let contents = source.hasSuffix("/.") && sourceIsDir
        let base = contents ? "" : (source.split(separator: "/").last.map(String.init) ?? "")
        if lstat(dest, &st) == 0 {
            if (st.st_mode & S_IFMT) == S_IFDIR { return Target(directory: dest, name: base) }
            guard !sourceIsDir else { throw BoxError(.usage, "cannot copy a directory to a file: \(written)", exitCode: 1) }
            return Target(directory: parent(dest), name: name(dest))
        }
        if written.hasSuffix("/") && !sourceIsDir {
            throw BoxError(.usage, "destination directory \(written) does not exist", exitCode: 1)
        }
        let dir = parent(dest)
        guard Files.isDirectory(dir) else {
            throw BoxError(.usage, "no such directory for \(written): its parent does not exist", exitCode: 1)
        }
        if contents {
            guard mkdir(dest, 0o755) == 0 else { throw BoxError.sys(.usage, "mkdir \(written)") }
            return Target(directory: dest, name: "")
        }
        return Target(directory: dir, name: name(dest))
    }

    static func parent(_ path: String) -> String {
        let trimmed = path.hasSuffix("/") ? String(path.dropLast()) : path
        guard let slash = trimmed.lastIndex(of: "/") else { return "." }
        return slash == trimmed.startIndex ? "/" : String(trimmed[..<slash])
    }

    static func name(_ path: String) -> String {
        path.split(separator: "/").last.map(String.init) ?? ""
    }

    /// `box cp CONTAINER:SRC DEST`: SRC is resolved inside the container (its symlinks cannot lead out; a
    /// symlink as the last component is copied as a symlink); DEST is a host path, or nil to write a tar of
    /// SRC to `tarFD` (docker's `-`). Owners are not kept (the copy belongs to whoever runs box) unless
    /// `keepOwners` (docker cp -a); `followLink` copies what a symlink as SRC points to, not the link (-L).
    public func copyOut(_ c: Container, from source: String, to dest: String?, tarFD: Int32 = 1,
                        followLink: Bool = false, keepOwners: Bool = false) throws {
        try store.root.prepare()
        let tarPath = store.root.tmp + "/cp-\(c.spec.shortID)-pid\(getpid()).tar"
        defer { unlink(tarPath) }
        let target: Target? = try withRootfs(c, freeze: true) { merged in
            let path = try ScopedPath.resolve(source, in: merged,
                                              followLast: followLink || source.hasSuffix("/") || source.hasSuffix("/."))
            var st = stat()
            guard lstat(path, &st) == 0 else {
                throw BoxError(.usage, "Could not find the file \(source) in container \(c.name)", exitCode: 1)
            }
            let isDir = (st.st_mode & S_IFMT) == S_IFDIR
            guard let dest else {
                let tar = try TarWriter(fd: tarFD, name: "standard output")
                try tar.tree(path, as: path == merged ? "." : ContainerFiles.name(path))
                try tar.close()
                return nil
            }
            let target = try ContainerFiles.target(source: source, sourceIsDir: isDir, dest: dest, written: dest)
            let tar = try TarWriter(path: tarPath)
            try tar.tree(path, as: target.name)
            try tar.close()
            return target
        }
        if let target { try LayerArchive.extract(tarPath, into: target.directory, mode: .plain, owners: keepOwners) }
    }

    /// `box cp SRC CONTAINER:DEST`: DEST is resolved inside the container (symlinks, `..` and absolute link
    /// targets all stay inside its root), then the copy is unpacked there with libarchive's SECURE flags, so
    /// nothing already in the container (a symlink) can redirect a write. SRC nil: a tar on `tarFD` (`-`).
    /// The copy is root's inside unless `keepOwners` (-a: the source's owners); `followLink` copies what a
    /// symlink as SRC points to, under the link's name (-L). `noOverwriteDirNonDir`: an entry may not replace a
    /// directory with a non-directory or the other way round (docker's copy-in option, which its CLI always sets).
    public func copyIn(_ c: Container, from source: String?, to dest: String, tarFD: Int32 = 0,
                       followLink: Bool = false, keepOwners: Bool = false, noOverwriteDirNonDir: Bool = false) throws {
        try store.root.prepare()
        let tarPath = store.root.tmp + "/cp-\(c.spec.shortID)-pid\(getpid()).tar"
        defer { unlink(tarPath) }
        var sourceIsDir = false
        var content = source
        if let source {
            var st = stat()
            guard (followLink ? stat(source, &st) : lstat(source, &st)) == 0 else {
                throw BoxError.sys(.usage, "stat \(source)", errno: errno)
            }
            sourceIsDir = (st.st_mode & S_IFMT) == S_IFDIR
            if followLink, let real = realpath(source, nil) {
                content = String(cString: real)
                free(real)
            }
        }
        try withRootfs(c, freeze: true) { merged in
            let path = try ScopedPath.resolve(dest, in: merged)
            guard let source else {
                guard Files.isDirectory(path) else {
                    throw BoxError(.usage, "destination \(dest) must be a directory for a tar from standard input", exitCode: 1)
                }
                try LayerArchive.extract(fd: tarFD, name: "standard input", into: path, mode: .plain, owners: keepOwners,
                                         noOverwriteDirNonDir: noOverwriteDirNonDir)
                return
            }
            let target = try ContainerFiles.target(source: source, sourceIsDir: sourceIsDir, dest: path, written: dest)
            let tar = try TarWriter(path: tarPath)
            try tar.tree(content ?? source, as: target.name)
            try tar.close()
            try LayerArchive.extract(tarPath, into: target.directory, mode: .plain, owners: keepOwners,
                                     noOverwriteDirNonDir: noOverwriteDirNonDir)
        }
    }
}
