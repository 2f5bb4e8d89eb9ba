import ArgumentParser
import Engine

struct Top: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "top",
        abstract: "Display the processes of a container, with their PIDs on the host and inside",
        discussion: """
        PID is the host's view, CPID the container's own pid namespace: the same process, two numbers.
        A process belongs to the container if it lives in the container's pid namespace.
        """)
    @Argument(help: "The container")
    var container: String

    func run() throws {
        let store = try engine()
        let c = try store.load(try store.resolve(container).id)
        guard c.state.Running, let ns = HostProcess.namespace(c.state.Pid, .pid) else {
            throw BoxError(.state, "container \(c.name) is not running", exitCode: 1)
        }
        var rows = [["UID", "PID", "PPID", "CPID", "STAT", "CMD"]]
        for pid in HostProcess.all().sorted() where HostProcess.namespace(pid, .pid) == ns {
            guard let status = Files.readIfPresent("/proc/\(pid)/status") else { continue }
            func field(_ name: String) -> String {
                status.split(separator: "\n").first { $0.hasPrefix(name + ":") }
                    .map { $0.dropFirst(name.count + 1).split(whereSeparator: { $0 == " " || $0 == "\t" }).first.map(String.init) ?? "" } ?? ""
            }
            var cmd = HostProcess.commandLine(pid).joined(separator: " ")
            if cmd.isEmpty { cmd = "[" + field("Name") + "]" }
            rows.append([field("Uid"), String(pid), field("PPid"), HostProcess.nsPids(pid).last.map(String.init) ?? "?",
                         HostProcess.state(pid) ?? "?", cmd])
        }
        say(table(rows))
    }
}
