#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Engine

struct Info: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "info", abstract: "Display system-wide information")

    func run() throws {
        let store = try engine()
        let containers = try store.list()
        var u = utsname()
        uname(&u)
        let kernel = withUnsafePointer(to: u.release) { $0.withMemoryRebound(to: CChar.self, capacity: 65) { String(cString: $0) } }
        let images = (try? store.images.list().count) ?? 0
        say("""
        Containers: \(containers.count)
         Running: \(containers.filter { $0.state.Status == .running }.count)
         Paused: \(containers.filter { $0.state.Status == .paused }.count)
         Stopped: \(containers.filter { !$0.state.Running }.count)
        Images: \(images)
        Server Version: \(Version.string)
        Storage Driver: overlay
        Logging Driver: json-file
        Cgroup Version: \(CgroupMode.detect().description)
        Kernel Version: \(kernel)
        Operating System: \(osName())
        Box Root Dir: \(store.root.path)
        Box Run Dir: \(store.root.runPath)
        """)
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
