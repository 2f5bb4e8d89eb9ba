#if canImport(Glibc)
import Glibc
#endif
import LabKit

/// Seed 004's opening ("Docker listens to local unix socket (`docker.sock`)", `srw-rw---- 1 root docker`, "add
/// the user to the docker group to avoid sudo", `docker -H 192.168.56.50:2375`, "it is not safe to do it") and
/// seed 002's client and server: the engine is a daemon behind a socket; its API is plain HTTP; whoever may
/// connect is root; a tcp listener hands that to every process that reaches it.
public let engineSocket = Lab("engine-socket", "The engine's socket: who may connect is root") {
    Summary("""
    Start boxd, box's daemon, on a socket; talk to it with curl and with the docker CLI; put an ordinary user in \
    the socket's group and watch it write to the host's /etc as root; open the engine on tcp, then close it.
    """)
    Seeds("004", "002")
    Minutes(20)
    Value("sock") { l in "/run/boxlab-\(1000 + l.number("sock", below: 9000)).sock" }
    Value("port") { l in String(23000 + l.number("port", below: 700)) }
    Value("guest") { l in "boxlab-guest-\(l.number("guest", below: 1000))" }
    Value("word") { l in l.pick("word", from: ["amber", "birch", "cedar", "delta", "ember", "fjord", "grove", "heron"]) }

    // box's group (setup.sh makes it, as docker.io makes `docker`) and an ordinary user who is not yet in it.
    LabSetup { ctx in
        try ctx.makeWorkDirectory()
        if Accounts.gid(ofGroup: "box") == nil { _ = try ctx.shell("groupadd --system box") }
        if Accounts.uid(of: ctx.value("guest")) == nil {
            _ = try ctx.shell("useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin \(ctx.value("guest"))")
        }
    }
    Teardown { ctx in
        for p in boxdProcesses(ctx) {
            kill(p.pid, SIGTERM)
            ctx.reportRemoved("boxd \(p.label) on \(ctx.value("sock"))")
        }
        for _ in 0..<50 where !boxdProcesses(ctx).isEmpty { usleep(100_000) }
        // The containers the steps make through the socket (curl's name is in its URL, which lab reset does not read).
        for name in ["by-curl", "by-docker", "by-nobody", "as-guest"] where ctx.containers().contains(where: { $0.name == name }) {
            _ = try? ctx.box("rm", "-f", name)
            ctx.reportRemoved("container \(name)")
        }
        if FileFacts.lstat(ctx.value("sock")) != nil { unlink(ctx.value("sock")) }
        let proof = "/etc/boxlab-" + ctx.value("word")
        if FileFacts.lstat(proof) != nil {
            unlink(proof)
            ctx.reportRemoved(proof)
        }
        if Accounts.uid(of: ctx.value("guest")) != nil {
            _ = try ctx.shell("userdel \(ctx.value("guest"))")
            ctx.reportRemoved("the user \(ctx.value("guest"))")
        }
    }

    Step("socket", "Start an engine behind a socket") {
        Instructions("""
        The docker command is only a client. The engine is a daemon that listens on a unix socket, \
        `/run/docker.sock`, and seed 004 shows its mode: `srw-rw---- 1 root docker`. box's daemon is `boxd`: it \
        serves docker's own API over box's engine. Start one on a socket of this lab's own, with its log (one \
        line per request) in the lab's directory:
        ```
        sudo sh -c 'boxd -H unix://{{sock}} 2> {{workdir}}/boxd.log & echo $! > {{workdir}}/boxd.pid'
        ls -l {{sock}}
        getent group box
        ```
        The `s` in front: a socket. `rw-rw----`: its owner and its group may connect, nobody else. (If setup.sh \
        started boxd as a service, `ls -l /run/box.sock` shows the same.) Which group may connect?
        """)
        Ask("Which group may connect to the socket?", answer: "GROUP")
        Check { ctx in
            let daemon = try boxd(ctx)
            try require(daemon.started(after: ctx.clock), expected: "boxd started during this step",
                        observed: "process \(daemon.pid) is older", tryThis: "sudo kill \(daemon.pid), and start it again")
            let sock = ctx.value("sock")
            try require(UnixSockets.listening(sock), expected: "a socket listening at \(sock)",
                        observed: "the kernel has none there (/proc/net/unix)", tryThis: "cat \(ctx.workDirectory)/boxd.log says why")
            let facts = try require(FileFacts.lstat(sock), expected: "the socket file \(sock)", observed: "there is none",
                                    tryThis: "sudo sh -c 'boxd -H unix://\(sock) 2> \(ctx.workDirectory)/boxd.log &'")
            try require(facts.mode & 0o777 == 0o660 && facts.gid == Accounts.gid(ofGroup: "box"),
                        expected: "mode 0660, group box", observed: "mode \(String(facts.mode & 0o777, radix: 8)), gid \(facts.gid)",
                        tryThis: "start boxd again: it sets them when it makes the socket")
            try ctx.requireAnswer(["box"], tryThis: "ls -l \(sock): the fourth column")
            return .pass("boxd (PID \(daemon.pid)) listens on \(sock): srw-rw---- root box")
        }
        Hint("`ls -l` shows owner then group: `srw-rw---- 1 root box`.")
        Solution("boxd -H unix://{{sock}} > /dev/null 2> {{workdir}}/boxd.log < /dev/null & echo $! > {{workdir}}/boxd.pid",
                 "for i in $(seq 100); do [ -S {{sock}} ] && break; sleep 0.1; done",
                 "lab answer $(stat -c %G {{sock}})")
    }

    Step("curl", "Speak its HTTP yourself") {
        Instructions("""
        The API is plain HTTP over that socket (seed 002: a server that handles requests, a client that sends \
        them). Ask the engine what it is, then make a container with two requests, as every client does:
        ```
        sudo curl -s --unix-socket {{sock}} http://box/version
        sudo curl -s --unix-socket {{sock}} -H 'Content-Type: application/json' \\
             -d '{"Image":"busybox","Cmd":["sleep","3600"]}' 'http://box/v1.41/containers/create?name=by-curl'
        sudo curl -s --unix-socket {{sock}} -X POST http://box/v1.41/containers/by-curl/start
        sudo box ps
        tail -3 {{workdir}}/boxd.log
        ```
        `box ps` lists by-curl: boxd and box are one engine. Each line of the log says who sent the request: on \
        a unix socket the kernel tells the daemon the pid, uid and gid of the process at the other end \
        (`SO_PEERCRED`), which no client can forge.
        """)
        Check { ctx in
            let (c, _) = try ctx.running("by-curl", tryThis: "the two curl requests: create, then start")
            try ctx.requireCreatedDuringStep(c)
            let create = try createRequest(ctx, name: "by-curl")
            try require(create.agent.hasPrefix("curl/"), expected: "by-curl created by curl",
                        observed: "its create came from \"\(create.agent)\"", tryThis: "remove it (sudo box rm -f by-curl) and create it with curl")
            return .pass("by-curl made through the socket by curl (\(create.peer)) and running: box sees it too")
        }
        Hint("A 404 `No such image`? `sudo box images` shows what the engine has; busybox is built on first use by `box run busybox true`.")
        Solution("curl -sf --unix-socket {{sock}} http://box/version",
                 "curl -sf --unix-socket {{sock}} -H 'Content-Type: application/json' -d '{\"Image\":\"busybox\",\"Cmd\":[\"sleep\",\"3600\"]}' 'http://box/v1.41/containers/create?name=by-curl'",
                 "curl -sf --unix-socket {{sock}} -X POST http://box/v1.41/containers/by-curl/start")
    }

    Step("docker", "The docker CLI, unchanged, on box") {
        Instructions("""
        The docker CLI sends the same requests. `DOCKER_HOST` (or `docker -H`) says which engine:
        ```
        sudo DOCKER_HOST=unix://{{sock}} docker version
        sudo DOCKER_HOST=unix://{{sock}} docker run -d --name by-docker busybox sleep 3600
        sudo DOCKER_HOST=unix://{{sock}} docker ps
        grep by-docker {{workdir}}/boxd.log
        ```
        `Server: … boxd`, the two containers in `docker ps`, and in the log the requests of `Docker-Client`: \
        `/_ping` first (to agree on the API version), then `containers/create`, then `start`.
        """)
        Check { ctx in
            let (c, _) = try ctx.running("by-docker", tryThis: "sudo DOCKER_HOST=unix://\(ctx.value("sock")) docker run -d --name by-docker busybox sleep 3600")
            try ctx.requireCreatedDuringStep(c)
            let create = try createRequest(ctx, name: "by-docker")
            try require(create.agent.hasPrefix("Docker-Client/"), expected: "by-docker created by the docker CLI",
                        observed: "its create came from \"\(create.agent)\"", tryThis: "sudo box rm -f by-docker, then the docker run line")
            return .pass("by-docker made by \(create.agent.split(separator: " ").first ?? "") through \(ctx.value("sock"))")
        }
        Hint("No docker command here? Debian's `docker.io` brings one (with a dockerd of its own: `sudo systemctl disable --now docker docker.socket` keeps it off).")
        Solution("DOCKER_HOST=unix://{{sock}} docker run -d --name by-docker busybox sleep 3600")
    }

    Step("group", "The socket's group is root") {
        Instructions("""
        `{{guest}}` is an ordinary user this lab made. It may not write in /etc:
        ```
        sudo -u {{guest}} touch /etc/boxlab-{{word}}
        ```
        Seed 004 suggests adding yourself to the socket's group to save typing sudo. Do it for {{guest}}, \
        then, as {{guest}}, run a container that mounts the host's `/` and writes in its /etc:
        ```
        sudo usermod -aG box {{guest}}
        sudo -u {{guest}} DOCKER_HOST=unix://{{sock}} DOCKER_CONFIG=/nonexistent docker run --name as-guest -v /:/host busybox \\
             sh -c 'echo {{word}} > /host/etc/boxlab-{{word}}'
        ls -l /etc/boxlab-{{word}}
        grep as-guest {{workdir}}/boxd.log
        ```
        The file is root's: the container wrote it as root, into the host's `/`. boxd knew that {{guest}} asked \
        (the `uid=` of its log line) and did it anyway: an engine runs what it is asked to run. Whoever may \
        connect to the socket is root on this machine, which is why docker's group is root in all but name.
        """)
        Check { ctx in
            let guest = ctx.value("guest")
            let uid = try require(Accounts.uid(of: guest), expected: "the user \(guest)", observed: "there is none",
                                  tryThis: "sudo lab reset, then start the lab again: its setup makes the user")
            try require(Accounts.members(ofGroup: "box")?.contains(guest) == true, expected: "\(guest) in the group box",
                        observed: "box's members: \((Accounts.members(ofGroup: "box") ?? []).joined(separator: ", "))",
                        tryThis: "sudo usermod -aG box \(guest)")
            let proof = "/etc/boxlab-" + ctx.value("word")
            let facts = try require(FileFacts.lstat(proof), expected: proof, observed: "there is none",
                                    tryThis: "the docker run line, as \(guest)")
            try require(facts.isRegular && facts.uid == 0 && facts.changed(since: ctx.clock) && Files.readIfPresent(proof)?.trimmed == ctx.value("word"),
                        expected: "\(proof) written during this step, owned by root, holding \(ctx.value("word"))",
                        observed: "owner uid \(facts.uid), \(facts.changed(since: ctx.clock) ? "written in this step" : "older than this step")",
                        tryThis: "sudo rm \(proof), then the docker run line again")
            let c = try ctx.container("as-guest", tryThis: "the docker run line, as \(guest)")
            try ctx.requireCreatedDuringStep(c)
            try require(c.spec.HostConfig.Binds.contains { $0.hasPrefix("/:") }, expected: "as-guest mounting the host's /",
                        observed: "its binds: \(c.spec.HostConfig.Binds.joined(separator: " "))",
                        tryThis: "sudo box rm -f as-guest, then the docker run line with -v /:/host")
            let create = try createRequest(ctx, name: "as-guest")
            try require(create.peer.hasPrefix("unix ") && create.peer.contains(" uid=\(uid) "),
                        expected: "that container asked for by \(guest) (uid \(uid))", observed: "the request came from \(create.peer)",
                        tryThis: "sudo box rm -f as-guest, then: sudo -u \(guest) DOCKER_HOST=unix://\(ctx.value("sock")) docker run --name as-guest -v /:/host busybox sh -c '…'")
            return .pass("\(guest) (uid \(uid)), in the group box, had root write \(proof) through the socket")
        }
        Hint("`sudo -u USER` starts the user's groups afresh, so the new group counts at once; a login shell of that user would need to log in again.")
        Solution("usermod -aG box {{guest}}",
                 "setpriv --reuid={{guest}} --regid={{guest}} --init-groups env DOCKER_HOST=unix://{{sock}} DOCKER_CONFIG=/nonexistent docker run --name as-guest -v /:/host busybox sh -c 'echo {{word}} > /host/etc/boxlab-{{word}}'")
    }

    Step("tcp", "Open it to every process: -H tcp://") {
        Instructions("""
        Seed 004 starts the daemon with `-H 192.168.56.50:2375` and warns that it is not safe. See why, on \
        loopback only: stop your boxd and start it again with a tcp listener beside the socket.
        ```
        sudo kill $(cat {{workdir}}/boxd.pid)
        sudo sh -c 'boxd -H unix://{{sock}} -H tcp://127.0.0.1:{{port}} 2>> {{workdir}}/boxd.log & echo $! > {{workdir}}/boxd.pid'
        ```
        boxd warns. A tcp port has no mode and no group: any process may connect. Even `nobody`:
        ```
        sudo -u nobody curl -s http://127.0.0.1:{{port}}/containers/json
        sudo -u nobody DOCKER_HOST=tcp://127.0.0.1:{{port}} DOCKER_CONFIG=/nonexistent docker run -d --name by-nobody busybox sleep 3600
        grep by-nobody {{workdir}}/boxd.log
        ```
        `from tcp 127.0.0.1:…`: over tcp boxd cannot even tell who asked. On an address other than loopback \
        (boxd refuses one without `--i-know-this-is-root`; dockerd needs `--tlsverify` with client certificates \
        to be safe) the same is open to the network.
        """)
        Check { ctx in
            let daemon = try boxd(ctx)
            try require(daemon.commandLine.contains("tcp://127.0.0.1:\(ctx.value("port"))") && daemon.started(after: ctx.clock),
                        expected: "boxd started in this step with -H tcp://127.0.0.1:\(ctx.value("port"))",
                        observed: "boxd \(daemon.pid): \(daemon.commandLine.joined(separator: " "))",
                        tryThis: "sudo kill \(daemon.pid), then start it with both -H")
            try require(Loopback.accepts(port: Int(ctx.value("port")) ?? 0), expected: "something listening on 127.0.0.1:\(ctx.value("port"))",
                        observed: "nothing answers there", tryThis: "cat \(ctx.workDirectory)/boxd.log says why")
            let (c, _) = try ctx.running("by-nobody", tryThis: "the docker run line, as nobody")
            try ctx.requireCreatedDuringStep(c)
            let create = try createRequest(ctx, name: "by-nobody")
            try require(create.peer.hasPrefix("tcp "), expected: "by-nobody asked for over tcp",
                        observed: "its create came from \(create.peer)", tryThis: "sudo box rm -f by-nobody, then the docker run line with DOCKER_HOST=tcp://127.0.0.1:\(ctx.value("port"))")
            return .pass("by-nobody started through tcp://127.0.0.1:\(ctx.value("port")) by a process boxd cannot name (\(create.peer))")
        }
        Solution("kill $(cat {{workdir}}/boxd.pid)",
                 "for i in $(seq 100); do [ -S {{sock}} ] || break; sleep 0.1; done",
                 "boxd -H unix://{{sock}} -H tcp://127.0.0.1:{{port}} > /dev/null 2>> {{workdir}}/boxd.log < /dev/null & echo $! > {{workdir}}/boxd.pid",
                 "for i in $(seq 100); do curl -sf http://127.0.0.1:{{port}}/_ping > /dev/null && break; sleep 0.1; done",
                 "setpriv --reuid=nobody --regid=nogroup --clear-groups env DOCKER_HOST=tcp://127.0.0.1:{{port}} DOCKER_CONFIG=/nonexistent docker run -d --name by-nobody busybox sleep 3600")
    }

    Step("close", "Close it again") {
        Instructions("""
        Take the tcp listener away (start boxd on the socket alone) and {{guest}} out of the group:
        ```
        sudo kill $(cat {{workdir}}/boxd.pid)
        sudo sh -c 'boxd -H unix://{{sock}} 2>> {{workdir}}/boxd.log & echo $! > {{workdir}}/boxd.pid'
        sudo gpasswd -d {{guest}} box
        curl http://127.0.0.1:{{port}}/_ping
        ```
        `Connection refused`. Who may drive the engine is again who may open the socket: root, and the members \
        of `box` (now none). Keep that group as short as the list of people you would give the root password to.
        """)
        Check { ctx in
            let daemon = try boxd(ctx)
            try require(!daemon.commandLine.contains { $0.hasPrefix("tcp://") }, expected: "boxd on the unix socket only",
                        observed: "boxd \(daemon.pid): \(daemon.commandLine.joined(separator: " "))",
                        tryThis: "sudo kill \(daemon.pid), then start it with the unix socket alone")
            try require(!Loopback.accepts(port: Int(ctx.value("port")) ?? 0), expected: "nothing listening on 127.0.0.1:\(ctx.value("port"))",
                        observed: "a connection is accepted there", tryThis: "stop what listens there: sudo ss -tlnp 'sport = :\(ctx.value("port"))'")
            let guest = ctx.value("guest")
            try require(Accounts.members(ofGroup: "box")?.contains(guest) != true, expected: "\(guest) no longer in the group box",
                        observed: "it still is", tryThis: "sudo gpasswd -d \(guest) box")
            return .pass("the engine is behind its socket again, and the group box has no \(guest)")
        }
        Solution("kill $(cat {{workdir}}/boxd.pid)",
                 "for i in $(seq 100); do [ -S {{sock}} ] || break; sleep 0.1; done",
                 "boxd -H unix://{{sock}} > /dev/null 2>> {{workdir}}/boxd.log < /dev/null & echo $! > {{workdir}}/boxd.pid",
                 "for i in $(seq 100); do [ -S {{sock}} ] && break; sleep 0.1; done",
                 "gpasswd -d {{guest}} box")
    }
}

/// The boxd serving this lab's socket (its command line names it, no name lookup).
private func boxdProcesses(_ ctx: Context) -> [Proc] {
    ctx.processes().filter { p in
        p.commandLine.first.map { $0.hasSuffix("boxd") } == true && p.commandLine.contains("unix://" + ctx.value("sock"))
    }
}

private func boxd(_ ctx: Context) throws -> Proc {
    try require(boxdProcesses(ctx).last, expected: "boxd serving unix://\(ctx.value("sock"))", observed: "no boxd serves it",
                tryThis: "sudo sh -c 'boxd -H unix://\(ctx.value("sock")) 2>> \(ctx.workDirectory)/boxd.log &'")
}

/// A line of boxd's access log, written once the request is answered (the time is its arrival):
///   2026-12-07T21:04:05.123456789Z boxd: POST /v1.41/containers/create?name=web 201 from unix pid=812 uid=1001 gid=1001 agent="curl/7.88.1"
private struct Request {
    var time: Timestamp
    var method: String
    var target: String
    var status: String
    var peer: String
    var agent: String
    var path: String { String(target.split(separator: "?").first ?? "") }
}

/// The requests boxd logged during this step, oldest first.
private func requests(_ ctx: Context) -> [Request] {
    let log = Files.readIfPresent(ctx.workDirectory + "/boxd.log") ?? ""
    return log.split(separator: "\n").compactMap { (line: Substring) -> Request? in
        let f: [Substring] = line.split(separator: " ", maxSplits: 6)
        guard f.count == 7, f[1] == "boxd:", f[5] == "from", let time = Timestamp.parse(String(f[0])), !(time < ctx.clock.wall),
              let agent = f[6].firstRange(of: " agent=\"") else { return nil }
        return Request(time: time, method: String(f[2]), target: String(f[3]), status: String(f[4]),
                       peer: String(f[6][..<agent.lowerBound]), agent: String(f[6][agent.upperBound...].dropLast()))
    }
}

/// The request of this step that created the container `name` (answered 201 Created: a refused one made nothing).
private func createRequest(_ ctx: Context, name: String) throws -> Request {
    try require(requests(ctx).last { $0.method == "POST" && $0.path.hasSuffix("/containers/create") && $0.status == "201" && queryValue($0.target, "name") == name },
                expected: "\(name) created through \(ctx.value("sock")) in this step",
                observed: "boxd's log (\(ctx.workDirectory)/boxd.log) has no such request", tryThis: "remove it (sudo box rm -f \(name)) and make it through the socket")
}

/// A query parameter of a request target as sent (`name` of `/containers/create?name=web`).
private func queryValue(_ target: String, _ key: String) -> String? {
    let query = target.split(separator: "?", maxSplits: 1).dropFirst().first ?? ""
    return query.split(separator: "&").first { $0.hasPrefix(key + "=") }.map { String($0.dropFirst(key.count + 1)) }
}
