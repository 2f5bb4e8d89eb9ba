import Foundation
import Testing
import TestSupport

/// A real dockerd (Debian's docker.io) of the test's own, beside box and touching nothing of it: its own socket, data
/// and exec roots, no bridge, no iptables. Stopped and removed with stop(); nil if there is none or it does not start.
final class Dockerd {
    let name: String
    var socket: String { "unix:///run/\(name).sock" }
    let process = Process()

    /// Whether docker.io is here: where it is (CI installs it), a dockerd that does not start is a failure, not a skip.
    static var installed: Bool {
        FileManager.default.isExecutableFile(atPath: "/usr/sbin/dockerd") || FileManager.default.isExecutableFile(atPath: "/usr/bin/dockerd")
    }

    /// nil if docker.io is not installed (the test then checks box alone), or, recorded as an issue, if it is and
    /// its dockerd does not come up.
    init?(purpose: String) {
        name = "boxtest-\(purpose)-\(getpid())"
        guard Self.installed else { return nil }
        process.executableURL = URL(fileURLWithPath: FileManager.default.isExecutableFile(atPath: "/usr/sbin/dockerd") ? "/usr/sbin/dockerd" : "/usr/bin/dockerd")
        process.arguments = ["-H", socket, "--data-root", "/var/lib/\(name)", "--exec-root", "/run/\(name)",
                             "--pidfile", "/run/\(name).pid", "--bridge=none", "--iptables=false"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return nil }
        let up = Sandbox.eventually(30) { (try? Command.run(["/usr/bin/docker", "-H", socket, "info"]).status) == 0 }
        if !up {
            stop()
            Issue.record("dockerd is installed but did not answer within 30 s: the comparison with docker could not run")
            return nil
        }
    }

    func docker(_ args: [String]) throws -> Command.Result { try Command.run(["/usr/bin/docker", "-H", socket] + args) }

    var majorVersion: Int {
        Int((try? docker(["version", "--format", "{{.Server.Version}}"]).out.split(separator: ".").first.map(String.init)) ?? "") ?? 0
    }

    func stop() {
        if process.isRunning { process.terminate(); process.waitUntilExit() }
        for path in ["/var/lib/\(name)", "/run/\(name)"] {
            _ = try? Command.run(["/bin/sh", "-c", "grep -o ' \(path)[^ ]*' /proc/self/mountinfo | sort -r | xargs -r umount -l"])
            try? FileManager.default.removeItem(atPath: path)
        }
        for file in ["/run/\(name).sock", "/run/\(name).pid"] { try? FileManager.default.removeItem(atPath: file) }
    }
}
