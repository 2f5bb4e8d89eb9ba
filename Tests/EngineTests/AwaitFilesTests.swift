import Glibc
import Testing
@testable import Engine

// A monitor that `box run` forks inside create waits for the engine lock, then decides from the store what
// happened to the create it could not see (Monitor.awaitFiles). No root needed: files only.
@Suite("A monitor forked by box run, once the engine lock is free")
struct AwaitFilesTests {
    /// A scratch engine root and a monitor of the fixture container in it, waiting for its files.
    static func setUp(_ body: (ContainerStore, inout Monitor) throws -> Void) throws {
        try HandReadTests.withRoot { root in
            let store = ContainerStore(root: root)
            let spec = try JSONTree.decode(ContainerSpec.self, from: Array(JSONTreeTests.spec.utf8))
            var monitor = Monitor(store: store, id: spec.ID, spec: spec, state: ContainerState())
            monitor.files = .awaited
            try root.prepare()
            try body(store, &monitor)
        }
    }

    static func owner(_ pid: Int32) -> ContainerState {
        var state = ContainerState()
        state.MonitorPid = pid
        return state
    }

    @Test("the files are there and name this process: it goes on, with the recorded state")
    func ready() throws {
        try Self.setUp { store, monitor in
            try Files.mkdirs(store.root.containerDir(monitor.id))
            try store.saveState(monitor.id, Self.owner(getpid()))
            let ready = monitor.awaitFiles()
            #expect(ready)
            #expect(monitor.state.MonitorPid == getpid())
            let again = monitor.awaitFiles()
            #expect(again)  // answered once, the same again
        }
    }

    @Test("no files at all (create failed and cleaned up): it stops, and stays stopped")
    func nothing() throws {
        try Self.setUp { store, monitor in
            let ready = monitor.awaitFiles()
            #expect(!ready)
            try Files.mkdirs(store.root.containerDir(monitor.id))
            try store.saveState(monitor.id, Self.owner(getpid()))
            let again = monitor.awaitFiles()
            #expect(!again)  // the first answer holds
        }
    }

    @Test("a directory and layer but no state (box run killed while writing): removed")
    func halfWritten() throws {
        try Self.setUp { store, monitor in
            try Files.mkdirs(store.root.containerDir(monitor.id))
            try Files.writeAtomically(store.root.containerDir(monitor.id) + "/hostname", "h\n")
            try Files.mkdirs(store.layerPath(monitor.id) + "/diff")
            let ready = monitor.awaitFiles()
            #expect(!ready)
            #expect(!Files.exists(store.root.containerDir(monitor.id)))
            #expect(!Files.exists(store.layerPath(monitor.id)))
        }
    }

    @Test("a state it cannot read, or another monitor's: not this monitor's to start, and nothing is removed")
    func notOurs() throws {
        try Self.setUp { store, monitor in
            try Files.mkdirs(store.root.containerDir(monitor.id))
            try Files.writeAtomically(store.root.containerDir(monitor.id) + "/state.json", "{not json")
            let ready = monitor.awaitFiles()
            #expect(!ready)
            #expect(Files.exists(store.root.containerDir(monitor.id) + "/state.json"))
        }
        try Self.setUp { store, monitor in
            try Files.mkdirs(store.root.containerDir(monitor.id))
            try store.saveState(monitor.id, Self.owner(getpid() + 1))
            let ready = monitor.awaitFiles()
            #expect(!ready)
            #expect(Files.exists(store.root.containerDir(monitor.id)))
        }
    }
}
