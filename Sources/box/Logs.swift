#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Engine
import FoundationEssentials

struct Logs: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Fetch the output of a container (kept by its monitor in docker's json-file format)")
    @Flag(name: [.short, .long], help: "Follow the output until the container stops")
    var follow = false
    @Flag(name: [.short, .long], help: "Show timestamps")
    var timestamps = false
    @Option(name: .long, help: "Number of lines to show from the end (default: all)")
    var tail: Int?
    @Argument(help: "The container")
    var container: String

    struct Line: Decodable { var log: String; var stream: String; var time: String }

    func run() throws {
        let store = try engine()
        let c = try store.resolve(container)
        let path = store.logPath(c.id)
        var offset = 0
        var first = true
        while true {
            let bytes = (try? Files.read(path)) ?? []
            var lines: [Line] = []
            var start = offset
            for i in offset..<bytes.count where bytes[i] == UInt8(ascii: "\n") {
                if let line = try? JSONDecoder().decode(Line.self, from: Data(bytes[start..<i])) { lines.append(line) }
                start = i + 1
            }
            offset = start
            if first, let tail { lines = Array(lines.suffix(tail)) }
            first = false
            for line in lines {
                let text = timestamps ? line.time + " " + line.log : line.log
                writeFully(line.stream == "stderr" ? 2 : 1, Array(text.utf8))
            }
            guard follow, try store.load(c.id).state.Running || bytes.count > offset else { return }
            usleep(100_000)
        }
    }
}
