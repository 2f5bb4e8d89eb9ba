#if canImport(Glibc)
import Glibc
#endif
import Engine

/// GET /containers/ID/logs: the monitor's json-file log, as docker's stream (stdcopy frames without a tty,
/// raw with one), optionally followed until the container stops or the client leaves.
extension API {
    func logs(_ r: Request, id: String, _ c: Connection) throws {
        let x = try resolve(id)
        let wantOut = r.flag("stdout"), wantErr = r.flag("stderr")
        guard wantOut || wantErr else { throw APIError(400, "Bad parameters: you must choose at least one stream") }
        let follow = r.flag("follow"), timestamps = r.flag("timestamps")
        var tail: Int?
        if let text = r.query["tail"], text != "all", !text.isEmpty {
            guard let n = Int(text), n >= 0 else { throw APIError(400, "invalid tail \"\(text)\": a number of lines or all") }
            tail = n
        }
        func time(_ key: String) throws -> Timestamp? {
            guard let text = r.query[key], !text.isEmpty, text != "0" else { return nil }
            guard let t = Timestamp.parse(text) else { throw APIError(400, "invalid \(key) \"\(text)\"") }
            return t
        }
        let since = try time("since"), until = try time("until")
        let tty = x.spec.Config.Tty
        let path = store.logPath(x.id)
        c.startStream(contentType: tty ? "application/vnd.docker.raw-stream" : "application/vnd.docker.multiplexed-stream")
        var fd = open(path, O_RDONLY | O_CLOEXEC)
        defer { if fd >= 0 { close(fd) } }
        var pending: [UInt8] = []
        var first = true
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let running = follow ? ((try? store.load(x.id))?.state.Running ?? false) : false
            if fd < 0 { fd = open(path, O_RDONLY | O_CLOEXEC) }
            while fd >= 0 {
                let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                if n <= 0 { break }
                pending += chunk[0..<n]
            }
            var lines: [(stream: UInt8, time: String, text: String)] = []
            var start = 0
            for i in pending.indices where pending[i] == 10 {
                defer { start = i + 1 }
                guard let line = try? JSONValue.parse(bytes: Array(pending[start..<i])), let log = line["log"]?.string,
                      let stamp = line["time"]?.string else { continue }
                if since != nil || until != nil, let t = Timestamp.parse(stamp) {
                    if let since, t < since { continue }
                    if let until, !(t < until) { continue }
                }
                let stream: UInt8 = line["stream"]?.string == "stderr" ? 2 : 1
                if stream == 1 ? !wantOut : !wantErr { continue }
                lines.append((stream, stamp, log))
            }
            pending.removeFirst(start)
            if first, let tail { lines = Array(lines.suffix(tail)) }
            first = false
            for line in lines {
                let text = Array(((timestamps ? line.time + " " : "") + line.text).utf8)
                if !c.chunk(AttachStreams.framed(line.stream, text, tty: tty)) { return }
            }
            guard running else { break }
            if c.peerGone() { return }
            usleep(100_000)
        }
        c.endStream()
    }
}
