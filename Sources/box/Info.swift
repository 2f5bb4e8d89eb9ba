#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import DockerFormat
import Engine

struct Info: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "info", abstract: "Display system-wide information")
    @Option(name: [.short, .long], help: "Format with a Go template, docker's field names ({{.ServerVersion}} {{.Containers}} {{.KernelVersion}} {{json .}}), or json")
    var format: String?

    func run() throws {
        let template = try format.flatMap { f -> FormatTemplate? in try f == "json" ? nil : FormatTemplate(f) }
        let store = try engine()
        let containers = try store.list()
        let images = (try? store.images.list().count) ?? 0
        let running = containers.filter { $0.state.Status == .running }.count
        let paused = containers.filter { $0.state.Status == .paused }.count
        let stopped = containers.filter { !$0.state.Running }.count
        let info: JSONValue = [
            "Containers": .int(Int64(containers.count)), "ContainersRunning": .int(Int64(running)),
            "ContainersPaused": .int(Int64(paused)), "ContainersStopped": .int(Int64(stopped)),
            "Images": .int(Int64(images)), "ServerVersion": .string(Version.string), "Driver": "overlay",
            "LoggingDriver": "json-file", "CgroupVersion": .string(CgroupMode.detect().description),
            "KernelVersion": .string(Info.kernel()), "OperatingSystem": .string(osName()), "OSType": "linux",
            "Architecture": .string(ImageConfig.hostArchitecture), "DockerRootDir": .string(store.root.path),
            "BoxRunDir": .string(store.root.runPath),
        ]
        if format == "json" { return say(info.compact(escapeHTML: true)) }
        if let template { return say(try template.render(info)) }
        say("""
        Containers: \(containers.count)
         Running: \(running)
         Paused: \(paused)
         Stopped: \(stopped)
        Images: \(images)
        Server Version: \(Version.string)
        Storage Driver: overlay
        Logging Driver: json-file
        Cgroup Version: \(CgroupMode.detect().description)
        Kernel Version: \(Info.kernel())
        Operating System: \(osName())
        Box Root Dir: \(store.root.path)
        Box Run Dir: \(store.root.runPath)
        """)
    }

    static func kernel() -> String {
        var u = utsname()
        uname(&u)
        return withUnsafePointer(to: u.release) { $0.withMemoryRebound(to: CChar.self, capacity: 65) { String(cString: $0) } }
    }

    func osName() -> String {
        let release = Files.readIfPresent("/etc/os-release") ?? ""
        for line in release.split(separator: "\n") where line.hasPrefix("PRETTY_NAME=") {
            return line.dropFirst(12).trimmingCharacters(in: "\"")
        }
        return "Linux"
    }
}

extension Substring {
    func trimmingCharacters(in set: String) -> String {
        var s = self
        while let f = s.first, set.contains(f) { s = s.dropFirst() }
        while let l = s.last, set.contains(l) { s = s.dropLast() }
        return String(s)
    }
}
