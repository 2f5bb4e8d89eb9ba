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
    @Argument(help: "Containers (default: all running)")
    var containers: [String] = []

    func run() throws {
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
            for c in list {
                // A stopped container has no cgroup: docker shows it with zeros.
                let now = c.state.Running ? driver.stats(c.spec.cgroup) : CgroupStats(), at = Timestamp.now().unixNanoseconds
                var cpu = 0.0
                if let (before, then) = previous[c.id], at > then, now.cpuNanoseconds >= before.cpuNanoseconds {
                    cpu = Double(now.cpuNanoseconds - before.cpuNanoseconds) / Double(at - then) * 100
                }
                previous[c.id] = (now, at)
                let limit = now.memoryLimit.map { min($0, hostMemory) } ?? hostMemory
                let percent = limit > 0 ? Double(now.memoryBytes) / Double(limit) * 100 : 0
                rows.append([c.spec.shortID, c.name, Units.twoDecimals(cpu) + "%",
                             Units.bytesSize(now.memoryBytes) + " / " + Units.bytesSize(limit), Units.twoDecimals(percent) + "%",
                             String(now.pids)])
            }
            if terminal { writeFully(1, Array("\u{1B}[2J\u{1B}[H".utf8)) }
            say(table(rows))
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
