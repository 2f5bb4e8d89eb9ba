#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import DockerFormat
import Engine

struct Stats: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stats",
        abstract: "Live CPU, memory and process counts of running containers, read from their cgroups",
        discussion: "CPU % is CPU time used per second of wall time (200% = two CPUs busy). Ctrl-C stops.")
    @Flag(name: .customLong("no-stream"), help: "Print one sample and exit")
    var noStream = false
    @Flag(name: [.short, .long], help: "Show all containers (default: the running ones); stopped ones show zeros")
    var all = false
    @Flag(name: .customLong("no-trunc"), help: "Show full container ids")
    var noTrunc = false
    @Option(name: .long, help: "Format with a Go template ({{.ID}} {{.Name}} {{.Container}} {{.CPUPerc}} {{.MemUsage}} {{.MemPerc}} {{.PIDs}}), table TEMPLATE, or json")
    var format: String?
    @Argument(help: "Containers (default: all running)")
    var containers: [String] = []

    /// docker's default for stats (`--format table` alone).
    static let defaultTable = "table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.PIDs}}"
    static let titles: JSONValue = ["ID": "CONTAINER ID", "Container": "CONTAINER", "Name": "NAME", "CPUPerc": "CPU %",
                                    "MemUsage": "MEM USAGE / LIMIT", "MemPerc": "MEM %", "PIDs": "PIDS"]

    func run() throws {
        let rowFormat = try format.map { try listFormat($0, defaultTable: Stats.defaultTable) }
        let store = try engine()
        let driver = Cgroups.driver()
        let hostMemory = Stats.hostMemory()
        let terminal = isatty(1) == 1 && !noStream
        var previous: [String: (CgroupStats, Int64)] = [:]
        func sample() throws -> [Container] {
            let list = containers.isEmpty ? try store.list().filter { all || $0.state.Running }
                : try containers.map { try store.resolve($0) }
            for c in list { previous[c.id] = (driver.stats(c.spec.cgroup), Timestamp.now().unixNanoseconds) }
            return list
        }
        _ = try sample()
        while true {
            usleep(noStream ? 500_000 : 1_000_000)
            let list = containers.isEmpty ? try store.list().filter { all || $0.state.Running }
                : try containers.map { try store.resolve($0) }
            var rows = [["CONTAINER ID", "NAME", "CPU %", "MEM USAGE / LIMIT", "MEM %", "PIDS"]]
            var values: [JSONValue] = []
            for (i, c) in list.enumerated() {
                // A stopped container has no cgroup: docker shows it with zeros.
                let now = c.state.Running ? driver.stats(c.spec.cgroup) : CgroupStats(), at = Timestamp.now().unixNanoseconds
                var cpu = 0.0
                if let (before, then) = previous[c.id], at > then, now.cpuNanoseconds >= before.cpuNanoseconds {
                    cpu = Double(now.cpuNanoseconds - before.cpuNanoseconds) / Double(at - then) * 100
                }
                previous[c.id] = (now, at)
                let limit = now.memoryLimit.map { min($0, hostMemory) } ?? hostMemory
                let percent = limit > 0 ? Double(now.memoryBytes) / Double(limit) * 100 : 0
                let id = noTrunc ? c.id : c.spec.shortID
                let row = [id, c.name, Units.twoDecimals(cpu) + "%",
                           Units.bytesSize(now.memoryBytes) + " / " + Units.bytesSize(limit), Units.twoDecimals(percent) + "%",
                           String(now.pids)]
                rows.append(row)
                // docker's Container column is what was asked for: the name or id as typed, else the id.
                let asked = containers.isEmpty ? id : containers[i]
                values.append(["ID": .string(id), "Container": .string(asked), "Name": .string(c.name),
                               "CPUPerc": .string(row[2]), "MemUsage": .string(row[3]), "MemPerc": .string(row[4]),
                               "PIDs": .string(row[5])])
            }
            if terminal { writeFully(1, Array("\u{1B}[2J\u{1B}[H".utf8)) }
            if let rowFormat {
                try printListing(rowFormat, values, titles: Stats.titles)
            } else {
                say(table(rows))
            }
            if noStream { return }
        }
    }

    static func hostMemory() -> Int64 {
        for line in (Files.readIfPresent("/proc/meminfo") ?? "").split(separator: "\n") where line.hasPrefix("MemTotal:") {
            return (Int64(line.split(separator: " ").dropFirst().first ?? "") ?? 0) * 1024
        }
        return 0
    }
}
