#if canImport(Glibc)
import Glibc
#endif
import Engine

/// What the picture highlights: what is new or different since a moment (the current lab step's start, or the
/// map's own start). Objects the kernel dates are compared with that moment: a process by its start tick, a
/// container by its creation and start. Values nobody dates (a limit, frozen, a file count) are compared with
/// `baseline`, the first picture this map drew: a change made before the map started is not seen as a change.
public struct MapChanges: Sendable {
    /// Wall time of the moment (containers' Created and StartedAt are wall times).
    public var since: Timestamp?
    /// The same moment in clock ticks after boot, as /proc/PID/stat's start time counts.
    public var sinceTicks: UInt64?
    public var baseline: HostMapModel?

    public init(since: Timestamp? = nil, sinceTicks: UInt64? = nil, baseline: HostMapModel? = nil) {
        self.since = since
        self.sinceTicks = sinceTicks
        self.baseline = baseline
    }

    /// Nothing highlighted.
    public static let none = MapChanges()

    /// The moment now, in both clocks (a map that highlights what changes while it runs).
    public static func now() -> MapChanges {
        MapChanges(since: .now(), sinceTicks: bootTicksNow())
    }

    /// Clock ticks after boot now (CLOCK_BOOTTIME, in the unit of /proc/PID/stat's field 22).
    public static func bootTicksNow() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_BOOTTIME, &ts)
        return ticks(bootNanoseconds: Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec))
    }

    /// A CLOCK_BOOTTIME reading in clock ticks.
    public static func ticks(bootNanoseconds: Int64) -> UInt64 {
        let hz = Int64(max(sysconf(Int32(_SC_CLK_TCK)), 1))
        return UInt64(max(bootNanoseconds, 0) / (1_000_000_000 / hz))
    }

    public func isNew(_ p: ProcessView) -> Bool {
        guard let sinceTicks else { return false }
        return p.startTicks >= sinceTicks
    }

    private func before(_ c: ContainerView) -> ContainerView? { baseline?.containers.first { $0.id == c.id } }

    public func isNew(_ c: ContainerView) -> Bool {
        if let since, c.created >= since { return true }
        return baseline != nil && before(c) == nil
    }

    /// Started, stopped, paused... since the moment.
    public func stateChanged(_ c: ContainerView) -> Bool {
        if let since, !c.startedAt.isZero, c.startedAt >= since { return true }
        if let b = before(c) { return b.status != c.status }
        return false
    }

    public func cgroupChanged(_ c: ContainerView) -> Bool {
        guard let now = c.cgroup, let then = before(c)?.cgroup else { return false }
        return !now.sameSettings(as: then)
    }

    public func filesChanged(_ c: ContainerView) -> Bool {
        guard let b = before(c)?.filesystem else { return false }
        return (b.added, b.changed, b.whiteouts, b.mounted) != (c.filesystem.added, c.filesystem.changed, c.filesystem.whiteouts, c.filesystem.mounted)
    }

    public func networkChanged(_ c: ContainerView) -> Bool {
        guard let b = before(c) else { return false }
        return b.network != c.network
    }

    public func isNew(_ g: IsolatedGroup) -> Bool {
        if let first = g.processes.first, isNew(first) { return true }
        return baseline.map { !$0.isolated.contains { $0.name == g.name } } ?? false
    }
}
