#if canImport(Glibc)
import Glibc
#endif

/// The container's root filesystem: the overlay mount on the host, the per-container /etc files, and the list
/// of mounts and masked paths the C child applies inside the new mount namespace.
public enum Rootfs {
    /// Mounts the overlay at `layer/merged`: image layers as lowerdirs (topmost first, as overlayfs wants them),
    /// the container's own `diff` as upperdir. The mount lives in the host's mount namespace, like docker's,
    /// so learners can look at it while the container runs.
    ///
    /// `volatile` (a --rm container, as podman does since containers/podman#10220): overlayfs skips syncing the
    /// upper filesystem, above all the syncfs of its unmount (up to a few ms here, more with a busy disk). Such
    /// a layer does not survive a crash, and nobody needs it to: the container is removed when it ends.
    public static func mountOverlay(layers: [String], containerLayer: String, volatile: Bool = false) throws {
        let merged = containerLayer + "/merged"
        if isMounted(merged) { return }
        // Every volatile mount leaves work/work/incompat/volatile behind (a clean unmount too), and overlayfs
        // refuses to mount those directories again while it is there (overlayfs.rst, "Volatile mount"); the
        // work dir is scratch, so it goes (a --rm container is mounted again by `box cp` or a crash's restart).
        if Files.exists(containerLayer + "/work/work/incompat/volatile") { try? Files.removeTree(containerLayer + "/work/work") }
        var lower: [String] = []  // the top layer first
        for i in layers.indices.reversed() { lower.append(layers[i]) }
        var options = "lowerdir=\(lower.joined(separator: ":")),upperdir=\(containerLayer)/diff,workdir=\(containerLayer)/work"
        guard options.utf8.count < 4000 else {
            throw BoxError(.mount, "too many image layers for one overlay mount (\(layers.count))")
        }
        if volatile { options += ",volatile" }
        // nodev: a node made with CAP_MKNOD (or shipped in a layer) does not open, whatever the device cgroup
        // allows (--privileged allows all).
        // nosuid: the host's view never runs a setuid file the container's root made (docker's does; the
        // guard is the 0700 layer directories, see EngineRoot.prepare, which also keep diff/ out of reach).
        // The container's own bind of it counts setuid bits again (spawn.c, allow_setuid).
        let flags = UInt(MS_NODEV | MS_NOSUID)
        var mounted = mount("overlay", merged, "overlay", flags, options) == 0
        if !mounted && volatile && errno == EINVAL {  // a kernel before 5.10 does not know the option
            options.removeLast(",volatile".count)
            mounted = mount("overlay", merged, "overlay", flags, options) == 0
        }
        guard mounted else {
            throw BoxError.sys(.mount, "mount overlay on \(merged) (is the overlay module loaded? try: modprobe overlay)")
        }
    }

    /// Unmounts if mounted; lazily if busy. Never throws: it is called on every clean-up path.
    public static func unmount(_ path: String) {
        // EINVAL: not a mount point; ENOENT: not even there. Either way nothing to do, and no mountinfo to read.
        if umount2(path, 0) == 0 || errno == EINVAL || errno == ENOENT { return }
        _ = umount2(path, Int32(MNT_DETACH))
    }

    /// Whether a container's overlay is mounted at `path`: an overlay has a device of its own, unlike the
    /// directory it is mounted on (what mountpoint(1) checks). Two stats instead of reading mountinfo.
    public static func isMounted(_ path: String) -> Bool {
        var here = stat(), parent = stat()
        guard stat(path, &here) == 0, stat(path + "/..", &parent) == 0 else { return false }
        return here.st_dev != parent.st_dev
    }

    /// Mount points of this process's mount namespace (with \040-style escapes undone).
    public static func mountPoints(pid: String = "self") -> [String] {
        Mount.parse(Files.readIfPresent("/proc/\(pid)/mountinfo") ?? "").map(\.mountPoint)
    }

    /// The container's /etc/hosts: localhost, and its own hostname and name at `address` (its own address on
    /// a bridge network, 127.0.1.1 otherwise); `extra` (--add-host, "NAME:IP") before its own line, as docker's.
    public static func hostsFile(hostname: String, name: String, address: String, extra: [String]? = nil) -> String {
        """
        127.0.0.1\tlocalhost
        ::1\tlocalhost ip6-localhost ip6-loopback
        fe00::0\tip6-localnet
        ff00::0\tip6-mcastprefix
        ff02::1\tip6-allnodes
        ff02::2\tip6-allrouters
        \(hostsLines(extra))\(address)\t\(hostname == name ? hostname : hostname + " " + name)

        """
    }

    /// The /etc/hosts lines of --add-host, "IP\tNAME" as docker writes them.
    static func hostsLines(_ extra: [String]?) -> String {
        (extra ?? []).compactMap { entry -> String? in
            guard let sep = entry.firstIndex(of: ":") else { return nil }
            return "\(entry[entry.index(after: sep)...])\t\(entry[..<sep])\n"
        }.joined()
    }

    /// The host's resolv.conf without loopback name servers (they would be the container's own loopback),
    /// as docker does; its public fallbacks only if nothing is left.
    public static func resolvConf() -> String {
        let host = Files.readIfPresent("/etc/resolv.conf") ?? ""
        var lines = host.split(separator: "\n").map(String.init).filter { line in
            let f = line.split(separator: " ")
            return !(f.first == "nameserver" && f.count > 1 && (f[1].hasPrefix("127.") || f[1] == "::1"))
        }
        if !lines.contains(where: { $0.hasPrefix("nameserver") }) {
            lines += ["nameserver 8.8.8.8", "nameserver 8.8.4.4"]
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// runc's default maskedPaths and readonlyPaths (libcontainer/specconv/example.go).
    public static let maskedPaths = [
        "/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
        "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware", "/sys/devices/virtual/powercap",
    ]
    public static let readonlyPaths = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]

    /// One mount for the C child, paths already below the rootfs.
    public struct MountEntry: Sendable {
        public var source: String
        public var target: String
        public var fstype: String?
        public var flags: UInt
        public var data: String?
        public var readOnly: Bool
        /// Not a mount: a symlink at `target` pointing to `source`.
        public var symlink = false
    }

    /// The container's own cgroups at /sys/fs/cgroup, read-only, as docker shows them: mounted after PID 1 has
    /// taken its cgroup namespace, each hierarchy's root is the container's cgroup (`cat /sys/fs/cgroup/
    /// memory.max` inside tells its limit). cgroup v2: one cgroup2 mount. v1: a tmpfs holding the hierarchies
    /// PID 1 joined (box's controllers, with the host's controller sets: cpu,cpuacct may be one; a hierarchy it
    /// did not join would be rooted at the monitor's cgroup), made read-only last (runc's mountCgroupV1).
    /// Not done: the host's cpu -> cpu,cpuacct style symlinks.
    static func cgroupMounts(_ target: String, _ mode: CgroupMode,
                             mountinfo: String? = nil) -> [MountEntry] {
        let flags = UInt(MS_NOSUID | MS_NODEV | MS_NOEXEC)
        if mode == .unified {
            return [.init(source: "cgroup", target: target, fstype: "cgroup2", flags: flags | UInt(MS_RDONLY), data: nil, readOnly: false)]
        }
        var list: [MountEntry] = [.init(source: "tmpfs", target: target, fstype: "tmpfs", flags: flags, data: "mode=755", readOnly: false)]
        var links: [MountEntry] = []
        for m in Mount.parse(mountinfo ?? Files.readIfPresent("/proc/self/mountinfo") ?? "")
        where m.fsType == "cgroup" && m.mountPoint.hasPrefix("/sys/fs/cgroup/") {
            let name = String(m.mountPoint.dropFirst("/sys/fs/cgroup/".count))
            guard !name.isEmpty, !name.contains("/") else { continue }
            // Only the controllers, from the super options (not release_agent=, noprefix, xattr, ...), and only
            // a hierarchy with one of the controllers box puts PID 1 in.
            let controllers = m.superOptions.split(separator: ",").map(String.init).filter(CgroupV1.knownControllers.contains)
            guard controllers.contains(where: CgroupV1.controllers.contains) else { continue }
            list.append(.init(source: "cgroup", target: target + "/" + name, fstype: "cgroup", flags: flags | UInt(MS_RDONLY),
                              data: controllers.joined(separator: ","), readOnly: false))
            // A co-mounted hierarchy is also reached by each controller's name, as on the host and in docker's
            // containers (runc's mountCgroupV1): cpu -> cpu,cpuacct and cpuacct -> cpu,cpuacct.
            for c in controllers where c != name {
                links.append(.init(source: name, target: target + "/" + c, fstype: nil, flags: 0, data: nil,
                                   readOnly: false, symlink: true))
            }
        }
        list += links
        list.append(.init(source: "tmpfs", target: target, fstype: nil, flags: flags | UInt(MS_REMOUNT | MS_RDONLY),
                          data: "mode=755", readOnly: false))
        return list
    }

    /// Where the kernel's own filesystems go: each must be a plain directory in the image (or absent), never a
    /// symlink that would carry the mount out of the rootfs (runc's checkProcMount).
    public static let systemMountPoints = ["/proc", "/sys", "/dev"]

    /// The container's mounts, in order: runc's default spec (proc before pivot_root, sysfs read-only, a nodev
    /// tmpfs /dev with devpts, shm and mqueue), then the per-container /etc files, then the user's volumes.
    /// `shmSize`: bytes of /dev/shm (--shm-size), docker's 64 MiB if nil; `hostIPC` (--ipc host): the host's
    /// /dev/shm bound in instead, as docker does.
    public static func mounts(rootfs: String, containerDir: String, volumes: [Volume], shmSize: Int64? = nil,
                              hostIPC: Bool = false, cgroups: CgroupMode = CgroupMode.detect()) -> [MountEntry] {
        let nosuidNodevNoexec = UInt(MS_NOSUID | MS_NODEV | MS_NOEXEC)
        var list: [MountEntry] = [
            .init(source: "proc", target: rootfs + "/proc", fstype: "proc", flags: nosuidNodevNoexec, data: nil, readOnly: false),
            .init(source: "tmpfs", target: rootfs + "/dev", fstype: "tmpfs", flags: UInt(MS_NOSUID | MS_NODEV | MS_STRICTATIME),
                  data: "mode=755,size=65536k", readOnly: false),
            .init(source: "devpts", target: rootfs + "/dev/pts", fstype: "devpts", flags: UInt(MS_NOSUID | MS_NOEXEC),
                  data: "newinstance,ptmxmode=0666,mode=0620,gid=5", readOnly: false),
            hostIPC ? MountEntry(source: "/dev/shm", target: rootfs + "/dev/shm", fstype: nil, flags: UInt(MS_BIND | MS_REC) | nosuidNodevNoexec,
                                 data: nil, readOnly: false)
                    : MountEntry(source: "shm", target: rootfs + "/dev/shm", fstype: "tmpfs", flags: nosuidNodevNoexec,
                            data: "mode=1777,size=" + (shmSize.map(String.init) ?? "65536k"), readOnly: false),
            .init(source: "mqueue", target: rootfs + "/dev/mqueue", fstype: "mqueue", flags: nosuidNodevNoexec, data: nil, readOnly: false),
        ]
        // A fresh sysfs, read-only, even with the host's network (a bind of the host's /sys would carry its
        // writable submounts, /sys/fs/cgroup among them); runc mounts it the same way.
        list.append(.init(source: "sysfs", target: rootfs + "/sys", fstype: "sysfs",
                          flags: nosuidNodevNoexec | UInt(MS_RDONLY), data: nil, readOnly: false))
        list += cgroupMounts(rootfs + "/sys/fs/cgroup", cgroups)
        let etcFiles: [MountEntry] = ["hostname", "hosts", "resolv.conf"].map { file in
            .init(source: containerDir + "/" + file, target: rootfs + "/etc/" + file, fstype: nil,
                  flags: UInt(MS_BIND), data: nil, readOnly: false)
        }
        list += etcFiles
        for v in volumes {
            if v.kind == .tmpfs {
                // docker's tmpfs: nosuid, nodev and noexec unless dev or exec is asked for (read-only at once: the
                // C side remounts only binds).
                list.append(.init(source: "tmpfs", target: rootfs + v.container, fstype: "tmpfs",
                                  flags: UInt(MS_NOSUID) | (v.devices ? 0 : UInt(MS_NODEV)) | (v.exec == true ? 0 : UInt(MS_NOEXEC))
                                      | (v.readOnly ? UInt(MS_RDONLY) : 0),
                                  data: v.tmpfsData.flatMap { $0.isEmpty ? nil : $0 }, readOnly: false))
                continue
            }
            // nodev unless asked for (the C side sets it on the bind and every mount below it).
            list.append(.init(source: v.host, target: rootfs + v.container, fstype: nil,
                              flags: UInt(MS_BIND | MS_REC) | (v.devices ? 0 : UInt(MS_NODEV)), data: nil, readOnly: v.readOnly))
        }
        // A volume at /etc would hide the container's own files: they go on top of it again (docker mounts them
        // after the volumes).
        if volumes.contains(where: { $0.container.split(separator: "/").filter { $0 != "." } == ["etc"] }) { list += etcFiles }
        return list
    }
}
