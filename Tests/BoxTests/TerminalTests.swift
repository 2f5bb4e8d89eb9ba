import Foundation
import Testing
@testable import Engine

@Suite("Terminals: -it, Ctrl-P Ctrl-Q, attach", .enabled(if: isRoot, Comment(rawValue: needsRoot)))
struct TerminalTests {
    /// Runs `box ARGS` on a fresh pseudo-terminal (util-linux `script`), typing `input` into it.
    /// Each piece of input is typed one second after the previous one, once box has its terminal in raw mode.
    func onTerminal(_ box: Sandbox, _ args: [String], input: String...) throws -> Sandbox.Result {
        let command = ([box.box] + args).map { "'\($0)'" }.joined(separator: " ")
        return try Sandbox.exec(["/usr/bin/timeout", "60", "/usr/bin/script", "-q", "-e", "-c", command, "/dev/null"],
                                typing: input.map { (seconds: 1.0, text: $0) }, environment: ["BOX_ROOT": box.root])
    }

    @Test("run -it gives PID 1 a real terminal from the container's own devpts")
    func realTerminal() throws {
        let box = try Sandbox()
        let r = try onTerminal(box, ["run", "-it", "--rm", "busybox", "sh", "-c", "tty; stty size >/dev/null && echo sized"])
        #expect(r.status == 0, "\(r.stdout) \(r.stderr)")
        #expect(r.stdout.contains("/dev/pts/0"), "\(r.stdout)")
        #expect(r.stdout.contains("sized"))
    }

    @Test("Ctrl-P Ctrl-Q detaches and leaves the container running; attach comes back")
    func detachAndAttach() throws {
        let box = try Sandbox()
        let r = try onTerminal(box, ["run", "-it", "--name", "t1", "busybox", "sh"], input: "echo typed-before-detach\n", "\u{10}\u{11}")
        #expect(r.status == 0, "\(r.stdout) \(r.stderr)")
        #expect(r.stdout.contains("read escape sequence"), "\(r.stdout)")
        #expect(try box.inspect("t1", "{{.State.Status}}") == "running")
        #expect(try Sandbox.eventually { try box.run("logs", "t1").stdout.contains("typed-before-detach") })
        let back = try onTerminal(box, ["attach", "t1"], input: "exit 7\n")
        #expect(back.status == 7, "\(back.stdout) \(back.stderr)")
        #expect(try box.inspect("t1", "{{.State.ExitCode}}") == "7")
    }

    @Test("exec -it gets its own terminal inside the container")
    func execTerminal() throws {
        let box = try Sandbox()
        _ = try box.detached("--name", "c1", "busybox", "sleep", "1000")
        let r = try onTerminal(box, ["exec", "-it", "c1", "sh", "-c", "tty; exit 3"])
        #expect(r.status == 3, "\(r.stdout) \(r.stderr)")
        #expect(r.stdout.contains("/dev/pts/"), "\(r.stdout)")
    }
}
