#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import DockerFormat
import Engine

struct System: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "system",
        abstract: "Manage the engine itself", subcommands: [SystemDf.self, SystemPrune.self, Info.self, Events.self])
}

struct SystemPrune: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prune",
        abstract: "Remove stopped containers, unused networks, and what a killed engine left behind",
        discussion: """
        Leftovers are writable layers, mounts, cgroups and sockets that belong to no container (a monitor killed \
        with SIGKILL, a crash), and the temp files of a killed commit, load or save. Networks no container uses go \
        too, as with docker, except the default one. With --all: also every image no container was created from, \
        and the default network `bridge` when unused (box makes it again at the next start on it), so that an \
        engine root can be left with nothing of it on the host.
        """)
    @Flag(name: [.short, .long], help: "Also remove unused images and the default network")
    var all = false
    @Flag(name: [.short, .long], help: "Do not ask for confirmation")
    var force = false
    @Flag(help: "Also remove the anonymous volumes no container uses")
    var volumes = false
    @Option(help: "Refused: box's system prune takes no filters (label=, until=); prune one kind with its own verb (box volume prune --filter)")
    var filter: [String] = []

    func run() throws {
        if !filter.isEmpty {
            throw BoxError(.usage, "--filter: box's system prune takes no filters (label=, until=); prune one kind with its own verb (box volume prune --filter)", exitCode: 125)
        }
        let store = try engine()
        let what = all ? "all stopped containers, all networks and images not used by at least one container, and any leftovers of crashed ones"
                       : "all stopped containers, all networks not used by at least one container, and any leftovers of crashed ones"
        guard try confirmed(force: force, removes: what, verb: "box system prune") else { return }
        let report = try Prune(store: store).run()
        if !report.containers.isEmpty { say("Deleted Containers:\n" + report.containers.joined(separator: "\n") + "\n") }
        let networks = try NetworkStore(root: store.root).prune(includingDefault: all)
        if !networks.isEmpty { say("Deleted Networks:\n" + networks.joined(separator: "\n") + "\n") }
        if volumes {
            let (names, _) = try store.pruneVolumes(all: false) { _ in true }
            if !names.isEmpty { say("Deleted Volumes:\n" + names.joined(separator: "\n") + "\n") }
        }
        if all {
            let images = try ImagePrune(store: store.images).run(all: true, users: try store.imageUsers())
            if !images.lines.isEmpty { say("Deleted Images:\n" + images.lines.joined(separator: "\n") + "\n") }
        }
        if !report.leftovers.isEmpty { say("Cleaned up:\n" + report.leftovers.joined(separator: "\n") + "\n") }
        say("\(report.containers.count) containers, \(networks.count) networks and \(report.leftovers.count) leftovers removed")
    }
}

struct SystemDf: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "df",
        abstract: "Show disk usage: images, containers, local volumes, build cache",
        discussion: """
        Sizes are counted as docker counts them: the bytes of the files of each unpacked layer (a layer shared by \
        several images once in the total), and of each container's writable layer.
        """)
    @Flag(name: [.short, .long], help: "Show detailed information on space usage")
    var verbose = false
    @Option(help: "Format output: 'table', 'table TEMPLATE', 'json', or a Go template over .Type .TotalCount .Active .Size .Reclaimable")
    var format: String?

    func run() throws {
        let store = try engine()
        let images = try store.images.list()
        let containers = try store.list()
        var users: [String: Int] = [:]
        for c in containers { users[c.spec.Image, default: 0] += 1 }
        // Each layer's size once, and how many images have it.
        var layerSize: [String: Int64] = [:], layerImages: [String: Int] = [:]
        for image in images {
            for (diffID, dir) in zip(image.config.rootfs.diff_ids, (try? store.images.layerDirectories(image)) ?? []) {
                if layerSize[diffID] == nil { layerSize[diffID] = DiskUsage.size(of: dir) }
                layerImages[diffID, default: 0] += 1
            }
        }
        let total = layerSize.values.reduce(0, +)
        func imageSize(_ image: Image) -> (size: Int64, shared: Int64) {
            var size: Int64 = 0, shared: Int64 = 0
            for diffID in Set(image.config.rootfs.diff_ids) {
                size += layerSize[diffID] ?? 0
                if (layerImages[diffID] ?? 0) > 1 { shared += layerSize[diffID] ?? 0 }
            }
            return (size, shared)
        }
        var used: Int64 = 0
        for image in images where users[image.id] != nil { let s = imageSize(image); used += s.size - s.shared }
        let rw = Dictionary(uniqueKeysWithValues: containers.map { ($0.id, DiskUsage.size(of: store.layerPath($0.id) + "/diff")) })
        let running = containers.filter { $0.state.Running }
        let containersSize = rw.values.reduce(0, +)
        let idle = containers.filter { !$0.state.Running }.reduce(Int64(0)) { $0 + (rw[$1.id] ?? 0) }
        func reclaimable(_ bytes: Int64, of total: Int64) -> String {
            total > 0 ? "\(Units.humanSize(bytes, precision: 4)) (\(bytes * 100 / total)%)" : Units.humanSize(bytes, precision: 4)
        }
        if !verbose {
            let counts: [(String, Int, Int, Int64, String)] = [
                ("Images", images.count, images.filter { users[$0.id] != nil }.count, total, reclaimable(total - used, of: total)),
                ("Containers", containers.count, running.count, containersSize, reclaimable(idle, of: containersSize)),
                ("Local Volumes", 0, 0, 0, "0B"),
                ("Build Cache", 0, 0, 0, "0B"),
            ]
            let rows: [JSONValue] = counts.map { row in
                .object([("Active", .string(String(row.2))), ("Reclaimable", .string(row.4)),
                         ("Size", .string(Units.humanSize(row.3, precision: 4))), ("TotalCount", .string(String(row.1))),
                         ("Type", .string(row.0))])
            }
            let titles: JSONValue = .object([("Type", "TYPE"), ("TotalCount", "TOTAL"), ("Active", "ACTIVE"),
                                             ("Size", "SIZE"), ("Reclaimable", "RECLAIMABLE")])
            let template = try listFormat(format, defaultTable: "table {{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}")
            return try printListing(template, rows, titles: titles)
        }
        let now = Timestamp.now().seconds
        var imageLines = ["REPOSITORY\tTAG\tIMAGE ID\tCREATED\tSIZE\tSHARED SIZE\tUNIQUE SIZE\tCONTAINERS"]
        for image in images {
            let name = image.names.first ?? "<none>:<none>"
            let colon = name.lastIndex(of: ":")!
            let s = imageSize(image)
            let created = image.config.created.flatMap { Timestamp.parse($0) }.map { Units.humanDuration(now - $0.seconds) + " ago" } ?? "N/A"
            imageLines.append([String(name[..<colon]), String(name[name.index(after: colon)...]), image.shortID, created,
                               Units.humanSize(s.size, precision: 4), Units.humanSize(s.shared, precision: 4),
                               Units.humanSize(s.size - s.shared, precision: 4), String(users[image.id] ?? 0)].joined(separator: "\t"))
        }
        var containerLines = ["CONTAINER ID\tIMAGE\tCOMMAND\tLOCAL VOLUMES\tSIZE\tCREATED\tSTATUS\tNAMES"]
        for c in containers {
            containerLines.append([c.spec.shortID, c.spec.Config.Image, Ps.command(c, truncated: true), "0",
                                   Units.humanSize(rw[c.id] ?? 0, precision: 4),
                                   Units.humanDuration(now - c.spec.Created.seconds) + " ago", Ps.status(c, now: now),
                                   c.name].joined(separator: "\t"))
        }
        say("""
        Images space usage:

        \(Tabwriter.align(imageLines.joined(separator: "\n")))

        Containers space usage:

        \(Tabwriter.align(containerLines.joined(separator: "\n")))

        Local Volumes space usage:

        \(Tabwriter.align("VOLUME NAME\tLINKS\tSIZE"))

        Build cache usage: 0B

        \(Tabwriter.align("CACHE ID\tCACHE TYPE\tSIZE\tCREATED\tLAST USED\tUSAGE\tSHARED"))
        """)
    }
}
