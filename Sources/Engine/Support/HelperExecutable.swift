/// The executable that serves the engine's two helper roles, each a process of its own:
///   - a container's monitor: `PATH __monitor ID`, descriptor 3 its first client (Monitor.serve);
///   - a published port's proxy: `PATH __proxy IP PORT`, descriptor 3 the listening socket (PortProxy).
/// The engine starts these processes; the executable that hosts it routes the arguments to the roles (box's
/// main.swift) and decides how its processes end. A library never calls `exit`, so a host that lets the engine
/// fork it into the monitor role (box, which runs one thread: a fork spares a whole second start of the binary)
/// also gives it the way such a forked child ends. Without `endFork` the engine executes `path` instead.
/// (runc and youki take the same shape: libcontainer re-executes the binary that links it, `runc init`.)
public struct HelperExecutable: Sendable {
    /// Absolute path of the executable (box: its own, /proc/self/exe resolved by box).
    public var path: String
    /// Ends a process the engine forked, with the status its role returned (box: `exit`).
    public var endFork: (@Sendable (Int32) -> Never)?
    /// Told the pid of each monitor the engine executes for this host, which is its parent: a host that outlives
    /// them (boxd) waits for them, or each would stay a zombie once its container ended. (box ends soon after
    /// a start, and init adopts and reaps its monitors.)
    public var spawned: (@Sendable (Int32) -> Void)?

    public init(path: String, endFork: (@Sendable (Int32) -> Never)? = nil, spawned: (@Sendable (Int32) -> Void)? = nil) {
        self.path = path
        self.endFork = endFork
        self.spawned = spawned
    }
}
