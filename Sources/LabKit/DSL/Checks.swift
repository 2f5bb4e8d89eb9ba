#if canImport(Glibc)
import Glibc
#endif
import Engine

// The checks labs repeat, one call each, so a lab file reads as what it asks, not as how /proc is read. Each
// throws a `Failure` that says what the step wants, what the kernel shows and what to try.

/// Remembers, when the step begins, the PID 1 of each named container that is running then, so that the check
/// can ask for "the same PID 1 as when the step began" (`Context.samePID1`): not a container started again.
public func SamePID1(_ names: String...) -> StepPart {
    .setup { ctx in
        for name in names {
            guard let c = ctx.containers().first(where: { $0.name == name }), c.state.Running,
                  let pid1 = Proc.read(c.state.Pid) else { continue }
            try ctx.remember("pid1:" + name, "\(pid1.pid):\(pid1.startTicks)")
        }
    }
}

/// The command names of the shells a learner may type into.
public let shellNames: Set<String> = ["sh", "ash", "bash", "dash", "zsh", "ksh", "mksh", "fish", "busybox"]

extension Proc {
    /// A shell (by its command name), not a `sleep` or a server started in its place.
    public var isShell: Bool { shellNames.contains(comm) }
}

extension Context {
    // MARK: containers

    /// Fails unless `c` was created during this step (a container left from an earlier try does not count).
    public func requireCreatedDuringStep(_ c: Container, tryThis: String? = nil) throws {
        try require(!(c.spec.Created < clock.wall), expected: "\(c.name) created during this step",
                    observed: "\(c.name) was created at \(c.spec.Created.rfc3339), before the step started",
                    tryThis: tryThis ?? "remove it and make it again: sudo box rm -f \(c.name)")
    }

    /// The running container `name`, created during this step, and its PID 1.
    public func newContainer(_ name: String, tryThis: String) throws -> (Container, Proc) {
        let (c, pid1) = try runningOrExplained(name, tryThis: tryThis)
        try requireCreatedDuringStep(c, tryThis: "remove it and start it again: sudo box rm -f \(name); \(tryThis.replacing("start it: ", with: ""))")
        return (c, pid1)
    }

    /// Like `running`, but a container that has ended says why (a shell without -it ends at once; --rm
    /// removes it), so the learner is not told only "exited".
    public func runningOrExplained(_ name: String, tryThis: String) throws -> (Container, Proc) {
        guard let c = containers().first(where: { $0.name == name || $0.id == name }) else {
            let removed = events().last { $0.name == name && $0.is(.destroy) }
            throw Failure(expected: "a running container named \(name)",
                          observed: removed != nil ? "\(name) was removed during this step (by box rm, or --rm when it ended)"
                                                   : "no container is called \(name)",
                          tryThis: tryThis)
        }
        guard c.state.Running, let pid1 = Proc.read(c.state.Pid) else {
            let shellWithoutTerminal = shellNames.contains(c.spec.Path.split(separator: "/").last.map(String.init) ?? c.spec.Path)
                && !(c.spec.Config.Tty && c.spec.Config.OpenStdin)
            throw Failure(expected: "container \(name) running",
                          observed: "it is \(c.state.Status.rawValue)" + (c.state.Status == .exited ? " (exit code \(c.state.ExitCode))" : "")
                              + (shellWithoutTerminal ? ": a shell with no terminal to read from ends at once" : ""),
                          tryThis: shellWithoutTerminal ? "a shell needs -it to stay running: sudo box rm \(name), then \(tryThis)" : tryThis)
        }
        return (c, pid1)
    }

    /// The running container `name`, created during this step with `-it`, a shell as its PID 1: what a step
    /// whose instructions say `sudo box run -it --name NAME ... sh` asks for. `start` is that command.
    public func newShell(_ name: String, start: String) throws -> (Container, Proc) {
        let (c, pid1) = try newContainer(name, tryThis: "start it: " + start)
        try requireInteractiveShell(c, pid1, tryThis: "sudo box rm -f \(name); \(start)")
        return (c, pid1)
    }

    /// Fails unless `c` was made with `-it` (a terminal, stdin kept open) and its PID 1 is a shell: what a
    /// step that teaches an interactive container asks for, which a detached `sleep` does not give.
    public func requireInteractiveShell(_ c: Container, _ pid1: Proc, tryThis: String) throws {
        try require(c.spec.Config.Tty && c.spec.Config.OpenStdin, expected: "\(c.name) started with -it (a terminal of its own)",
                    observed: "\(c.name) has \(c.spec.Config.Tty ? "a terminal but no open stdin (-i)" : "no terminal (-t)")",
                    tryThis: tryThis)
        try require(pid1.isShell, expected: "a shell as \(c.name)'s PID 1", observed: "its PID 1 is \(pid1.comm)", tryThis: tryThis)
    }

    /// The running container `name` with the same PID 1 as when the step began (see `SamePID1`), not one
    /// started again meanwhile.
    public func samePID1(_ name: String, tryThis: String) throws -> (Container, Proc) {
        let (c, pid1) = try runningOrExplained(name, tryThis: tryThis)
        if let remembered = data["pid1:" + name] {
            try require(remembered == "\(pid1.pid):\(pid1.startTicks)", expected: "the same \(name) as when the step began",
                        observed: "\(name)'s PID 1 is another process now (it was started again)",
                        tryThis: "sudo lab reset \(lab.id), and do the lab again without restarting \(name)")
        }
        return (c, pid1)
    }

    /// The die event of container `name` (by name: a --rm container is gone, its events stay) during this step,
    /// ended by a signal that box did not send: no box kill, stop or restart between its last start and its
    /// death. A `box start` and a host `kill -9` after an earlier `box kill` is the learner's own kill.
    public func diedBySignalNotFromBox(_ name: String, tryThis: String) throws -> Event {
        let mine = events().filter { $0.type == "container" && $0.name == name }
        let died = try require(mine.last { $0.is(.die) }, expected: "\(name)'s PID 1 to die during this step",
                               observed: containers().first { $0.name == name }.map { $0.state.Running ? "\(name) still runs (host PID \($0.state.Pid))" : "\(name) ended before this step" }
                                   ?? "no container \(name) died during this step",
                               tryThis: tryThis)
        let lastStart = mine.last { $0.is(.start) && !(died.time < $0.time) }
        let between = mine.filter { e in !(e.time < (lastStart?.time ?? clock.wall)) && !(died.time < e.time) }
        if let byBox = between.first(where: { $0.is(.kill, .stop, .destroy) }) {
            throw Failure(expected: "\(name)'s PID 1 ended from the host, not by box", observed: "box \(byBox.action) ended it",
                          tryThis: "start \(name) again (sudo box start \(name)) and end it with the host's kill: \(tryThis)")
        }
        try require(died.signal != nil, expected: "\(name)'s PID 1 ended by a signal",
                    observed: "it exited with code \(died.exitCode.map(String.init) ?? "?")", tryThis: tryThis)
        return died
    }

    /// The learner's file `path` in container `c`'s writable layer, written during this step and holding `text`
    /// (the seeds' `mkdir /root/testfolder; echo WORD > /root/testfolder/testfile`). Returns its path on the host.
    @discardableResult
    public func requireFileWritten(_ path: String, in c: Container, holding text: String) throws -> String {
        let upper = upperDirectory(of: c) + path
        let write = "echo \(text) > \(path)"
        let found = try require(Files.readIfPresent(upper), expected: "\(path) in \(c.name)'s writable layer",
                                observed: "\(c.name) has no \(path)",
                                tryThis: "in \(c.name)'s shell: mkdir \(path.split(separator: "/").dropLast().map { "/" + $0 }.joined()); \(write)")
        try require(found.trimmed == text, expected: "\(path) to hold \(text)", observed: "it holds \"\(found.trimmed.prefix(40))\"",
                    tryThis: write)
        try require(FileFacts.lstat(upper)?.changed(since: clock) ?? false, expected: "the file written during this step",
                    observed: "it is older", tryThis: "write it again: " + write)
        return upper
    }

    // MARK: images

    /// The commit of container `c` as `ref` (normalized: `busybox-note:latest`) during this step, and the image
    /// `ref` names, which must be the one that commit made (not tagged over since).
    public func commit(of c: Container, as ref: String, tryThis: String) throws -> (event: Event, image: Image) {
        let events = events()
        let commit = try require(events.last { $0.action == "commit" && $0.id == c.id && $0.attributes["ref"] == ref },
                                 expected: "\(c.name) committed as \(ref) during this step",
                                 observed: events.contains { $0.action == "commit" } ? "a commit of something else" : "no commit yet",
                                 tryThis: tryThis)
        let image = try require(images().first { $0.id == commit.attributes["imageID"] && $0.names.contains(ref) },
                                expected: "\(ref) naming the image of that commit", observed: "it names another image, or none",
                                tryThis: tryThis)
        return (commit, image)
    }

    // MARK: processes of the learner's

    /// A shell of the learner's, started during this step on the host (not in a container), in new namespaces
    /// of `kinds` and in the host's namespaces of `sharing`. A `sleep` or a server in new namespaces is not a
    /// shell, and is not what the step asks for.
    /// With `startedDuringStep: false`, one from an earlier step (the shell a later step goes on using).
    public func learnerShell(inNew kinds: Set<NamespaceKind>, sharing: Set<NamespaceKind> = [.pid], startedDuringStep: Bool = true,
                             tryThis: String) throws -> Proc {
        let candidates = processes().filter { p in
            (!startedDuringStep || p.started(after: clock)) && isLearners(p) && !isInContainer(p)
                && kinds.allSatisfy { !p.shares($0, with: host) } && sharing.allSatisfy { p.shares($0, with: host) }
        }
        let names = kinds.map(\.rawValue).sorted().joined(separator: ", ")
        guard let shell = candidates.first(where: \.isShell) else {
            throw Failure(expected: "a shell you started\(startedDuringStep ? " during this step" : "") in a new \(names) namespace",
                          observed: candidates.first.map { "\($0.label) is in one, but it is not a shell" }
                              ?? "no process\(startedDuringStep ? " started during this step" : " of yours") lives in a new \(names) namespace",
                          tryThis: tryThis)
        }
        return shell
    }

    // MARK: answers

    /// The learner's answer, compared with `expected` as a whole: a failure does not say which value was
    /// wrong, so an answer cannot be found one value at a time.
    public func requireAnswer(_ expected: [String], tryThis: String) throws {
        let form = step?.question?.form ?? ""
        let given = try require(answer, expected: "an answer: lab answer \(form)", observed: "no answer yet",
                                tryThis: tryThis)
        try require(given.count == expected.count, expected: "\(expected.count) value(s): lab answer \(form)",
                    observed: "lab answer \(given.joined(separator: " "))", tryThis: tryThis)
        try require(given == expected, expected: "the values the kernel shows now",
                    observed: "your answer (\(given.joined(separator: " "))) does not match", tryThis: tryThis)
    }

    /// The learner's answer as words, as many as `counts` allows (the step's `Ask` gives their form), or a failure
    /// that shows the form. `tryThis` says where to find them.
    public func answerWords(_ counts: ClosedRange<Int>, tryThis: String) throws -> [String] {
        let form = step?.question?.form ?? ""
        let given = try require(answer, expected: "an answer: lab answer \(form)", observed: "no answer yet", tryThis: tryThis)
        let words = counts.count == 1 ? countedWords(counts.lowerBound) : "\(counts.lowerBound) to \(counts.upperBound) words"
        try require(counts.contains(given.count), expected: "\(words): lab answer \(form)",
                    observed: "lab answer \(given.joined(separator: " "))", tryThis: tryThis)
        return given
    }

    public func answerWords(_ count: Int, tryThis: String) throws -> [String] { try answerWords(count...count, tryThis: tryThis) }

    /// Fails unless `right`: one word of the learner's answer, `given`, against what the kernel shows. Unlike
    /// `requireAnswer` it says which word is wrong: for values nobody finds by trying them one at a time.
    public func requireAnswered(_ given: some CustomStringConvertible, _ right: Bool, expected: String, tryThis: String) throws {
        try require(right, expected: expected, observed: "you answered \(given)", tryThis: tryThis)
    }

    /// Numbers: `lab answer 7 12345`. A value that is not a number says so; which one is wrong is not told.
    public func requireAnswer(numbers expected: [Int], tryThis: String) throws {
        let given = try numericAnswer(count: expected.count)
        try require(given == expected, expected: "the values the kernel shows now",
                    observed: "your answer (\(given.map(String.init).joined(separator: " "))) does not match", tryThis: tryThis)
    }

    // MARK: the host

    /// The running kernel's release (`uname -r`): the same in every container.
    public var kernelRelease: String {
        var u = utsname()
        uname(&u)
        return withUnsafeBytes(of: &u.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
    }
}

/// "one word", "two words" ... for a failure that says how many words an answer has.
private func countedWords(_ n: Int) -> String {
    let names = ["no", "one", "two", "three", "four", "five", "six"]
    return (n < names.count ? names[n] : String(n)) + (n == 1 ? " word" : " words")
}

// MARK: who sent a signal

/// Where a signal came from, as its sender's ancestry shows (see `SignalTrace`).
public enum SignalOrigin: Sendable, Equatable, CustomStringConvertible {
    /// A process of the host's PID namespace that box did not start: the learner's own `kill`.
    case host
    /// A process in a container's PID namespace (its shell, say), by the container's name.
    case container(String)
    /// box itself, or a command it started (`box exec`, `box kill`).
    case box
    /// The sender is gone and its ancestry was not recorded.
    case unknown

    public var description: String {
        switch self {
        case .host: "the host"
        case .container(let name): "inside \(name)"
        case .box: "box (box exec or box kill)"
        case .unknown: "a process the lab could not trace"
        }
    }
}

extension Context {
    /// Signals delivered since the step began to host PID `pid`, or to a child `parent` made during the step
    /// (a new `sleep &` of a container's shell), oldest first, each with where it came from; nil where the step
    /// records none (no `TraceSignals`, or a kernel without tracing).
    public func signals(to pid: Int32, orChildOf parent: Int32? = nil) -> [(sent: SignalTrace.Sent, origin: SignalOrigin)]? {
        guard step?.tracesSignals == true, !signalTrace.isEmpty, let (signals, forks) = SignalTrace.read(signalTrace) else { return nil }
        let targets = Set([pid] + forks.filter { parent != nil && $0.parent == parent }.map(\.child))
        return signals.filter { targets.contains($0.target) && $0.result == 0 }.sorted { $0.time < $1.time }
            .map { ($0, origin(of: $0, forks: forks)) }
    }

    /// Walks from the sender up its parents, through the forks recorded during the step while they are gone,
    /// to the first one alive: the PID namespace it lives in, and whether box made any of them, say where
    /// the signal came from.
    func origin(of sent: SignalTrace.Sent, forks: [SignalTrace.Fork]) -> SignalOrigin {
        var parent: [Int32: Int32] = [:]
        var comms: [Int32: [String]] = [sent.sender: [sent.senderComm]]
        for f in forks {
            parent[f.child] = f.parent
            comms[f.child, default: []].append(f.childComm)
            comms[f.parent, default: []].append(f.parentComm)
        }
        let hz = Double(sysconf(Int32(_SC_CLK_TCK)))
        let hostPID = host.namespace(.pid)
        var pid = sent.sender
        for _ in 0..<64 {
            if (comms[pid] ?? []).contains("box") { return .box }
            // Alive and older than the signal: not a recycled pid.
            if let p = Proc.read(pid), Double(p.startTicks) / hz <= sent.time + 0.02 {
                if p.comm == "box" { return .box }
                guard let ns = p.namespace(.pid), ns != hostPID else { return .host }
                let c = containers().first { $0.state.Running && HostProcess.namespace($0.state.Pid, .pid) == ns }
                return .container(c?.name ?? "another PID namespace")
            }
            guard let up = parent[pid] else { return .unknown }
            pid = up
        }
        return .unknown
    }

    /// Fails unless the last signal delivered to host PID `pid` (or to a child of `parent` made during the step)
    /// came from the host: not from inside a container, not through box. Where the kernel cannot trace, it
    /// does not fail on that account.
    public func requireSignalFromHost(to pid: Int32, orChildOf parent: Int32? = nil, tryThis: String) throws {
        guard let sent = signals(to: pid, orChildOf: parent) else { return }
        let last = try require(sent.last, expected: "a signal sent from the host", observed: "no signal reached PID \(pid) during this step",
                               tryThis: tryThis)
        try require(last.origin == .host, expected: "the signal sent from the host",
                    observed: "it came from \(last.origin) (\(last.sent.senderComm), signal \(last.sent.signal))", tryThis: tryThis)
    }
}
