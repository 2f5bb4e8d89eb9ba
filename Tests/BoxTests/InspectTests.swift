import Foundation
import Testing
@testable import Engine

@Suite("inspect and events", .enabled(if: isRoot, Comment(rawValue: needsRoot)))
struct InspectTests {
    @Test("inspect prints docker-shaped JSON and answers the templates people type")
    func templates() throws {
        let box = try Sandbox()
        _ = try box.detached("--name", "c1", "-h", "h1", "-l", "app=web", "busybox", "sleep", "1000")
        let pid = try box.pid("c1")
        #expect(HostProcess.commandLine(pid) == ["sleep", "1000"])
        #expect(try box.inspect("c1", "{{.Name}} {{.Config.Hostname}} {{.Config.Labels.app}} {{index .Args 0}}") == "/c1 h1 web 1000")
        let state = try JSONValue.parse(try box.inspect("c1", "{{json .State}}"))
        #expect(state["Running"] == .bool(true))
        #expect(state["Pid"] == .int(Int64(pid)))
        let all = try JSONValue.parse(try box.run("inspect", "c1").stdout)
        #expect(all[0]?["GraphDriver"]?["Name"] == .string("overlay"))
        #expect(all[0]?["Config"]?["Cmd"] == .array([.string("sleep"), .string("1000")]))
        #expect(try box.inspect("busybox", "{{index .RepoTags 0}}") == "busybox:latest")
    }

    @Test("events lists what happened, with --since and --until, as text or JSON")
    func events() throws {
        let box = try Sandbox()
        let before = Timestamp.now().rfc3339
        try box.run("run", "--name", "c1", "busybox", "true")
        try box.run("rm", "c1")
        let after = Timestamp.now().rfc3339
        let text = try box.run("events", "--since", before, "--until", after)
        let actions = text.stdout.split(separator: "\n").filter { $0.split(separator: " ")[1] == "container" }.map { $0.split(separator: " ")[2] }
        #expect(actions == ["create", "start", "die", "destroy"])
        let json = try box.run("events", "--since", before, "--until", after, "--json")
        let first = try JSONValue.parse(String(json.stdout.split(separator: "\n")[0]))
        #expect(first["action"] == .string("create"))
        #expect(first["name"] == .string("c1"))
        #expect(try box.run("events", "--since", after, "--until", Timestamp.now().rfc3339).out.isEmpty)
    }
}
