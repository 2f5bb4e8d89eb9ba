#if canImport(Glibc)
import Glibc
#endif
import FoundationEssentials

/// Containers under BOX_ROOT/containers: create, find, list, reconcile, remove.
public struct ContainerStore: Sendable {
    public let root: EngineRoot
    public let images: ImageStore
    public let journal: EventJournal
    /// What starts the containers' monitors and the ports' proxies; nil in a host that only reads and
    /// removes (starting a container then fails, saying so).
    public let helper: HelperExecutable?

    public init(root: EngineRoot, helper: HelperExecutable? = nil) {
        self.root = root
        self.helper = helper
        self.images = ImageStore(root: root)
        self.journal = EventJournal(root: root)
    }

    // MARK: files

    /// The helper executable, or the error of a host that has none.
    func helperPath() throws -> String {
        guard let helper else { throw BoxError(.start, "this program cannot start containers: it gave the engine no helper executable") }
        return helper.path
    }

    func specPath(_ id: String) -> String { root.containerDir(id) + "/config.v2.json" }
    func statePath(_ id: String) -> String { root.containerDir(id) + "/state.json" }
    /// Left by `box stop` and `box rm -f`: a container stopped by hand is not restarted by its policy.
    public func stopMarker(_ id: String) -> String { root.containerDir(id) + "/stop-requested" }
    public func logPath(_ id: String) -> String { root.containerDir(id) + "/\(id)-json.log" }
    public func layerPath(_ id: String) -> String { root.overlay + "/" + id }

    /// Atomic always; `durable` (fsync) for the records that matter after a power cut — how a container
    /// ended. A state that only says "starting" or "running" is reconciled from the kernel after a reboot anyway.
    public func saveState(_ id: String, _ state: ContainerState, durable: Bool = true) throws {
        try Files.writeAtomically(statePath(id), try Files.encode(state, pretty: true), durable: durable)
    }

    /// saveState for the container's monitor, its one writer while it lives: swapped with a sibling file kept
    /// for it, so a start makes and frees no inode for its state (Files.replace).
    func saveStateFromMonitor(_ id: String, _ state: ContainerState, durable: Bool = false) throws {
        try Files.replace(statePath(id), try Files.encode(state, pretty: true), sibling: monitorStatePath(id), durable: durable)
    }
    func monitorStatePath(_ id: String) -> String { statePath(id) + ".monitor" }

    /// Rewrites config.v2.json (only `box update` changes a container's spec after create).
    public func saveSpec(_ spec: ContainerSpec) throws {
        try Files.writeAtomically(specPath(spec.ID), try Files.encode(spec, pretty: true))
    }

    /// A container's name, read from its config.v2.json as a JSON tree: the name check of every create and
    /// every lookup by name read all containers' specs, and decoding each whole spec cost 0.1-0.2 ms.
    func specName(_ id: String) -> String? {
        guard let bytes = try? Files.read(specPath(id)),
              case .string(let name)? = (try? JSONValue.parse(bytes: bytes))?["Name"] else { return nil }
        return name
    }

    func loadRaw(_ id: String) throws -> Container {
        Container(spec: try Files.decode(ContainerSpec.self, from: specPath(id)), state: try loadState(id))
    }

    /// The state alone, as recorded (decoding the spec too costs half a millisecond more).
    func loadState(_ id: String) throws -> ContainerState {
        do {
            return try Files.decode(ContainerState.self, from: statePath(id))
        } catch {
            // Once more: a read so slow that the monitor wrote twice meanwhile met the second write in place
            // (it writes by swapping with a sibling, see saveStateFromMonitor). Then the sibling, the record
            // before: after a power cut in the middle of a write, one of the two is whole.
            if let again = try? Files.decode(ContainerState.self, from: statePath(id)) { return again }
            guard let before = try? Files.decode(ContainerState.self, from: monitorStatePath(id)) else { throw error }
            return before
        }
    }

    /// Reads a container and reconciles its state with the kernel's: a container recorded as running whose
    /// processes are gone (the machine rebooted, the monitor was killed) is recorded as exited, and one whose
    /// start died with its monitor before PID 1 ran loses the overlay `box run` mounted for that start.
    public func load(_ id: String) throws -> Container {
        var c = try loadRaw(id)
        if c.state.Running || c.state.Status == .restarting {
            let monitorAlive = HostProcess.isAlive(c.state.MonitorPid, startTime: c.state.MonitorStartTime)
            let pidAlive = HostProcess.isAlive(c.state.Pid, startTime: c.state.PidStartTime)
            // Both gone: read again before recording it. The monitor records how PID 1 ended just before it
            // exits, maybe after the read above (a `box stop` waiting for the end reads in a loop).
            if !monitorAlive && !pidAlive, let again = try? loadState(id), !(again.Running || again.Status == .restarting) {
                c.state = again
            } else if !monitorAlive && !pidAlive {
                c.state.Status = .exited
                c.state.ExitCode = 255
                c.state.Error = "the container's monitor died before it could record how PID 1 ended"
                c.state.FinishedAt = .now()
                c.state.Pid = 0
                Rootfs.unmount(layerPath(id) + "/merged")
                try? saveState(id, c.state)
                journal.record(Event(action: "die", id: id, name: c.name, image: c.spec.Config.Image,
                                     attributes: ["exitCode": "255"]))
            }
        } else if c.state.Status == .created && c.state.MonitorPid > 0
                    && !HostProcess.isAlive(c.state.MonitorPid, startTime: c.state.MonitorStartTime) {
            Rootfs.unmount(layerPath(id) + "/merged")  // not mounted: one umount2 that answers EINVAL
        }
        return c
    }

    public func list() throws -> [Container] {
        try Files.list(root.containers).compactMap { try? load($0) }.sorted { $0.spec.Created > $1.spec.Created }
    }

    /// Every container as the image store sees it (rmi, image prune): which image it was created from.
    public func imageUsers() throws -> [ImageUser] {
        try list().map { ImageUser(image: $0.spec.Image, containerID: $0.id, containerName: $0.name, layerDirs: $0.spec.LayerDirs,
                                 running: $0.state.Running || $0.state.Status == .restarting) }
    }

    /// Finds a container by full id, exact name, or unique id prefix (as docker does).
    public func resolve(_ text: String) throws -> Container {
        let ids = try Files.list(root.containers)
        if ids.contains(text) { return try load(text) }
        let wanted = text.hasPrefix("/") ? String(text.dropFirst()) : text
        for id in ids {
            if specName(id) == wanted {
                return try load(id)
            }
        }
        let matches = text.isEmpty ? [] : ids.filter { $0.hasPrefix(text.lowercased()) }
        if matches.count == 1 { return try load(matches[0]) }
        if matches.count > 1 {
            throw BoxError(.state, "multiple containers match \"\(text)\": use more of the id", exitCode: 1)
        }
        throw BoxError.noSuchContainer(text)
    }

    // MARK: create

    /// Validates `options`, resolves the image and writes a new container in state "created".
    /// Bad input throws before anything is written.
    /// `monitor`: called under the engine lock once the container's spec is decided, before its files are
    /// written (`box run`): it may start the container's monitor and return its pid and start time, which
    /// the new state records as the container's owner (see Lifecycle.forkMonitor).
    public func create(_ options: CreateOptions,
                       monitor: ((Container) throws -> (pid: Int32, startTime: UInt64)?)? = nil) throws -> Container {
        try root.prepare()
        let image: Image
        do {
            if DefaultImage.isNamed(by: options.image) {
                image = try DefaultImage.ensure(images)
            } else {
                _ = try ImageReference(parsing: options.image.hasPrefix("sha256:") ? "x" : options.image)
                image = try images.resolve(options.image)
            }
        } catch var e as BoxError {
            e.exitCode = 125  // docker run's code for "could not even create it"
            throw e
        }
        let layerDirs = try images.layerDirectories(image)
        let imageConfig = image.config.config

        // Command: docker's rule — --entrypoint replaces the image's entrypoint and drops its Cmd.
        let entrypoint: [String]? = options.entrypoint.map { $0.isEmpty ? [] : [$0] } ?? imageConfig.Entrypoint
        let cmd = !options.command.isEmpty ? options.command : (options.entrypoint != nil ? [] : imageConfig.Cmd ?? [])
        let argv = (entrypoint ?? []) + cmd
        guard let path = argv.first else {
            throw BoxError(.create, "no command specified: give one after the image name (box run busybox sh)")
        }

        let env = try ContainerStore.environment(imageConfig.Env ?? ["PATH=\(DefaultImage.defaultPath)"], adding: options.env)

        let workdir = options.workdir ?? (imageConfig.WorkingDir.flatMap { $0.isEmpty ? nil : $0 } ?? "/")
        guard workdir.hasPrefix("/") else {
            throw BoxError(.usage, "the working directory '\(workdir)' is invalid: it needs to be an absolute path")
        }
        let mountPlan = try MountPlan(options)
        let mountRequests = try options.mounts.map(MountRequest.init(parsing:))
        _ = try UserSpec.resolve(options.user ?? imageConfig.User ?? "", layers: layerDirs)
        let ports = try options.publish.map(PortBinding.init(parsing:))
        switch ContainerNetwork.Mode(options.network) {
        case .host, .none:
            if !ports.isEmpty {
                throw BoxError(.usage, options.network == "none"
                    ? "conflicting options: port publishing and --network none (the container has no network to publish)"
                    : "conflicting options: port publishing and --network host (the container's ports are already the host's)")
            }
        case .container(let other):
            _ = try resolve(other)
            if !ports.isEmpty { throw BoxError(.usage, "conflicting options: port publishing and the container type network mode") }
            if options.hostname != nil { throw BoxError(.usage, "conflicting options: hostname and the network mode") }
        case .network(let name):
            if name != Network.defaultName {
                do { _ = try NetworkStore(root: root).get(name) } catch var e as BoxError {
                    e.exitCode = 125  // docker run's code for a daemon error
                    throw e
                }
            }
        }
        let caps = try Capabilities.mask(add: options.capAdd, drop: options.capDrop, privileged: options.privileged)
        let resources = try options.resources()
        let securityOpt = try Seccomp.validate(options.securityOpt)
        let restart = try options.restart.map(RestartPolicy.init(parsing:))
        if let restart, restart.Name != "no", options.autoRemove {
            throw BoxError(.usage, "conflicting options: --restart and --rm (a removed container cannot restart)")
        }
        var labels: [String: String] = [:]
        for label in options.labels {
            let parts = label.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let key = parts.first, !key.isEmpty else { throw BoxError(.usage, "invalid label: \(label)") }
            labels[String(key)] = parts.count > 1 ? String(parts[1]) : ""
        }
        if let name = options.name, !Names.isValid(name) {
            throw BoxError(.usage, "invalid container name \"\(name)\": only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed")
        }
        if let hostname = options.hostname, hostname.isEmpty || hostname.count > 64 || hostname.contains("/") {
            throw BoxError(.usage, "invalid hostname \"\(hostname)\": 1 to 64 characters, no slash")
        }

        return try root.locked {
            var rng = SystemRandomNumberGenerator()
            let id = randomID(using: &rng)
            let taken = Set(try Files.list(root.containers).compactMap { specName($0) })
            var name = options.name ?? Names.random(using: &rng)
            if let wanted = options.name, taken.contains(wanted) {
                let owner = try resolve(wanted)
                throw BoxError(.create, "Conflict. The container name \"/\(wanted)\" is already in use by container \"\(owner.id)\". You have to remove (or rename) that container to be able to reuse that name.")
            }
            while taken.contains(name) { name = Names.random(using: &rng) + "_\(Int.random(in: 1...99, using: &rng))" }

            let hostname = options.hostname ?? String(id.prefix(12))
            var spec = ContainerSpec(
                ID: id, Name: name, Created: .now(), Image: image.id, Path: path, Args: Array(argv.dropFirst()),
                Config: .init(Hostname: hostname, User: options.user ?? imageConfig.User ?? "", Env: env, Cmd: cmd,
                              Entrypoint: entrypoint, Image: options.image, WorkingDir: workdir, Labels: labels,
                              Tty: options.tty, OpenStdin: options.interactive, StdinOnce: options.interactive),
                HostConfig: .init(Binds: options.volumes.filter { $0.contains(":") } /* docker: an anonymous -v is in Config.Volumes */, NetworkMode: options.network, AutoRemove: options.autoRemove,
                                  CapAdd: options.capAdd, CapDrop: options.capDrop, Privileged: options.privileged,
                                  Resources: resources, RestartPolicy: restart, Init: options.initProcess,
                                  PortBindings: ports.isEmpty ? nil : ports, SecurityOpt: securityOpt.isEmpty ? nil : securityOpt,
                                  Mounts: mountRequests.isEmpty ? nil : mountRequests,
                                  Tmpfs: options.tmpfs.isEmpty ? nil : MountPlan.tmpfsMap(options.tmpfs),
                                  VolumesFrom: options.volumesFrom.isEmpty ? nil : options.volumesFrom),
                LayerDirs: layerDirs, Capabilities: caps)
            try RunSettings.fill(&spec, from: options)
            // Volumes last, once nothing else can refuse the container; the ones made here go again if it is not created.
            var newVolumes: [String] = []
            var created = false
            defer { if !created { for volume in newVolumes { try? VolumeStore(root: root).delete(volume) } } }
            spec.MountPoints = try mountPlan.resolve(volumes: VolumeStore(root: root), containers: self, created: &newVolumes)

            var state = ContainerState()
            if let owner = try monitor?(Container(spec: spec, state: state)) {
                state.MonitorPid = owner.pid
                state.MonitorStartTime = owner.startTime
            }
            let dir = root.containerDir(id)
            let spares = Spares(root: root)
            var staged: String?
            do {
                // A removed container's directories where there are spares (see Spares): fewer inodes to make.
                let layer = layerPath(id)
                if !spares.layer(to: layer) {
                    // Root's alone: container root may plant setuid files and device nodes in diff/ (a spare
                    // is such a directory of an earlier container, or one closeToOthers closed).
                    try Files.mkdirs(layer, mode: 0o700)
                    try Files.mkdirs(layer + "/merged")
                }
                for sub in ["diff", "work"] { try Files.mkdirs(layer + "/" + sub) }
                // The directory is written in spare/ and renamed into the store whole: no reader sees it half
                // written, so its files need no rename each.
                let record = try Files.encode(state, pretty: true)
                let files: [(name: String, bytes: [UInt8])] = [
                    ("hostname", Array((spec.Config.Hostname + "\n").utf8)),  // the host's with --uts host
                    ("hosts", Array(Rootfs.hostsFile(hostname: spec.Config.Hostname, name: name, address: "127.0.1.1",
                                                     extra: spec.HostConfig.ExtraHosts).utf8)),
                    ("resolv.conf", Array(RunSettings.resolvConf(dns: spec.HostConfig.Dns, search: spec.HostConfig.DnsSearch,
                                                                 options: spec.HostConfig.DnsOptions).utf8)),
                    ("config.v2.json", try Files.encode(spec, pretty: true)),
                    ("state.json", record),
                    // The sibling the monitor swaps state.json with, made here: it holds this container's record,
                    // never a spare's previous one (loadState may read it).
                    ("state.json.monitor", record),
                ]
                // A --rm container does not outlive a power cut (nothing is left to run or remove after it),
                // so its records need no fsync: 1-2 ms of every `box run --rm`.
                let durable = !options.autoRemove
                let staging = try spares.containerDirectory(for: id)
                staged = staging
                for f in files { try Files.rewrite(staging + "/" + f.name, f.bytes, durable: durable && f.name.hasSuffix(".json")) }
                if rename(staging, dir) != 0 {
                    // containers/ on another filesystem than spare/ (a mount of its own): written there directly,
                    // the records by rename, as readers may already see the directory.
                    guard errno == EXDEV else { throw BoxError.sys(.store, "move \(staging) to \(dir)") }
                    try? Files.removeTree(staging)
                    staged = dir
                    try Files.mkdirs(dir, mode: 0o710)
                    for f in files {
                        if f.name.hasSuffix(".json") {
                            try Files.writeAtomically(dir + "/" + f.name, f.bytes, durable: durable)
                        } else {
                            try Files.rewrite(dir + "/" + f.name, f.bytes)
                        }
                    }
                }
                staged = nil
            } catch {
                if let staged { try? Files.removeTree(staged) }
                try? Files.removeTree(layerPath(id))
                throw error
            }
            if state.MonitorPid > 0 {
                // The monitor forked above makes the cgroups and the network namespace and clones PID 1 meanwhile,
                // then waits for this lock to mount the root filesystem: mounted here, the mount (0.5-1.5 ms of
                // overlayfs's checks of the work directory) is off its path. If it fails, the monitor mounts
                // again and reports the failure as a start's.
                try? Rootfs.mountOverlay(layers: layerDirs, containerLayer: layerPath(id), volatile: options.autoRemove)
            }
            journal.record(Event(action: "create", id: id, name: name, image: options.image))
            created = true
            return Container(spec: spec, state: state)
        }
    }

    /// `base` with `-e` items applied, docker's way: KEY=VALUE replaces KEY; a bare KEY copies the host's value
    /// if it has one and is skipped otherwise.
    static func environment(_ base: [String], adding items: [String]) throws -> [String] {
        var env = base
        for item in items {
            var entry = item
            if !item.contains("=") {
                guard let value = getenv(item) else { continue }
                entry = item + "=" + String(cString: value)
            }
            let key = entry.prefix { $0 != "=" }
            guard !key.isEmpty else { throw BoxError(.usage, "invalid environment variable: \(item)") }
            env.removeAll { $0.prefix { $0 != "=" } == key }
            env.append(entry)
        }
        return env
    }

    // MARK: remove

    /// Created, with a live monitor: `box run` or `box start` is starting it (its monitor is recorded from
    /// create on), and within moments it runs or its start has failed.
    func isStarting(_ c: Container) -> Bool {
        c.state.Status == .created && c.state.MonitorPid > 0
            && HostProcess.isAlive(c.state.MonitorPid, startTime: c.state.MonitorStartTime)
    }

    /// Removes a stopped container: its writable layer, its directory, its socket. With `force`, a running
    /// container is killed first (SIGKILL) and its monitor given time to clean up. With `volumes` (`rm -v`),
    /// its anonymous volumes go too.
    public func remove(_ container: Container, force: Bool, volumes: Bool = false) throws {
        var c = try load(container.id)
        var waited = 0
        while isStarting(c) && waited < 10_000 {  // a starting container is removed as what it becomes
            usleep(2_000)
            waited += 2
            c = try load(c.id)
        }
        if c.state.Running {
            thawIfOrphaned(c)
            guard force else {
                throw BoxError(.remove, "You cannot remove a running container \(c.id). Stop the container before attempting removal or force remove (box rm -f)", exitCode: 1)
            }
            try? Files.touch(stopMarker(c.id))
            do {
                try Lifecycle(store: self).kill(c, signal: SIGKILL)
            } catch {
                // PID 1 has just died and its monitor is cleaning up: waited for below. Anything else fails.
                if HostProcess.isAlive(c.state.Pid, startTime: c.state.PidStartTime) { throw error }
            }
            do {
                c = try Lifecycle(store: self).waitForExit(c, timeout: 10)
            } catch {
                // A --rm container's monitor has taken it out of the store meanwhile: it is removed.
                if !Files.exists(root.containerDir(c.id)) { return }
                throw error
            }
            if c.state.Running {
                throw BoxError(.remove, "container \(c.id) did not die within 10 s of SIGKILL (stuck in the kernel?)")
            }
        }
        let merged = layerPath(c.id) + "/merged"
        Rootfs.unmount(merged)
        if Rootfs.isMounted(merged) {
            throw BoxError(.remove, "\(merged) is still mounted; unmount it (umount -l \(merged)) and try again")
        }
        // A monitor that was killed could not remove the container's cgroup, nor give back its network.
        try? Cgroups.driver().remove(c.spec.cgroup)
        ContainerNetwork.cleanUpAfterMonitor(c, store: self)
        try deleteTrash(try discard(c.spec))
        if volumes { removeAnonymousVolumes(c.spec) }
    }

    /// docker's `rm -v` and `run --rm`: the container's anonymous volumes that no other container mounts
    /// (--volumes-from shares them); named volumes stay.
    func removeAnonymousVolumes(_ spec: ContainerSpec) {
        let volumes = VolumeStore(root: root)
        for v in spec.mountPoints where v.kind == .volume {
            guard let name = v.name, (try? volumes.get(name))?.Anonymous == true else { continue }
            try? removeVolume(name)  // refused while another container uses it
        }
    }

    /// Takes a container whose mounts, cgroup and network are already gone out of the store: its directory and
    /// writable layer are renamed into BOX_ROOT/trash at once (from here on no command sees the container) and
    /// returned, to be deleted by `deleteTrash` — by `box rm` at once, by a `--rm` monitor after it has told
    /// `box run` the exit code. What a crash leaves in trash is deleted by the next `discard`.
    func discard(_ spec: ContainerSpec) throws -> [String] {
        var trash: [String] = []
        try Files.mkdirs(root.trash, mode: 0o700)  // an engine root older than trash/ has none yet
        // The layer first: if it cannot move, the container is still in the store and `box rm` can be retried.
        for (path, kind) in [(layerPath(spec.ID), "layer"), (root.containerDir(spec.ID), "container")] {
            var st = stat()
            guard lstat(path, &st) == 0 else { continue }  // gone already (a half-finished removal)
            let to = root.trash + "/\(kind)-\(spec.ID)"
            try? Files.removeTree(to)
            if rename(path, to) == 0 {
                trash.append(to)
            } else if errno == EXDEV {
                try Files.removeTree(path)  // on another filesystem than trash/: deleted in place, now
            } else {
                throw BoxError.sys(.remove, "move \(path) out of the store")
            }
        }
        unlink(root.socket(spec.ID))
        journal.record(Event(action: "destroy", id: spec.ID, name: spec.Name, image: spec.Config.Image))
        for leftover in (try? Files.list(root.trash)) ?? [] where !leftover.hasSuffix(spec.ID) {
            try? Files.removeTree(root.trash + "/" + leftover)  // a crash's; a concurrent rm's is gone or going anyway
        }
        return trash
    }

    /// Deletes what `discard` moved to trash, keeping what it can as spares for the next containers.
    func deleteTrash(_ trash: [String]) throws {
        let spares = Spares(root: root)
        for path in trash { try spares.keep(path) }
    }
}

/// A docker-style id: 64 random hex digits (containers, networks).
func randomID<G: RandomNumberGenerator>(using rng: inout G) -> String {
    var id = ""
    id.reserveCapacity(64)
    for _ in 0..<4 { id += hex64(rng.next()) }
    return id
}

func hex64(_ v: UInt64) -> String {
    let s = String(v, radix: 16)
    return String(repeating: "0", count: 16 - s.count) + s
}
