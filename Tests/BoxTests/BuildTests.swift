import Foundation
import Testing
@testable import Engine

/// `box build`: a Boxfile's steps, a layer per RUN/COPY/ADD, the cache, and refusals.
@Suite("box build", .enabled(if: isRoot, Comment(rawValue: needsRoot)))
struct BuildTests {
    /// A build context under the sandbox's root: `files` by relative path.
    static func context(_ s: Sandbox, _ files: [String: String]) throws -> String {
        let dir = s.root + "/ctx"
        for (path, text) in files {
            let full = dir + "/" + path
            try FileManager.default.createDirectory(atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try text.write(toFile: full, atomically: true, encoding: .utf8)
        }
        return dir
    }

    @Test("each RUN, COPY and ADD is a layer; the image runs; a rebuild uses the cache; an edited file busts it")
    func buildAndCache() throws {
        let s = try Sandbox()
        let ctx = try Self.context(s, [
            "Boxfile": """
            FROM busybox
            ENV GREETING hello
            RUN echo built > /built.txt && \\
                echo from-run
            WORKDIR /app
            COPY greeting.txt .
            COPY sub /app/sub/
            LABEL maker=boxlab
            CMD ["cat", "/app/greeting.txt"]
            """,
            "greeting.txt": "hello-file\n", "sub/a.txt": "inner\n",
        ])
        let first = try s.run("build", "-t", "hello", ctx)
        #expect(first.status == 0, "\(first.stdout)\(first.stderr)")
        #expect(first.stdout.contains("from-run"), "RUN output not shown")
        #expect(first.stdout.contains("Successfully tagged hello:latest"))
        #expect(try s.run("run", "--rm", "hello").out == "hello-file")
        let inside = try s.run("run", "--rm", "hello", "sh", "-c", "cat /built.txt /app/sub/a.txt; echo $GREETING; pwd").out
        #expect(inside == "built\ninner\nhello\n/app")
        let base = try s.store.images.resolve("busybox").config.rootfs.diff_ids.count
        let built = try s.store.images.resolve("hello").config
        #expect(built.rootfs.diff_ids.count == base + 3, "one layer each for RUN, COPY, COPY")
        #expect(built.history?.filter { $0.empty_layer == true }.count == 4)
        #expect(try s.inspect("hello", "{{.Config.Labels.maker}}") == "boxlab")

        let idFirst = try s.store.images.resolve("hello").id
        let again = try s.run("build", "-t", "hello", ctx)
        #expect(again.stdout.components(separatedBy: "Using cache").count - 1 == 7)
        #expect(try s.store.images.resolve("hello").id == idFirst, "a fully cached build must give the same image")
        let idBefore = idFirst
        try "changed\n".write(toFile: ctx + "/greeting.txt", atomically: true, encoding: .utf8)
        let edited = try s.run("build", "-t", "hello", ctx)
        #expect(edited.stdout.components(separatedBy: "Using cache").count - 1 == 3, "\(edited.stdout)")
        #expect(try s.store.images.resolve("hello").id != idBefore)
        #expect(try s.run("run", "--rm", "hello").out == "changed")
        #expect(try s.run("ps", "-aq").out.isEmpty, "a build left a container")
        // The layer tree: hello sits on busybox's layer, as docker's old `images --tree` drew it.
        let tree = try s.run("images", "--tree").out.split(separator: "\n")
        #expect(tree.first?.hasPrefix("└─") == true && tree.first?.contains("busybox:latest") == true, "\(tree)")
        #expect(tree.contains { $0.contains("hello:latest") && $0.hasPrefix("    ") }, "\(tree)")
        // busybox, the RUN layer, then two branches of two COPY layers: before the edit (the cache) and after.
        #expect(tree.count == 6, "\(tree)")
        #expect(tree.contains { $0.contains("├─") }, "no branch where the edit made new layers: \(tree)")
    }

    @Test("ADD unpacks a local tar archive; Dockerfile is found when there is no Boxfile; USER and ENTRYPOINT")
    func addAndDockerfile() throws {
        let s = try Sandbox()
        let ctx = try Self.context(s, ["tarsrc/t.txt": "from-tar\n", "Dockerfile": """
            FROM busybox
            ADD stuff.tar.gz /opt/
            USER 1000
            ENTRYPOINT ["cat"]
            CMD ["/opt/t.txt"]
            """])
        #expect(try Sandbox.exec(["/bin/tar", "-czf", ctx + "/stuff.tar.gz", "-C", ctx + "/tarsrc", "."]).status == 0)
        let r = try s.run("build", "-q", "-t", "added", ctx)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.out.hasPrefix("sha256:"))
        #expect(try s.run("run", "--rm", "added").out == "from-tar")
        #expect(try s.run("run", "--rm", "--entrypoint", "id", "added", "-u").out == "1000")
    }

    @Test("a failing RUN stops the build with docker's message, tags nothing and leaves no container")
    func failingRun() throws {
        let s = try Sandbox()
        let ctx = try Self.context(s, ["Boxfile": "FROM busybox\nRUN echo about-to-fail; exit 3\nCMD [\"true\"]\n"])
        let r = try s.run("build", "-t", "broken", ctx)
        #expect(r.status == 1)
        #expect(r.stderr.contains("returned a non-zero code: 3"), "\(r.stderr)")
        #expect(r.stdout.contains("about-to-fail"))
        #expect(try s.run("inspect", "broken").status != 0)
        #expect(try s.run("ps", "-aq").out.isEmpty)
    }

    @Test("refused: a file outside the context (by .. or a symlink), an unknown instruction, no FROM, no Boxfile")
    func refusals() throws {
        let s = try Sandbox()
        try "secret\n".write(toFile: s.root + "/outside.txt", atomically: true, encoding: .utf8)
        let ctx = try Self.context(s, ["ok.txt": "x\n"])
        try FileManager.default.createSymbolicLink(atPath: ctx + "/link.txt", withDestinationPath: s.root + "/outside.txt")
        let cases: [(String, String)] = [
            ("FROM busybox\nCOPY ../outside.txt /x\n", "outside the build context"),
            ("FROM busybox\nCOPY link.txt /x\n", "outside the build context"),
            ("FROM busybox\nCOPY missing.txt /x\n", "no such file in the build context"),
            ("FROM busybox\nFETCH http://example.com /x\n", "unknown instruction FETCH"),
            ("RUN true\n", "first instruction must be FROM"),
            ("FROM busybox\nADD http://example.com/x.tar /x\n", "box builds offline"),
        ]
        for (boxfile, message) in cases {
            try boxfile.write(toFile: ctx + "/Boxfile", atomically: true, encoding: .utf8)
            let r = try s.run("build", "-t", "refused", ctx)
            #expect(r.status != 0 && r.stderr.contains(message), "\(boxfile): \(r.stderr)")
            #expect(try s.run("inspect", "refused").status != 0)
        }
        try FileManager.default.removeItem(atPath: ctx + "/Boxfile")
        let none = try s.run("build", ctx)
        #expect(none.status == 1 && none.stderr.contains("put a Boxfile"), "\(none.stderr)")
        #expect(try s.run("ps", "-aq").out.isEmpty)
    }
}
