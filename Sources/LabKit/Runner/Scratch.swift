#if canImport(Glibc)
import Glibc
#endif
import Engine

/// A scratch directory under /tmp that holds an engine root of its own (and whatever else a learner needs), and
/// the clean-up that leaves nothing of it behind. `lab selftest` makes one per lab; the test suites one per test
/// (BoxTests' Sandbox and LabTests' LabSandbox, which reach it with `@testable import LabKit`).
struct Scratch: Sendable {
    let base: String

    init(prefix: String) throws {
        var template = Array("/tmp/\(prefix)-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw BoxError.sys(.usage, "mkdtemp /tmp/\(prefix)-XXXXXX") }
        base = String(cString: made)
    }

    /// Mount points below the scratch directory, from this process's mountinfo.
    var mounts: [String] { Rootfs.mountPoints().filter { $0.hasPrefix(base + "/") } }

    /// Takes down what the engine root `engine` (below `base`) still holds: its containers, removed by
    /// `removeContainers` (given their ids: `box rm -f`, so each goes the way box takes containers down), its
    /// networks and their bridges (interface names are global to the host), and box's cgroup parents once empty.
    /// Then it detaches whatever is still mounted below `base` and deletes the directory. Returns those leftover
    /// mounts: a clean-up that had to detach any is a failure for the caller to report.
    @discardableResult
    func cleanUp(engine: EngineRoot, removeContainers: ([String]) -> Void) -> [String] {
        let ids = ((try? ContainerStore(root: engine).list()) ?? []).map(\.id)
        if !ids.isEmpty { removeContainers(ids) }
        NetworkStore(root: engine).destroyAll()
        Cgroups.removeEmptyParents()  // box/, which stays after the last container (unless another root's is there)
        let leftovers = mounts
        for m in leftovers.reversed() { umount2(m, Int32(MNT_DETACH)) }
        try? Files.removeTree(base)
        return leftovers
    }
}
