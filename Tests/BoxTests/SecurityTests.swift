import Foundation
import Testing
@testable import Engine

@Suite("Security: the attacks of the hardening issue", .enabled(if: isRoot, Comment(rawValue: needsRoot)))
struct SecurityTests {
    // MARK: 3. `box exec` without -t gave away the caller's terminal

    /// Runs the shell command `line` on a fresh pseudo-terminal (util-linux `script`), as an admin's shell would
    /// run it, typing `input` pieces one after another.
    func onTerminal(_ box: Sandbox, _ line: String, typing: [(seconds: Double, text: String)] = []) throws -> Sandbox.Result {
        try Sandbox.exec(["/usr/bin/timeout", "60", "/usr/bin/script", "-q", "-e", "-c", line, "/dev/null"],
                         typing: typing, environment: ["BOX_ROOT": box.root, "SHELL": "/bin/sh"])
    }

    /// A static program that pushes "touch MARKER\n" into every terminal it can reach (its stdio and
    /// /dev/tty) with TIOCSTI, as a hostile process in a container would, and says whether the kernel took it.
    func attacker(in dir: String) throws -> String {
        let source = dir + "/sti.c", binary = dir + "/sti"
        try """
        #include <fcntl.h>
        #include <stdio.h>
        #include <string.h>
        #include <sys/ioctl.h>
        #include <unistd.h>
        int main(int argc, char **argv) {
            char line[4096];
            snprintf(line, sizeof line, "touch %s\\n", argc > 1 ? argv[1] : "/nonexistent");
            int fds[4] = {0, 1, 2, open("/dev/tty", O_RDWR)};
            for (int i = 0; i < 4; i++) {
                if (fds[i] < 0) continue;
                size_t n = 0;
                while (n < strlen(line) && ioctl(fds[i], TIOCSTI, &line[n]) == 0) n++;
                if (n == strlen(line)) { dprintf(2, "injected through fd %d\\n", i); return 0; }
            }
            dprintf(2, "no terminal to inject into\\n");
            return 1;
        }
        """.write(toFile: source, atomically: true, encoding: .utf8)
        let cc = try Sandbox.exec(["/usr/bin/cc", "-static", "-O1", "-o", binary, source])
        try #require(cc.status == 0, "cc -static: \(cc.stderr)")
        return binary
    }

    func scratch(_ box: Sandbox) throws -> String {
        var template = Array("/tmp/boxsec-XXXXXX".utf8CString)
        guard let dir = mkdtemp(&template) else { throw BoxError.sys(.store, "mkdtemp") }
        let path = String(cString: dir)
        box.scratchDirs.append(path)
        return path
    }

    @Test("exec without -t: a TIOCSTI from inside does not type a command into the admin's shell")
    func execTIOCSTI() throws {
        let box = try Sandbox()
        let dir = try scratch(box)
        let sti = try attacker(in: dir)
        let marker = dir + "/PWNED-\(UInt32.random(in: 0...UInt32.max))"
        _ = try box.detached("--name", "c1", "busybox", "sleep", "1000")
        #expect(try box.run("cp", sti, "c1:/sti").status == 0)
        // The admin's interactive shell runs `box exec`, then reads its next line from the terminal: an injected
        // line comes before the "exit" typed later.
        let r = try onTerminal(box, "'\(box.box)' exec c1 /sti '\(marker)'; exec /bin/sh -i",
                               typing: [(seconds: 4, text: "exit\n")])
        #expect(r.stdout.contains("no terminal to inject into"), "\(r.stdout) \(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: marker), "the host shell ran the injected command: \(r.stdout)")
    }

    /// Fields of /proc/$$/stat and the stdio of the shell `box ARGS sh -c ...` starts, seen from inside, on a terminal.
    func stdioProbe(_ box: Sandbox, _ args: String) throws -> String {
        let probe = "set -- $(cat /proc/$$/stat); echo pid=$1 session=$6 tty_nr=$7; "
            + "for fd in 0 1 2; do echo fd$fd=$(readlink /proc/$$/fd/$fd); done; tty; "
            + "cat /dev/tty </dev/null >/dev/null 2>&1 && echo has-dev-tty || echo no-dev-tty"
        let r = try onTerminal(box, "'\(box.box)' \(args) sh -c '\(probe)'")
        return r.stdout + r.stderr
    }

    @Test("exec without -t: the command has its own session, no controlling terminal, pipes for stdio")
    func execNoTerminal() throws {
        let box = try Sandbox()
        _ = try box.detached("--name", "c1", "busybox", "sleep", "1000")
        for args in ["exec c1", "exec -i c1"] {
            let out = try stdioProbe(box, args)
            let pid = out.split(separator: " ").first { $0.hasPrefix("pid=") }.map { String($0.dropFirst(4)) } ?? "?"
            #expect(out.contains("session=\(pid) "), "\(args): \(out)")
            #expect(out.contains("tty_nr=0"), "\(args): \(out)")
            for fd in 0...2 { #expect(!out.contains("fd\(fd)=/dev/pts") && !out.contains("fd\(fd)=/dev/tty"), "\(args): \(out)") }
            #expect(out.contains("fd1=pipe:") && out.contains("fd2=pipe:"), "\(args): \(out)")
            #expect(out.contains(args.contains("-i") ? "fd0=pipe:" : "fd0=/dev/null"), "\(args): \(out)")
            #expect(out.contains("not a tty"), "\(args): \(out)")
            #expect(out.contains("no-dev-tty"), "\(args): \(out)")
        }
        // Ctrl-C at the admin's terminal still reaches the command (box forwards it, once).
        let trap = "trap \"echo got-int; exit 9\" INT; echo ready; while :; do sleep 0.1; done"
        let r = try onTerminal(box, "exec '\(box.box)' exec c1 sh -c '\(trap)'", typing: [(seconds: 2, text: "\u{03}")])
        #expect(r.status == 9 && r.stdout.components(separatedBy: "got-int").count == 2, "\(r)")
    }

    @Test("run without -t: PID 1 has its own session, no controlling terminal, pipes for stdio")
    func runNoTerminal() throws {
        let box = try Sandbox()
        for args in ["run --rm busybox", "run --rm -i busybox"] {
            let out = try stdioProbe(box, args)
            #expect(out.contains("pid=1 session=1 tty_nr=0"), "\(args): \(out)")
            for fd in 0...2 { #expect(!out.contains("fd\(fd)=/dev/pts"), "\(args): \(out)") }
            #expect(out.contains("not a tty") && out.contains("no-dev-tty"), "\(args): \(out)")
        }
    }

    @Test("exec without -t still works for scripts: exit codes, piped stdin, separate stdout and stderr, signals")
    func execForScripts() throws {
        let box = try Sandbox()
        _ = try box.detached("--name", "c1", "busybox", "sleep", "1000")
        #expect(try box.run("exec", "c1", "sh", "-c", "exit 3").status == 3)
        let piped = try box.run("exec", "-i", "c1", "cat", input: "hi\n")
        #expect(piped.status == 0 && piped.stdout == "hi\n", "\(piped)")
        let big = String(repeating: "0123456789abcdef", count: 64 * 1024)  // 1 MiB through, both ways at once
        let echoed = try box.run("exec", "-i", "c1", "cat", input: big)
        #expect(echoed.stdout.count == big.count && echoed.stdout == big)
        let split = try box.run("exec", "c1", "sh", "-c", "echo out; echo err >&2; exit 4")
        #expect(split.status == 4 && split.stdout == "out\n" && split.stderr == "err\n", "\(split)")
        #expect(try box.run("exec", "c1", "sh", "-c", "read x; echo got=$x").out == "got=", "no -i: stdin is empty")
        // A process the command leaves behind holding its output does not keep exec waiting.
        let started = Date()
        let bg = try box.run("exec", "c1", "sh", "-c", "sleep 30 & echo left")
        #expect(bg.status == 0 && bg.stdout == "left\n" && Date().timeIntervalSince(started) < 10, "\(bg)")
        // A signal sent to `box exec` reaches the command: here it traps TERM and exits 42.
        let sh = "trap 'echo trapped; exit 42' TERM; echo ready; while :; do sleep 0.1; done"
        let script = "'\(box.box)' exec c1 sh -c \"\(sh)\" & p=$!; sleep 2; kill -TERM $p; wait $p"
        let sig = try Sandbox.exec(["/bin/sh", "-c", script], environment: ["BOX_ROOT": box.root])
        #expect(sig.status == 42 && sig.stdout.contains("trapped"), "\(sig)")
    }
}
