#if canImport(Glibc)
import Glibc
#endif
import Engine

/// `lab selftest`: proves every step honest. In a fresh engine root and progress journal, each step's check
/// must fail before its work (so it cannot pass on nothing, or on the previous step's state), the reference
/// solution must run, and the check must then pass. Afterwards `lab reset` must leave nothing behind.
public struct Selftest {
    public struct Outcome: Sendable {
        public var lab: String
        public var step: String
        public var ok: Bool
        public var detail: String
    }

    let catalog: [Lab]
    let boxPath: String

    public init(catalog: [Lab], boxPath: String = Runner.findBox()) {
        self.catalog = catalog
        self.boxPath = boxPath
    }

    /// Runs `lab`'s steps; `report` gets each outcome as it happens.
    public func run(_ lab: Lab, report: (Outcome) -> Void) throws -> Bool {
        let scratch = try Scratch(prefix: "labtest")
        let base = scratch.base
        let root = EngineRoot(path: base + "/box")
        // A learner of its own: two selftests at once get different per-learner values (ports, names, numbers).
        let runner = Runner(catalog: catalog, learner: Learner(name: "selftest-" + String(base.suffix(6)), uid: 0, gid: 0, home: base),
                            journal: ProgressJournal(directory: base + "/progress"), engineRoot: root,
                            boxPath: boxPath, workRoot: base + "/work")
        var ok = true
        func outcome(_ step: String, _ good: Bool, _ detail: String) {
            ok = ok && good
            report(Outcome(lab: lab.id, step: step, ok: good, detail: detail))
        }

        do {
            try runner.start(lab)
            for step in lab.steps {
                // Whatever the previous step started is at least a clock tick (10 ms) older than this step.
                usleep(30_000)
                try runner.begin(step, of: lab)
                if case .pass(let why) = runner.check(step, of: lab) {
                    outcome(step.id, false, "the check passed before the step's work was done: \(why)")
                    break
                }
                let (status, output) = try runner.runSolution(step, of: lab, capture: true)
                guard status == 0 else {
                    outcome(step.id, false, "the solution failed (exit \(status)):\n\(output)")
                    break
                }
                switch runner.awaitPass(step, of: lab, seconds: 10) {
                case .pass(let why):
                    try runner.recordPass(step, of: lab, solved: true)
                    outcome(step.id, true, why)
                case .fail(let f):
                    outcome(step.id, false, "after the solution the check still fails: expected \(f.expected); observed \(f.observed)")
                }
                if !ok { break }
            }
        } catch {
            outcome("(setup)", false, "\(error)")
        }

        // Reset must remove what the lab and its solutions made: no container, no marked process, no mount.
        _ = try? runner.reset(lab)
        let left = ((try? runner.engine.list()) ?? []).map(\.name)
        if !left.isEmpty { outcome("(reset)", false, "containers left after lab reset: \(left.joined(separator: ", "))") }
        usleep(100_000)
        let marked = Proc.all().filter { $0.environment.contains(runner.marker(lab.id)) }
        if !marked.isEmpty { outcome("(reset)", false, "processes left after lab reset: \(marked.map(\.label).joined(separator: ", "))") }
        // Images too: only the busybox box builds on first use may stay (a fresh engine root has no other).
        let images = ((try? runner.engine.images.list()) ?? []).filter { !$0.names.contains("busybox:latest") }
        if !images.isEmpty {
            outcome("(reset)", false, "images left after lab reset: \(images.map { $0.names.first ?? $0.shortID }.joined(separator: ", "))")
        }
        let traces = SignalTrace.instances(prefix: runner.signalTracePrefix(lab))
        if !traces.isEmpty { outcome("(reset)", false, "signal traces left after lab reset: \(traces.joined(separator: ", "))") }
        let mounts = scratch.mounts
        if !mounts.isEmpty { outcome("(reset)", false, "mounts left after lab reset: \(mounts.joined(separator: ", "))") }

        // Clean up even after a failure: containers, mounts, then the directory.
        scratch.cleanUp(engine: root) { ids in
            for id in ids { _ = try? runner.engine.remove(try runner.engine.resolve(id), force: true) }
        }
        return ok
    }
}
