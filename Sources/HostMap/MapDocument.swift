import Engine

/// The picture as blocks of labelled rows of styled spans: built once from a model, then drawn as a terminal
/// picture (boxes and colours), as plain text (a screen reader, a log) or as SVG. The three show the same words.
public struct MapDocument: Sendable, Equatable {
    public enum Role: Sendable, Equatable {
        case plain, dim, strong
        /// A namespace of the thing's own, or one shared with the host, or with another container.
        case own, host, shared
        case good, warn
        /// A bar of `fraction` (0...1): drawn in the terminal and the SVG, left out of plain text (the numbers
        /// beside it say the same).
        case bar(Double)
    }

    public struct Span: Sendable, Equatable {
        public var text: String
        /// What plain text says instead (nil: the same text).
        public var plain: String?
        public var role: Role
        /// New or changed since the moment the map compares with.
        public var marked: Bool

        public init(_ text: String, _ role: Role = .plain, plain: String? = nil, marked: Bool = false) {
            self.text = text
            self.plain = plain
            self.role = role
            self.marked = marked
        }
    }

    public struct Row: Sendable, Equatable {
        /// The row's heading ("namespaces"), empty on a continuation row.
        public var label: String
        public var spans: [Span]
        public init(_ label: String, _ spans: [Span]) {
            self.label = label
            self.spans = spans
        }
        public var text: String { spans.map(\.text).joined() }
    }

    public struct Block: Sendable, Equatable {
        public enum Kind: Sendable, Equatable { case host, container, isolated }
        public var kind: Kind
        public var title: [Span]
        public var rows: [Row]
    }

    public var blocks: [Block]
    /// Said under the picture (what is highlighted, what was left out).
    public var footer: [String]
}

extension MapDocument {
    /// The picture of `model`: the host, then each container (or only the one `focus` names), then the groups of
    /// isolated processes. Throws if `focus` names nothing drawn.
    public init(_ model: HostMapModel, changes: MapChanges = .none, focus: String? = nil) throws {
        var blocks: [Block] = []
        var containers = model.containers
        var isolated = model.isolated
        if let focus {
            containers = model.containers.filter { $0.name == focus || ($0.id.hasPrefix(focus) && focus.count >= 3) }
            isolated = model.isolated.filter { $0.name == focus }
            if containers.isEmpty && isolated.isEmpty {
                let names = model.containers.map(\.name) + model.isolated.map(\.name)
                throw BoxError(.usage, "nothing called \(focus) to focus on" + (names.isEmpty ? " (no containers)" : "; there is: " + names.joined(separator: ", ")), exitCode: 1)
            }
        }
        blocks.append(Self.hostBlock(model, full: focus == nil))
        blocks += containers.map { Self.containerBlock($0, changes: changes) }
        blocks += isolated.map { Self.isolatedBlock($0, changes: changes) }
        var footer: [String] = []
        if focus == nil && model.containers.isEmpty { footer.append("no containers: start one with  box run -d --name c1 busybox sleep 600") }
        if focus == nil && !model.services.isEmpty {
            footer.append("left out: system services systemd keeps in namespaces of their own: " + model.services.joined(separator: ", "))
        }
        if changes.since != nil || changes.baseline != nil {
            footer.append(changes.since.map { "marked: new or changed since \(Self.clock($0))" } ?? "marked: changed since the map started")
        }
        self.init(blocks: blocks, footer: footer)
    }

    static func clock(_ t: Timestamp) -> String {
        let s = t.rfc3339
        guard let tIndex = s.firstIndex(of: "T") else { return s }
        return String(s[s.index(after: tIndex)...].prefix(8)) + " UTC"
    }

    static func hostBlock(_ m: HostMapModel, full: Bool) -> Block {
        var rows: [Row] = []
        let mode: String
        switch m.cgroupMode {
        case .unified: mode = "v2 (unified)"
        case .hybrid: mode = "v1 controllers, v2 beside them (hybrid)"
        case .legacy: mode = "v1 (legacy)"
        }
        rows.append(Row("cgroups", [Span(mode)]))
        let ns = NamespaceKind.allCases.compactMap { k in m.hostNamespaces[k].map { "\(k.rawValue) \($0)" } }
        for start in stride(from: 0, to: ns.count, by: 4) {
            rows.append(Row(start == 0 ? "namespaces" : "", [Span(ns[start..<min(start + 4, ns.count)].joined(separator: "  "), .host)]))
        }
        for b in m.bridges {
            rows.append(Row(rows.contains { $0.label == "bridges" } ? "" : "bridges", [
                Span(b.device, .strong), Span("  \(b.subnet)  gateway \(b.gateway)  network \(b.network)"),
                b.present ? Span("") : Span("  (no such device now)", .warn),
            ]))
        }
        if full && m.bridges.isEmpty { rows.append(Row("bridges", [Span("none yet (box makes one at the first start on it)", .dim)])) }
        return Block(kind: .host, title: [Span("host", .strong)], rows: rows)
    }

    /// The namespaces of its own (or shared with another container), three to a row, then the host's.
    static func namespaceRows(_ namespaces: [NamespaceView]) -> [Row] {
        var own: [[Span]] = []
        var hosts: [String] = []
        for n in namespaces {
            switch n.sharing {
            case .own:
                own.append([Span("\(n.kind.rawValue) ", .dim), Span("\(n.inode)", .own)])
            case .with(let other):
                own.append([Span("\(n.kind.rawValue) ", .dim), Span("\(n.inode)", .shared),
                            Span(" ⇆ \(other)", .shared, plain: " shared with \(other)")])
            case .host:
                hosts.append(n.kind.rawValue)
            }
        }
        var rows: [Row] = []
        for start in stride(from: 0, to: own.count, by: 3) {
            let spans = own[start..<min(start + 3, own.count)].map { $0 }.joined(separator: [Span("  ")])
            rows.append(Row(rows.isEmpty ? "namespaces" : "", Array(spans)))
        }
        if rows.isEmpty { rows.append(Row("namespaces", [Span("none of its own", .dim)])) }
        if !hosts.isEmpty { rows.append(Row("", [Span("the host's: ", .dim), Span(hosts.joined(separator: ", "), .host)])) }
        return rows
    }

    static func processRows(_ trees: [ProcessView], changes: MapChanges) -> [Row] {
        guard !trees.isEmpty else { return [Row("processes", [Span("none", .dim)])] }
        var rows = [Row("processes", [Span("HOST PID".leftPadded(9) + "   PID".leftPadded(8) + "  COMMAND", .dim, plain: "")])]
        for tree in trees {
            var parents: [Int32] = []  // host pids of the ancestors of the row being drawn
            for (depth, p) in tree.flattened() {
                parents = Array(parents.prefix(depth))
                let branch = depth == 0 ? "" : String(repeating: "   ", count: depth - 1) + "└─ "
                var spans = [Span(String(p.hostPid).leftPadded(9), .plain, plain: "host pid \(p.hostPid),"),
                             Span(String(p.nsPid).leftPadded(8), .strong, plain: " pid \(p.nsPid),"),
                             Span("  " + branch, .dim, plain: parents.last.map { " child of host pid \($0), " } ?? " "),
                             Span(p.command, .plain, marked: changes.isNew(p))]
                if p.isInit { spans.append(Span("  ← PID 1", .good, plain: " (PID 1 of its pid namespace)")) }
                if p.state == "T" { spans.append(Span("  stopped", .warn)) }
                if changes.isNew(p) { spans[3].plain = p.command + " (new)" }
                rows.append(Row("", spans))
                parents.append(p.hostPid)
            }
        }
        return rows
    }

    static func bar(_ used: Int64?, of limit: Int64?) -> Span? {
        guard let used, let limit, limit > 0 else { return nil }
        return Span("", .bar(min(1, max(0, Double(used) / Double(limit)))))
    }

    static func cgroupRows(_ c: CgroupView, marked: Bool) -> [Row] {
        var rows: [Row] = []
        var memory: [Span] = []
        if let b = bar(c.memoryUsage, of: c.memoryLimit) { memory += [b, Span(" ")] }
        memory.append(Span(Self.bytes(c.memoryUsage) + (c.memoryLimit.map { " of " + Self.bytes($0) } ?? ", no limit"), marked: marked))
        rows.append(Row("memory", memory))
        var pids: [Span] = []
        if let b = bar(c.pidsCurrent, of: c.pidsLimit) { pids += [b, Span(" ")] }
        pids.append(Span((c.pidsCurrent.map(String.init) ?? "?") + (c.pidsLimit.map { " of \($0)" } ?? ", no limit"), marked: marked))
        rows.append(Row("pids", pids))
        var cpu: [String] = []
        cpu.append(c.cpuQuota.map { "quota " + Self.decimal($0) + " CPU" } ?? "no quota")
        if let w = c.cpuWeight { cpu.append("\(w.file) \(w.value)") }
        if let u = c.cpuUsage { cpu.append("used " + Self.decimal(Double(u) / 1e9) + " s") }
        rows.append(Row("cpu", [Span(cpu.joined(separator: " · "), marked: marked)]))
        rows.append(Row("", [
            c.frozen ? Span("frozen", .warn, marked: marked) : Span("not frozen", .dim),
            Span(" · "),
            c.oomKills > 0 ? Span("\(c.oomKills) killed by the OOM killer", .warn, marked: marked) : Span("no OOM kills", .dim),
            Span(" · "), Span(Self.short(c.path), .dim),
        ]))
        return rows
    }

    static func networkRows(_ n: NetworkView, marked: Bool) -> [Row] {
        if n.mode == "host" { return [Row("network", [Span("the host's network namespace (--network host)", .host)])] }
        if n.mode == "none" { return [Row("network", [Span("lo only (--network none)", .dim)])] }
        if n.mode.hasPrefix("container:") {
            return [Row("network", [Span("the network namespace of \(n.mode.dropFirst(10))", .shared, marked: marked),
                                    Span("  (--network \(n.mode)): same eth0, same ports", .dim)])]
        }
        guard let address = n.address else {
            return [Row("network", [Span(n.mode + ": no address now" + (n.kernelAddresses.isEmpty ? "" : ", the kernel has " + n.kernelAddresses.joined(separator: ", ")), .dim)])]
        }
        var eth = [Span("eth0 ", .dim), Span("\(address)/\(n.prefix ?? 0)", .strong, marked: marked), Span("  \(n.mac ?? "")", .dim)]
        if !n.kernelAddresses.isEmpty && !n.kernelAddresses.contains(address) {
            eth.append(Span("  but the kernel has " + n.kernelAddresses.joined(separator: ", "), .warn))
        }
        var rows = [Row("network", eth)]
        var link = [Span("  ↔ ", .dim, plain: "paired with "), Span(n.hostVeth ?? "?", .strong), Span(" on the host", .dim)]
        if let master = n.vethMaster {
            link += [Span(" ↔ ", .dim, plain: ", enslaved to "), Span(master, .strong)]
        } else {
            link.append(Span("  (not on a bridge now)", .warn))
        }
        link.append(Span("  network \(n.mode)" + (n.subnet.map { " " + $0 } ?? ""), .dim))
        rows.append(Row("", link))
        if !n.ports.isEmpty { rows.append(Row("ports", [Span(n.ports.joined(separator: "  "), marked: marked)])) }
        return rows
    }

    static func filesystemRows(_ f: FilesystemView, marked: Bool) -> [Row] {
        var rows = [Row("merged", [Span(Self.short(f.merged)), f.mounted ? Span("  overlay, mounted", .good) : Span("  not mounted", .dim)])]
        rows.append(Row("upper (rw)", [Span(Self.short(f.upperdir)), Span("  "),
                                  Span("+\(f.added) added  ~\(f.changed) changed  ✕\(f.whiteouts) whiteout" + (f.whiteouts == 1 ? "" : "s"),
                                       f.added + f.changed + f.whiteouts > 0 ? .strong : .dim,
                                       plain: "\(f.added) added, \(f.changed) changed, \(f.whiteouts) deleted (whiteouts)", marked: marked)]))
        for (i, layer) in f.lowerdirs.enumerated() {
            rows.append(Row(i == 0 ? "lower (ro)" : "", [Span(Self.short(layer)), Span(i == 0 ? "  top" : (i == f.lowerdirs.count - 1 ? "  bottom" : ""), .dim)]))
        }
        if f.lowerdirs.isEmpty { rows.append(Row("lower (ro)", [Span("no image layers", .dim)])) }
        return rows
    }

    static func containerBlock(_ c: ContainerView, changes: MapChanges) -> Block {
        let isNew = changes.isNew(c)
        let running = c.status == "running"
        var title = [Span(c.name, .strong, plain: isNew ? c.name : nil, marked: isNew), Span("  \(c.shortID)  ", .dim),
                     Span(c.status, running ? .good : (c.status == "paused" ? .warn : .dim), marked: changes.stateChanged(c))]
        if isNew { title += [Span("  "), Span("new", .dim, plain: "(new)", marked: true)] }
        var rows: [Row] = []
        if running || c.status == "paused" {
            rows += namespaceRows(c.namespaces)
            rows += processRows(c.processes, changes: changes)
            if let cg = c.cgroup { rows += cgroupRows(cg, marked: changes.cgroupChanged(c)) }
            rows += networkRows(c.network, marked: changes.networkChanged(c))
        } else {
            rows.append(Row("", [Span("not running: no processes, no namespaces, no cgroup", .dim)]))
        }
        rows += filesystemRows(c.filesystem, marked: changes.filesChanged(c))
        return Block(kind: .container, title: title, rows: rows)
    }

    static func isolatedBlock(_ g: IsolatedGroup, changes: MapChanges) -> Block {
        let isNew = changes.isNew(g)
        var title = [Span(g.name, .strong, plain: isNew ? g.name : nil, marked: isNew), Span("  namespaces of its own, in no container", .dim)]
        if isNew { title += [Span("  "), Span("new", .dim, plain: "(new)", marked: true)] }
        return Block(kind: .isolated, title: title, rows: namespaceRows(g.namespaces) + processRows(g.processes, changes: changes))
    }

    /// A 64-hex component of a path cut to 12 characters (layer and container ids).
    static func short(_ path: String) -> String {
        path.split(separator: "/", omittingEmptySubsequences: false).map { part in
            part.count == 64 && part.allSatisfy(\.isHexDigit) ? part.prefix(12) + "…" : part
        }.joined(separator: "/")
    }

    static func bytes(_ n: Int64?) -> String {
        guard let n else { return "?" }
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var v = Double(n), i = 0
        while v >= 1024 && i < units.count - 1 { v /= 1024; i += 1 }
        return i == 0 ? "\(n) B" : decimal(v) + " " + units[i]
    }

    /// One decimal place ("1.5"), without Foundation's formatters.
    static func decimal(_ v: Double) -> String {
        let tenths = Int64((v * 10).rounded())
        return "\(tenths / 10).\(abs(tenths % 10))"
    }
}

extension String {
    func leftPadded(_ width: Int) -> String { count >= width ? self : String(repeating: " ", count: width - count) + self }
    func rightPadded(_ width: Int) -> String { count >= width ? self : self + String(repeating: " ", count: width - count) }
}
