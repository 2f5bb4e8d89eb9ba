#if canImport(Glibc)
import Glibc
#endif
import Engine

/// A container's files: changes (docker diff), export, and archive (docker cp both ways: HEAD and GET for a
/// copy out, PUT for a copy in), as moby's api/server/router/container/copy.go serves them.
extension API {
    /// GET /containers/{id}/changes: `[{"Path": "/x", "Kind": 0|1|2}]`, 0 changed, 1 added, 2 deleted.
    func changes(_ id: String, _ c: Connection) throws {
        let list = try Engine.Commit(store: store).changes(try resolve(id))
        c.json(200, .array(list.map { kind, path in
            ["Path": .string(path), "Kind": .int(kind == .changed ? 0 : kind == .added ? 1 : 2)]
        }))
    }

    /// GET /containers/{id}/export: the merged root filesystem as one tar.
    func export(_ id: String, _ c: Connection) throws {
        let container = try resolve(id)
        try withTemporaryFile("export") { path in
            try ContainerFiles(store: store).export(container, to: try TarWriter(path: path))
            c.sendFile(path, contentType: "application/x-tar")
        }
    }

    /// HEAD, GET and PUT /containers/{id}/archive?path=….
    func archive(_ r: Request, id: String, _ c: Connection) throws {
        guard let path = r.query["path"], !path.isEmpty else { throw APIError(400, "archive needs path=…") }
        guard path.hasPrefix("/") else { throw APIError(400, "path \(path) must be absolute") }
        if r.method == "HEAD" {
            // A HEAD answer has no body, its error included (a body would be read as the next response).
            do {
                let header = try pathStat(try resolve(id), path)
                c.sendFile(nil, contentType: "application/x-tar", headers: ["X-Docker-Container-Path-Stat": header], headOnly: true)
            } catch {
                let e = (error as? APIError) ?? (error as? BoxError).map { APIError($0) } ?? APIError(500, "\(error)")
                c.respond(e.status, contentType: "application/json", body: Array(JSONValue.object([("message", .string(e.message))]).compact().utf8), headOnly: true)
            }
            return
        }
        let container = try resolve(id)
        let files = ContainerFiles(store: store)
        switch r.method {
        case "GET":
            let header = try pathStat(container, path)
            try withTemporaryFile("archive") { tar in
                let fd = open(tar, O_WRONLY | O_TRUNC | O_CLOEXEC)
                guard fd >= 0 else { throw BoxError.sys(.store, "open \(tar)") }
                do { try files.copyOut(container, from: path, to: nil, tarFD: fd) } catch { close(fd); throw error }
                close(fd)
                c.sendFile(tar, contentType: "application/x-tar", headers: ["X-Docker-Container-Path-Stat": header])
            }
        case "PUT":
            guard !r.body.isEmpty else { throw APIError(400, "archive PUT needs a tar in the request body") }
            _ = try pathStat(container, path)  // the directory must exist: docker's 404 otherwise
            try withBodyFile(r, "archive") { tar in
                let fd = open(tar, O_RDONLY | O_CLOEXEC)
                guard fd >= 0 else { throw BoxError.sys(.store, "open \(tar)") }
                defer { close(fd) }
                // docker cp -a sends copyUIDGID; its CLI always sends noOverwriteDirNonDir=true.
                do {
                    try files.copyIn(container, from: nil, to: path, tarFD: fd, keepOwners: r.flag("copyUIDGID"),
                                     noOverwriteDirNonDir: r.flag("noOverwriteDirNonDir"))
                } catch let e as BoxError where e.stage == .usage {
                    throw APIError(400, e.message)
                }
            }
            c.respond(200)
        default:
            throw APIError(405, "archive: \(r.method) is not HEAD, GET or PUT")
        }
    }

    /// docker's ContainerPathStat of `path` inside the container, base64 JSON as the header carries it:
    /// name, size, mode (Go's os.FileMode, whose type bits are not the kernel's), mtime, linkTarget.
    func pathStat(_ container: Container, _ path: String) throws -> String {
        let follow = path.hasSuffix("/") || path.hasSuffix("/.")
        let stat: JSONValue? = try ContainerFiles(store: store).withRootfs(container) { merged in
            let host = try ScopedPath.resolve(path, in: merged, followLast: follow)
            var st = Glibc.stat()
            guard lstat(host, &st) == 0 else { return nil }
            var mode = UInt32(st.st_mode & 0o777)
            switch st.st_mode & S_IFMT {
            case S_IFDIR: mode |= 1 << 31
            case S_IFLNK: mode |= 1 << 27
            case S_IFIFO: mode |= 1 << 25
            case S_IFSOCK: mode |= 1 << 24
            case S_IFCHR: mode |= (1 << 26) | (1 << 21)
            case S_IFBLK: mode |= 1 << 26
            default: break
            }
            if st.st_mode & S_ISUID != 0 { mode |= 1 << 23 }
            if st.st_mode & S_ISGID != 0 { mode |= 1 << 22 }
            if st.st_mode & S_ISVTX != 0 { mode |= 1 << 20 }
            var link = ""
            if (st.st_mode & S_IFMT) == S_IFLNK {
                let target = try ScopedPath.resolve(path, in: merged, followLast: true)
                link = target == merged ? "/" : String(target.dropFirst(merged.count))
            }
            let name = path.split(separator: "/").last.map(String.init) ?? "/"
            return [
                "name": .string(name), "size": .int(Int64(st.st_size)), "mode": .int(Int64(mode)),
                "mtime": .string(Timestamp(seconds: Int64(st.st_mtim.tv_sec), nanoseconds: Int32(st.st_mtim.tv_nsec)).rfc3339),
                "linkTarget": .string(link),
            ]
        }
        guard let stat else { throw APIError(404, "Could not find the file \(path) in container \(container.name)") }
        return Base64.encode(Array(stat.compact(escapeHTML: false).utf8))
    }
}

/// Standard base64 with padding (RFC 4648 §4), for the stat header.
enum Base64 {
    static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    static func encode(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        var i = 0
        while i < bytes.count {
            let n = min(3, bytes.count - i)
            let b0 = UInt32(bytes[i]), b1 = n > 1 ? UInt32(bytes[i + 1]) : 0, b2 = n > 2 ? UInt32(bytes[i + 2]) : 0
            let v = b0 << 16 | b1 << 8 | b2
            for k in 0..<4 { out.append(k <= n ? alphabet[Int(v >> UInt32(18 - 6 * k) & 63)] : UInt8(ascii: "=")) }
            i += 3
        }
        return String(decoding: out, as: UTF8.self)
    }
}

extension Connection {
    /// A 200 whose body is the file at `path` (nil: no body), sent in 64 KiB pieces with its length known.
    func sendFile(_ path: String?, contentType: String, headers: [String: String] = [:], headOnly: Bool = false) {
        var size: Int64 = 0
        var fd: Int32 = -1
        if let path {
            fd = open(path, O_RDONLY | O_CLOEXEC)
            if fd < 0 { return error(APIError(500, "open \(path): \(String(cString: strerror(errno)))")) }
            size = Files.size(path) ?? 0
        }
        defer { if fd >= 0 { close(fd) } }
        status = 200
        var head = "HTTP/1.1 200 OK\r\n" + Connection.common + "Content-Type: \(contentType)\r\n"
        for (k, v) in headers.sorted(by: { $0.key < $1.key }) { head += "\(k): \(v)\r\n" }
        head += "Content-Length: \(size)\r\n"
        if !keepAlive { head += "Connection: close\r\n" }
        guard write(Array((head + "\r\n").utf8)), fd >= 0, !headOnly else { return }
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            guard write(Array(buffer[0..<n])) else { keepAlive = false; return }
        }
    }
}
