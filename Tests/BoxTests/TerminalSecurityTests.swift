import Foundation
import Testing
@testable import Engine

@Suite("Security: exec's terminal, templates, image names (the hardening issue, items 3 and 8)", .enabled(if: isRoot, Comment(rawValue: needsRoot)))
struct TerminalSecurityTests {
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

    @Test("exec without -t: a TIOCSTI from inside does not type a command into the admin's shell")
    func execTIOCSTI() throws {
        let box = try Sandbox()
        let dir = try box.scratch("sti")
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

    // MARK: 8. Templates that crashed or ate memory; image names that are paths

    @Test("inspect --format: 10,000 nested parentheses are an error, not a crash")
    func deepTemplate() throws {
        let box = try Sandbox()
        #expect(try box.run("create", "--name", "c1", "busybox", "true").status == 0)
        for deep in [String(repeating: "(", count: 10_000) + "1" + String(repeating: ")", count: 10_000),
                     String(repeating: "{{if 1}}", count: 5_000) + "x" + String(repeating: "{{end}}", count: 5_000)] {
            let r = try box.run("inspect", "--format", deep.hasPrefix("(") ? "{{" + deep + "}}" : deep, "c1")
            #expect(r.status == 1 && r.stderr.contains("max expression depth exceeded"), "\(r.status) \(r.stderr.prefix(300))")
        }
        // As deep as a person writes still works.
        let ten = String(repeating: "(", count: 10) + "1" + String(repeating: ")", count: 10)
        #expect(try box.run("inspect", "--format", "{{" + ten + "}}", "c1").out == "1")
    }

    @Test("inspect --format: a printf width of 999999999 or a huge pad is refused the way Go's fmt does, at once")
    func hugeWidth() throws {
        let box = try Sandbox()
        #expect(try box.run("create", "--name", "c1", "busybox", "true").status == 0)
        let started = Date()
        let r = try box.run("inspect", "--format", "{{printf \"%999999999d\" 1}}", "c1")
        #expect(r.status == 0 && r.out == "%!(NOVERB)%!(EXTRA int=1)", "\(r.stdout.prefix(100)) \(r.stderr)")
        let pad = try box.run("inspect", "--format", "{{pad \"x\" 999999999 0}}", "c1")
        #expect(pad.status == 1 && pad.stderr.contains("at most 1000000"), "\(pad.stdout.prefix(100)) \(pad.stderr)")
        #expect(Date().timeIntervalSince(started) < 10)
        #expect(try box.run("inspect", "--format", "{{printf \"%5d|%-4s|\" 42 \"ab\"}}", "c1").stdout == "   42|ab  |\n")
    }

    @Test("load: an archive that names its image ../../etc:x is refused and loads nothing")
    func loadPathTag() throws {
        let source = try Sandbox(), box = try Sandbox()
        let dir = try source.scratch("archive")
        #expect(try source.run("save", "-o", dir + "/busybox.tar", "busybox").status == 0)
        try Sandbox.sh("/usr/bin/tar", "-C", dir, "-xf", dir + "/busybox.tar")
        try FileManager.default.removeItem(atPath: dir + "/busybox.tar")
        for file in ["manifest.json", "index.json"] where FileManager.default.fileExists(atPath: dir + "/" + file) {
            let text = try String(contentsOfFile: dir + "/" + file, encoding: .utf8)
            #expect(text.contains("busybox:latest"))
            try text.replacingOccurrences(of: "docker.io/library/busybox:latest", with: "../../etc:x")
                .replacingOccurrences(of: "busybox:latest", with: "../../etc:x")
                .write(toFile: dir + "/" + file, atomically: true, encoding: .utf8)
        }
        let entries = try FileManager.default.contentsOfDirectory(atPath: dir)
        #expect(try Sandbox.exec(["/usr/bin/tar", "-C", dir, "-cf", dir + ".tar"] + entries).status == 0)
        source.scratchDirs.append(dir + ".tar")
        #expect(try box.run("images").status == 0)  // the store as it is before any load (busybox is made on first use)
        let before = box.storeListing()
        let r = try box.run("load", "-i", dir + ".tar")
        #expect(r.status != 0 && r.stderr.contains("invalid reference format") && r.stderr.contains("../../etc"), "\(r)")
        #expect(box.storeListing() == before, "the refused load changed the store")
        #expect(try !box.run("images").stdout.contains("etc"))
    }

    @Test("tag, commit, import, build -t: names outside docker's reference grammar are refused, changing nothing")
    func badNames() throws {
        let box = try Sandbox()
        #expect(try box.run("run", "--name", "c1", "busybox", "true").status == 0)
        let dir = try box.scratch("names")
        try "FROM busybox\n".write(toFile: dir + "/Dockerfile", atomically: true, encoding: .utf8)
        try Sandbox.sh("/usr/bin/tar", "-C", dir, "-cf", dir + "/empty.tar", "Dockerfile")
        let before = box.storeListing()
        for bad in ["../x", "../../etc:x", "a/../b", "x:../y", "x:.y", "Upper", "a//b", "a___b", "x-", "_x", "x:" + String(repeating: "t", count: 129)] {
            for args in [["tag", "busybox", bad], ["commit", "c1", bad], ["import", dir + "/empty.tar", bad], ["build", "-q", "-t", bad, dir]] {
                let r = try box.run(args)
                #expect(r.status != 0 && r.stderr.contains("invalid reference format"), "\(args): \(r)")
            }
        }
        #expect(box.storeListing() == before, "a refused name changed the store")
        for good in ["lab/web:1.0", "localhost:5000/team/app-2:v1.2_rc", "a__b.c--d", "x:_t"] {
            #expect(try box.run("tag", "busybox", good).status == 0, "\(good)")
        }
    }
}
