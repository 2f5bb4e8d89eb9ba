#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Engine
import FoundationEssentials

struct Logs: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "logs",
        abstract: "Fetch the output of a container (kept by its monitor in docker's json-file format)")
    @Flag(name: [.short, .long], help: "Follow the output until the container stops")
    var follow = false
    @Flag(name: [.short, .long], help: "Show timestamps")
    var timestamps = false
    @Option(name: .long, help: "Number of lines to show from the end (default: all)")
    var tail: Int?
    @OptionGroup var times: TimeRange
    @Flag(name: .long, help: "Show the extra attributes given to the log (box's log has none: an empty set, as docker prints it)")
    var details = false
    @Argument(help: "The container")
    var container: String

    struct Line: Decodable { var log: String; var stream: String; var time: String }

    func run() throws {
        let sinceTime = times.start, untilTime = times.end
        let store = try engine()
        let c = try store.resolve(container)
        if c.spec.HostConfig.LogDriver == "none" {  // docker's daemon answers so for --log-driver none
            throw BoxError(.state, "configured logging driver does not support reading", exitCode: 1)
        }
        let path = store.logPath(c.id)
        // The monitor makes the file at the container's first output: none yet is no output.
        var fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 && !follow { return }
        defer { if fd >= 0 { close(fd) } }
        var pending: [UInt8] = []
        var first = true
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            // Looked at before reading: whatever a container wrote before it stopped is read in this round.
            let running = follow ? try store.load(c.id).state.Running : false
            if fd < 0 { fd = open(path, O_RDONLY | O_CLOEXEC) }
            // Read only what was appended since the last round.
            while fd >= 0 {
                let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                if n <= 0 { break }
                pending += chunk[0..<n]
            }
            var lines: [Line] = []
            var start = 0
            for i in pending.indices where pending[i] == UInt8(ascii: "\n") {
                if let line = try? JSONDecoder().decode(Line.self, from: Data(pending[start..<i])) { lines.append(line) }
                start = i + 1
            }
            pending.removeFirst(start)
            // As docker's json-file reader: --tail first, then --since and --until on what is left.
            if first, let tail { lines = Array(lines.suffix(tail)) }
            first = false
            for line in lines {
                let at = Timestamp.parse(line.time)
                if let sinceTime, let at, at < sinceTime { continue }
                if let untilTime, let at, untilTime < at { return }
                // docker puts the attributes (none here), then a space, before the line; the time before both.
                let body = details ? " " + line.log : line.log
                let text = timestamps ? line.time + " " + body : body
                writeFully(line.stream == "stderr" ? 2 : 1, Array(text.utf8))
            }
            guard running else { return }
            if let untilTime, untilTime < Timestamp.now() { return }
            usleep(100_000)
        }
    }
}
