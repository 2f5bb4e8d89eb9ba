#if canImport(Glibc)
import Glibc
#endif
import DockerFormat
import Engine

/// /containers/…: create, list, inspect and the lifecycle verbs (moby's api/server/router/container).
extension API {
    func containers(_ r: Request, _ parts: [String], _ c: Connection) throws {
        switch (r.method, parts.count, parts.last ?? "") {
        case ("POST", 1, "create"): try create(r, c)
        case ("GET", 1, "json"): try list(r, c)
        case ("GET", 2, "json"): c.json(200, InspectView.container(try store.load(try resolve(parts[0]).id), store: store))
        case ("GET", 2, "logs"): try logs(r, id: parts[0], c)
        case ("GET", 2, "top"): try top(id: parts[0], c)
        case ("POST", 2, "start"): try start(id: parts[0], c)
        case ("POST", 2, "stop"): try stop(r, id: parts[0], c)
        case ("POST", 2, "restart"): try restart(r, id: parts[0], c)
        case ("POST", 2, "kill"): try kill(r, id: parts[0], c)
        case ("POST", 2, "wait"): try wait(r, id: parts[0], c)
        case ("POST", 2, "pause"): try life.pause(try resolve(parts[0])); c.respond(204)
        case ("POST", 2, "unpause"): try life.unpause(try resolve(parts[0])); c.respond(204)
        case ("POST", 2, "rename"): try rename(r, id: parts[0], c)
        case ("POST", 2, "attach"): try attach(r, id: parts[0], c)
        case ("POST", 2, "resize"): try resize(r, id: parts[0], c)
        case ("POST", 2, "exec"): try execCreate(r, id: parts[0], c)
        case ("DELETE", 1, _): try remove(r, id: parts[0], c)
        default:
            throw APIError(404, "page not found: boxd does not serve \(r.method) /containers/\(parts.joined(separator: "/")) (yet)")
        }
    }

    // MARK: create

    /// docker's create body (container.Config plus HostConfig) as box's CreateOptions; what box cannot do is
    /// refused by name rather than ignored.
    func create(_ r: Request, _ c: Connection) throws {
        let body = try r.json()
        guard case .object = body else { throw APIError(400, "the request body must be a JSON object (docker's container config)") }
        guard let image = body["Image"]?.string, !image.isEmpty else { throw APIError(400, "Config.Image is required: which image to create the container from") }
        var o = CreateOptions(image: image)
        o.name = r.query["name"].flatMap { $0.isEmpty ? nil : $0 }
        o.command = body["Cmd"]?.strings ?? []
        if let entrypoint = body["Entrypoint"]?.strings {
            // box takes one entrypoint word, as `--entrypoint` does; the rest of docker's array leads the command.
            o.entrypoint = entrypoint.first ?? ""
            o.command = Array(entrypoint.dropFirst()) + o.command
        }
        o.env = body["Env"]?.strings ?? []
        o.workdir = body["WorkingDir"]?.string.flatMap { $0.isEmpty ? nil : $0 }
        o.user = body["User"]?.string.flatMap { $0.isEmpty ? nil : $0 }
        o.hostname = body["Hostname"]?.string.flatMap { $0.isEmpty ? nil : $0 }
        o.labels = (body["Labels"]?.pairs ?? []).map { "\($0.0)=\($0.1.string ?? "")" }
        o.tty = body["Tty"]?.bool ?? false
        o.interactive = body["OpenStdin"]?.bool ?? false
        if let host = body["HostConfig"], case .object = host {
            o.autoRemove = host["AutoRemove"]?.bool ?? false
            o.volumes = host["Binds"]?.strings ?? []
            if let mode = host["NetworkMode"]?.string, !mode.isEmpty, mode != "default" { o.network = mode }
            if let memory = host["Memory"]?.int, memory > 0 { o.memory = String(memory) }
            if let swap = host["MemorySwap"]?.int, swap != 0 { o.memorySwap = String(swap) }
            if let shares = host["CpuShares"]?.int, shares > 0 { o.cpuShares = shares }
            if let nano = host["NanoCpus"]?.int, nano > 0 { o.cpus = Double(nano) / 1e9 }
            if let set = host["CpusetCpus"]?.string, !set.isEmpty { o.cpusetCpus = set }
            if let pids = host["PidsLimit"]?.int, pids > 0 { o.pidsLimit = pids }
            o.capAdd = host["CapAdd"]?.strings ?? []
            o.capDrop = host["CapDrop"]?.strings ?? []
            o.privileged = host["Privileged"]?.bool ?? false
            o.securityOpt = host["SecurityOpt"]?.strings ?? []
            o.initProcess = host["Init"]?.bool ?? false
            if let policy = host["RestartPolicy"], let name = policy["Name"]?.string, !name.isEmpty, name != "no" {
                let count = policy["MaximumRetryCount"]?.int ?? 0
                o.restart = count > 0 ? "\(name):\(count)" : name
            }
            for (port, bindings) in host["PortBindings"]?.pairs ?? [] {
                guard case .array(let list) = bindings else { continue }
                for b in list {
                    let hostPort = b["HostPort"]?.string ?? ""
                    guard !hostPort.isEmpty else { throw APIError(400, "PortBindings \(port): box needs a host port (it does not pick one)") }
                    let ip = b["HostIp"]?.string ?? ""
                    o.publish.append((ip.isEmpty ? "" : ip + ":") + hostPort + ":" + port)
                }
            }
            o.readOnly = host["ReadonlyRootfs"]?.bool ?? false
            o.tmpfs = (host["Tmpfs"]?.pairs ?? []).map { path, options in
                let text = options.string ?? ""
                return text.isEmpty ? path : path + ":" + text
            }
            o.volumesFrom = host["VolumesFrom"]?.strings ?? []
            o.mounts = try (host["Mounts"]?.elements ?? []).map(API.mountFlag)
            o.devices = try (host["Devices"]?.elements ?? []).map { d in
                guard let path = d["PathOnHost"]?.string, !path.isEmpty else { throw APIError(400, "HostConfig.Devices: PathOnHost is required") }
                let inside = d["PathInContainer"]?.string ?? "", permissions = d["CgroupPermissions"]?.string ?? ""
                return path + ":" + (inside.isEmpty ? path : inside) + (permissions.isEmpty ? "" : ":" + permissions)
            }
            o.sysctls = (host["Sysctls"]?.pairs ?? []).map { "\($0.0)=\($0.1.string ?? "")" }
            o.ulimits = try (host["Ulimits"]?.elements ?? []).map { u in
                guard let name = u["Name"]?.string, let soft = u["Soft"]?.int, let hard = u["Hard"]?.int else {
                    throw APIError(400, "HostConfig.Ulimits: each needs Name, Soft and Hard")
                }
                return "\(name)=\(soft):\(hard)"
            }
            o.addHosts = host["ExtraHosts"]?.strings ?? []
            o.dns = host["Dns"]?.strings ?? []
            o.dnsSearch = host["DnsSearch"]?.strings ?? []
            o.dnsOptions = host["DnsOptions"]?.strings ?? []
            if let shm = host["ShmSize"]?.int, shm > 0 { o.shmSize = String(shm) }
            o.ipc = host["IpcMode"]?.string.flatMap { $0.isEmpty ? nil : $0 }
            o.uts = host["UTSMode"]?.string.flatMap { $0.isEmpty ? nil : $0 }
            o.groupAdd = host["GroupAdd"]?.strings ?? []
            if let adj = host["OomScoreAdj"]?.int, adj != 0 { o.oomScoreAdj = Int(adj) }
            o.logDriver = host["LogConfig"]?["Type"]?.string.flatMap { $0.isEmpty ? nil : $0 }
            if let options = host["LogConfig"]?["Config"], !API.isZero(options) {
                throw APIError(400, "HostConfig.LogConfig.Config (--log-opt) is not supported by boxd: box's json-file log takes no options")
            }
            if let period = host["CpuPeriod"]?.int, period > 0 { o.cpuPeriod = period }
            if let quota = host["CpuQuota"]?.int, quota != 0 { o.cpuQuota = quota }
            o.cpusetMems = host["CpusetMems"]?.string.flatMap { $0.isEmpty ? nil : $0 }
            if let reservation = host["MemoryReservation"]?.int, reservation > 0 { o.memoryReservation = String(reservation) }
            // docker's "unset" is null or -1.
            if let swappiness = host["MemorySwappiness"]?.int, swappiness != -1 { o.memorySwappiness = swappiness }
            o.oomKillDisable = host["OomKillDisable"]?.bool ?? false
            try API.refuseUnhandled(host, handled: API.hostConfigHandled, prefix: "HostConfig.")
        }
        o.stopSignal = body["StopSignal"]?.string.flatMap { $0.isEmpty ? nil : $0 }
        o.stopTimeout = body["StopTimeout"]?.int.map { Int($0) }
        o.domainname = body["Domainname"]?.string.flatMap { $0.isEmpty ? nil : $0 }
        o.expose = (body["ExposedPorts"]?.pairs ?? []).map { $0.0 }
        // `docker run -v /data` (no host side) is an anonymous volume in Config.Volumes, not in Binds.
        for (target, _) in body["Volumes"]?.pairs ?? [] where !o.volumes.contains(where: { API.bindTarget($0) == target }) {
            o.volumes.append(target)
        }
        if body["Healthcheck"]?["Test"]?.strings == ["NONE"] { o.noHealthcheck = true }
        else if let check = body["Healthcheck"], !API.isZero(check) {
            throw APIError(400, "Config.Healthcheck is not supported by boxd (box runs no health checks): only --no-healthcheck")
        }
        try API.refuseUnhandled(body, handled: API.configHandled, prefix: "")
        for (network, endpoint) in body["NetworkingConfig"]?["EndpointsConfig"]?.pairs ?? [] where !API.isZero(endpoint) {
            throw APIError(400, "NetworkingConfig.EndpointsConfig.\(network): per-network settings (aliases, addresses) are not supported by boxd at create: use network connect --alias")
        }
        _ = try o.resources()  // docker's messages for bad limits, before anything is written
        let container: Container
        do { container = try store.create(o) } catch let e as BoxError where e.message.hasPrefix("No such image") {
            throw APIError(404, e.message)
        }
        c.json(201, ["Id": .string(container.id), "Warnings": []])
    }

    // MARK: create's fields

    /// Config fields create maps, or that are the attach's business (AttachStd*, StdinOnce) or Windows'
    /// (ArgsEscaped); any other that is set is refused by name.
    static let configHandled: Set<String> = [
        "Image", "Cmd", "Entrypoint", "Env", "WorkingDir", "User", "Hostname", "Domainname", "Labels", "Tty", "OpenStdin",
        "HostConfig", "NetworkingConfig", "StopSignal", "StopTimeout", "ExposedPorts", "Volumes", "Healthcheck",
        "AttachStdin", "AttachStdout", "AttachStderr", "StdinOnce", "ArgsEscaped",
    ]
    /// HostConfig fields create maps; ContainerIDFile is written by the CLI and ConsoleSize sent again as a resize.
    static let hostConfigHandled: Set<String> = [
        "AutoRemove", "Binds", "NetworkMode", "Memory", "MemorySwap", "CpuShares", "NanoCpus", "CpusetCpus", "PidsLimit",
        "CapAdd", "CapDrop", "Privileged", "SecurityOpt", "Init", "RestartPolicy", "PortBindings", "Mounts",
        "ReadonlyRootfs", "Tmpfs", "VolumesFrom", "Devices", "Sysctls", "Ulimits", "ExtraHosts", "Dns", "DnsSearch",
        "DnsOptions", "ShmSize", "IpcMode", "UTSMode", "GroupAdd", "OomScoreAdj", "LogConfig", "CpuPeriod", "CpuQuota",
        "CpusetMems", "MemoryReservation", "MemorySwappiness", "OomKillDisable", "ContainerIDFile", "ConsoleSize",
    ]

    /// 400 naming the first field of `object` that is set (not null, false, 0, "" or empty) and not `handled`.
    static func refuseUnhandled(_ object: JSONValue, handled: Set<String>, prefix: String) throws {
        for (key, value) in object.pairs where !handled.contains(key) && !isZero(value) {
            throw APIError(400, "\(prefix)\(key) is not supported by boxd (it was set to \(value.compact())): leave it unset")
        }
    }

    /// Go's zero value as the CLI sends it for a flag not given: null, false, 0, "", [], {} or an object of those.
    static func isZero(_ v: JSONValue) -> Bool {
        switch v {
        case .null: return true
        case .bool(let b): return !b
        case .int(let i): return i == 0
        case .double(let d): return d == 0
        case .string(let s): return s.isEmpty
        case .array(let a): return a.isEmpty
        case .object(let o): return o.allSatisfy { isZero($0.1) }
        }
    }

    /// The container side of a Binds entry ("HOST:CONTAINER[:MODE]", or "CONTAINER" alone).
    static func bindTarget(_ bind: String) -> String {
        let parts = bind.split(separator: ":", omittingEmptySubsequences: false)
        return String(parts.count > 1 ? parts[1] : parts[0])
    }

    /// One HostConfig.Mounts entry (moby's mount.Mount) as the `--mount` text box parses (MountPlan).
    static func mountFlag(_ m: JSONValue) throws -> String {
        var fields: [String] = []
        func add(_ key: String, _ value: JSONValue?) { if let s = value?.string, !s.isEmpty { fields.append(key + "=" + s) } }
        add("type", m["Type"])
        add("source", m["Source"])
        add("target", m["Target"])
        if m["ReadOnly"]?.bool == true { fields.append("readonly") }
        add("bind-propagation", m["BindOptions"]?["Propagation"])
        if m["BindOptions"]?["NonRecursive"]?.bool == true { fields.append("bind-nonrecursive") }
        if m["VolumeOptions"]?["NoCopy"]?.bool == true { fields.append("volume-nocopy") }
        for (k, v) in m["VolumeOptions"]?["Labels"]?.pairs ?? [] { fields.append("volume-label=\(k)=\(v.string ?? "")") }
        add("volume-driver", m["VolumeOptions"]?["DriverConfig"]?["Name"])
        for (k, v) in m["VolumeOptions"]?["DriverConfig"]?["Options"]?.pairs ?? [] { fields.append("volume-opt=\(k)=\(v.string ?? "")") }
        if let size = m["TmpfsOptions"]?["SizeBytes"]?.int, size > 0 { fields.append("tmpfs-size=\(size)") }
        if let mode = m["TmpfsOptions"]?["Mode"]?.int, mode > 0 { fields.append("tmpfs-mode=" + String(mode, radix: 8)) }
        let known: [String: Set<String>] = [
            "": ["Type", "Source", "Target", "ReadOnly", "Consistency", "BindOptions", "VolumeOptions", "TmpfsOptions"],
            "BindOptions": ["Propagation", "NonRecursive"], "VolumeOptions": ["NoCopy", "Labels", "DriverConfig"],
            "TmpfsOptions": ["SizeBytes", "Mode"],
        ]
        for (group, keys) in known {
            let object = group.isEmpty ? m : (m[group] ?? .null)
            try refuseUnhandled(object, handled: keys, prefix: "HostConfig.Mounts." + (group.isEmpty ? "" : group + "."))
        }
        return fields.joined(separator: ",")
    }

    // MARK: list

    func list(_ r: Request, _ c: Connection) throws {
        let filters = try Filters(r.query["filters"])
        try filters.check(["name", "id", "status", "label", "ancestor", "exited", "volume"])
        var all = try store.list()
        if !r.flag("all") && filters.values["status"] == nil && filters.values["exited"] == nil {
            all = all.filter { $0.state.Running || $0.state.Status == .restarting }
        }
        let images = (try? store.images.list()) ?? []
        all = all.filter { x in
            filters.allows("name") { x.name.contains($0.hasPrefix("/") ? String($0.dropFirst()) : $0) }
                && filters.allows("id") { x.id.hasPrefix($0) }
                && filters.allows("status") { $0 == x.state.Status.rawValue }
                && filters.allows("exited") { Int32($0) == x.state.ExitCode && x.state.Status == .exited }
                && filters.values["label", default: []].allSatisfy { labelMatches($0, x.spec.Config.Labels) }
                && filters.allows("volume") { wanted in x.spec.mountPoints.contains { [$0.name ?? $0.host, $0.container].contains(wanted) } }
                && filters.allows("ancestor") { wanted in
                    x.spec.Config.Image == wanted || x.spec.Image == wanted || Digest.hex(x.spec.Image).hasPrefix(wanted)
                        || images.contains { $0.id == x.spec.Image && $0.names.contains { $0 == wanted || $0 == wanted + ":latest" } }
                }
        }
        if let limit = r.query["limit"].flatMap(Int.init), limit > 0 { all = Array(all.prefix(limit)) }
        c.json(200, .array(all.map(summary)))
    }

    /// One container as `GET /containers/json` lists it.
    func summary(_ x: Container) -> JSONValue {
        let s = x.state
        let ports: [JSONValue] = (x.spec.HostConfig.PortBindings ?? []).map {
            ["IP": .string($0.HostIp.isEmpty ? "0.0.0.0" : $0.HostIp), "PrivatePort": .int(Int64($0.ContainerPort)),
             "PublicPort": .int(Int64($0.HostPort)), "Type": "tcp"]
        }
        return [
            "Id": .string(x.id), "Names": [.string("/" + x.name)], "Image": .string(x.spec.Config.Image),
            "ImageID": .string(x.spec.Image), "Command": .string(([x.spec.Path] + x.spec.Args).joined(separator: " ")),
            "Created": .int(x.spec.Created.seconds), "Ports": .array(ports),
            "Labels": .object(x.spec.Config.Labels.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) }),
            "State": .string(s.Status.rawValue), "Status": .string(API.status(s)),
            "HostConfig": ["NetworkMode": .string(x.spec.HostConfig.NetworkMode)],
            "NetworkSettings": ["Networks": [:]], "Mounts": .array(x.spec.mountPoints.compactMap(InspectView.mountPoint)),
        ]
    }

    /// docker's status column: "Up 5 seconds", "Exited (0) 8 seconds ago", "Created".
    static func status(_ s: ContainerState) -> String {
        let now = Timestamp.now().seconds
        switch s.Status {
        case .running: return "Up " + Units.humanDuration(now - s.StartedAt.seconds)
        case .paused: return "Up " + Units.humanDuration(now - s.StartedAt.seconds) + " (Paused)"
        case .exited: return "Exited (\(s.ExitCode)) " + Units.humanDuration(now - s.FinishedAt.seconds) + " ago"
        default: return s.Status.rawValue.prefix(1).uppercased() + s.Status.rawValue.dropFirst()
        }
    }

    // MARK: lifecycle

    /// Starts the container. If `docker run` attached before the start, the monitor's first socket (which
    /// sees all of PID 1's output) goes to that attachment; otherwise it is closed once the container runs.
    func start(id: String, _ c: Connection) throws {
        let x = try resolve(id)
        if x.state.Running { c.respond(304); return }
        let socket = try life.start(x)
        var reader = FrameReader()
        var early: [(Frame, [UInt8])] = []
        started: while true {
            while let (type, payload) = reader.next() {
                switch type {
                case .started: break started
                case .failed: close(socket); throw API.startFailure(payload)
                case .stdout, .stderr, .exited: early.append((type, payload))
                default: continue
                }
            }
            guard reader.fill(from: socket) else {
                close(socket)
                throw BoxError(.start, "the container's monitor exited before the container started")
            }
        }
        // The monitor may say "started" just before its state says running: the CLI's next call (the terminal's
        // size, an inspect) must see it running, so the answer waits for the state (2 s at most).
        var tries = 0
        while tries < 200, (try? store.load(x.id))?.state.Status == .created { usleep(10_000); tries += 1 }
        let waiting = attaches.withLock { $0.removeValue(forKey: x.id) }
        if let waiting {
            waiting.deliver(socket: socket, reader: reader, early: early)
        } else {
            close(socket)
        }
        c.respond(204)
    }

    /// The monitor's "failed" frame ("CODE\nmessage") as the engine's error.
    static func startFailure(_ payload: [UInt8]) -> BoxError {
        let parts = String(decoding: payload, as: UTF8.self).split(separator: "\n", maxSplits: 1).map(String.init)
        return BoxError(.start, parts.last ?? "", exitCode: parts.first.flatMap { Int32($0) } ?? 125)
    }

    /// stop's and restart's `t` (absent: the container's --stop-timeout, else 10 s; -1 waits for ever) and
    /// `signal` (docker's stop --signal, API 1.42+; absent: the container's --stop-signal).
    static func stopArguments(_ r: Request) throws -> (timeout: Int?, signal: Int32?) {
        var timeout: Int?
        if let text = r.query["t"] ?? r.query["timeout"], !text.isEmpty {
            guard let t = Int(text), t >= -1 else { throw APIError(400, "invalid value for t: \(text) (seconds, or -1 to wait for ever)") }
            timeout = t
        }
        var signal: Int32?
        if let text = r.query["signal"], !text.isEmpty { signal = try API.signalNumber(text) }
        return (timeout, signal)
    }

    func stop(_ r: Request, id: String, _ c: Connection) throws {
        let x = try resolve(id)
        let (timeout, signal) = try API.stopArguments(r)
        guard try life.stop(x, timeout: timeout, signal: signal) != .notRunning else { c.respond(304); return }
        c.respond(204)
    }

    func restart(_ r: Request, id: String, _ c: Connection) throws {
        let x = try resolve(id)
        let (timeout, signal) = try API.stopArguments(r)
        _ = try life.stop(x, timeout: timeout, signal: signal)
        let socket = try life.start(try store.load(x.id))
        defer { close(socket) }
        _ = try life.waitStarted(socket)
        c.respond(204)
    }

    func kill(_ r: Request, id: String, _ c: Connection) throws {
        let x = try resolve(id)
        let signal = try API.signalNumber(r.query["signal"] ?? "KILL")
        try life.kill(x, signal: signal)
        c.respond(204)
    }

    /// "KILL", "SIGKILL", "9" -> 9.
    static func signalNumber(_ text: String) throws -> Int32 {
        if let n = Int32(text), n > 0 && n < 65 { return n }
        let name = text.uppercased().hasPrefix("SIG") ? String(text.uppercased().dropFirst(3)) : text.uppercased()
        let names: [String: Int32] = ["HUP": SIGHUP, "INT": SIGINT, "QUIT": SIGQUIT, "KILL": SIGKILL, "TERM": SIGTERM,
                                      "USR1": SIGUSR1, "USR2": SIGUSR2, "STOP": SIGSTOP, "CONT": SIGCONT, "WINCH": SIGWINCH,
                                      "ALRM": SIGALRM, "PIPE": SIGPIPE, "CHLD": SIGCHLD, "ABRT": SIGABRT]
        guard let n = names[name] else { throw APIError(400, "invalid signal: \(text)") }
        return n
    }

    func remove(_ r: Request, id: String, _ c: Connection) throws {
        let x = try resolve(id)
        try store.remove(x, force: r.flag("force"), volumes: r.flag("v"))
        execs.withLock { table in table = table.filter { $0.value.containerID != x.id } }
        c.respond(204)
    }

    /// docker wait: the answer's headers go out at once (the CLI posts the wait before the start and blocks
    /// until they come), the status code when the condition holds. Conditions: not-running (default),
    /// next-exit, removed.
    func wait(_ r: Request, id: String, _ c: Connection) throws {
        let x = try resolve(id)
        let condition = r.query["condition"] ?? "not-running"
        guard ["not-running", "next-exit", "removed"].contains(condition) else {
            throw APIError(400, "invalid condition \"\(condition)\": use not-running, next-exit or removed")
        }
        c.startStream(contentType: "application/json")
        let first = x.state.FinishedAt
        var last = x
        var code: Int32?
        while code == nil {
            guard let now = try? store.load(x.id) else {
                // Gone (auto-removed): the code it died with, as its monitor recorded it in the journal.
                let died = store.journal.read().events.last { $0.id == x.id && $0.is(.die) }
                code = died?.exitCode.map(Int32.init) ?? last.state.ExitCode
                break
            }
            last = now
            let ended = !now.state.Running && now.state.Status != .restarting && now.state.Status != .created
            switch condition {
            case "next-exit": if ended && now.state.FinishedAt != first { code = now.state.ExitCode }
            case "removed": break
            default: if !now.state.Running && now.state.Status != .restarting { code = now.state.ExitCode }
            }
            if code == nil {
                if c.peerGone() { return }
                usleep(50_000)
            }
        }
        c.chunk(Array((JSONValue.object([("StatusCode", .int(Int64(code ?? 0)))]).compact() + "\n").utf8))
        c.endStream()
    }

    func rename(_ r: Request, id: String, _ c: Connection) throws {
        guard let name = r.query["name"], !name.isEmpty else { throw APIError(400, "rename needs ?name=NEW") }
        guard let head = name.first, head.isASCII && (head.isLetter || head.isNumber),
              name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "_.-".contains($0)) }) else { throw APIError(400, "Invalid container name (\(name)), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed") }
        let x = try resolve(id)
        try store.root.locked {
            if let owner = try store.list().first(where: { $0.name == name && $0.id != x.id }) {
                throw APIError(409, "Conflict. The container name \"/\(name)\" is already in use by container \"\(owner.id)\". You have to remove (or rename) that container to be able to reuse that name.")
            }
            var current = try store.load(x.id)
            current.spec.Name = name
            try store.saveSpec(current.spec)
        }
        store.journal.record(Event(action: "rename", id: x.id, name: name, image: x.spec.Config.Image, attributes: ["oldName": "/" + x.name]))
        c.respond(204)
    }

    /// The container's terminal size (`docker run -it` sends it at start and on every window change).
    func resize(_ r: Request, id: String, _ c: Connection) throws {
        let x = try resolve(id)
        guard let h = r.query["h"].flatMap(UInt16.init), let w = r.query["w"].flatMap(UInt16.init) else {
            throw APIError(400, "resize needs ?h=ROWS&w=COLUMNS")
        }
        // Without a tty there is nothing to size; before the start, the CLI sizes it again once it runs.
        guard x.spec.Config.Tty, x.state.Running else { c.respond(200); return }
        let socket = try life.connect(x)
        defer { close(socket) }
        Frame.send(socket, .resize, Array("\(h) \(w)".utf8))
        c.respond(200)
    }

    /// docker top: the container's processes (its pid namespace), with the host's pids.
    func top(id: String, _ c: Connection) throws {
        let x = try store.load(try resolve(id).id)
        guard x.state.Running, let ns = HostProcess.namespace(x.state.Pid, .pid) else {
            throw APIError(409, "Container \(x.id) is not running")
        }
        var rows: [JSONValue] = []
        for pid in HostProcess.all().sorted() where HostProcess.namespace(pid, .pid) == ns {
            guard let stat = HostProcess.read(pid) else { continue }
            let status = Files.readIfPresent("/proc/\(pid)/status") ?? ""
            let uid = status.split(separator: "\n").first { $0.hasPrefix("Uid:") }?.split(separator: "\t").dropFirst().first.map(String.init) ?? "?"
            var cmd = HostProcess.commandLine(pid).joined(separator: " ")
            if cmd.isEmpty { cmd = "[" + stat.comm + "]" }
            rows.append([.string(uid), .string(String(pid)), .string(String(stat.ppid)), .string(stat.state), .string(cmd)])
        }
        c.json(200, ["Titles": ["UID", "PID", "PPID", "STAT", "CMD"], "Processes": .array(rows)])
    }
}
