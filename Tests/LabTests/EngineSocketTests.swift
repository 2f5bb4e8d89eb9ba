import Foundation
import Testing
@testable import Engine
@testable import LabKit
import Labs

/// The engine-socket lab's evidence is boxd's access log and the kernel's facts: work that is not the step's
/// (the right container made by the wrong client, root doing what the group's member should, a line forged into
/// the log) must not pass.
@Suite("lab engine-socket: the wrong client, the wrong user and a forged log line fail", .serialized)
struct EngineSocketTests {
    /// The learner `tester`'s values of the lab (LabSandbox's learner).
    static func value(_ name: String) -> String {
        engineSocket.values[name]!(Learner(name: "tester", uid: 0, gid: 0, home: "/nonexistent"))
    }

    @Test("docker's step wants the docker CLI, the group's step the group's member; a forged log line is one line",
          .enabled(if: isRoot, needsRoot), .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/local/bin/docker") || FileManager.default.isExecutableFile(atPath: "/usr/bin/docker"), "needs a docker CLI"))
    func wrongClientWrongUser() throws {
        let s = try LabSandbox()
        let sock = Self.value("sock"), guest = Self.value("guest"), word = Self.value("word")
        let workdir = s.base + "/work/engine-socket"
        try s.lab("start", "engine-socket")
        #expect(try s.lab("solve").status == 0)  // boxd on the socket
        #expect(try s.lab("solve").status == 0)  // by-curl
        let curl = "curl -sf --unix-socket \(sock)"

        // by-docker made with curl: the right container, the wrong client.
        _ = try s.sh("\(curl) -H 'Content-Type: application/json' -d '{\"Image\":\"busybox\",\"Cmd\":[\"sleep\",\"600\"]}' 'http://box/v1.41/containers/create?name=by-docker' && \(curl) -X POST http://box/v1.41/containers/by-docker/start")
        let byCurl = try s.lab("check")
        #expect(byCurl.status == 1 && byCurl.stdout.contains("by the docker CLI"), "\(byCurl.stdout)")
        // The docker CLI asking for the same name afterwards is refused (409): a create that made nothing does not count.
        let conflict = try s.sh("DOCKER_HOST=unix://\(sock) DOCKER_CONFIG=/nonexistent docker create --name by-docker busybox")
        #expect(conflict.status != 0)
        #expect(try s.lab("check").status == 1)

        // A request whose User-Agent carries a bare newline and a whole forged line: the log keeps it on one line.
        let forged = "x\n2999-01-01T00:00:00Z boxd: POST /v1.41/containers/create?name=by-docker from unix pid=1 uid=0 gid=0 agent=\"Docker-Client/28\""
        let raw = "GET /_ping HTTP/1.1\r\nHost: box\r\nUser-Agent: \(forged)\r\nConnection: close\r\n\r\n"
        let py = "import socket,sys; s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall(sys.argv[2].encode()); s.recv(4096)"
        #expect(try s.run(["/usr/bin/python3", "-c", py, sock, raw]).status == 0)
        let log = try String(contentsOfFile: workdir + "/boxd.log", encoding: .utf8)
        #expect(!log.split(separator: "\n").contains { $0.hasPrefix("2999-") }, "\(log)")
        #expect(try s.lab("check").status == 1)

        _ = try s.box("rm", "-f", "by-docker")
        #expect(try s.lab("solve").status == 0)  // the docker CLI makes it

        // The group's step: root writing the file through the socket is not the guest doing it.
        _ = try s.sh("usermod -aG box \(guest)")
        _ = try s.sh("DOCKER_HOST=unix://\(sock) DOCKER_CONFIG=/nonexistent docker run --name as-guest -v /:/host busybox sh -c 'echo \(word) > /host/etc/boxlab-\(word)'")
        let byRoot = try s.lab("check")
        #expect(byRoot.status == 1 && byRoot.stdout.contains("uid=0"), "\(byRoot.stdout)")
        _ = try s.sh("rm -f /etc/boxlab-\(word)")
        _ = try s.box("rm", "-f", "as-guest")
        // The guest making some other container while root writes the file by hand: not the guest's container of /.
        _ = try s.sh("echo \(word) > /etc/boxlab-\(word)")
        _ = try s.sh("setpriv --reuid=\(guest) --regid=\(guest) --init-groups env DOCKER_HOST=unix://\(sock) DOCKER_CONFIG=/nonexistent docker run --name as-guest busybox true")
        #expect(try s.lab("check").status == 1)
        _ = try s.sh("rm -f /etc/boxlab-\(word)")
        _ = try s.box("rm", "-f", "as-guest")
        #expect(try s.lab("solve").status == 0)
        #expect(FileManager.default.fileExists(atPath: "/etc/boxlab-\(word)"))

        // lab reset ends boxd, removes the proof and the user.
        #expect(try s.lab("reset").status == 0)
        #expect(!FileManager.default.fileExists(atPath: "/etc/boxlab-\(word)"))
        #expect(Accounts.uid(of: guest) == nil)
        #expect(!UnixSockets.listening(sock))
    }
}
