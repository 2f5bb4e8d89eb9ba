import ArgumentParser
import DockerFormat
import Engine

struct VolumeLs: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ls", abstract: "List volumes", aliases: ["list"])

    @Flag(name: .shortAndLong, help: "Only display volume names")
    var quiet = false
    @Option(name: .shortAndLong, help: "Filter output: dangling=true|false, name=SUBSTRING, label=KEY[=VALUE], driver=local")
    var filter: [String] = []
    @Option(help: "Format the output with a Go template ({{.Name}} {{.Driver}} {{.Mountpoint}} {{.Labels}} {{.Scope}}; 'table …' adds a header)")
    var format: String?
    @OptionGroup(title: refusedTitle) var refused: VolumeLsRefused

    func run() throws {
        try refused.check()
        let containerStore = try engine()
        let store = VolumeStore(root: containerStore.root)
        let containers = try containerStore.list()
        let volumes = try store.list().filter {
            try VolumeStore.matches($0, filters: filter, inUse: !containerStore.volumeUsers($0.Name, in: containers).isEmpty)
        }
        if quiet { return volumes.forEach { say($0.Name) } }
        guard let format else {
            return say(table([["DRIVER", "VOLUME NAME"]] + volumes.map { [$0.Driver, $0.Name] }))
        }
        // docker's formatter: "table" adds the header, \t and \n as typed are a tab and a newline.
        let isTable = format.hasPrefix("table")
        let text = String(format.dropFirst(isTable ? 5 : 0)).trimmingSpaces.unescapingTabsAndNewlines
        let template = try FormatTemplate(text)
        var lines: [String] = []
        if isTable {
            lines.append(try template.render(["Name": "VOLUME NAME", "Driver": "DRIVER", "Mountpoint": "MOUNTPOINT",
                                              "Labels": "LABELS", "Scope": "SCOPE", "Links": "LINKS", "Size": "SIZE"]))
        }
        for v in volumes {
            let labels = (v.Labels ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
            lines.append(try template.render(["Name": .string(v.Name), "Driver": .string(v.Driver), "Mountpoint": .string(store.dataPath(v.Name)),
                                              "Labels": .string(labels), "Scope": "local", "Links": "N/A", "Size": "N/A"]))
        }
        say(isTable ? table(lines.map { $0.split(separator: "\t", omittingEmptySubsequences: false).map(String.init) }) : lines.joined(separator: "\n"))
    }
}

extension String {
    var trimmingSpaces: String {
        var s = Substring(self)
        while s.first == " " { s.removeFirst() }
        while s.last == " " { s.removeLast() }
        return String(s)
    }

    /// docker's formatter: `\t` and `\n` typed in a --format are a tab and a newline.
    var unescapingTabsAndNewlines: String {
        var out = "", escaped = false
        for c in self {
            if escaped {
                out += c == "t" ? "\t" : c == "n" ? "\n" : "\\" + String(c)
                escaped = false
            } else if c == "\\" {
                escaped = true
            } else {
                out.append(c)
            }
        }
        return escaped ? out + "\\" : out
    }
}

struct VolumeLsRefused: RefusedFlags {
    @Flag(help: "box has no swarm: its volumes are local directories, not cluster (CSI) volumes")
    var cluster = false
}
