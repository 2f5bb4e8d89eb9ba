import Foundation
import Testing
@testable import Engine

/// ScopedPath needs no root: a directory with symlinks in it is enough.
@Suite("ScopedPath resolves inside a root, as the kernel would if it were /")
struct ScopedPathTests {
    let root: String

    init() throws {
        root = FileManager.default.temporaryDirectory.path + "/scoped-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let fm = FileManager.default
        try fm.createDirectory(atPath: root + "/etc/sub", withIntermediateDirectories: true)
        try fm.createSymbolicLink(atPath: root + "/abs", withDestinationPath: "/etc")
        try fm.createSymbolicLink(atPath: root + "/up", withDestinationPath: "../../../../..")
        try fm.createSymbolicLink(atPath: root + "/etc/rel", withDestinationPath: "sub")
        try fm.createSymbolicLink(atPath: root + "/loop", withDestinationPath: "loop")
        try fm.createSymbolicLink(atPath: root + "/host", withDestinationPath: "/proc/self")
    }

    func cleanUp() { try? FileManager.default.removeItem(atPath: root) }

    @Test("absolute and relative links, and .., never leave the root")
    func confined() throws {
        defer { cleanUp() }
        #expect(try ScopedPath.resolve("/abs/passwd", in: root) == root + "/etc/passwd")
        #expect(try ScopedPath.resolve("/up/etc", in: root) == root + "/etc")
        #expect(try ScopedPath.resolve("../../../etc/sub", in: root) == root + "/etc/sub")
        #expect(try ScopedPath.resolve("/etc/rel/x", in: root) == root + "/etc/sub/x")
        #expect(try ScopedPath.resolve("/host/environ", in: root) == root + "/proc/self/environ")
        #expect(try ScopedPath.resolve("/", in: root) == root)
    }

    @Test("layer entry names resolve inside the layer's root, as docker reads them; .. stays refused")
    func layerEntryNames() {
        defer { cleanUp() }
        #expect(LayerArchive.inRoot("/") == "")
        #expect(LayerArchive.inRoot("//etc/passwd") == "etc/passwd")
        #expect(LayerArchive.inRoot("./bin/sh") == "./bin/sh")
        #expect(LayerArchive.inRoot("etc/") == "etc/")
        #expect(LayerArchive.unsafeName(LayerArchive.inRoot("/etc/x")) == nil)
        #expect(LayerArchive.unsafeName(LayerArchive.inRoot("/../etc/x")) != nil)
        #expect(LayerArchive.unsafeName(LayerArchive.inRoot("/a/../../x")) != nil)
    }

    @Test("the last component is left alone when asked, and a loop is an error")
    func lastAndLoops() throws {
        defer { cleanUp() }
        #expect(try ScopedPath.resolve("/abs", in: root, followLast: false) == root + "/abs")
        #expect(try ScopedPath.resolve("/abs", in: root) == root + "/etc")
        #expect(throws: BoxError.self) { try ScopedPath.resolve("/loop/x", in: root) }
    }
}
