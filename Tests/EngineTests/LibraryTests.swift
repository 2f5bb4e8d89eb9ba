import Glibc
import Testing
@testable import Engine

// Engine is a library (issue 19): any program may host it — box, a test runner, later a server — so it never
// ends the process, never decides what a terminal is, never writes to a descriptor it was not given, and starts
// its helper processes from the executable its host names, not from whatever binary it finds itself in.
@Suite("Engine, a library any program can host")
struct LibraryTests {
    /// Sources/Engine, found from this file's path (Tests/EngineTests/LibraryTests.swift).
    static var engineSources: String {
        var parts = #filePath.split(separator: "/", omittingEmptySubsequences: false)
        parts.removeLast(3)
        return parts.joined(separator: "/") + "/Sources/Engine"
    }

    /// Every Swift file below `dir`, with its lines (comments included: an example in a comment is cheap to reword).
    static func swiftFiles(_ dir: String) throws -> [(path: String, lines: [Substring])] {
        var out: [(String, [Substring])] = []
        for name in try Files.list(dir).sorted() {
            let path = dir + "/" + name
            if Files.isDirectory(path) { out += try swiftFiles(path) } else if name.hasSuffix(".swift") {
                out.append((path, String(decoding: try Files.read(path), as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)))
            }
        }
        return out
    }

    /// `word` in `line` as a name of its own: `exit(`, `_exit(`, `Glibc.exit(`, not `sprint(` or `exitCode(`.
    static func calls(_ line: Substring, _ word: String) -> Bool {
        let text = Array(line.utf8), w = Array(word.utf8)
        guard text.count >= w.count else { return false }
        for start in 0...(text.count - w.count) where text[start..<start + w.count].elementsEqual(w) {
            let before = start > 0 ? text[start - 1] : 0x20
            let identifier = (0x30...0x39).contains(before) || (0x41...0x5A).contains(before) || (0x61...0x7A).contains(before)
            if !identifier { return true }
        }
        return false
    }

    @Test("no process entry point, exit, terminal test or standard descriptor in Sources/Engine")
    func noProcessConcerns() throws {
        let forbidden = ["exit(", "isatty", "print(", "FileHandle.standard", "STDIN_FILENO", "STDOUT_FILENO",
                         "STDERR_FILENO", "static func main", "@main", "CommandLine.arguments[1",
                         "writeFully(1,", "writeFully(2,", "read(0,", "makeRaw(0)", "winsize(0,"]
        let files = try Self.swiftFiles(Self.engineSources)
        #expect(files.contains { $0.path.hasSuffix("/Containers/Monitor.swift") })  // the right directory
        var found: [String] = []
        for (path, lines) in files {
            for (i, line) in lines.enumerated() {
                for word in forbidden where Self.calls(line, word) {
                    found.append("\(path.split(separator: "/").suffix(2).joined(separator: "/")):\(i + 1): \(word)")
                }
            }
        }
        #expect(found == [])
    }

    @Test("Engine's folders use each other's types without a cycle: each folder a layer over the ones it uses")
    func noFolderCycles() throws {
        let base = Self.engineSources + "/"
        let files = try Self.swiftFiles(Self.engineSources).map { file in
            (folder: String(file.path.dropFirst(base.count).split(separator: "/")[0]),
             code: file.lines.map { String($0.split(separator: "//", maxSplits: 1, omittingEmptySubsequences: false)[0]) })
        }
        // The folder of each top-level type (declared at the start of a line, as every file here declares them).
        let kinds: Set<Substring> = ["struct", "enum", "class", "protocol", "typealias", "actor"]
        let modifiers: Set<Substring> = ["public", "internal", "private", "fileprivate", "final", "indirect"]
        var home: [Substring: String] = [:]
        for file in files {
            for line in file.code where !(line.first?.isWhitespace ?? true) {
                let words = Self.identifiers(line).drop { modifiers.contains($0) }
                if let kind = words.first, kinds.contains(kind), let name = words.dropFirst().first { home[name] = home[name] ?? file.folder }
            }
        }
        var uses: [String: Set<String>] = [:]
        for file in files {
            for line in file.code {
                for word in Self.identifiers(line) where word.first?.isUppercase == true {
                    if let other = home[word], other != file.folder { uses[file.folder, default: []].insert(other) }
                }
            }
        }
        // A depth-first walk: a folder met again while still on the path closes a cycle.
        var done: Set<String> = [], cycles: [String] = []
        func visit(_ folder: String, _ path: [String]) {
            if let start = path.firstIndex(of: folder) { cycles.append((path[start...] + [folder]).joined(separator: " -> ")); return }
            guard !done.contains(folder) else { return }
            for next in (uses[folder] ?? []).sorted() { visit(next, path + [folder]) }
            done.insert(folder)
        }
        for folder in uses.keys.sorted() { visit(folder, []) }
        #expect(uses["Support"] == nil)  // the bottom layer
        #expect(cycles == [])
    }

    /// The identifiers of a line of code, in order.
    static func identifiers(_ line: String) -> [Substring] {
        line.split { !($0.isLetter || $0.isNumber || $0 == "_") }
    }

    @Test("a host that names no helper executable cannot start a container, and is told so")
    func noHelper() throws {
        try HandReadTests.withRoot { root in
            let store = ContainerStore(root: root)  // no helper: the engine must not execute this test runner
            let spec = try JSONTree.decode(ContainerSpec.self, from: Array(JSONTreeTests.spec.utf8))
            let error = #expect(throws: BoxError.self) {
                _ = try Lifecycle(store: store).start(Container(spec: spec, state: ContainerState()))
            }
            #expect(error?.description.contains("helper executable") == true)
        }
    }

    @Test("a host that gives no way to end a forked process is not forked into a monitor")
    func noFork() throws {
        try HandReadTests.withRoot { root in
            let store = ContainerStore(root: root, helper: HelperExecutable(path: "/nonexistent/helper"))
            let spec = try JSONTree.decode(ContainerSpec.self, from: Array(JSONTreeTests.spec.utf8))
            let c = Container(spec: spec, state: ContainerState())
            #expect(try Lifecycle(store: store).forkMonitor(c, owned: false) == nil)
            // And the start executes the helper it was given: here one that is not there.
            let error = #expect(throws: BoxError.self) { _ = try Lifecycle(store: store).start(c) }
            #expect(error?.description.contains("/nonexistent/helper") == true)
        }
    }
}
