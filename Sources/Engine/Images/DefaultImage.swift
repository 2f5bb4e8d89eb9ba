#if canImport(Glibc)
import Glibc
#endif

/// The default image, `busybox:latest`, built offline from the host's busybox-static: one real layer (the
/// binary, its applet links, /etc/passwd and /etc/group) and an OCI config, stored exactly like any other image.
/// Every timestamp comes from the binary's mtime, so the same binary always gives the same image id.
public enum DefaultImage {
    public static let reference = "busybox:latest"
    public static let defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

    /// Where busybox-static puts the binary on Debian and Ubuntu; BOX_BUSYBOX overrides it.
    static func hostBusybox() -> String {
        if let env = getenv("BOX_BUSYBOX") { return String(cString: env) }
        return ["/bin/busybox", "/usr/bin/busybox"].first { Files.exists($0) } ?? "/bin/busybox"
    }

    /// Returns busybox:latest, creating it first if the store has no such name. Holds the engine lock, so
    /// two first runs at once build it once.
    /// Whether `text` names the default image ("busybox", "busybox:latest"): then it is built on first use.
    public static func isNamed(by text: String) -> Bool {
        (try? ImageReference(parsing: text))?.description == reference
    }

    public static func ensure(_ store: ImageStore) throws -> Image {
        if let image = try? store.resolve(reference) { return image }
        return try store.root.locked {
            if let image = try? store.resolve(reference) { return image }
            let id = try build(store, busybox: hostBusybox())
            try store.tag(id, as: try ImageReference(parsing: reference))
            return try store.resolve(reference)
        }
    }

    static func build(_ store: ImageStore, busybox: String) throws -> String {
        var st = stat()
        guard stat(busybox, &st) == 0 else {
            throw BoxError(.image, "cannot build the busybox image: \(busybox) not found. Install it with: sudo apt-get install busybox-static")
        }
        guard try isStatic(busybox) else {
            throw BoxError(.image, "cannot build the busybox image: \(busybox) is dynamically linked and would not run in an empty root filesystem. Install the static one with: sudo apt-get install busybox-static")
        }
        let (status, listing) = try Subprocess.run([busybox, "--list-full"])
        guard status == 0 else { throw BoxError(.image, "\(busybox) --list-full failed (exit \(status))") }
        let version = try Subprocess.run([busybox]).output.split(separator: "\n").first.map(String.init) ?? "BusyBox"

        let mtime = Int64(st.st_mtim.tv_sec)
        var entries: [LayerArchive.Entry] = []
        func dir(_ path: String, _ mode: mode_t = 0o755) { entries.append(.init(path, .directory, mode: mode, mtime: mtime)) }
        func text(_ path: String, _ content: String) { entries.append(.init(path, .text(content), mode: 0o644, mtime: mtime)) }
        for d in ["bin", "dev", "etc", "home", "proc", "sbin", "sys", "usr", "usr/bin", "usr/sbin", "var", "var/spool", "var/www"] { dir(d) }
        dir("root", 0o700)
        dir("tmp", 0o1777)
        entries.append(.init("bin/busybox", .file(source: busybox), mode: 0o755, mtime: mtime))
        let applets = Set(listing.split(separator: "\n").map(String.init)).subtracting(["bin/busybox"]).sorted()
        for applet in applets where !applet.contains("..") && !applet.hasPrefix("/") {
            entries.append(.init(applet, .symlink("/bin/busybox"), mode: 0o777, mtime: mtime))
        }
        text("etc/passwd", "root:x:0:0:root:/root:/bin/sh\ndaemon:x:1:1:daemon:/usr/sbin:/bin/false\nnobody:x:65534:65534:nobody:/home:/bin/false\n")
        text("etc/group", "root:x:0:\ndaemon:x:1:\nnogroup:x:65534:\n")
        // Bind-mount targets for the per-container files, so they are not copied up into every container.
        for f in ["etc/hostname", "etc/hosts", "etc/resolv.conf"] { text(f, "") }

        try store.root.prepare()
        let tar = store.root.tmp + "/busybox-pid\(getpid()).tar"
        defer { unlink(tar) }
        try LayerArchive.write(entries, to: tar)
        let diffID = try store.addLayer(tarAt: tar)

        let created = Timestamp(seconds: mtime).rfc3339
        let config = ImageConfig(
            architecture: ImageConfig.hostArchitecture, os: "linux", created: created,
            config: .init(Env: ["PATH=\(defaultPath)"], Cmd: ["sh"]),
            rootfs: .init(diff_ids: [diffID]),
            history: [.init(created: created, created_by: "box: \(version) from \(busybox)", comment: "built offline by box from busybox-static")]
        )
        return try store.addConfig(config)
    }

    /// A static ELF has no PT_INTERP program header (no dynamic loader to ask for).
    static func isStatic(_ path: String) throws -> Bool {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw BoxError.sys(.image, "open \(path)") }
        defer { close(fd) }
        var header = [UInt8](repeating: 0, count: 64)
        guard pread(fd, &header, 64, 0) == 64, header[0..<4] == [0x7f, 0x45, 0x4c, 0x46], header[4] == 2 else {
            return false  // not a 64-bit ELF: do not guess
        }
        func u64(_ b: [UInt8], _ at: Int) -> Int { (0..<8).reduce(0) { $0 | Int(b[at + $1]) << (8 * $1) } }
        func u16(_ b: [UInt8], _ at: Int) -> Int { Int(b[at]) | Int(b[at + 1]) << 8 }
        let phoff = u64(header, 0x20), phentsize = u16(header, 0x36), phnum = u16(header, 0x38)
        var ph = [UInt8](repeating: 0, count: phentsize)
        for i in 0..<phnum {
            guard pread(fd, &ph, phentsize, off_t(phoff + i * phentsize)) == phentsize else { return false }
            if ph[0] == 3 && ph[1] == 0 && ph[2] == 0 && ph[3] == 0 { return false }  // PT_INTERP
        }
        return true
    }
}
