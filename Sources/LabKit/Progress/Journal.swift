#if canImport(Glibc)
import Glibc
#endif
import Engine
import FoundationEssentials

/// One line of the learner's progress journal.
public struct ProgressRecord: Codable, Sendable, Equatable {
    public enum Event: String, Codable, Sendable {
        /// The lab was started (`lab start`, or `lab next` choosing it).
        case start
        /// A step was shown for the first time: its clock starts here.
        case step
        /// The learner's own work passed the step's check.
        case pass
        /// `lab solve` ran the reference solution and the check then passed.
        case solve
        /// A hint was shown (`hint` is its number, from 1).
        case hint
        /// `lab answer` values.
        case answer
        /// An answer the check refused: counted for the cool-down, and visible to an instructor.
        case wrong
        /// A check failed (`expected`, `observed`): written when what the step expects changes, so an
        /// instructor sees what holds a learner up, and `lab watch` does not write a line a second.
        case fail
        /// A fact the lab's setup keeps (the container an exercise started).
        case data
        /// `lab reset`: everything of this lab before it no longer counts.
        case reset
    }

    public var time: Timestamp
    public var event: Event
    public var lab: String
    public var step: String?
    public var clock: StepClock?
    public var hint: Int?
    public var values: [String]?
    public var key: String?
    public var value: String?
    public var expected: String?
    public var observed: String?
    /// The sha256 (hex) of the journal's previous whole line, as it is in the file: each line names the one
    /// before it, so a line taken out or changed later breaks the chain (what the classroom server checks).
    public var prev: String?

    public init(_ event: Event, lab: String, step: String? = nil, time: Timestamp = .now()) {
        self.time = time
        self.event = event
        self.lab = lab
        self.step = step
    }
}

/// The learner's progress: an append-only journal of JSON lines. Each record is one write(2) on an O_APPEND
/// descriptor followed by fsync, so a `kill -9` (or a power cut after the command returned) never loses a
/// recorded step, and never leaves half a record in the middle: a torn last line, if the machine died during
/// the write itself, is skipped on reading and fenced off by a newline before the next record. Each record
/// carries the hash of the whole line before it (`prev`), so the journal is a chain.
public struct ProgressJournal: Sendable {
    public let path: String
    public var directory: String { String(path[..<(path.lastIndex(of: "/") ?? path.endIndex)]) }
    /// The learner's files, opened as the learner (see LearnerFiles): nil owner, the caller's own.
    public let files: LearnerFiles
    var owner: (uid: uid_t, gid: gid_t)? { files.owner }

    public init(directory: String, owner: (uid: uid_t, gid: gid_t)? = nil, name: String? = nil) {
        self.path = directory + "/progress.jsonl"
        self.files = LearnerFiles(owner: owner, name: name)
    }

    public init(learner: Learner) {
        self.init(directory: learner.stateDirectory, owner: (learner.uid, learner.gid), name: Learner.accountName(learner.uid))
    }

    public func append(_ record: ProgressRecord) throws {
        // The directory and the file are the learner's: made by them, never through a symlink (LearnerFiles).
        try files.ensureDirectory(directory)
        var before = stat()
        let created = lstat(path, &before) != 0
        let fd = try files.open(path, O_RDWR | O_CREAT | O_APPEND, mode: 0o644)
        defer { close(fd) }
        // Two `lab` commands at once (watch and answer) must not both chain to the same line.
        flock(fd, LOCK_EX)
        defer { flock(fd, LOCK_UN) }
        var record = record
        let size = lseek(fd, 0, SEEK_END)
        record.prev = ProgressJournal.lastWholeLine(fd, size: size).map { LayerArchive.sha256($0).dropFirst(7).description }
        var line = String(decoding: try Files.encode(record), as: UTF8.self) + "\n"
        // A record torn by a crash mid-write must not swallow this one.
        var last: UInt8 = 0
        if size > 0, pread(fd, &last, 1, size - 1) == 1, last != UInt8(ascii: "\n") { line = "\n" + line }
        try Files.writeAll(fd, Array(line.utf8), path: path)
        guard fsync(fd) == 0 else { throw BoxError.sys(.store, "fsync \(path)") }
        if created {
            // The new name must survive a crash too.
            let dfd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            if dfd >= 0 { _ = fsync(dfd); close(dfd) }
        }
    }

    /// Every whole record, oldest first. Unreadable lines are skipped, never fatal.
    public func records() -> [ProgressRecord] { lines().map(\.record) }

    /// Every whole record with its line as it is in the file (what the classroom is sent), oldest first. A torn
    /// or foreign line is not one of them, and no record's `prev` names it.
    public func lines() -> [(line: [UInt8], record: ProgressRecord)] {
        guard let bytes = files.read(path) else { return [] }
        let decoder = JSONDecoder()
        return bytes.split(separator: UInt8(ascii: "\n")).compactMap { raw in
            (try? decoder.decode(ProgressRecord.self, from: Data(raw))).map { (Array(raw), $0) }
        }
    }

    /// The last line of the file that is a whole record (read from its end, 64 KiB at most), or nil.
    static func lastWholeLine(_ fd: Int32, size: off_t) -> [UInt8]? {
        guard size > 0 else { return nil }
        let length = Int(min(size, 1 << 16))
        var tail = [UInt8](repeating: 0, count: length)
        guard pread(fd, &tail, length, size - off_t(length)) == length else { return nil }
        let decoder = JSONDecoder()
        for raw in tail.split(separator: UInt8(ascii: "\n")).reversed() {
            if (try? decoder.decode(ProgressRecord.self, from: Data(raw))) != nil { return Array(raw) }
        }
        return nil
    }
}

/// The journal folded into where the learner is: what counts is what came after each lab's last reset.
public struct Progress: Sendable {
    public struct StepState: Sendable {
        public var started: StepClock?
        public var passed: Timestamp?
        public var solved: Timestamp?
        public var hints = 0
        public var answer: [String]?
        public var answeredAt: Timestamp?
        /// When answers were refused, oldest first.
        public var wrong: [Timestamp] = []
        /// What the check expected when it last failed.
        public var failing: String?
        public var done: Bool { passed != nil || solved != nil }
    }

    public struct LabState: Sendable {
        public var started: Timestamp?
        public var steps: [String: StepState] = [:]
        public var data: [String: String] = [:]
        /// When the lab was last touched: the current lab is the most recently touched unfinished one.
        public var touched: Timestamp?
    }

    public var labs: [String: LabState] = [:]

    public init(_ records: [ProgressRecord]) {
        for r in records { apply(r) }
    }

    /// Folds one more record in: `Progress(a + b)` is `Progress(a)` with each of `b` applied (the classroom
    /// keeps each attendee's fold and applies only the lines that arrived since).
    public mutating func apply(_ r: ProgressRecord) {
        if r.event == .reset { labs[r.lab] = nil; return }
        var lab = labs[r.lab] ?? LabState()
        lab.touched = r.time
        switch r.event {
        case .start: if lab.started == nil { lab.started = r.time }
        case .data: if let k = r.key { lab.data[k] = r.value }
        default:
            guard let id = r.step else { break }
            var s = lab.steps[id] ?? StepState()
            switch r.event {
            case .step:
                // Only the first showing starts the clock; showing the step again does not reset it.
                if s.started == nil { s.started = r.clock }
            case .pass: s.passed = s.passed ?? r.time
            case .solve: s.solved = s.solved ?? r.time
            case .hint: s.hints = max(s.hints, r.hint ?? 0)
            case .answer: s.answer = r.values; s.answeredAt = r.time
            case .wrong: s.wrong.append(r.time)
            case .fail: s.failing = r.expected
            default: break
            }
            lab.steps[id] = s
        }
        labs[r.lab] = lab
    }

    public func step(_ lab: String, _ step: String) -> StepState { labs[lab]?.steps[step] ?? StepState() }

    /// The first step of `lab` not yet done, or nil when all are.
    public func currentStep(of lab: Lab) -> Step? {
        lab.steps.first { !step(lab.id, $0.id).done }
    }

    public func isComplete(_ lab: Lab) -> Bool { labs[lab.id]?.started != nil && currentStep(of: lab) == nil }
}
