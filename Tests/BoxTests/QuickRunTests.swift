import ArgumentParser
import Testing
@testable import box
@testable import Engine

@Suite("box run's quick reading of its common flags")
struct QuickRunTests {
    /// What ArgumentParser makes of `box ARGS`, if it is a run.
    static func parsed(_ args: [String]) throws -> QuickRun? {
        guard let run = try Box.parseAsRoot(args) as? Run else { return nil }
        return QuickRun(detach: run.detach, options: run.options.createOptions())
    }

    @Test("the quick reading gives what ArgumentParser gives, for every line it takes", arguments: [
        ["run", "busybox"],
        ["run", "--rm", "busybox", "true"],
        ["run", "-d", "--name", "c1", "busybox", "sleep", "100"],
        ["run", "-it", "busybox", "sh"],
        ["run", "-dit", "--name=web", "--network", "none", "busybox", "httpd", "-f"],
        ["run", "--rm", "-i", "-t", "--network=host", "busybox", "ls", "-l", "--rm", "-d"],
        ["run", "--detach", "--interactive", "--tty", "busybox"],
        ["run", "-ti", "--rm", "busybox", "--", "echo"],
        ["run", "--rm", "busybox", "echo", "--", "---", "-=x"],
        ["run", "busybox", "echo", "--=x"],
    ])
    func same(_ args: [String]) throws {
        let quick = try #require(QuickRun.parse(["box"] + args), "the quick reading should take \(args)")
        #expect(try Self.parsed(args) == quick)
    }

    @Test("anything else is left to ArgumentParser: other flags, repeats, help, --, values that look like flags", arguments: [
        ["run"], ["run", "--rm"], ["ps", "-a"], ["run", "--help"], ["run", "-h", "host", "busybox"],
        ["run", "-e", "A=1", "busybox"], ["run", "--rm", "--rm", "busybox"], ["run", "-it", "-i", "busybox"],
        ["run", "--name", "-x", "busybox"], ["run", "--name"], ["run", "--name=", "busybox"], ["run", "--", "busybox"],
        ["run", "-x", "busybox"], ["run", "--net", "none", "busybox"], ["run", "-", "busybox"], ["run", ""],
        // ArgumentParser refuses these words even in the command (before a --): its error, not a run.
        ["run", "--rm", "busybox", "echo", "---"], ["run", "busybox", "echo", "---x"], ["run", "busybox", "echo", "-=x"],
    ])
    func declined(_ args: [String]) {
        #expect(QuickRun.parse(["box"] + args) == nil)
    }

    @Test("the words it declines in a command are ones ArgumentParser refuses", arguments: ["---", "---x", "-=x"])
    func refused(_ word: String) {
        #expect(throws: (any Error).self) { try Box.parseAsRoot(["run", "busybox", "echo", word]) }
    }

}
