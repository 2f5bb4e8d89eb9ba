import Foundation
import Testing
import TestSupport

#if canImport(Glibc)
import Glibc
#endif

/// A PostgreSQL cluster of the test's own: initdb'd in a new directory under /tmp, listening on a unix socket
/// there and on 127.0.0.1 at a free port, trust authentication for its superuser `boxlab`. initdb and the server
/// refuse to run as root, so they run as the `postgres` user (Debian's package makes it). Stopped (immediate
/// mode: the data goes too) and removed when the last reference goes.
final class PostgresCluster: @unchecked Sendable {
    /// The newest /usr/lib/postgresql/N/bin with initdb and pg_ctl (Debian's layout), or nil.
    static let binDirectory: String? = {
        let root = "/usr/lib/postgresql"
        let versions = ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []).compactMap(Int.init).sorted()
        return versions.reversed().map { "\(root)/\($0)/bin" }.first {
            FileManager.default.isExecutableFile(atPath: $0 + "/initdb") && FileManager.default.isExecutableFile(atPath: $0 + "/pg_ctl")
        }
    }()

    static var available: Bool { binDirectory != nil && getpwnam("postgres") != nil }
    static let missing = "no PostgreSQL here (/usr/lib/postgresql/N/bin/initdb and a postgres user): apt-get install postgresql"

    let directory: String
    let port: Int
    private let bin: String
    private var stopped = false

    /// `postgres://boxlab@127.0.0.1:PORT/DB`.
    func url(database: String = "postgres") -> String { "postgres://boxlab@127.0.0.1:\(port)/\(database)" }

    init() throws {
        guard let bin = Self.binDirectory, let pw = getpwnam("postgres") else { throw POSIXError(.ENOENT) }
        self.bin = bin
        directory = "/tmp/boxlab-pg-" + UUID().uuidString.prefix(8).lowercased()
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false,
                                                attributes: [.posixPermissions: 0o700])
        guard chown(directory, pw.pointee.pw_uid, pw.pointee.pw_gid) == 0 else { throw POSIXError(.EPERM) }
        port = try freeLoopbackPort()
        do {
            try watchForTheEnd()
            try asPostgres(["initdb", "-D", directory + "/data", "-U", "boxlab", "--auth=trust", "-E", "UTF8",
                            "--no-sync", "--no-instructions"])
            try asPostgres(["pg_ctl", "-D", directory + "/data", "-l", directory + "/log", "-w", "-t", "60", "-o",
                            "-k \(directory) -p \(port) -c listen_addresses=127.0.0.1 -c fsync=off", "start"])
        } catch {
            stop()
            throw error
        }
    }

    /// Runs a program of the cluster's bin directory as the postgres user; throws with its output if it fails.
    @discardableResult
    func asPostgres(_ argv: [String]) throws -> String {
        let r = try Command.run(["/usr/bin/setpriv", "--reuid", "postgres", "--regid", "postgres", "--clear-groups",
                                 bin + "/" + argv[0]] + argv.dropFirst(), deadline: 120)
        guard r.status == 0 else {
            let log = (try? String(contentsOfFile: directory + "/log", encoding: .utf8)) ?? ""
            Issue.record("\(argv.joined(separator: " ")): status \(r.status)\n\(r.stdout)\(r.stderr)\n\(log)")
            throw POSIXError(.EIO)
        }
        return r.stdout
    }

    /// Runs SQL as boxlab, through psql on the unix socket.
    @discardableResult
    func sql(_ statement: String, database: String = "postgres") throws -> String {
        try asPostgres(["psql", "-h", directory, "-p", "\(port)", "-U", "boxlab", "-d", database, "-XAtq", "-v", "ON_ERROR_STOP=1",
                        "-c", statement])
    }

    /// pg_ctl's server outlives the test process: if that process ends before stop() (killed by test.sh's time
    /// limit, or with this object still held by a task at exit, as full runs showed), a watcher of its own, in
    /// a session of its own, stops the server and removes the directory. After a stop() it finds the directory
    /// gone and ends within a second.
    private func watchForTheEnd() throws {
        let stopServer = "/usr/bin/setpriv --reuid postgres --regid postgres --clear-groups \(bin)/pg_ctl -D \(directory)/data -m immediate -w stop"
        let script = "exec </dev/null >/dev/null 2>&1; while kill -0 \(getpid()) 2>/dev/null && [ -d \(directory) ]; do sleep 1; done; " +
            "[ -d \(directory) ] || exit 0; [ -f \(directory)/data/postmaster.pid ] && \(stopServer); rm -rf \(directory)"
        let r = try Command.run(["/usr/bin/setsid", "-f", "/bin/sh", "-c", script], deadline: 10)
        guard r.status == 0 else { throw POSIXError(.ECHILD) }
    }

    func stop() {
        guard !stopped else { return }
        stopped = true
        if FileManager.default.fileExists(atPath: directory + "/data/postmaster.pid") {
            _ = try? Command.run(["/usr/bin/setpriv", "--reuid", "postgres", "--regid", "postgres", "--clear-groups",
                                  bin + "/pg_ctl", "-D", directory + "/data", "-m", "immediate", "-w", "stop"], deadline: 60)
        }
        // Again if it fails: a server process still exiting removes its own files meanwhile, and removeItem gives
        // up at the first that is gone under it (seen: a data directory left half removed).
        for _ in 0..<5 where FileManager.default.fileExists(atPath: directory) {
            if (try? FileManager.default.removeItem(atPath: directory)) == nil { usleep(200_000) }
        }
    }

    deinit { stop() }
}

/// Which store a behaviour test runs on: every test of the contract runs on both where PostgreSQL is installed.
enum StoreKind: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case sqlite, postgres
    var testDescription: String { rawValue }

    /// SQLite always; PostgreSQL where its binaries are (PostgresTests says why it skips otherwise).
    static var testable: [StoreKind] { PostgresCluster.available ? allCases : [.sqlite] }
}
