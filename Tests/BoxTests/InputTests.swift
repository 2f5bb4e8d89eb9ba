import Foundation
import Testing
@testable import Engine

@Suite("Bad input gets a clear error and changes nothing", .enabled(if: isRoot, Comment(rawValue: needsRoot)))
struct InputTests {
    struct Case: CustomTestStringConvertible, Sendable {
        var args: [String]
        var code: Int32
        var message: String
        var testDescription: String { args.joined(separator: " ") }
    }

    static let cases: [Case] = [
        Case(args: ["run", "--name", "bad/name", "busybox"], code: 125, message: "invalid container name"),
        // A name is a named volume (docker's rule); a relative path is neither.
        Case(args: ["run", "-v", "relative/dir:/x", "busybox"], code: 125, message: "includes invalid characters for a local volume name"),
        Case(args: ["run", "-v", "/tmp:/x:rx", "busybox"], code: 125, message: "the options are ro or rw, and dev or nodev"),
        Case(args: ["run", "--cap-add", "NOPE", "busybox"], code: 125, message: "unknown capability"),
        Case(args: ["run", "--network", "nosuch", "busybox"], code: 125, message: "network nosuch not found"),
        Case(args: ["run", "-u", "nobody-here", "busybox"], code: 125, message: "unable to find user"),
        Case(args: ["run", "-w", "relative", "busybox"], code: 125, message: "absolute path"),
        Case(args: ["run", "no-such-image"], code: 125, message: "No such image: no-such-image"),
        Case(args: ["run", "UPPER"], code: 125, message: "invalid reference format"),
        Case(args: ["run", "--no-such-flag", "busybox"], code: 125, message: "Unknown option"),
        Case(args: ["exec", "ghost", "true"], code: 1, message: "No such container: ghost"),
        Case(args: ["rm", "ghost"], code: 1, message: "No such container: ghost"),
        Case(args: ["inspect", "ghost"], code: 1, message: "No such object: ghost"),
        Case(args: ["kill", "-s", "NOPE", "ghost"], code: 125, message: "invalid signal"),
        Case(args: ["events", "--since", "yesterday-ish"], code: 125, message: "invalid time"),
    ]

    @Test("refused with the right code and message, and no container is created", arguments: cases)
    func refused(_ c: Case) throws {
        let box = try Sandbox()
        let r = try box.run(c.args)
        #expect(r.status == c.code, "stderr: \(r.stderr)")
        #expect(r.stderr.contains(c.message), "stderr: \(r.stderr)")
        #expect(try box.run("ps", "-aq").out.isEmpty)
        #expect(!box.events.contains { $0.action == "create" })
    }

    @Test("a template naming a field that does not exist is an error, not an empty line")
    func badTemplate() throws {
        let box = try Sandbox()
        try box.run("create", "--name", "c1", "busybox")
        let r = try box.run("inspect", "-f", "{{.State.Nope}}", "c1")
        #expect(r.status == 1)
        #expect(r.stderr.contains("map has no entry for key \"Nope\""), "\(r.stderr)")
        let unclosed = try box.run("inspect", "-f", "{{.State", "c1")
        #expect(unclosed.status == 1 && unclosed.stderr.contains("template parsing error"), "\(unclosed.stderr)")
    }

    @Test("a name in use is refused, and the first container is untouched")
    func nameConflict() throws {
        let box = try Sandbox()
        _ = try box.detached("--name", "c1", "busybox", "sleep", "1000")
        let r = try box.run("run", "--name", "c1", "busybox", "true")
        #expect(r.status == 125 && r.stderr.contains("is already in use"))
        #expect(try box.inspect("c1", "{{.State.Status}}") == "running")
        #expect(try box.run("ps", "-aq").out.split(separator: "\n").count == 1)
    }

    @Test("box without root says to use sudo")
    func needsRootMessage() throws {
        let box = try Sandbox()
        let r = try Sandbox.exec(["/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", box.box, "ps"])
        #expect(r.status == 125)
        #expect(r.stderr.contains("box needs root (run it with sudo)"))
    }
}
