/// Strings the kernel or a container chose (a process's comm, which any process sets with
/// prctl(PR_SET_NAME); paths; names), made safe to print on root's terminal: every C0 control, DEL and C1
/// control becomes "?", as ps(1) shows them. Done once, when the model is built, so the terminal, plain and
/// SVG pictures and the map sent to the classroom all draw the same safe text.
extension String {
    var withoutControls: String {
        var out = String.UnicodeScalarView()
        for s in unicodeScalars {
            let v = s.value
            out.append(v < 0x20 || (0x7f...0x9f).contains(v) ? "?" : s)
        }
        return String(out)
    }
}

extension HostMapModel {
    /// The model with every string in it free of control characters.
    func withoutControls() -> HostMapModel {
        var m = self
        m.bridges = bridges.map {
            var b = $0
            b.network = b.network.withoutControls
            b.device = b.device.withoutControls
            b.subnet = b.subnet.withoutControls
            b.gateway = b.gateway.withoutControls
            return b
        }
        m.containers = containers.map { $0.withoutControls() }
        m.isolated = isolated.map {
            var g = $0
            g.name = g.name.withoutControls
            g.namespaces = g.namespaces.map { $0.withoutControls() }
            g.processes = g.processes.map { $0.withoutControls() }
            return g
        }
        m.services = services.map(\.withoutControls)
        return m
    }
}

extension NamespaceView {
    func withoutControls() -> NamespaceView {
        var v = self
        if case .with(let name) = sharing { v.sharing = .with(name.withoutControls) }
        return v
    }
}

extension ProcessView {
    func withoutControls() -> ProcessView {
        var p = self
        (p.command, p.state, p.children) = (command.withoutControls, state.withoutControls, children.map { $0.withoutControls() })
        return p
    }
}

extension ContainerView {
    func withoutControls() -> ContainerView {
        var c = self
        c.name = name.withoutControls
        c.id = id.withoutControls
        c.status = status.withoutControls
        c.namespaces = namespaces.map { $0.withoutControls() }
        c.processes = processes.map { $0.withoutControls() }
        c.cgroup?.path = cgroup?.path.withoutControls ?? ""
        c.cgroup?.cpuWeight?.file = cgroup?.cpuWeight?.file.withoutControls ?? ""
        var n = network
        n.mode = n.mode.withoutControls
        n.address = n.address?.withoutControls
        n.mac = n.mac?.withoutControls
        n.kernelAddresses = n.kernelAddresses.map(\.withoutControls)
        n.hostVeth = n.hostVeth?.withoutControls
        n.vethMaster = n.vethMaster?.withoutControls
        n.bridge = n.bridge?.withoutControls
        n.subnet = n.subnet?.withoutControls
        n.ports = n.ports.map(\.withoutControls)
        c.network = n
        var f = filesystem
        f.lowerdirs = f.lowerdirs.map(\.withoutControls)
        f.upperdir = f.upperdir.withoutControls
        f.merged = f.merged.withoutControls
        c.filesystem = f
        return c
    }
}
