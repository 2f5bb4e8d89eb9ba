#if canImport(Glibc)
import Glibc
#endif
import Engine

/// The person doing the labs: the real user behind sudo (SUDO_USER), not root. Their progress lives in their
/// own home, owned by them, so it survives `sudo` and can be copied to another machine.
public struct Learner: Sendable {
    public let name: String
    public let uid: uid_t
    public let gid: gid_t
    public let home: String

    public init(name: String, uid: uid_t, gid: gid_t, home: String) {
        self.name = name
        self.uid = uid
        self.gid = gid
        self.home = home
    }

    /// SUDO_USER if set (and known), else the user running `lab`. LAB_LEARNER renames them (selftest runs
    /// solutions, which call `lab answer`, under its own learner).
    public static func current() -> Learner {
        let me = currentUser()
        if let name = getenv("LAB_LEARNER").map({ String(cString: $0) }), !name.isEmpty {
            return Learner(name: name, uid: me.uid, gid: me.gid, home: me.home)
        }
        return me
    }

    static func currentUser() -> Learner {
        if let sudo = getenv("SUDO_USER").map({ String(cString: $0) }), !sudo.isEmpty, sudo != "root",
           let pw = getpwnam(sudo) {
            return Learner(pw.pointee)
        }
        if let pw = getpwuid(getuid()) { return Learner(pw.pointee) }
        return Learner(name: "learner", uid: getuid(), gid: getgid(), home: "/root")
    }

    init(_ pw: passwd) {
        self.init(name: String(cString: pw.pw_name), uid: pw.pw_uid, gid: pw.pw_gid, home: String(cString: pw.pw_dir))
    }

    /// The account name of `uid` (its groups are the learner's when lab writes their files), or nil.
    public static func accountName(_ uid: uid_t) -> String? {
        getpwuid(uid).map { String(cString: $0.pointee.pw_name) }
    }

    /// Where progress is kept: LAB_HOME if set (tests, selftest), else ~/.local/state/boxlab. Whatever it
    /// names, lab reads and writes there only as the learner (LearnerFiles): LAB_HOME gives no more than
    /// the learner's own rights.
    public var stateDirectory: String {
        if let dir = getenv("LAB_HOME").map({ String(cString: $0) }), !dir.isEmpty { return dir }
        return home + "/.local/state/boxlab"
    }

    /// A stable number from the learner's name and a key (FNV-1a): the same learner always gets the same
    /// values, two learners almost never do.
    public func number(_ key: String, below bound: Int) -> Int {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in (name + "/" + key).utf8 {
            h = (h ^ UInt64(byte)) &* 0x0000_0100_0000_01b3
        }
        return Int(h % UInt64(max(bound, 1)))
    }

    public func pick(_ key: String, from choices: [String]) -> String {
        choices[number(key, below: choices.count)]
    }

    /// A word of `choices` and a number of `numbers`, as `basalt-417`: a name (a hostname, a file's word) that
    /// is the learner's own. The number is drawn by `numberKey` (`key` unless it says otherwise).
    public func pick(_ key: String, from choices: [String], numbered numbers: Range<Int>, numberKey: String? = nil) -> String {
        pick(key, from: choices) + "-" + String(numbers.lowerBound + number(numberKey ?? key, below: numbers.count))
    }
}

/// When a step started, in the two clocks its evidence carries: wall time (engine events, container
/// creation) and time since boot (a process's start time in /proc/PID/stat).
public struct StepClock: Sendable, Codable, Equatable {
    public var wall: Timestamp
    /// CLOCK_BOOTTIME in nanoseconds, and the boot it belongs to.
    public var boot: Int64
    public var bootID: String

    public static func now() -> StepClock {
        var ts = timespec()
        clock_gettime(CLOCK_BOOTTIME, &ts)
        return StepClock(wall: .now(), boot: Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec), bootID: currentBootID())
    }

    public static func currentBootID() -> String {
        (Files.readIfPresent("/proc/sys/kernel/random/boot_id") ?? "").filter { !$0.isWhitespace }
    }

    /// True if a process that started `ticks` clock ticks after boot started at or after this moment. A step
    /// started in an earlier boot is older than every process now alive. Clock ticks are 10 ms: a process
    /// started in the same tick as the step counts as after it.
    public func isBefore(processStartTicks ticks: UInt64) -> Bool {
        guard bootID == StepClock.currentBootID() else { return true }
        let hz = Int64(sysconf(Int32(_SC_CLK_TCK)))
        return Int64(ticks) >= boot / (1_000_000_000 / max(hz, 1))
    }
}
