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
                engineRoot: EngineRoot = .fromEnvironment(), boxPath: String? = nil, workRoot: String = "/tmp/boxlab") {
        self.catalog = catalog
        self.learner = learner
        self.journal = journal ?? ProgressJournal(learner: learner)
        self.engine = ContainerStore(root: engineRoot)
        self.boxPath = boxPath ?? Runner.findBox()
        self.workRoot = workRoot
    }

    public func workDirectory(_ lab: Lab) -> String { workRoot + "/" + lab.id }

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
        let ids = catalog.map(\.id).joined(separator: ", ")
        throw BoxError(.usage, "no lab called \"\(id)\" (the labs are: \(ids); see lab list)")
    }

    /// The lab the learner is in: the most recently touched one that is started and not finished.
    public func currentLab(_ p: Progress) -> Lab? {
        catalog.filter { p.labs[$0.id]?.started != nil && !p.isComplete($0) }
            .max { (p.labs[$0.id]?.touched ?? .zero) < (p.labs[$1.id]?.touched ?? .zero) }
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
                       workDirectory: workDirectory(lab), environment: environment(lab: lab.id))
    }

    /// Starts `lab`: its setup runs, then the start is recorded. Starting a started lab only makes it current.
    public func start(_ lab: Lab) throws {
        let p = progress()
        // Recorded before the setup runs: what the setup makes is then "made during the lab", which is what
        // `lab reset` removes, even if the setup fails halfway.
        try journal.append(ProgressRecord(.start, lab: lab.id))
        guard p.labs[lab.id]?.started == nil else { return }
        try engine.root.prepare()
        let ctx = context(lab, nil, progress(), clock: .now())
        for setup in lab.setup {
            do { try setup(ctx) } catch {
                let why = (error as? Failure).map { "\($0.observed)" } ?? "\(error)"
                throw BoxError(.usage, "the setup of \(lab.id) failed: \(why). `sudo lab reset \(lab.id)` undoes what it made.", exitCode: 1)
            }
        }
    }

    /// Shows `step` for the first time: its clock starts now and its own setup runs.
    public func begin(_ step: Step, of lab: Lab) throws {
        let p = progress()
        guard p.step(lab.id, step.id).started == nil else { return }
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

    /// Removes what the lab and the learner made during it: containers created and images committed since the
    /// lab started (from the engine's event journal), processes started by its solutions, the lab's own
    /// resources (its teardown); then the lab's progress. Returns a line per thing removed.
    public func reset(_ lab: Lab) throws -> [String] {
        let p = progress()
        var removed: [String] = []
        if let since = p.labs[lab.id]?.started {
            let events = EventJournal(root: engine.root).read(since: since).events
            let created = Set(events.filter { $0.type == "container" && $0.action == "create" }.map(\.id))
            for c in containers() where created.contains(c.id) {
                var (status, output) = (try? run(["rm", "-f", c.id])) ?? (1, "")
                if status != 0 {  // a container between states: once more, after a moment
                    usleep(500_000)
                    (status, output) = (try? run(["rm", "-f", c.id])) ?? (1, "")
                }
                removed.append(status == 0 ? "container \(c.name)" : "(could not remove container \(c.name): \(output))")
            }
            // Images the lab's events name and that were made after it started (a cached build names old ones).
            let images = Set(events.compactMap { $0.attributes["imageID"] })
            let fresh = ((try? engine.images.list()) ?? []).filter { image in
                image.config.created.flatMap { Timestamp.parse($0) }.map { !($0 < since) } ?? false
            }
            for id in images.sorted() where fresh.contains(where: { $0.id == id }) {
                _ = try? run(["rmi", "-f", id])
                removed.append("image \(Digest.hex(id).prefix(12))")
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
        try journal.append(ProgressRecord(.reset, lab: lab.id))
        return removed
    }

    func containers() -> [Container] { (try? engine.list()) ?? [] }

    @discardableResult
    func run(_ boxArguments: [String]) throws -> (status: Int32, output: String) {
        let script = ([boxPath] + boxArguments).map(Shell.quote).joined(separator: " ")
        return try Shell.run(script, environment: environment(lab: ""), capture: true)
    }
}
