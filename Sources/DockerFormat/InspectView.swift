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
    public static func mountPoint(_ v: Volume) -> JSONValue? {
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
            "MountLabel": "", "ProcessLabel": "", "AppArmorProfile": "", "ExecIDs": .null,
            "HostConfig": hostConfig(spec),
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
            "Config": config(spec),
            "NetworkSettings": networkSettings(c, store: store),
            "Capabilities": strings(Capabilities.names(spec.Capabilities)),
        ]
    }

    /// docker's HostConfig, every key of it (docker 20.10's 65, and Init and Sysctls when set, as docker's
    /// omitempty ones), with box's values, and docker's zero values where box has nothing of the kind.
    static func hostConfig(_ spec: ContainerSpec) -> JSONValue {
        let h = spec.HostConfig, r = h.Resources ?? Resources()
        let empty: JSONValue = .array([])
        var ports: [(String, JSONValue)] = []
        for p in h.PortBindings ?? [] {
            ports.append(("\(p.ContainerPort)/tcp", [["HostIp": .string(p.HostIp), "HostPort": .string(String(p.HostPort))]]))
        }
        var o: [(String, JSONValue)] = [
            ("Binds", strings(h.Binds.isEmpty ? nil : h.Binds)), ("ContainerIDFile", .string(h.ContainerIDFile ?? "")),
            ("LogConfig", ["Type": .string(h.LogDriver ?? "json-file"), "Config": .object([])]), ("NetworkMode", .string(h.NetworkMode)),
            ("PortBindings", .object(ports)),
            ("RestartPolicy", ["Name": .string(h.RestartPolicy?.Name ?? "no"),
                               "MaximumRetryCount": .int(Int64(h.RestartPolicy?.MaximumRetryCount ?? 0))]),
            ("AutoRemove", .bool(h.AutoRemove)), ("VolumeDriver", ""), ("VolumesFrom", strings(h.VolumesFrom)),
            ("CapAdd", strings(h.CapAdd.isEmpty ? nil : h.CapAdd)), ("CapDrop", strings(h.CapDrop.isEmpty ? nil : h.CapDrop)),
            ("CgroupnsMode", "private"),
            ("Dns", strings(h.Dns ?? [])), ("DnsOptions", strings(h.DnsOptions ?? [])), ("DnsSearch", strings(h.DnsSearch ?? [])),
            ("ExtraHosts", strings(h.ExtraHosts)), ("GroupAdd", strings(h.GroupAdd)),
            ("IpcMode", .string(h.IpcMode ?? "private")), ("Cgroup", ""), ("Links", .null), ("OomScoreAdj", .int(Int64(h.OomScoreAdj ?? 0))),
            ("PidMode", ""), ("Privileged", .bool(h.Privileged)), ("PublishAllPorts", false),
            ("ReadonlyRootfs", .bool(h.ReadonlyRootfs == true)), ("SecurityOpt", strings(h.SecurityOpt)),
            ("UTSMode", .string(h.UTSMode ?? "")), ("UsernsMode", ""), ("ShmSize", .int(h.ShmSize ?? 64 << 20)),
        ]
        if let sysctls = h.Sysctls { o.append(("Sysctls", map(sysctls))) }
        // --mount and --tmpfs (MountPlan), as docker's omitempty keys.
        if let mounts = h.Mounts { o.append(("Mounts", mountRequests(mounts))) }
        if let tmpfs = h.Tmpfs { o.append(("Tmpfs", map(tmpfs))) }
        o += [
            ("Runtime", "box"), ("ConsoleSize", [0, 0]), ("Isolation", ""),
            ("CpuShares", .int(r.CpuShares)), ("Memory", .int(r.Memory)), ("NanoCpus", .int(r.NanoCpus)),
            ("CgroupParent", "box"), ("BlkioWeight", 0), ("BlkioWeightDevice", empty), ("BlkioDeviceReadBps", empty),
            ("BlkioDeviceWriteBps", empty), ("BlkioDeviceReadIOps", empty), ("BlkioDeviceWriteIOps", empty),
            ("CpuPeriod", .int(r.CpuPeriod ?? 0)), ("CpuQuota", .int(r.CpuQuota ?? 0)),
            ("CpuRealtimePeriod", 0), ("CpuRealtimeRuntime", 0),
            ("CpusetCpus", .string(r.CpusetCpus)), ("CpusetMems", .string(r.CpusetMems ?? "")),
            ("Devices", .array((h.Devices ?? []).map { d -> JSONValue in
                ["PathOnHost": .string(d.PathOnHost), "PathInContainer": .string(d.PathInContainer),
                 "CgroupPermissions": .string(d.CgroupPermissions)]
            })), ("DeviceCgroupRules", .null), ("DeviceRequests", .null),
            ("KernelMemory", 0), ("KernelMemoryTCP", 0),
            ("MemoryReservation", .int(r.MemoryReservation ?? 0)), ("MemorySwap", .int(r.MemorySwap)),
            ("MemorySwappiness", r.MemorySwappiness.map { .int($0) } ?? .null),
            ("OomKillDisable", .bool(r.OomKillDisable == true)),
            ("PidsLimit", r.PidsLimit > 0 ? .int(r.PidsLimit) : .null),
            ("Ulimits", .array((h.Ulimits ?? []).map { u -> JSONValue in ["Name": .string(u.Name), "Hard": .int(u.Hard), "Soft": .int(u.Soft)] })),
            ("CpuCount", 0), ("CpuPercent", 0), ("IOMaximumIOps", 0), ("IOMaximumBandwidth", 0),
            // What PID 1 gets (Rootfs): docker shows none for a privileged container.
            ("MaskedPaths", h.Privileged ? .null : strings(Rootfs.maskedPaths)),
            ("ReadonlyPaths", h.Privileged ? .null : strings(Rootfs.readonlyPaths)),
        ]
        if h.Init == true { o.append(("Init", true)) }
        return .object(o)
    }

    /// docker's Config, every key of it (ExposedPorts, Healthcheck, StopSignal and StopTimeout when set, as docker's).
    static func config(_ spec: ContainerSpec) -> JSONValue {
        let c = spec.Config
        var o: [(String, JSONValue)] = [
            ("Hostname", .string(c.Hostname)), ("Domainname", .string(c.Domainname ?? "")), ("User", .string(c.User)),
            ("AttachStdin", .bool(c.OpenStdin)), ("AttachStdout", true), ("AttachStderr", true),
        ]
        if let exposed = c.ExposedPorts { o.append(("ExposedPorts", .object(exposed.map { ($0, JSONValue.object([])) }))) }
        o += [
            ("Tty", .bool(c.Tty)), ("OpenStdin", .bool(c.OpenStdin)), ("StdinOnce", .bool(c.StdinOnce)),
            ("Env", strings(c.Env)), ("Cmd", strings(c.Cmd)),
        ]
        if let test = c.Healthcheck { o.append(("Healthcheck", ["Test": strings(test)])) }
        o += [
            ("Image", .string(c.Image)), ("Volumes", .null), ("WorkingDir", .string(c.WorkingDir)),
            ("Entrypoint", strings(c.Entrypoint)), ("OnBuild", .null), ("Labels", map(c.Labels)),
        ]
        if let signal = c.StopSignal { o.append(("StopSignal", .string(signal))) }
        if let timeout = c.StopTimeout { o.append(("StopTimeout", .int(Int64(timeout)))) }
        return .object(o)
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
        // docker's keys (20.10's), its zero values where box has nothing of the kind (IPv6, endpoints).
        func endpoint(_ a: Attachment?) -> JSONValue {
            let aliases: JSONValue = a?.Aliases.map { JSONValue.array($0.map(JSONValue.string)) } ?? .null
            let gateway = JSONValue.string(a?.Gateway.description ?? ""), address = JSONValue.string(a?.IPAddress.description ?? "")
            let mac = JSONValue.string(a?.MacAddress ?? ""), prefix = JSONValue.int(Int64(a?.PrefixLen ?? 0))
            return [
                "IPAMConfig": .null, "Links": .null, "Aliases": aliases,
                "NetworkID": .string(a?.NetworkID ?? ""), "EndpointID": "", "Gateway": gateway, "IPAddress": address, "IPPrefixLen": prefix,
                "IPv6Gateway": "", "GlobalIPv6Address": "", "GlobalIPv6PrefixLen": 0, "MacAddress": mac, "DriverOpts": .null,
            ]
        }
        // Its first network, then each one `network connect` added (while it runs).
        let extras = s.Running ? NetworkConnect.extras(store, c.id) : []
        return [
            "Bridge": .string(a?.Bridge ?? ""), "SandboxID": "", "HairpinMode": false, "LinkLocalIPv6Address": "",
            "LinkLocalIPv6PrefixLen": 0, "Ports": .object(ports),
            "SandboxKey": .string(s.Running && mode != "host" ? "/proc/\(s.Pid)/ns/net" : ""),
            "SecondaryIPAddresses": .null, "SecondaryIPv6Addresses": .null, "EndpointID": "",
            "Gateway": gateway, "GlobalIPv6Address": "", "GlobalIPv6PrefixLen": 0, "IPAddress": ip, "IPPrefixLen": prefix,
            "IPv6Gateway": "", "MacAddress": mac,
            "Networks": .object([(a?.Network ?? mode, endpoint(a))] + extras.map { ($0.Network, endpoint($0)) }),
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
            "Author": .string(cfg.author ?? ""),
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
