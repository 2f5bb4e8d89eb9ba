#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Engine
import LabKit

struct Join: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "join",
        abstract: "Join a workshop's room: your progress goes to the instructor's dashboard as you work",
        discussion: """
        The instructor's `lab serve` prints the URL and the join code:
          sudo lab join http://10.0.0.5:8469/ --code K7PX2M --name alice
        From then on every step you start, pass or solve, every hint and answer, and what a failing check \
        expected, is sent in the background. Your journal stays the record: a network cut or a server restart \
        loses nothing, and no lab command waits for the network (`lab status` shows what was sent). Messages \
        from the instructor appear at your next lab command, and in `lab watch`.
        `lab join --leave` stops sending (the server keeps what it has).
        """)

    @Argument(help: "The room's URL, as lab serve printed it")
    var url: String?

    @Option(help: "The join code lab serve printed")
    var code: String?

    @Option(help: "The name the instructor sees (default: your user name)")
    var name: String?

    @Flag(help: "Stop sending progress to the room")
    var leave = false

    func validate() throws {
        if leave && (url != nil || code != nil) { throw ValidationError("--leave takes no URL or code") }
        if !leave && (url == nil || code == nil) { throw ValidationError("give the room's URL and its code: lab join URL --code CODE") }
        if let name, name.isEmpty || name.count > 64 { throw ValidationError("--name is 1 to 64 characters") }
    }

    func run() throws {
        let r = try runner()
        let classroom = r.classroom
        if leave {
            guard let s = classroom.state() else { return say("You are in no room.") }
            classroom.leave()
            return say("You left room \(s.room) at \(s.url): your progress is no longer sent (the server keeps what it has).")
        }
        let s = try classroom.join(url: url!, code: code!, name: name ?? r.learner.name)
        say("Joined room \(s.room.isEmpty ? "" : s.room + " ")at \(s.url) as \(s.name).")
        say("Your progress (\(r.journal.records().count) record(s) so far) is sent in the background; `sudo lab status` shows how far.")
        spawnSync(classroom)
    }
}

struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run a workshop's room: a live dashboard of every attendee's progress (lab-server)",
        discussion: """
        Starts lab-server, installed beside lab (it is a program of its own: lab itself links no HTTP stack). \
        It prints the dashboard's URL, the join code attendees type and the instructor's token, and writes \
        them to DATA/room.json (0600). By default it listens on 127.0.0.1 only:
          sudo lab serve                              # this machine only
          sudo lab serve --listen 0.0.0.0:8469        # the workshop's LAN
          sudo lab serve --database postgres://boxlab@db:5432/classroom   # several servers, one PostgreSQL
        Everything after `serve` goes to lab-server (lab serve --help for lab-server's own help).
        """)

    @Argument(parsing: .captureForPassthrough, help: "lab-server's options: --listen ADDR:PORT, --data DIR, --room NAME, --database postgres://...")
    var arguments: [String] = []

    func run() throws {
        let me = Subprocess.selfExecutable()
        let server = String(me[..<(me.lastIndex(of: "/") ?? me.startIndex)]) + "/lab-server"
        let path = access(server, X_OK) == 0 ? server : Subprocess.which("lab-server")
        guard let path else {
            throw BoxError(.usage, "lab-server is not installed beside lab (\(server)): sudo ./setup.sh installs both", exitCode: 1)
        }
        let argv = [path, "serve"] + arguments
        var cargs = argv.map { strdup($0) } + [nil]
        execv(path, &cargs)
        throw BoxError.sys(.usage, "exec \(path)")
    }
}

struct SyncVerb: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "__sync", abstract: "Send the journal to the room (run in the background by lab itself)", shouldDisplay: false)

    func run() throws {
        let r = try runner()
        // The map is drawn only when the instructor asked for it (the server says so), never otherwise.
        r.classroom.run(map: { try MapVerb.classroom(r) })
    }
}

/// Starts `lab __sync` in a session of its own, detached from the terminal, if this learner joined a room:
/// the command that called it returns at once, whatever the network does.
func spawnSync(_ classroom: Classroom) {
    guard classroom.isJoined else { return }
    var attr = posix_spawnattr_t()
    posix_spawnattr_init(&attr)
    defer { posix_spawnattr_destroy(&attr) }
    posix_spawnattr_setflags(&attr, 0x80)  // POSIX_SPAWN_SETSID (glibc 2.26), a macro Swift does not see
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    for fd: Int32 in [0, 1, 2] { posix_spawn_file_actions_addopen(&actions, fd, "/dev/null", fd == 0 ? O_RDONLY : O_WRONLY, 0) }
    let me = Subprocess.selfExecutable()
    var argv: [UnsafeMutablePointer<CChar>?] = [strdup(me), strdup("__sync"), nil]
    defer { for p in argv { free(p) } }
    var pid: pid_t = 0
    _ = posix_spawn(&pid, me, &actions, &attr, &argv, environ)
}

/// The instructor's messages not shown yet, on standard error (standard output may be JSON).
func showMessages(_ classroom: Classroom) {
    for m in classroom.takeMessages() {
        writeErr(shown(Style.forStandardOutput().bold("Message from the instructor: ") + m.text + "\n"))
    }
    if let notice = classroom.takeMapNotice() { writeErr(notice + "\n") }
}
