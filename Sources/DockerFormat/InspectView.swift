import Engine

/// `box inspect` output, shaped like `docker inspect` (field names, order, and nesting), so the templates
/// people copy from docker tutorials work unchanged.
public enum InspectView {
    static func strings(_ a: [String]?) -> JSONValue { a.map { .array($0.map { .string($0) }) } ?? .null }
    static func map(_ m: [String: String]?) -> JSONValue {
        m.map { .object($0.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) }) } ?? .null
    }

    /// One of docker inspect's Mounts: docker's keys per type (a volume has Name and Driver, a bind rprivate
    /// propagation); a --tmpfs is not one (docker lists it in HostConfig.Tmpfs only).
    static func mountPoint(_ v: Volume) -> JSONValue? {
        let bindMode = [v.readOnly ? "ro" : nil, v.devices ? "dev" : nil].compactMap { $0 }.joined(separator: ",")
        switch v.kind {
        case .bind:
            return ["Type": "bind", "Source": .string(v.host), "Destination": .string(v.container), "Mode": .string(v.mode ?? bindMode),
                    "RW": .bool(!v.readOnly), "Propagation": "rprivate"]
        case .volume:
            return ["Type": "volume", "Name": .string(v.name ?? ""), "Source": .string(v.host), "Destination": .string(v.container),
                    "Driver": "local", "Mode": .string(v.mode ?? ""), "RW": .bool(!v.readOnly), "Propagation": ""]
        case .tmpfs:
            guard v.mode != nil else { return nil }
            return ["Type": "tmpfs", "Source": "", "Destination": .string(v.container), "Mode": "", "RW": .bool(!v.readOnly), "Propagation": ""]
        }
    }

    /// HostConfig.Mounts as docker keeps what --mount said.
    static func mountRequests(_ list: [MountRequest]?) -> JSONValue {
        guard let list else { return .null }
        return .array(list.map { m in
            var entry: [(String, JSONValue)] = [("Type", .string(m.kind)), ("Source", .string(m.source)), ("Target", .string(m.target))]
            if m.readOnly { entry.append(("ReadOnly", true)) }
            if m.kind == "volume", m.noCopy || m.volumeLabels != nil || m.volumeOptions != nil {
                var o: [(String, JSONValue)] = []
                if m.noCopy { o.append(("NoCopy", true)) }
                if let labels = m.volumeLabels { o.append(("Labels", InspectView.map(labels))) }
                if let opts = m.volumeOptions { o.append(("DriverConfig", ["Name": "local", "Options": InspectView.map(opts)])) }
                entry.append(("VolumeOptions", .object(o)))
            }
            if m.kind == "tmpfs", m.tmpfsSize != nil || m.tmpfsMode != nil {
                var o: [(String, JSONValue)] = []
                if let size = m.tmpfsSize { o.append(("SizeBytes", .int(size))) }
                if let mode = m.tmpfsMode { o.append(("Mode", .int(Int64(mode)))) }
                entry.append(("TmpfsOptions", .object(o)))
            }
            return .object(entry)
        })
    }

    public static func container(_ c: Container, store: ContainerStore) -> JSONValue {
        let s = c.state, spec = c.spec
        let layer = store.layerPath(c.id)
        let dir = store.root.containerDir(c.id)
        let mounts: [JSONValue] = spec.mountPoints.compactMap { mountPoint($0) }
        let state: JSONValue = [
            "Status": .string(s.Status.rawValue), "Running": .bool(s.Status == .running), "Paused": .bool(s.Paused),
            "Restarting": false, "OOMKilled": .bool(s.OOMKilled), "Dead": .bool(s.Status == .dead),
            "Pid": .int(Int64(s.Pid)), "ExitCode": .int(Int64(s.ExitCode)), "Error": .string(s.Error),
            "StartedAt": .string(s.StartedAt.rfc3339), "FinishedAt": .string(s.FinishedAt.rfc3339),
        ]
        let network = spec.HostConfig.NetworkMode
        return [
            "Id": .string(c.id),
            "Created": .string(spec.Created.rfc3339),
            "Path": .string(spec.Path),
            "Args": strings(spec.Args),
            "State": state,
            "Image": .string(spec.Image),
            "ResolvConfPath": .string(dir + "/resolv.conf"),
            "HostnamePath": .string(dir + "/hostname"),
            "HostsPath": .string(dir + "/hosts"),
            "LogPath": .string(store.logPath(c.id)),
            "Name": .string("/" + c.name),
            "RestartCount": .int(Int64(s.RestartCount)),
            "Driver": "overlay",
            "Platform": "linux",
            "HostConfig": [
                "Binds": strings(spec.HostConfig.Binds), "NetworkMode": .string(network),
                // named volumes' flags (see MountPlan)
                "Mounts": mountRequests(spec.HostConfig.Mounts), "Tmpfs": map(spec.HostConfig.Tmpfs),
                "VolumesFrom": strings(spec.HostConfig.VolumesFrom),
                "AutoRemove": .bool(spec.HostConfig.AutoRemove), "CapAdd": strings(spec.HostConfig.CapAdd),
                "CapDrop": strings(spec.HostConfig.CapDrop), "Privileged": .bool(spec.HostConfig.Privileged),
                "PidMode": "", "IpcMode": "private", "UTSMode": "",
                "SecurityOpt": strings(spec.HostConfig.SecurityOpt),
                "Memory": .int(spec.HostConfig.Resources?.Memory ?? 0),
                "MemorySwap": .int(spec.HostConfig.Resources?.MemorySwap ?? 0),
                "CpuShares": .int(spec.HostConfig.Resources?.CpuShares ?? 0),
                "NanoCpus": .int(spec.HostConfig.Resources?.NanoCpus ?? 0),
                "CpusetCpus": .string(spec.HostConfig.Resources?.CpusetCpus ?? ""),
                "PidsLimit": .int(spec.HostConfig.Resources?.PidsLimit ?? 0),
                "CgroupParent": "box",
                "Init": .bool(spec.HostConfig.Init == true),
                "RestartPolicy": [
                    "Name": .string(spec.HostConfig.RestartPolicy?.Name ?? "no"),
                    "MaximumRetryCount": .int(Int64(spec.HostConfig.RestartPolicy?.MaximumRetryCount ?? 0)),
                ],
            ],
            "GraphDriver": [
                "Data": [
                    "LowerDir": .string(spec.LayerDirs.reversed().joined(separator: ":")),
                    "MergedDir": .string(layer + "/merged"),
                    "UpperDir": .string(layer + "/diff"),
                    "WorkDir": .string(layer + "/work"),
                ],
                "Name": "overlay",
            ],
            "Mounts": .array(mounts),
            "Config": [
                "Hostname": .string(spec.Config.Hostname), "Domainname": "", "User": .string(spec.Config.User),
                "AttachStdin": .bool(spec.Config.OpenStdin), "AttachStdout": true, "AttachStderr": true,
                "Tty": .bool(spec.Config.Tty), "OpenStdin": .bool(spec.Config.OpenStdin),
                "StdinOnce": .bool(spec.Config.StdinOnce), "Env": strings(spec.Config.Env),
                "Cmd": strings(spec.Config.Cmd), "Image": .string(spec.Config.Image),
                "WorkingDir": .string(spec.Config.WorkingDir), "Entrypoint": strings(spec.Config.Entrypoint),
                "Labels": map(spec.Config.Labels),
            ],
            "NetworkSettings": networkSettings(c, store: store),
            "Capabilities": strings(Capabilities.names(spec.Capabilities)),
        ]
    }

    /// docker's NetworkSettings: the address, gateway and MAC a running container has on its network, and
    /// its published ports ("80/tcp": [{"HostIp": "127.0.0.1", "HostPort": "8080"}]).
    static func networkSettings(_ c: Container, store: ContainerStore) -> JSONValue {
        let s = c.state, mode = c.spec.HostConfig.NetworkMode
        let a = s.Running ? ContainerNetwork.attachment(store, c.id) : nil
        var ports: [(String, JSONValue)] = []
        for p in c.spec.HostConfig.PortBindings ?? [] {
            ports.append(("\(p.ContainerPort)/tcp", s.Running ? [["HostIp": .string(p.HostIp), "HostPort": .string(String(p.HostPort))]] : .null))
        }
        let ip = a.map { JSONValue.string($0.IPAddress.description) } ?? "", gateway = a.map { JSONValue.string($0.Gateway.description) } ?? ""
        let mac = a.map { JSONValue.string($0.MacAddress) } ?? "", prefix = JSONValue.int(Int64(a?.PrefixLen ?? 0))
        let endpoint: JSONValue = [
            "NetworkID": .string(a?.NetworkID ?? ""), "Gateway": gateway, "IPAddress": ip, "IPPrefixLen": prefix,
            "MacAddress": mac,
        ]
        return [
            "Bridge": .string(a?.Bridge ?? ""),
            "SandboxKey": .string(s.Running && mode != "host" ? "/proc/\(s.Pid)/ns/net" : ""),
            "Ports": .object(ports), "Gateway": gateway, "IPAddress": ip, "IPPrefixLen": prefix, "MacAddress": mac,
            "Networks": .object([(a?.Network ?? mode, endpoint)]),
        ]
    }

    public static func image(_ image: Image, store: ImageStore) -> JSONValue {
        let cfg = image.config
        let history: [JSONValue] = (cfg.history ?? []).map {
            ["created": .string($0.created ?? ""), "created_by": .string($0.created_by ?? ""),
             "empty_layer": .bool($0.empty_layer ?? false)]
        }
        return [
            "Id": .string(image.id),
            "RepoTags": strings(image.names),
            "Created": .string(cfg.created ?? ""),
            "Config": [
                "User": .string(cfg.config.User ?? ""), "Env": strings(cfg.config.Env), "Cmd": strings(cfg.config.Cmd),
                "WorkingDir": .string(cfg.config.WorkingDir ?? ""), "Entrypoint": strings(cfg.config.Entrypoint),
                "Labels": map(cfg.config.Labels),
            ],
            "Architecture": .string(cfg.architecture),
            "Os": .string(cfg.os),
            "GraphDriver": [
                "Data": ["LowerDir": .string(((try? store.layerDirectories(image)) ?? []).reversed().joined(separator: ":"))],
                "Name": "overlay",
            ],
            "RootFS": ["Type": "layers", "Layers": strings(cfg.rootfs.diff_ids)],
            "History": .array(history),
        ]
    }
}
