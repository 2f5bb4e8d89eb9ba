import Engine

/// `box inspect` output, shaped like `docker inspect` (field names, order, and nesting), so the templates
/// people copy from docker tutorials work unchanged.
public enum InspectView {
    static func strings(_ a: [String]?) -> JSONValue { a.map { .array($0.map { .string($0) }) } ?? .null }
    static func map(_ m: [String: String]?) -> JSONValue {
        m.map { .object($0.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) }) } ?? .null
    }

    public static func container(_ c: Container, store: ContainerStore) -> JSONValue {
        let s = c.state, spec = c.spec
        let layer = store.layerPath(c.id)
        let dir = store.root.containerDir(c.id)
        let mounts: [JSONValue] = spec.HostConfig.Binds.compactMap { try? Volume(parsing: $0) }.map { v in
            ["Type": "bind", "Source": .string(v.host), "Destination": .string(v.container), "Mode": .string([v.readOnly ? "ro" : nil, v.devices ? "dev" : nil].compactMap { $0 }.joined(separator: ",")),
             "RW": .bool(!v.readOnly), "Propagation": "rprivate"]
        }
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
