import Engine

/// A lab: a walkthrough from the seed documents, as steps a learner does in their own terminals, each with a
/// check that reads the kernel's state. Written with the result builder, so a lab file reads like the
/// seed it reproduces:
///
///     let pidNamespaces = Lab("pid-namespaces", "Two containers cannot kill each other's processes") {
///         Summary("...")
///         Seeds("000", "001")
///         Step("two-containers", "Start two containers") {
///             Instructions("...")
///             Check { ctx in ... }
///             Hint("...")
///             Solution("box run -dit --name c1 busybox sh")
///         }
///     }
public struct Lab: Sendable {
    public enum Kind: String, Sendable, Codable { case guided, exercise }

    /// Stable id: what `lab start` takes and what the progress journal records (never a position).
    public let id: String
    public let title: String
    public var kind: Kind = .guided
    public var summary = ""
    /// The seed documents (../shared/seeds/NNN_*) the lab reproduces.
    public var seeds: [String] = []
    public var minutes = 15
    /// Labs to finish first (ids).
    public var prerequisites: [String] = []
    /// Per-learner values, by name: `{{name}}` in instructions and solutions, `ctx.value("name")` in checks.
    public var values: [String: @Sendable (Learner) -> String] = [:]
    /// What the lab does before its first step (directories, containers an exercise needs).
    public var setup: [@Sendable (Context) throws -> Void] = []
    /// What `lab reset` undoes besides the learner's containers and images (the lab's own resources).
    public var teardown: [@Sendable (Context) throws -> Void] = []
    public var steps: [Step] = []

    public init(_ id: String, _ title: String, kind: Kind = .guided, @LabBuilder _ parts: () -> [LabPart]) {
        self.id = id
        self.title = title
        self.kind = kind
        for part in parts() {
            switch part {
            case .summary(let s): summary = s
            case .seeds(let s): seeds += s
            case .minutes(let m): minutes = m
            case .prerequisites(let p): prerequisites += p
            case .value(let name, let make): values[name] = make
            case .setup(let f): setup.append(f)
            case .teardown(let f): teardown.append(f)
            case .step(let s): steps.append(s)
            }
        }
    }

    public func step(_ id: String) -> Step? { steps.first { $0.id == id } }
    public func index(of step: String) -> Int? { steps.firstIndex { $0.id == step } }
}

/// One thing a learner does. A step passes only on state made after it started.
public struct Step: Sendable {
    public let id: String
    public let title: String
    public var instructions = ""
    /// Set when the step is answered with `lab answer`: what is asked, and what the answer is made of.
    public var question: Question?
    public var setup: [@Sendable (Context) throws -> Void] = []
    public var check: @Sendable (Context) throws -> Verdict
    public var hints: [String] = []
    /// The shell commands a learner would type, run by `lab solve` and `lab selftest`. Interactive
    /// terminals are replaced by detached equivalents (`box run -d`, `setsid unshare ... sleep`).
    public var solution: [String] = []
    /// Who sends signals is recorded while the step runs (`TraceSignals`), for `Context.requireSignalFromHost`.
    public var tracesSignals = false

    public init(_ id: String, _ title: String, @StepBuilder _ parts: () -> [StepPart]) {
        self.id = id
        self.title = title
        var check: (@Sendable (Context) throws -> Verdict)?
        for part in parts() {
            switch part {
            case .instructions(let text): instructions += (instructions.isEmpty ? "" : "\n\n") + text
            case .question(let q): question = q
            case .setup(let f): setup.append(f)
            case .check(let f): check = f
            case .hint(let h): hints.append(h)
            case .solution(let lines): solution += lines
            case .traceSignals: tracesSignals = true
            }
        }
        self.check = check ?? { _ in .fail(Failure(expected: "a check for this step", observed: "none was written",
                                                  tryThis: "this is a defect in the lab: report it")) }
    }
}

/// A question whose answer is checked against live kernel state, never against a stored string.
public struct Question: Sendable {
    public let prompt: String
    /// How the answer is typed, e.g. "INSIDE HOST" for `lab answer INSIDE HOST`.
    public let form: String
    public init(_ prompt: String, answer form: String) {
        self.prompt = prompt
        self.form = form
    }
}

/// What a check concludes.
public enum Verdict: Sendable, Equatable {
    case pass(String)
    case fail(Failure)

    public var passed: Bool { if case .pass = self { true } else { false } }
}

/// A failed check: what the step wants, what the kernel shows, and what to try. Thrown by `require`.
public struct Failure: Error, Sendable, Equatable {
    public var expected: String
    public var observed: String
    public var tryThis: String

    public init(expected: String, observed: String, tryThis: String) {
        self.expected = expected
        self.observed = observed
        self.tryThis = tryThis
    }
}

// MARK: - The builder vocabulary

public enum LabPart: Sendable {
    case summary(String)
    case seeds([String])
    case minutes(Int)
    case prerequisites([String])
    case value(String, @Sendable (Learner) -> String)
    case setup(@Sendable (Context) throws -> Void)
    case teardown(@Sendable (Context) throws -> Void)
    case step(Step)
}

public enum StepPart: Sendable {
    case instructions(String)
    case question(Question)
    case setup(@Sendable (Context) throws -> Void)
    case check(@Sendable (Context) throws -> Verdict)
    case hint(String)
    case solution([String])
    case traceSignals
}

@resultBuilder
public enum LabBuilder {
    public static func buildExpression(_ part: LabPart) -> [LabPart] { [part] }
    public static func buildExpression(_ step: Step) -> [LabPart] { [.step(step)] }
    public static func buildBlock(_ parts: [LabPart]...) -> [LabPart] { parts.flatMap { $0 } }
}

@resultBuilder
public enum StepBuilder {
    public static func buildExpression(_ part: StepPart) -> [StepPart] { [part] }
    public static func buildBlock(_ parts: [StepPart]...) -> [StepPart] { parts.flatMap { $0 } }
}

public func Summary(_ text: String) -> LabPart { .summary(text) }
public func Seeds(_ ids: String...) -> LabPart { .seeds(ids) }
public func Minutes(_ m: Int) -> LabPart { .minutes(m) }
public func Prerequisites(_ ids: String...) -> LabPart { .prerequisites(ids) }
/// A per-learner value, derived from the learner's name so a neighbour's answer does not pass.
public func Value(_ name: String, _ make: @escaping @Sendable (Learner) -> String) -> LabPart { .value(name, make) }
public func LabSetup(_ body: @escaping @Sendable (Context) throws -> Void) -> LabPart { .setup(body) }
public func Teardown(_ body: @escaping @Sendable (Context) throws -> Void) -> LabPart { .teardown(body) }

public func Instructions(_ markdown: String) -> StepPart { .instructions(markdown) }
public func Ask(_ prompt: String, answer form: String) -> StepPart { .question(Question(prompt, answer: form)) }
public func StepSetup(_ body: @escaping @Sendable (Context) throws -> Void) -> StepPart { .setup(body) }
/// The check: return `.pass(why)`, or throw a `Failure` (most easily with `require`).
public func Check(_ body: @escaping @Sendable (Context) throws -> Verdict) -> StepPart { .check(body) }
public func Hint(_ text: String) -> StepPart { .hint(text) }
public func Solution(_ lines: String...) -> StepPart { .solution(lines) }
/// Records who sends which signal while the step runs (the kernel's signal_generate tracepoint): what a check
/// needs to tell "from the host" from the same kill done inside the container (`requireSignalFromHost`).
public func TraceSignals() -> StepPart { .traceSignals }

/// Fails the check unless `condition` holds.
public func require(_ condition: Bool, expected: @autoclosure () -> String, observed: @autoclosure () -> String,
                    tryThis: @autoclosure () -> String) throws {
    if !condition { throw Failure(expected: expected(), observed: observed(), tryThis: tryThis()) }
}

/// Unwraps `value` or fails the check.
public func require<T>(_ value: T?, expected: @autoclosure () -> String, observed: @autoclosure () -> String,
                       tryThis: @autoclosure () -> String) throws -> T {
    guard let value else { throw Failure(expected: expected(), observed: observed(), tryThis: tryThis()) }
    return value
}

/// An unguided exercise: a goal and a check, no steps to follow. It is a lab with one step, "goal", so the
/// runner, the journal and selftest treat both alike.
public func Exercise(_ id: String, _ title: String, @LabBuilder _ parts: () -> [LabPart]) -> Lab {
    Lab(id, title, kind: .exercise, parts)
}

/// The goal of an exercise, with its check, hints and solution.
public func Goal(_ title: String, @StepBuilder _ parts: () -> [StepPart]) -> Step {
    Step("goal", title, parts)
}
