#if canImport(Glibc)
import Glibc
#endif
import Engine

/// `_ping`, `version`, `info` and `events` (moby's api/server/router/system).
extension API {
    /// The CLI's first request: it reads API-Version from the headers and negotiates down to it.
    func ping(_ r: Request, _ c: Connection) {
        c.respond(200, contentType: "text/plain; charset=utf-8", body: Array("OK".utf8), headOnly: r.method == "HEAD")
    }

    static func kernelRelease() -> String {
        var u = utsname()
        uname(&u)
        return withUnsafeBytes(of: &u.release) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
    }

    static var architecture: String {
        #if arch(arm64)
        return "arm64"
        #else
        return "amd64"
        #endif
    }

    func version() -> JSONValue {
        let engine: JSONValue = [
            "Name": "Engine", "Version": .string(API.version),
            "Details": ["ApiVersion": .string(API.version), "MinAPIVersion": .string(API.minimumVersion),
                        "Os": "linux", "Arch": .string(API.architecture), "KernelVersion": .string(API.kernelRelease())],
        ]
        return [
            "Platform": ["Name": "boxlab box engine (boxd)"],
            "Components": [engine],
            "Version": "boxd", "ApiVersion": .string(API.version), "MinAPIVersion": .string(API.minimumVersion),
            "GitCommit": "", "GoVersion": "none (Swift)", "Os": "linux", "Arch": .string(API.architecture),
            "KernelVersion": .string(API.kernelRelease()), "BuildTime": "",
        ]
    }

    func info() throws -> JSONValue {
        let all = try store.list()
        let running = all.filter { $0.state.Status == .running }.count
        let paused = all.filter { $0.state.Paused }.count
        let memTotal = Files.readIfPresent("/proc/meminfo")?.split(separator: "\n").first { $0.hasPrefix("MemTotal:") }
            .flatMap { $0.split(separator: " ").dropFirst().first.flatMap { Int64($0) } }.map { $0 * 1024 } ?? 0
        var host = [CChar](repeating: 0, count: 256)
        gethostname(&host, 255)
        let cgroupVersion = CgroupMode.detect() == .unified ? "2" : "1"
        return [
            "ID": "", "Containers": .int(Int64(all.count)), "ContainersRunning": .int(Int64(running)),
            "ContainersPaused": .int(Int64(paused)), "ContainersStopped": .int(Int64(all.count - running - paused)),
            "Images": .int(Int64((try? store.images.list().count) ?? 0)),
            "Driver": "overlay2", "DriverStatus": [["Backing Filesystem", "extfs"]],
            "DockerRootDir": .string(store.root.path),
            "MemoryLimit": true, "SwapLimit": true, "CpuCfsPeriod": true, "CpuCfsQuota": true, "CPUShares": true,
            "CPUSet": true, "PidsLimit": true, "IPv4Forwarding": true, "Debug": false,
            "NFd": .int(Int64((try? Files.list("/proc/self/fd").count) ?? 0)),
            "SystemTime": .string(Timestamp.now().rfc3339), "LoggingDriver": "json-file",
            "CgroupDriver": "cgroupfs", "CgroupVersion": .string(cgroupVersion),
            "KernelVersion": .string(API.kernelRelease()), "OperatingSystem": "boxlab (box engine)", "OSType": "linux",
            "Architecture": .string(API.architecture == "amd64" ? "x86_64" : "aarch64"),
            "NCPU": .int(Int64(sysconf(Int32(_SC_NPROCESSORS_ONLN)))), "MemTotal": .int(memTotal),
            "Name": .string(String(decoding: host.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)), "ServerVersion": .string(API.version),
            "Labels": [], "ExperimentalBuild": false, "LiveRestoreEnabled": true,
            "DefaultRuntime": "box", "Runtimes": ["box": ["path": .string(store.helper?.path ?? "box")]],
            "SecurityOptions": ["name=seccomp,profile=builtin"],
            "Plugins": ["Volume": ["local"], "Network": ["bridge", "host", "none"], "Log": ["json-file"]],
            "Warnings": [],
        ]
    }

    /// docker events: the engine's journal as docker's messages, streamed (followed until the client leaves, or
    /// up to `until`). Filters: type, event, container, image.
    func events(_ r: Request, _ c: Connection) throws {
        let filters = try Filters(r.query["filters"])
        try filters.check(["type", "event", "container", "image", "label"])
        func time(_ key: String) throws -> Timestamp? {
            guard let text = r.query[key], !text.isEmpty else { return nil }
            guard let t = Timestamp.parse(text) else { throw APIError(400, "invalid \(key) \"\(text)\": use Unix seconds or RFC 3339") }
            return t
        }
        let since = try time("since"), until = try time("until")
        func wanted(_ e: Event) -> Bool {
            filters.allows("type") { $0 == e.type }
                && filters.allows("event") { e.action == $0 || e.action.hasPrefix($0 + ":") }
                && filters.allows("container") { e.id == $0 || e.id.hasPrefix($0) || e.name == $0 }
                && filters.allows("image") { e.image == $0 }
                && filters.allows("label") { _ in false }
        }
        c.startStream(contentType: "application/json")
        var offset = 0
        var first = true
        while true {
            // The first read starts at `since` (or now, without it); later ones at the journal's end.
            let batch = store.journal.read(since: first ? (since ?? Timestamp.now()) : nil, until: until, from: offset)
            if first && since == nil {
                offset = batch.end
            } else {
                for e in batch.events where wanted(e) {
                    if !c.chunk(Array((API.message(e).compact(escapeHTML: false) + "\n").utf8)) { return }
                }
                offset = batch.end
            }
            first = false
            if let until, !(Timestamp.now() < until) { break }
            if c.peerGone() { return }
            usleep(100_000)
        }
        c.endStream()
    }

    /// One event as docker's events/message JSON.
    static func message(_ e: Event) -> JSONValue {
        var attributes = e.attributes
        if let name = e.name { attributes["name"] = name }
        if let image = e.image { attributes["image"] = image }
        let action = e.is(.execStart) ? "exec_start: " + (e.attributes["command"] ?? "") : e.action
        return [
            "status": .string(action), "id": .string(e.id), "from": .string(e.image ?? ""),
            "Type": .string(e.type), "Action": .string(action),
            "Actor": ["ID": .string(e.id), "Attributes": .object(attributes.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) })],
            "scope": "local", "time": .int(e.time.seconds), "timeNano": .int(e.time.unixNanoseconds),
        ]
    }
}
