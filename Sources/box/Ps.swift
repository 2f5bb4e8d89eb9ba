import ArgumentParser
import DockerFormat
import Engine

struct Ps: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ps", abstract: "List containers (running ones unless -a)")
    @Flag(name: [.short, .long], help: "Show all containers, not only running ones")
    var all = false
    @Option(name: [.short, .long], help: "Filter output: name, id, status, exited, ancestor, label, network, before, since, volume, health, publish, expose")
    var filter: [String] = []
    @Option(help: "Format output: 'table', 'table TEMPLATE', 'json', or a Go template over .ID .Image .Command .CreatedAt .RunningFor .Ports .State .Status .Size .Names .Labels .Mounts .Networks .LocalVolumes")
    var format: String?
    @Flag(name: [.short, .long], help: "Only display container ids")
    var quiet = false
    @Flag(name: [.short, .long], help: "Show the latest created container (any state)")
    var latest = false
    @Option(name: [.customShort("n"), .customLong("last")], help: "Show the n last created containers (any state)")
    var last: Int?
    @Flag(name: .customLong("no-trunc"), help: "Don't truncate output")
    var noTrunc = false
    @Flag(name: [.short, .long], help: "Display total file sizes (the writable layer's, and with the image's: virtual)")
    var size = false

    static let defaultTable = "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}"
    static let titles: JSONValue = .object([
        ("ID", "CONTAINER ID"), ("Image", "IMAGE"), ("Command", "COMMAND"), ("CreatedAt", "CREATED AT"),
        ("RunningFor", "CREATED"), ("Ports", "PORTS"), ("State", "STATE"), ("Status", "STATUS"), ("Size", "SIZE"),
        ("Names", "NAMES"), ("Labels", "LABELS"), ("Mounts", "MOUNTS"), ("Networks", "NETWORKS"),
        ("LocalVolumes", "LOCAL VOLUMES"), ("Platform", "PLATFORM"),
    ].map { ($0.0, JSONValue.string($0.1)) })

    func run() throws {
        let store = try engine()
        let filters = try ContainerFilter(try ListFilters(filter, accepted: ContainerFilter.keys), store: store)
        let template = try listFormat(format, defaultTable: size && format == nil ? Self.defaultTable + "\t{{.Size}}" : Self.defaultTable)
        var containers = try store.list()
        // docker: -a, -n and -l list containers in any state; a status filter does too.
        let anyState = all || latest || last != nil || filters.matchesAnyState
        if !anyState { containers = containers.filter { $0.state.Running || $0.state.Status == .restarting } }
        containers = containers.filter(filters.includes)
        if let n = latest ? 1 : last, n >= 0 { containers = Array(containers.prefix(n)) }
        if quiet {
            for c in containers { say(noTrunc ? c.id : c.spec.shortID) }
            return
        }
        let now = Timestamp.now().seconds
        let imageSizes = size ? try imageSizes(store) : [:]
        let rows = containers.map { row($0, store: store, now: now, imageSizes: imageSizes) }
        try printListing(template, rows, titles: Self.titles)
    }

    /// One container as docker's formatter sees it (cli/command/formatter/container.go), every field a string.
    func row(_ c: Container, store: ContainerStore, now: Int64, imageSizes: [String: Int64]) -> JSONValue {
        let command = Self.command(c, truncated: !noTrunc)
        let labels = c.spec.Config.Labels.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
        let network = c.spec.HostConfig.NetworkMode
        // docker's formatter: each mount's volume name, else its source, cut to 15 columns unless --no-trunc.
        let mounts = c.spec.mountPoints.map { m -> String in
            let name = m.name ?? (m.host.isEmpty ? m.container : m.host)
            return !noTrunc && name.count > 15 ? String(name.prefix(14)) + "…" : name
        }
        var sizeText = ""
        if size {
            let writable = DiskUsage.size(of: store.layerPath(c.id) + "/diff")
            sizeText = Units.humanSize(writable) + " (virtual \(Units.humanSize(writable + (imageSizes[c.spec.Image] ?? 0))))"
        }
        let ports = (c.spec.HostConfig.PortBindings ?? []).map { "\($0.HostIp.isEmpty ? "0.0.0.0" : $0.HostIp):\($0.HostPort)->\($0.ContainerPort)/tcp" }
        let fields: [(String, JSONValue)] = [
            ("Command", .string(command)),
            ("CreatedAt", .string(ListTime.goString(c.spec.Created))),
            ("ID", .string(noTrunc ? c.id : c.spec.shortID)),
            ("Image", .string(c.spec.Config.Image)),
            ("Labels", .string(labels)),
            ("LocalVolumes", .string("0")),
            ("Mounts", .string(mounts.joined(separator: ","))),
            ("Names", .string(c.name)),
            ("Networks", .string(network.isEmpty || network == "default" ? Network.defaultName : network)),
            ("Platform", .null),
            ("Ports", .string(ports.joined(separator: ", "))),
            ("RunningFor", .string(Units.humanDuration(now - c.spec.Created.seconds) + " ago")),
            ("Size", .string(size ? sizeText : "0B")),
            ("State", .string(c.state.Status.rawValue)),
            ("Status", .string(Self.status(c, now: now))),
        ]
        return .object(fields)
    }

    /// Every image's size, for the virtual size of -s.
    func imageSizes(_ store: ContainerStore) throws -> [String: Int64] {
        var sizes: [String: Int64] = [:]
        for image in try store.images.list() {
            sizes[image.id] = DiskUsage.size(of: (try? store.images.layerDirectories(image)) ?? [])
        }
        return sizes
    }

    /// docker's COMMAND: the path and arguments, an argument with a space in single quotes (the daemon's
    /// list.go), cut to 20 characters unless --no-trunc, then quoted as Go's strconv.Quote does.
    static func command(_ c: Container, truncated: Bool) -> String {
        var command = ([c.spec.Path] + c.spec.Args.map { $0.contains(" ") ? "'\($0)'" : $0 }).joined(separator: " ")
        if truncated && command.count > 20 { command = String(command.prefix(19)) + "…" }
        return goQuote(command)
    }

    /// Go's strconv.Quote, which docker applies to COMMAND: "sh -c 'exit 3'".
    static func goQuote(_ text: String) -> String {
        var out = "\""
        for ch in text.unicodeScalars {
            switch ch {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            default:
                if ch.value < 0x20 || ch.value == 0x7f { out += "\\x" + JSONValue.hex(ch.value, width: 2) } else { out.unicodeScalars.append(ch) }
            }
        }
        return out + "\""
    }

    /// docker's status column: "Up 5 seconds", "Exited (0) 8 seconds ago", "Created".
    static func status(_ c: Container, now: Int64) -> String {
        let s = c.state
        switch s.Status {
        case .running: return "Up " + Units.humanDuration(now - s.StartedAt.seconds)
        case .paused: return "Up " + Units.humanDuration(now - s.StartedAt.seconds) + " (Paused)"
        case .exited: return "Exited (\(s.ExitCode)) " + Units.humanDuration(now - s.FinishedAt.seconds) + " ago"
        case .created: return "Created"
        case .restarting: return "Restarting (\(s.ExitCode)) " + Units.humanDuration(now - s.StartedAt.seconds) + " ago"
        default: return s.Status.rawValue.capitalized
        }
    }
}
