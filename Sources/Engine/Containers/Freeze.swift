#if canImport(Glibc)
import Glibc
#endif

/// Who may freeze a running container, and who thaws it when that one dies.
///
/// `box commit` freezes a running container for the copy of its layer. A `box commit` killed mid-copy (kill -9,
/// a closed terminal, the OOM killer) cannot thaw it, and the state still says "running": every verb then met
/// a container it could neither signal (a frozen task does not act on SIGTERM, and under cgroup v1 not on SIGKILL
/// either), nor exec into. So a freeze is held under the container's freeze lock, an flock the kernel drops when
/// its holder dies whatever the way; `pause`/`unpause` take it too. Every verb that acts on a running container
/// first calls `thawIfOrphaned`: it waits for a live commit to finish, and thaws what a dead one left frozen.
extension ContainerStore {
    func freezeLock(_ id: String) -> String { root.containerDir(id) + "/freeze.lock" }

    /// Runs `body` holding the container's freeze lock (waiting for a commit that holds it).
    func withFreezeLock<T>(_ c: Container, _ body: () throws -> T) throws -> T {
        try Lock.withLock(freezeLock(c.id), body)
    }

    /// A container frozen while nobody holds its freeze lock and its state does not say paused was frozen by a
    /// process that died before thawing it: thaw it. Never throws (the verb that called it reports what is wrong).
    public func thawIfOrphaned(_ c: Container) {
        guard Files.exists(root.containerDir(c.id)) else { return }
        try? withFreezeLock(c) {
            guard let current = try? load(c.id), !current.state.Paused else { return }
            let cgroups = Cgroups.driver()
            guard cgroups.isFrozen(c.spec.cgroup) else { return }
            try cgroups.freeze(c.spec.cgroup, false)
        }
    }
}
