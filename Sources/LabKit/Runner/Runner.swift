#if canImport(Glibc)
import Glibc
#endif
import Engine

/// What the `lab` verbs do, without printing: they return what happened and the front end shows it.
public struct Runner {
    public let catalog: [Lab]
    public let learner: Learner
    public let journal: ProgressJournal
    public let engine: ContainerStore
    /// The `box` binary solutions and setups run.
    public let boxPath: String
    /// Where labs keep their own files (`{{workdir}}` is this plus the lab's id).
    public let workRoot: String

    public init(catalog: [Lab], learner: Learner = .current(), journal: ProgressJournal? = nil,
                engineRoot: EngineRoot = .fromEnvironment(), boxPath: String? = nil, workRoot: String = Runner.defaultWorkRoot) {
        self.catalog = catalog
        self.learner = learner
        self.journal = journal ?? ProgressJournal(learner: learner)
        self.engine = ContainerStore(root: engineRoot)
        self.boxPath = boxPath ?? Runner.findBox()
        self.workRoot = workRoot
    }

    public func workDirectory(_ lab: Lab) -> String { workRoot + "/" + lab.id }

    /// Root's, under /run: no other user can plant a symlink there (under /tmp, one planted at /tmp/boxlab
    /// had root's setups write through it).
    public static let defaultWorkRoot = "/run/boxlab"

    /// Makes the work root if it is not there (0755, root's) and refuses one that is not a real directory of
    /// root's that only root may write, or that sits under a directory another user could swap.
    public func prepareWorkRoot() throws {
        guard geteuid() == 0 else { return }
        if mkdir(workRoot, 0o755) != 0 && errno != EEXIST {
            let parent = String(workRoot[..<(workRoot.lastIndex(of: "/") ?? workRoot.endIndex)])
            try Files.mkdirs(parent.isEmpty ? "/" : parent, mode: 0o755)
            if mkdir(workRoot, 0o755) != 0 && errno != EEXIST { throw BoxError.sys(.store, "mkdir \(workRoot)") }
        }
        var path = ""
        let parts = workRoot.split(separator: "/")
        for (i, part) in parts.enumerated() {
            path += "/" + part
            var st = stat()
            guard lstat(path, &st) == 0 else { throw BoxError.sys(.store, "stat \(path)") }
            let last = i == parts.count - 1
            let kind = st.st_mode & S_IFMT
            let othersWrite = st.st_mode & 0o022 != 0 && st.st_mode & S_ISVTX == 0
            if st.st_uid != 0 || (last && kind != S_IFDIR) || (kind == S_IFDIR && (last ? st.st_mode & 0o022 != 0 : othersWrite)) {
                let what = kind == S_IFLNK ? "a symbolic link" : st.st_uid != 0 ? "owned by uid \(st.st_uid)" : kind != S_IFDIR ? "not a directory" : "writable by other users"
                throw BoxError(.usage, "the labs' work directory \(workRoot) is unsafe: \(path) is \(what). lab makes its labs' files there as root, so it must be root's own; remove it (sudo rm -rf \(path)) and run the command again", exitCode: 1)
            }
        }
    }

    /// This learner's side of a workshop's room (`lab join`), beside their journal.
    public var classroom: Classroom { Classroom(journal: journal) }

    /// The environment solutions and `box` run in: ours, with `box` first on PATH, this runner's engine root,
    /// and the lab marker `lab reset` finds their leftover processes by.
    func environment(lab: String) -> [String] {
        var env: [String] = []
        var i = 0
        while let entry = environ[i] {
            let s = String(cString: entry)
            if !["PATH=", "BOXLAB_LAB=", "BOX_ROOT=", "BOX_RUN=", "LAB_HOME=", "LAB_WORKROOT=", "LAB_LEARNER="].contains(where: { s.hasPrefix($0) }) { env.append(s) }
            i += 1
        }
        let path = getenv("PATH").map { String(cString: $0) } ?? "/usr/sbin:/usr/bin:/sbin:/bin"
        let boxDirectory = String(boxPath[..<(boxPath.lastIndex(of: "/") ?? boxPath.startIndex)])
        env += ["PATH=\(boxDirectory):\(path)", "BOX_ROOT=\(engine.root.path)", "BOX_RUN=\(engine.root.runPath)",
                "LAB_HOME=\(journal.directory)", "LAB_WORKROOT=\(workRoot)", "LAB_LEARNER=\(learner.name)"]
        if !lab.isEmpty { env.append(marker(lab)) }
        return env
    }

    /// The environment entry that marks what this runner's solutions started: the lab and this learner's
    /// journal, so a selftest never touches the processes of a learner doing the same lab, nor the reverse.
    public func marker(_ lab: String) -> String { Runner.markerPrefix(lab) + journal.directory }
    /// What every runner's marker for `lab` begins with.
    public static func markerPrefix(_ lab: String) -> String { "BOXLAB_LAB=\(lab)@" }

    /// Fills in the learner's values and `{{workdir}}`.
    public func substitute(_ text: String, _ lab: Lab) -> String {
        Markdown.substitute(text.replacing("{{workdir}}", with: workDirectory(lab)), values: lab.values, learner: learner)
    }

    /// `box` next to `lab` (a build directory, /usr/local/bin), else on PATH.
    public static func findBox() -> String {
        let me = Subprocess.selfExecutable()
        let beside = String(me[..<(me.lastIndex(of: "/") ?? me.startIndex)]) + "/box"
        if access(beside, X_OK) == 0 { return beside }
        return Subprocess.which("box") ?? "box"
    }

    public func progress() -> Progress { Progress(journal.records()) }

    /// The lab with this id, or an error that lists the ids.
    public func lab(_ id: String) throws -> Lab {
        if let lab = catalog.first(where: { $0.id == id }) { return lab }
        let ids = catalog.map(\.id)
        if let near = Suggestion.closest(to: id, among: ids) {
            throw BoxError(.usage, "no lab called \"\(id)\": did you mean \(near)? (sudo lab list shows them all)")
        }
        throw BoxError(.usage, "no lab called \"\(id)\" (the labs are: \(ids.joined(separator: ", ")); see lab list)")
    }

    /// The lab the learner is in: the most recently touched one that is started and not finished.
    public func currentLab(_ p: Progress) -> Lab? {
        catalog.filter { p.labs[$0.id]?.started != nil && !p.isComplete($0) }
            .max { (p.labs[$0.id]?.touched ?? .zero) < (p.labs[$1.id]?.touched ?? .zero) }
    }

    /// The most recently touched lab, if it is complete (what `lab check` after its last step speaks of).
    public func lastCompleted(_ p: Progress) -> Lab? {
        let touched = catalog.filter { p.labs[$0.id]?.touched != nil }
            .max { (p.labs[$0.id]?.touched ?? .zero) < (p.labs[$1.id]?.touched ?? .zero) }
        return touched.flatMap { p.isComplete($0) ? $0 : nil }
    }

    /// The first guided lab (then exercise) not finished yet: where `lab next` goes when no lab is current.
    public func suggestedLab(_ p: Progress) -> Lab? {
        catalog.first { !p.isComplete($0) && $0.kind == .guided } ?? catalog.first { !p.isComplete($0) }
    }

    /// Prerequisites of `lab` not finished yet.
    public func missingPrerequisites(_ lab: Lab, _ p: Progress) -> [String] {
        lab.prerequisites.filter { id in catalog.first { $0.id == id }.map { !p.isComplete($0) } ?? false }
    }

    public func context(_ lab: Lab, _ step: Step?, _ p: Progress, clock: StepClock? = nil) -> Context {
        let s = step.map { p.step(lab.id, $0.id) }
        let started = s?.started
        // An answer counts only if given after the step started.
        var answer: [String]?
        if let s, let at = s.answeredAt, let started, !(at < started.wall) { answer = s.answer }
        return Context(lab: lab, step: step, learner: learner, clock: clock ?? started ?? .now(), answer: answer,
                       data: p.labs[lab.id]?.data ?? [:], engine: engine, journal: journal, boxPath: boxPath,
                       workDirectory: workDirectory(lab), environment: environment(lab: lab.id),
                       signalTrace: step.map { signalTrace(lab, $0) } ?? "")
    }

    /// Starts `lab`: its setup runs, then the start is recorded. Starting a started lab only makes it current.
    public func start(_ lab: Lab) throws {
        let p = progress()
        // Recorded before the setup runs: what the setup makes is then "made during the lab", which is what
        // `lab reset` removes, even if the setup fails halfway.
        try journal.append(ProgressRecord(.start, lab: lab.id))
        guard p.labs[lab.id]?.started == nil else { return }
        try engine.root.prepare()
        // The lab's directory is made fresh by its setup, inside a work root that is root's own.
        try prepareWorkRoot()
        let dir = workDirectory(lab)
        var st = stat()
        if lstat(dir, &st) == 0 {
            do { try Files.removeTree(dir) } catch {
                throw BoxError(.usage, "\(dir) is left from before and could not be removed (\(error)): `sudo lab reset \(lab.id)`, then start again", exitCode: 1)
            }
        }
        let ctx = context(lab, nil, progress(), clock: .now())
        for setup in lab.setup {
            do { try setup(ctx) } catch {
                let why = (error as? Failure).map { "\($0.observed)" } ?? "\(error)"
                throw BoxError(.usage, "the setup of \(lab.id) failed: \(why). `sudo lab reset \(lab.id)` undoes what it made.", exitCode: 1)
            }
        }
    }

    /// The tracefs instance of `step`'s signals: this runner's (a selftest's and a learner's differ), the lab's
    /// and the step's.
    public func signalTrace(_ lab: Lab, _ step: Step) -> String { signalTracePrefix(lab) + step.id }
    public func signalTracePrefix(_ lab: Lab) -> String { Runner.signalTracePrefix(journal: journal.directory, lab: lab.id) }
    public static func signalTracePrefix(journal directory: String, lab: String) -> String {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in directory.utf8 { h = (h ^ UInt64(byte)) &* 0x0000_0100_0000_01b3 }
        return "boxlab-\(String(h, radix: 16))-\(lab)-"
    }

    /// Shows `step` for the first time: its clock starts now and its own setup runs.
    public func begin(_ step: Step, of lab: Lab) throws {
        let p = progress()
        guard p.step(lab.id, step.id).started == nil else { return }
        // Recording starts before the step's clock: nothing the step counts can be missed.
        if step.tracesSignals { SignalTrace.start(signalTrace(lab, step)) }
        var r = ProgressRecord(.step, lab: lab.id, step: step.id)
        r.clock = .now()
        try journal.append(r)
        let ctx = context(lab, step, progress())
        for setup in step.setup { try setup(ctx) }
    }

    /// Runs the step's check. A probe error is a failure that says so, never a pass.
    public func check(_ step: Step, of lab: Lab, _ p: Progress? = nil) -> Verdict {
        let ctx = context(lab, step, p ?? progress())
        do {
            return try step.check(ctx)
        } catch let f as Failure {
            return .fail(f)
        } catch {
            return .fail(Failure(expected: "the check to read the system", observed: "\(error)",
                                 tryThis: "run lab doctor; if it looks fine, this is a defect in the lab"))
        }
    }

    public func recordPass(_ step: Step, of lab: Lab, solved: Bool = false) throws {
        try journal.append(ProgressRecord(solved ? .solve : .pass, lab: lab.id, step: step.id))
        if step.tracesSignals { SignalTrace.stop(signalTrace(lab, step)) }
    }

    /// The next hint of the step (and records that it was shown), or nil when there are no more.
    public func nextHint(_ step: Step, of lab: Lab) throws -> (number: Int, text: String)? {
        let shown = progress().step(lab.id, step.id).hints
        guard !step.hints.isEmpty else { return nil }
        let n = min(shown + 1, step.hints.count)
        var r = ProgressRecord(.hint, lab: lab.id, step: step.id)
        r.hint = n
        try journal.append(r)
        return (n, step.hints[n - 1])
    }

    /// Answers are free for the first `freeAnswers` tries of a step; after that each refused answer makes the
    /// learner wait before the next one, 10 s doubling up to 5 min, so that an answer cannot be found by
    /// trying every number. Returns the seconds left to wait, or nil if an answer may be given now.
    public static let freeAnswers = 3
    public func answerCoolDown(_ step: Step, of lab: Lab, now: Timestamp = .now()) -> Int? {
        let wrong = progress().step(lab.id, step.id).wrong
        guard wrong.count >= Runner.freeAnswers, let last = wrong.last else { return nil }
        let wait = min(10 << min(wrong.count - Runner.freeAnswers, 5), 300)
        let left = Int64(wait) - (now.unixNanoseconds - last.unixNanoseconds) / 1_000_000_000
        return left > 0 ? Int(left) : nil
    }

    /// Records a failed check, for the classroom, when what the step expects is not what its last failure
    /// said (so `lab watch` does not write a line a second).
    public func recordFailure(_ f: Failure, _ step: Step, of lab: Lab) {
        guard progress().step(lab.id, step.id).failing != f.expected else { return }
        var r = ProgressRecord(.fail, lab: lab.id, step: step.id)
        r.expected = f.expected
        r.observed = f.observed
        try? journal.append(r)
    }

    public func recordWrongAnswer(_ step: Step, of lab: Lab) throws {
        try journal.append(ProgressRecord(.wrong, lab: lab.id, step: step.id))
    }

    /// True if this process runs a step's solution for `lab` of this runner's learner (`lab solve`, selftest):
    /// what it passes is recorded as solved, never as the learner's own pass.
    public func isRunningSolution(of lab: Lab) -> Bool {
        getenv("BOXLAB_LAB").map { "BOXLAB_LAB=" + String(cString: $0) } == marker(lab.id)
    }

    public func recordAnswer(_ values: [String], _ step: Step, of lab: Lab) throws {
        var r = ProgressRecord(.answer, lab: lab.id, step: step.id)
        r.values = values
        try journal.append(r)
    }

    /// The step's reference solution with the learner's values filled in.
    public func solution(_ step: Step, of lab: Lab) -> [String] {
        step.solution.map { substitute($0, lab) }
    }

    /// Runs the reference solution; `capture` keeps its output (selftest) instead of showing it.
    public func runSolution(_ step: Step, of lab: Lab, capture: Bool) throws -> (status: Int32, output: String) {
        let script = "set -e\n" + solution(step, of: lab).joined(separator: "\n")
        return try Shell.run(script, environment: environment(lab: lab.id), capture: capture)
    }

    /// Polls the check for up to `seconds` (what a solution started in the background needs to settle).
    public func awaitPass(_ step: Step, of lab: Lab, seconds: Double) -> Verdict {
        let deadline = Timestamp.now().unixNanoseconds + Int64(seconds * 1e9)
        while true {
            let v = check(step, of: lab)
            if v.passed || Timestamp.now().unixNanoseconds > deadline { return v }
            usleep(100_000)
        }
    }

    // MARK: reset

    /// What a lab names: containers (`--name X`), images (commit, build -t, tag, import), networks (network
    /// create), read from its solutions and instructions with the learner's values filled in. With the
    /// containers its setup labels `boxlab.lab=ID`, that is what `lab reset` may remove: nothing else.
    public func ownedNames(_ lab: Lab) -> OwnedNames {
        var owned = OwnedNames()
        let texts = lab.steps.flatMap { solution($0, of: lab) + [substitute($0.instructions, lab)] + $0.hints.map { substitute($0, lab) } }
        for text in texts { owned.read(text) }
        return owned
    }

    /// Removes what the lab and the learner made for it: the containers it names or labels and that were
    /// created since the lab started, the images committed, built or tagged under its names since then, its
    /// networks, the processes its solutions started, and its own resources (its teardown); then the lab's
    /// progress. A container made meanwhile under another name is the learner's own: it is left, and listed
    /// with the command that removes it. Returns a line per thing removed or left.
    public func reset(_ lab: Lab) throws -> [String] {
        let p = progress()
        var removed: [String] = []
        var left: [String] = []
        let owned = ownedNames(lab)
        if let since = p.labs[lab.id]?.started {
            let events = EventJournal(root: engine.root).read(since: since).events
            let created = Set(events.filter { $0.type == "container" && $0.is(.create) }.map(\.id))
            var labContainers: Set<String> = []
            for c in containers() where created.contains(c.id) {
                let label = c.spec.Config.Labels["boxlab.lab"]
                guard label == lab.id || (label == nil && owned.containers.contains(c.name)) else {
                    left.append("left container \(c.name): not one this lab names (sudo box rm -f \(c.name) removes it)")
                    continue
                }
                labContainers.insert(c.id)
                var failure = Self.failure { try engine.remove(c, force: true) }
                if failure != nil {  // a container between states: once more, after a moment
                    usleep(500_000)
                    failure = Self.failure { try engine.remove(c, force: true) }
                }
                removed.append(failure.map { "(could not remove container \(c.name): \($0))" } ?? "container \(c.name)")
            }
            // Images made since the lab started: committed from its containers, or built under its names; and any
            // image made since then that carries one of its names.
            let fromEvents = Set(events.filter { e in
                (e.is(.commit) && (labContainers.contains(e.id) || owned.containers.contains(e.name ?? "")))
                    || (e.is(.commit, .build) && owned.hasImage(e.attributes["ref"] ?? ""))
            }.compactMap { $0.attributes["imageID"] })
            let fresh = ((try? engine.images.list()) ?? []).filter { image in
                image.config.created.flatMap { Timestamp.parse($0) }.map { !($0 < since) } ?? false
            }
            for image in fresh where fromEvents.contains(image.id) || image.names.contains(where: owned.hasImage) {
                let failure = Self.failure { _ = try engine.images.remove(image.id, users: try engine.imageUsers(), force: true) }
                let name = image.names.first ?? String(Digest.hex(image.id).prefix(12))
                removed.append(failure.map { "(could not remove image \(name): \($0))" } ?? "image \(name)")
            }
            for image in fresh where !fromEvents.contains(image.id) && !image.names.contains(where: owned.hasImage) {
                let name = image.names.first ?? String(Digest.hex(image.id).prefix(12))
                left.append("left image \(name): not one this lab names (sudo box rmi \(name) removes it)")
            }
            let networks = Set(events.filter { $0.type == "network" && $0.is(.create) }.compactMap(\.name))
            for name in networks.sorted() where owned.networks.contains(name) {
                let failure = Self.failure { try NetworkStore(root: engine.root).remove(name) }
                removed.append(failure.map { "(could not remove network \(name): \($0))" } ?? "network \(name)")
            }
        }
        for proc in Proc.all() where proc.pid != getpid() && proc.environment.contains(marker(lab.id)) {
            kill(proc.pid, SIGKILL)
            removed.append("process \(proc.label) started by the lab's solution")
        }
        let ctx = context(lab, nil, p, clock: .now())
        for teardown in lab.teardown {
            do { try teardown(ctx) } catch { removed.append("(teardown: \(error))") }
        }
        removed += ctx.removed
        // The lab's own directory goes too, once its teardown has let go of any mount in it.
        let work = workDirectory(lab)
        if Files.exists(work), !Mount.table(of: getpid()).contains(where: { $0.mountPoint == work || $0.mountPoint.hasPrefix(work + "/") }) {
            do {
                try Files.removeTree(work)
                removed.append("the lab's directory \(work)")
            } catch {
                removed.append("(could not remove \(work): \(error))")
            }
        }
        SignalTrace.stop(signalTracePrefix(lab), prefix: true)
        try journal.append(ProgressRecord(.reset, lab: lab.id))
        return removed + left
    }

    func containers() -> [Container] { (try? engine.list()) ?? [] }

    /// What went wrong in `body`, as box would say it; nil when it worked.
    private static func failure(_ body: () throws -> Void) -> String? {
        do { try body(); return nil } catch { return "\(error)" }
    }
}

/// The names of the containers, images and networks a lab makes (see `Runner.ownedNames`).
public struct OwnedNames: Sendable, Equatable {
    public var containers: Set<String> = []
    /// Image repositories (`ubuntu-htop`, `localhost:5000/x`), without their tags.
    public var images: Set<String> = []
    public var networks: Set<String> = []

    public init() {}

    /// True if `reference` (NAME, NAME:TAG) names one of the lab's images.
    public func hasImage(_ reference: String) -> Bool {
        !reference.isEmpty && images.contains(OwnedNames.repository(reference))
    }

    static func repository(_ reference: String) -> String {
        // The tag is after the last colon, unless that colon is part of a registry's host:port.
        guard let colon = reference.lastIndex(of: ":"), !reference[colon...].contains("/") else { return reference }
        return String(reference[..<colon])
    }

    /// Reads the `box` commands of a solution line or an instruction text.
    mutating func read(_ text: String) {
        for line in text.split(whereSeparator: { $0 == "\n" || $0 == ";" || $0 == "|" || $0 == "&" }) {
            let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "`" || $0 == "(" || $0 == ")" })
                .map { $0.trimmingCharacters(in: "'\"") }
            guard let box = words.firstIndex(where: { $0 == "box" || $0.hasSuffix("/box") }) else { continue }
            let args = Array(words[(box + 1)...])
            // Positional arguments after the verb: flags taken out, with the value of those that take one.
            let valued: Set<String> = ["-t", "--tag", "--name", "-m", "--message", "-a", "--author", "-f", "--file",
                                       "-c", "--change", "-i", "--input", "-o", "--output", "--subnet", "--gateway", "--driver"]
            func positional(after verb: Int) -> [String] {
                var out: [String] = []
                var i = verb + 1
                while i < args.count {
                    if valued.contains(args[i]) { i += 2; continue }
                    if !args[i].hasPrefix("-") || args[i] == "-" { out.append(args[i]) }
                    i += 1
                }
                return out
            }
            for (i, a) in args.enumerated() {
                if a == "--name", i + 1 < args.count { containers.insert(args[i + 1]) }
                if a.hasPrefix("--name=") { containers.insert(String(a.dropFirst(7))) }
            }
            guard let verb = args.first(where: { !$0.hasPrefix("-") }), let at = args.firstIndex(of: verb) else { continue }
            let rest = positional(after: at)
            switch verb {
            case "commit", "tag": if rest.count >= 2 { images.insert(OwnedNames.repository(rest[1])) }
            case "import": if rest.count >= 2 { images.insert(OwnedNames.repository(rest[1])) }
            case "build":
                for (i, a) in args.enumerated() where (a == "-t" || a == "--tag") && i + 1 < args.count {
                    images.insert(OwnedNames.repository(args[i + 1]))
                }
            case "network":
                if rest.first == "create", rest.count >= 2 { networks.insert(rest[1]) }
            case "run", "create": break  // --name, read above
            default: break
            }
        }
    }
}

extension Substring {
    func trimmingCharacters(in set: String) -> String {
        var s = self
        while let f = s.first, set.contains(f) { s.removeFirst() }
        while let l = s.last, set.contains(l) { s.removeLast() }
        return String(s)
    }
}
