#if canImport(Glibc)
import Glibc
#endif
import CSpawn

/// Turns a ContainerSpec into CSpawn's `box_container` and clones PID 1. Everything the child reads is set up
/// here, before clone: the child must not allocate (see spawn.c).
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

    /// PID 1 cloned and joining its cgroups, held back until `start(_:)` (or given up with `abandon(_:)`).
    /// Not copyable: it is started or abandoned exactly once (each closes its descriptors).
    public struct Pending: ~Copyable, Sendable {
        fileprivate var c: box_pending
        public var pid: Int32 { c.pid }
    }

    /// Exit code docker uses for a start that failed: 127 if the command was not found, 126 if it could not be
    /// executed, 125 for any other stage (a mount, a chdir, a capability).
    public static func exitCode(forStage stage: String, errno err: Int32) -> Int32 {
        guard stage.hasPrefix("exec") else { return 125 }
        return err == ENOENT ? 127 : 126
    }

    /// Clones and starts PID 1 at once (a restart, when nothing is left to overlap with the cgroup join).
    public static func start(_ spec: ContainerSpec, rootfs: String, containerDir: String, stdio: Stdio, seccomp: String?,
                             cgroupProcs: [String] = [], cgroupDir: String? = nil, netnsFD: Int32 = -1) throws -> Started {
        try start(try clone(spec, rootfs: rootfs, containerDir: containerDir, stdio: stdio, seccomp: seccomp,
                            cgroupProcs: cgroupProcs, cgroupDir: cgroupDir, netnsFD: netnsFD))
    }

    /// Lets a held PID 1 build its root filesystem (its mounts, pivot_root) while the caller finishes what only
    /// the command needs, the network: PID 1 then waits for `start(_:)` before it execs. Call it once the rootfs
    /// is mounted: PID 1 makes its mount namespace now.
    public static func go(_ pending: inout Pending) {
        box_go_container(&pending.c)
    }

    /// `start` in two halves: `release` lets PID 1 exec, `wait` returns once it has (or throws its failure).
    /// Between them the caller may record what PID 1 does not need, while it execs.
    public static func release(_ pending: inout Pending) {
        box_release_container(&pending.c)
    }

    /// Lets a held PID 1 build its root filesystem (unless `go` did) and exec (unless `release` did); returns
    /// once it has, or throws its failure.
    public static func start(_ pending: consuming Pending) throws -> Started { try wait(pending) }

    public static func wait(_ pending: consuming Pending) throws -> Started {
        var p = pending.c
        var failure = box_failure()
        guard box_await_container(&p, &failure) == 0 else { throw error(failure) }
        return Started(pid: p.pid, pidfd: p.pidfd)
    }

    /// Gives up on a held PID 1 (a later step of the start failed): it exits having run nothing.
    public static func abandon(_ pending: consuming Pending) {
        var p = pending.c
        box_abandon_container(&p)
    }

    /// Clones PID 1, which joins its cgroups and then waits for `go(_:)` (or `start(_:)`): the mounts the caller
    /// makes in the meantime (the rootfs overlay, volume targets) are in the mount namespace it makes when it goes
    /// on, and `netnsFD` may still be being configured until `start(_:)`. With `cgroupDir` (cgroup v2) it is
    /// cloned straight into that cgroup and has nothing to join; `cgroupProcs` are then only the fallback for a
    /// kernel older than 5.7. `seccomp` is the container's compiled filter (Seccomp.filterFile), nil for none.
    public static func clone(_ spec: ContainerSpec, rootfs: String, containerDir: String, stdio: Stdio, seccomp: String?,
                             cgroupProcs: [String] = [], cgroupDir: String? = nil, netnsFD: Int32 = -1) throws -> Pending {
        let volumes = spec.mountPoints
        var user = try UserSpec.resolve(spec.Config.User, layers: spec.LayerDirs)
        for group in spec.HostConfig.GroupAdd ?? [] {  // --group-add
            let gid = try RunSettings.groupID(group, layers: spec.LayerDirs)
            if !user.groups.contains(gid) { user.groups.append(gid) }
        }
        let hostIPC = spec.HostConfig.IpcMode == "host", hostUTS = spec.HostConfig.UTSMode == "host"
        var mounts = Rootfs.mounts(rootfs: rootfs, containerDir: containerDir, volumes: volumes, shmSize: spec.HostConfig.ShmSize,
                                   hostIPC: hostIPC)
        for d in spec.HostConfig.Devices ?? [] {  // --device: the host's node, without nodev (the device rules decide)
            mounts.append(.init(source: d.PathOnHost, target: rootfs + d.PathInContainer, fstype: nil, flags: UInt(MS_BIND),
                                data: nil, readOnly: false))
        }

        var namespaces = Int32(BOX_CLONE_NEWNS | BOX_CLONE_NEWPID | BOX_CLONE_NEWUTS | BOX_CLONE_NEWIPC | BOX_CLONE_NEWCGROUP)
        if spec.HostConfig.NetworkMode != "host" { namespaces |= Int32(BOX_CLONE_NEWNET) }
        if hostUTS { namespaces &= ~Int32(BOX_CLONE_NEWUTS) }  // --uts host: no sethostname either (spawn.c)
        if hostIPC { namespaces &= ~Int32(BOX_CLONE_NEWIPC) }

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
                                   data: m.data.map(strings.c), readonly: m.readOnly ? 1 : 0, symlink: m.symlink ? 1 : 0)
        }

        var process = box_process()
        process.argv = UnsafePointer(argv)
        process.envp = UnsafePointer(envp)
        process.cwd = UnsafePointer(strings.c(spec.Config.WorkingDir))
        process.uid = user.uid
        process.gid = user.gid
        let groups = UnsafeMutablePointer<UInt32>.allocate(capacity: max(1, user.groups.count))
        defer { groups.deallocate() }  // after clone: the child has its own copy
        groups.initialize(from: user.groups, count: user.groups.count)
        process.groups = UnsafePointer(groups)
        process.ngroups = user.groups.count
        process.caps = spec.Capabilities
        process.last_cap = box_cap_last()
        process.no_new_privs = 1
        process.stdin_fd = stdio.stdin
        process.stdout_fd = stdio.stdout
        process.stderr_fd = stdio.stderr
        process.tty = stdio.tty ? 1 : 0
        process.console_socket = stdio.consoleSocket
        // A session keyring of the container's own (runc's "_ses.<id>"; `box exec` joins the same one), and the
        // seccomp filter, loaded last before execve. The child has its own copy of both after clone.
        process.session_keyring = UnsafePointer(strings.c("_ses." + spec.ID))
        let program = try seccomp.map(Seccomp.program) ?? []
        let filter = UnsafeMutableRawPointer.allocate(byteCount: max(8, program.count), alignment: 8)
        defer { filter.deallocate() }
        filter.copyMemory(from: program, byteCount: program.count)
        process.seccomp_filter = UnsafeRawPointer(filter)
        process.seccomp_len = UInt16(program.count / 8)

        var container = box_container()
        container.process = process
        container.rootfs = UnsafePointer(strings.c(rootfs))
        container.user_dev = volumes.contains(where: \.isDev) ? 1 : 0
        container.hostname = UnsafePointer(strings.c(spec.Config.Hostname))
        container.namespaces = namespaces
        container.netns_fd = netnsFD
        container.mounts = UnsafePointer(cMounts)
        container.nmounts = mounts.count
        container.masked_paths = UnsafePointer(masked)
        container.readonly_paths = UnsafePointer(readonly)
        container.cgroup_procs = UnsafePointer(cgroups)
        container.cgroup_fd = cgroupDir.map { open($0, O_RDONLY | O_DIRECTORY | O_CLOEXEC) } ?? -1
        defer { if container.cgroup_fd >= 0 { close(container.cgroup_fd) } }
        container.`init` = spec.HostConfig.Init == true ? 1 : 0
        // docker's run flags PID 1 applies to itself (RunSettings).
        container.domainname = spec.Config.Domainname.map { UnsafePointer(strings.c($0)) }
        let sysctls = RunSettings.sysctlPairs(spec.HostConfig.Sysctls)
        container.sysctls = sysctls.isEmpty ? nil : UnsafePointer(strings.array(sysctls))
        container.readonly_rootfs = spec.HostConfig.ReadonlyRootfs == true ? 1 : 0
        let ulimits = spec.HostConfig.Ulimits ?? []
        let rlimits = UnsafeMutablePointer<box_rlimit>.allocate(capacity: max(1, ulimits.count))
        defer { rlimits.deallocate() }
        for (i, u) in ulimits.enumerated() {
            rlimits[i] = box_rlimit(resource: u.resource, soft: Ulimit.rlim(u.Soft), hard: Ulimit.rlim(u.Hard))
        }
        container.rlimits = UnsafePointer(rlimits)
        container.nrlimits = ulimits.count
        if let adj = spec.HostConfig.OomScoreAdj {
            container.set_oom_score_adj = 1
            container.oom_score_adj = Int32(adj)
        }

        var failure = box_failure()
        var pending = box_pending()
        guard box_clone_container(&container, &pending, &failure) == 0 else { throw error(failure) }
        return Pending(c: pending)  // the child has its own copy of every string: `strings` may go
    }

    /// The failure a child sent back, as `box` reports it (for PID 1, or with `.exec` for `box exec`).
    static func error(_ failure: box_failure, _ where: BoxError.Stage = .start) -> BoxError {
        let stage = withUnsafePointer(to: failure.stage) {
            $0.withMemoryRebound(to: CChar.self, capacity: 496) { String(cString: $0) }
        }
        let code = exitCode(forStage: stage, errno: failure.err)
        if failure.err == ENOEXEC {
            // execve(2) runs no shell: what people meet is a script without its #! line.
            return BoxError(`where`, stage + ": exec format error (a script needs a #! line such as #!/bin/sh;"
                            + " a program must be built for this machine)", exitCode: code)
        }
        // The PATH search failure is already a whole sentence (docker's); strerror would only repeat it.
        return BoxError(`where`, stage, errno: stage.hasPrefix("exec: \"") ? nil : failure.err, exitCode: code)
    }
}
