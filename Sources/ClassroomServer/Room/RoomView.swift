import Engine
import LabKit

/// `GET /api/room`'s JSON (the contract), and what the dashboard adds to it: `steps`, the columns of the heatmap.
public struct RoomView: Codable, Sendable {
    public struct Info: Codable, Sendable {
        public var name: String
        public var code: String
    }

    public struct AttendeeView: Codable, Sendable {
        public var id: String
        public var name: String
        public var lines: Int
        public var lastSeen: String
        public var chain: String
        /// Beyond the contract: the index of the first line whose `prev` did not match.
        public var chainBrokenAt: Int?
        /// The contract's `"LAB/STEP" | null`: null, not absent.
        @NullWhenNil public var current: String?
        /// Beyond the contract: when the current step was first shown (RFC 3339).
        public var currentSince: String?
        public var steps: [String: String]
        public var failing: [String: String]
        /// Wrong answers on the current step.
        public var wrong: Int
        public var stuck: Bool
        /// Beyond the contract: why `stuck` (for the dashboard's tooltip).
        public var stuckReason: String?
        /// Beyond the contract (issue 22): when the instructor asked for the attendee's map, while it is not
        /// sent yet, and when the latest map came (RFC 3339).
        public var mapRequested: String?
        public var mapAt: String?
    }

    /// A column of the dashboard: a step of a lab someone in the room touched, in the catalogue's order.
    public struct StepView: Codable, Sendable {
        public var id: String
        public var lab: String
        public var labTitle: String
        public var title: String
        /// How many attendees are on it now.
        public var on: Int
        /// The most common failing expectation among those on it, and how many share it.
        public var failing: String?
        public var failingCount: Int
        /// Median seconds from first shown to passed or solved, over those who finished it.
        public var medianSeconds: Double?
    }

    public var room: Info
    public var attendees: [AttendeeView]
    public var steps: [StepView]
}

/// One attendee's journal folded with LabKit's `Progress`, plus what the classroom reads beside it (the failing
/// checks' texts). Kept per attendee and brought up to date with only the lines stored since (`apply`): folding
/// every attendee's whole journal again at each view was most of `GET /api/room`'s time (bench/classroom).
struct Folded: Sendable {
    /// How many lines were stored when this was folded (unreadable ones included: the store's count).
    private(set) var lines = 0
    private var progress = Progress([])
    /// The last failing check's text per step, until the step is done or its lab reset, and how many failures.
    private var failingAll: [String: String] = [:]
    private var failCounts: [String: Int] = [:]

    // What the view reads, derived after each `apply`.
    private(set) var steps: [String: String] = [:]
    private(set) var current: String?
    private(set) var currentSince: Timestamp?
    private(set) var failing: [String: String] = [:]
    /// Wrong answers and failing checks (distinct texts) on the current step.
    private(set) var wrong = 0
    private(set) var failures = 0
    /// Seconds from shown to done, of each finished step.
    private(set) var durations: [String: Double] = [:]
    /// Labs touched, for the columns.
    private(set) var labs: Set<String> = []
    private(set) var unknownSteps: [String: [String]] = [:]

    init() {}

    /// The fold of a whole journal.
    init(lines texts: [String], catalogue: Catalogue) {
        apply(texts.compactMap { try? JournalLine.parse($0) }, count: texts.count, catalogue: catalogue)
    }

    /// Folds in `parsed`, the readable ones of the `count` lines stored after those folded so far.
    mutating func apply(_ parsed: [JournalLine], count: Int, catalogue: Catalogue) {
        lines += count
        for line in parsed {
            let r = line.record
            progress.apply(r)
            if r.event == .reset {
                failingAll = failingAll.filter { !$0.key.hasPrefix(r.lab + "/") }
                failCounts = failCounts.filter { !$0.key.hasPrefix(r.lab + "/") }
                continue
            }
            guard let step = r.step else { continue }
            let key = r.lab + "/" + step
            switch r.event {
            case .fail:
                failingAll[key] = r.expected ?? ""
                failCounts[key, default: 0] += 1
            case .pass, .solve: failingAll[key] = nil
            default: break
            }
        }
        derive(catalogue)
    }

    private mutating func derive(_ catalogue: Catalogue) {
        steps = [:]; durations = [:]; labs = []; unknownSteps = [:]
        current = nil; currentSince = nil; wrong = 0; failures = 0
        failing = failingAll
        for (labID, lab) in progress.labs {
            labs.insert(labID)
            for (stepID, s) in lab.steps {
                let key = labID + "/" + stepID
                if catalogue.labs[labID] == nil { unknownSteps[labID, default: []].append(stepID) }
                if let passed = s.passed, s.solved.map({ passed <= $0 }) ?? true {
                    steps[key] = "passed"
                } else if s.solved != nil {
                    steps[key] = "solved"
                }
                if let end = s.passed ?? s.solved, let start = s.started?.wall {
                    durations[key] = Double(end.unixNanoseconds - start.unixNanoseconds) / 1e9
                }
            }
        }
        // The current lab is the most recently touched unfinished one (as `lab next` has it); its current step
        // the first not done.
        let touched = progress.labs.sorted { ($0.value.touched ?? .zero) > ($1.value.touched ?? .zero) }
        for (labID, state) in touched {
            if let lab = catalogue.labs[labID] {
                guard let step = progress.currentStep(of: lab) else { continue }
                current = labID + "/" + step.id
                currentSince = progress.step(labID, step.id).started?.wall ?? state.touched
                break
            }
            // A lab this server's catalogue lacks: its last shown step not done.
            if let (stepID, s) = state.steps.filter({ !$0.value.done && $0.value.started != nil })
                .max(by: { $0.value.started!.wall < $1.value.started!.wall }) {
                current = labID + "/" + stepID
                currentSince = s.started?.wall
                break
            }
        }
        if let current {
            steps[current] = "current"
            let parts = current.split(separator: "/", maxSplits: 1).map(String.init)
            wrong = progress.step(parts[0], parts.count > 1 ? parts[1] : "").wrong.count
            failures = failCounts[current] ?? 0
        }
    }
}

/// The labs the dashboard knows: titles and order of steps.
public struct Catalogue: Sendable {
    public var order: [String]
    public var labs: [String: Lab]

    public init(_ labs: [Lab]) {
        order = labs.map(\.id)
        self.labs = Dictionary(labs.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
    }
}

enum RoomFold {
    /// Seconds on a step after which an attendee is stuck when too few have finished it to take a median.
    static let stuckWithoutMedian = 15.0 * 60

    static func view(room: Room, attendees: [(Attendee, Folded)], maps: [String: StoredMap] = [:], catalogue: Catalogue,
                     now: Timestamp) -> RoomView {
        var finished: [String: [Double]] = [:]
        for (_, f) in attendees { for (k, d) in f.durations { finished[k, default: []].append(d) } }
        let medians = finished.mapValues(median)

        var views: [RoomView.AttendeeView] = []
        for (a, f) in attendees {
            var stuckReason: String?
            if let current = f.current {
                let elapsed = f.currentSince.map { Double(now.unixNanoseconds - $0.unixNanoseconds) / 1e9 } ?? 0
                let samples = finished[current]?.count ?? 0
                if let m = medians[current], samples >= 3 {
                    if elapsed > max(2 * m, m + 300) {
                        stuckReason = "\(minutes(elapsed)) on this step, the room's median is \(minutes(m))"
                    }
                } else if elapsed > stuckWithoutMedian {
                    stuckReason = "\(minutes(elapsed)) on this step"
                }
                if f.wrong >= 3 { stuckReason = "\(f.wrong) wrong answers" + (stuckReason.map { "; " + $0 } ?? "") }
                else if f.failures >= 3 { stuckReason = "\(f.failures) different failing checks" + (stuckReason.map { "; " + $0 } ?? "") }
            }
            views.append(.init(
                id: a.id, name: a.name, lines: a.lines, lastSeen: a.lastSeen.rfc3339,
                chain: a.chainBrokenAt == nil ? "ok" : "broken", chainBrokenAt: a.chainBrokenAt,
                current: f.current, currentSince: f.currentSince?.rfc3339, steps: f.steps, failing: f.failing,
                wrong: f.wrong, stuck: stuckReason != nil, stuckReason: stuckReason,
                mapRequested: maps[a.id]?.requested?.rfc3339, mapAt: maps[a.id]?.at?.rfc3339))
        }

        // Columns: every step of each lab someone touched, catalogue order first, then labs it lacks.
        let touched = attendees.reduce(into: Set<String>()) { $0.formUnion($1.1.labs) }
        var columns: [(lab: String, labTitle: String, step: String, title: String)] = []
        for id in catalogue.order where touched.contains(id) {
            let lab = catalogue.labs[id]!
            for s in lab.steps { columns.append((id, lab.title, s.id, s.title)) }
        }
        var unknown: [String: Set<String>] = [:]
        for (_, f) in attendees { for (lab, steps) in f.unknownSteps { unknown[lab, default: []].formUnion(steps) } }
        for lab in unknown.keys.sorted() { for s in unknown[lab]!.sorted() { columns.append((lab, lab, s, s)) } }

        let steps = columns.map { c -> RoomView.StepView in
            let key = c.lab + "/" + c.step
            let on = views.filter { $0.current == key }
            let texts = on.compactMap { $0.failing[key] }.filter { !$0.isEmpty }
            let counts = Dictionary(texts.map { ($0, 1) }, uniquingKeysWith: +)
            let top = counts.max { $0.value < $1.value || ($0.value == $1.value && $0.key > $1.key) }
            return .init(id: key, lab: c.lab, labTitle: c.labTitle, title: c.title, on: on.count,
                         failing: top?.key, failingCount: top?.value ?? 0, medianSeconds: medians[key])
        }
        return RoomView(room: .init(name: room.name, code: room.code), attendees: views, steps: steps)
    }

    static func median(_ values: [Double]) -> Double {
        let s = values.sorted()
        return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
    }

    static func minutes(_ seconds: Double) -> String {
        seconds < 90 ? "\(Int(seconds)) s" : "\(Int(seconds / 60)) min"
    }
}

/// An optional that JSON spells `null` when it is nil, where the contract says `"X" | null`: synthesized coding
/// leaves a nil optional out.
@propertyWrapper public struct NullWhenNil<Value: Codable & Sendable>: Codable, Sendable {
    public var wrappedValue: Value?

    public init(wrappedValue: Value?) { self.wrappedValue = wrappedValue }

    public init(from decoder: any Decoder) throws { wrappedValue = try decoder.singleValueContainer().decode(Value?.self) }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(wrappedValue)
    }
}
