#if canImport(Glibc)
import Glibc
#endif
import CSpawn

/// Turns a ContainerSpec into CSpawn's `box_container` and clones PID 1. All memory the child touches is
/// allocated here, before clone: the CLONE_VM child must not allocate.
public enum Spawner {
    public struct Stdio: Sendable {
        public var stdin: Int32, stdout: Int32, stderr: Int32
        public var tty: Bool
        /// With a tty: the socket on which the child sends back the master of a pty it opened in the
        /// container's own devpts (its slave becomes stdio; stdin/stdout/stderr are then ignored).
        public var consoleSocket: Int32
        public init(stdin: Int32, stdout: Int32, stderr: Int32, tty: Bool, consoleSocket: Int32 = -1) {
            self.stdin = stdin; self.stdout = stdout; self.stderr = stderr; self.tty = tty
            self.consoleSocket = consoleSocket
        }
    }

    public struct Started: Sendable {
        public var pid: Int32
        public var pidfd: Int32
    }

    /// Exit code docker uses for a start that failed: 127 if the command was not found, 126 if it could not be
    /// executed, 125 for any other stage (a mount, a chdir, a capability).
    public static func exitCode(forStage stage: String, errno err: Int32) -> Int32 {
        guard stage.hasPrefix("exec") else { return 125 }
        return err == ENOENT ? 127 : 126
    }

    public static func start(_ spec: ContainerSpec, rootfs: String, containerDir: String, stdio: Stdio,
                             cgroupProcs: [String] = [], netnsFD: Int32 = -1) throws -> Started {
        let volumes = try spec.HostConfig.Binds.map(Volume.init(parsing:))
        let user = try UserSpec.resolve(spec.Config.User, layers: spec.LayerDirs)
        let mounts = Rootfs.mounts(rootfs: rootfs, containerDir: containerDir, volumes: volumes)

        var namespaces = Int32(BOX_CLONE_NEWNS | BOX_CLONE_NEWPID | BOX_CLONE_NEWUTS | BOX_CLONE_NEWIPC | BOX_CLONE_NEWCGROUP)
        if spec.HostConfig.NetworkMode != "host" { namespaces |= Int32(BOX_CLONE_NEWNET) }

        let strings = CStrings()
        defer { strings.free() }
        let argv = strings.array([spec.Path] + spec.Args)
        let envp = strings.array(spec.Config.Env)
        let masked = strings.array(Rootfs.maskedPaths)
        let readonly = strings.array(Rootfs.readonlyPaths)
        let cgroups = strings.array(cgroupProcs)
        let cMounts = UnsafeMutablePointer<box_mount>.allocate(capacity: max(1, mounts.count))
        defer { cMounts.deallocate() }
        for (i, m) in mounts.enumerated() {
            cMounts[i] = box_mount(source: strings.c(m.source), target: strings.c(m.target),
                                   fstype: m.fstype.map(strings.c), flags: m.flags,
                                   data: m.data.map(strings.c), readonly: m.readOnly ? 1 : 0)
        }

        var process = box_process()
        process.argv = UnsafePointer(argv)
        process.envp = UnsafePointer(envp)
        process.cwd = UnsafePointer(strings.c(spec.Config.WorkingDir))
        process.uid = user.uid
        process.gid = user.gid
        process.caps = spec.Capabilities
        process.last_cap = box_cap_last()
        process.no_new_privs = 1
        process.stdin_fd = stdio.stdin
        process.stdout_fd = stdio.stdout
        process.stderr_fd = stdio.stderr
        process.tty = stdio.tty ? 1 : 0
        process.console_socket = stdio.consoleSocket

        var container = box_container()
        container.process = process
        container.rootfs = UnsafePointer(strings.c(rootfs))
        container.hostname = UnsafePointer(strings.c(spec.Config.Hostname))
        container.namespaces = namespaces
        container.netns_fd = netnsFD
        container.mounts = UnsafePointer(cMounts)
        container.nmounts = mounts.count
        container.masked_paths = UnsafePointer(masked)
        container.readonly_paths = UnsafePointer(readonly)
        container.cgroup_procs = UnsafePointer(cgroups)
        container.`init` = spec.HostConfig.Init == true ? 1 : 0

        var failure = box_failure()
        var pidfd: Int32 = -1
        let pid = box_spawn_container(&container, &pidfd, &failure)
        guard pid > 0 else {
            let stage = withUnsafePointer(to: failure.stage) {
                $0.withMemoryRebound(to: CChar.self, capacity: 496) { String(cString: $0) }
            }
            // The PATH search failure is already a whole sentence (docker's); strerror would only repeat it.
            let errno: Int32? = stage.hasPrefix("exec: \"") ? nil : failure.err
            throw BoxError(.start, stage, errno: errno, exitCode: exitCode(forStage: stage, errno: failure.err))
        }
        return Started(pid: pid, pidfd: pidfd)
    }
}

/// C strings that live until `free()`: the child reads them after clone, so they must outlive the call.
final class CStrings {
    private var owned: [UnsafeMutablePointer<CChar>] = []
    private var arrays: [UnsafeMutablePointer<UnsafePointer<CChar>?>] = []

    func c(_ s: String) -> UnsafePointer<CChar> {
        let p = strdup(s)!
        owned.append(p)
        return UnsafePointer(p)
    }

    /// A NULL-terminated array of C strings.
    func array(_ items: [String]) -> UnsafeMutablePointer<UnsafePointer<CChar>?> {
        let a = UnsafeMutablePointer<UnsafePointer<CChar>?>.allocate(capacity: items.count + 1)
        for (i, s) in items.enumerated() { a[i] = c(s) }
        a[items.count] = nil
        arrays.append(a)
        return a
    }

    func free() {
        owned.forEach { Glibc.free($0) }
        arrays.forEach { $0.deallocate() }
        owned = []
        arrays = []
    }
}
