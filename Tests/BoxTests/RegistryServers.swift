import Foundation
import Testing
import TestSupport
import LabKit

/// Debian's docker-registry (the distribution registry Docker Hub runs), started for one test on a free loopback
/// port with its storage in the test's own directory; stopped by the PID this object started, never looked up.
final class LocalRegistry {
    let process = Process()
    let dir: String
    let port: Int
    var address: String { "127.0.0.1:\(port)" }
    var storage: String { dir + "/storage" }
    var logPath: String { dir + "/registry.log" }
    /// The registry's stdout and stderr, closed by stop().
    private var log: FileHandle?

    static let executable = "/usr/bin/docker-registry"
    static var installed: Bool { FileManager.default.isExecutableFile(atPath: executable) }

    /// `htpasswd`: a user and password the registry asks for (its htpasswd mode, basic authentication).
    init(in sandbox: Sandbox, name: String = "registry", htpasswd: (user: String, password: String)? = nil) throws {
        dir = try sandbox.scratch(name)
        port = try freeLoopbackPort()
        var config = """
        version: 0.1
        log:
          level: info
          accesslog:
            disabled: false
        storage:
          filesystem:
            rootdirectory: \(dir)/storage
        http:
          addr: 127.0.0.1:\(port)

        """
        if let htpasswd {
            // bcrypt, which the registry requires: apache2-utils' htpasswd where it is installed, else the C library's
            // crypt through Python's crypt module (Python 3.11 and 3.12 have it).
            let hash = FileManager.default.isExecutableFile(atPath: "/usr/bin/htpasswd")
                ? try Command.run(["/usr/bin/htpasswd", "-nbB", htpasswd.user, htpasswd.password])
                : try Command.run(["/usr/bin/python3", "-W", "ignore", "-c",
                                   "import crypt,sys; print(sys.argv[2] + ':' + crypt.crypt(sys.argv[1], crypt.mksalt(crypt.METHOD_BLOWFISH)))",
                                   htpasswd.password, htpasswd.user])
            #expect(hash.status == 0 && hash.out.hasPrefix(htpasswd.user + ":$2"), "bcrypt hash: \(hash.stderr)")
            try "\(hash.out)\n".write(toFile: dir + "/htpasswd", atomically: true, encoding: .utf8)
            config += """
            auth:
              htpasswd:
                realm: box-test
                path: \(dir)/htpasswd

            """
        }
        try config.write(toFile: dir + "/config.yml", atomically: true, encoding: .utf8)
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        log = FileHandle(forWritingAtPath: logPath)
        process.executableURL = URL(fileURLWithPath: Self.executable)
        process.arguments = ["serve", dir + "/config.yml"]
        process.standardOutput = log
        process.standardError = log
        try process.run()
        let up = Sandbox.eventually(20) { Loopback.accepts(port: port) }
        if !up { stop() }
        #expect(up, "docker-registry did not listen on \(address) within 20 s: \((try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "")")
    }

    /// The digests of every blob in the registry's storage (docker/registry/v2/blobs/sha256/XX/HEX/data).
    var blobs: Set<String> {
        let root = storage + "/docker/registry/v2/blobs/sha256"
        var out = Set<String>()
        for prefix in (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? [] {
            for hex in (try? FileManager.default.contentsOfDirectory(atPath: root + "/" + prefix)) ?? []
            where FileManager.default.fileExists(atPath: "\(root)/\(prefix)/\(hex)/data") {
                out.insert("sha256:" + hex)
            }
        }
        return out
    }

    func blobPath(_ digest: String) -> String {
        let hex = String(digest.dropFirst("sha256:".count))
        return storage + "/docker/registry/v2/blobs/sha256/\(hex.prefix(2))/\(hex)/data"
    }

    /// The registry's access log lines (one per request, "GET /v2/... HTTP/1.1" 200 ...).
    var requests: [String] {
        ((try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
            .filter { $0.contains("\"GET /v2") || $0.contains("\"HEAD /v2") || $0.contains("\"PUT /v2") || $0.contains("\"POST /v2") || $0.contains("\"PATCH /v2") }
    }

    func stop() {
        if process.isRunning { process.terminate(); process.waitUntilExit() }
        try? log?.close()
        log = nil
    }

    deinit { stop() }
}

/// A tiny HTTP/1.1 server on a free loopback port that answers from `handler`: the bad registries (wrong digests,
/// a connection cut mid-layer) the tests need, which a real registry never is.
final class FakeRegistry: @unchecked Sendable {
    struct Reply {
        var status: Int = 200
        var headers: [(String, String)] = []
        var body: [UInt8] = []
        /// Send only this many bytes of the body (with the full Content-Length), then close: a dropped connection.
        var cutAfter: Int? = nil
    }
    let port: Int
    var address: String { "127.0.0.1:\(port)" }
    private let listener: Int32
    private let thread: Thread
    private let recorder: Recorder
    /// Set by stop(): the accept thread checks it before each accept and closes the listener as it leaves, so the
    /// descriptor is closed once, and never accepted on after its number may belong to another test's socket.
    private let stopped: Flag

    final class Flag: @unchecked Sendable {
        private let lock = NSLock()
        private var value = false
        var isSet: Bool { lock.withLock { value } }
        /// Sets it; true the first time only.
        func set() -> Bool { lock.withLock { defer { value = true }; return !value } }
    }
    /// "METHOD PATH" of every request answered.
    var paths: [String] { recorder.lines }

    final class Recorder: @unchecked Sendable {
        private let lock = NSLock()
        private var _lines: [String] = []
        var lines: [String] { lock.withLock { _lines } }
        func add(_ line: String) { lock.withLock { _lines.append(line) } }
    }

    struct Request {
        var method: String
        var path: String
        /// Header names in lower case.
        var headers: [String: String]
    }

    init(_ handler: @escaping @Sendable (Request) -> Reply) throws {
        let (listener, port) = try loopbackSocket(listening: true)
        self.listener = listener
        self.port = port
        let fd = listener, recorder = Recorder(), stopped = Flag()
        self.recorder = recorder
        self.stopped = stopped
        thread = Thread {
            defer { close(fd) }
            while !stopped.isSet {
                let c = accept(fd, nil, nil)
                if c < 0 { if errno == EINTR { continue }; return }
                if stopped.isSet { close(c); return }
                FakeRegistry.serve(c, handler, recorder.add)
            }
        }
        thread.start()
    }

    /// One connection: requests answered in turn until the client closes, or a reply cuts it.
    private static func serve(_ c: Int32, _ handler: (Request) -> Reply, _ record: (String) -> Void) {
        defer { close(c) }
        var pending: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            // Headers, then a body of Content-Length bytes (ignored).
            while pending.firstRange(of: Array("\r\n\r\n".utf8)) == nil {
                let n = read(c, &buffer, buffer.count)
                if n <= 0 { return }
                pending += buffer[0..<n]
            }
            let end = pending.firstRange(of: Array("\r\n\r\n".utf8))!.upperBound
            let head = String(decoding: pending[..<end], as: UTF8.self)
            pending.removeFirst(end)
            let lines = head.split(separator: "\r\n")
            let parts = lines.first?.split(separator: " ") ?? []
            guard parts.count >= 2 else { return }
            let length = lines.compactMap { l -> Int? in
                l.lowercased().hasPrefix("content-length:") ? Int(l.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)) : nil
            }.first ?? 0
            while pending.count < length {
                let n = read(c, &buffer, buffer.count)
                if n <= 0 { return }
                pending += buffer[0..<n]
            }
            pending.removeFirst(length)
            let method = String(parts[0]), path = String(parts[1])
            var headers: [String: String] = [:]
            for line in lines.dropFirst() {
                guard let colon = line.firstIndex(of: ":") else { continue }
                headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            }
            record(method + " " + path)
            let reply = handler(Request(method: method, path: path, headers: headers))
            var out = "HTTP/1.1 \(reply.status) X\r\nContent-Length: \(reply.body.count)\r\n"
            for (k, v) in reply.headers { out += "\(k): \(v)\r\n" }
            out += "\r\n"
            var bytes = Array(out.utf8)
            if method != "HEAD" { bytes += reply.body.prefix(reply.cutAfter ?? reply.body.count) }
            var sent = 0
            while sent < bytes.count {
                let n = bytes[sent...].withUnsafeBytes { write(c, $0.baseAddress, $0.count) }
                if n <= 0 { return }
                sent += n
            }
            if reply.cutAfter != nil { return }
        }
    }

    /// Wakes the accept thread (shutdown makes accept fail), which closes the listener; idempotent.
    func stop() {
        guard stopped.set() else { return }
        shutdown(listener, Int32(SHUT_RDWR))
    }

    deinit { stop() }
}
