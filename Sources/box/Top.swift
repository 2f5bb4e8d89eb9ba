import ArgumentParser
import DockerFormat
import Engine

struct Top: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "top",
        abstract: "Display the processes of a container, with their PIDs on the host and inside",
        discussion: """
        PID is the host's view, CPID the container's own pid namespace: the same process, two numbers.
        A process belongs to the container if it lives in the container's pid namespace.
        With ps options (box top c1 -o pid,comm, box top c1 aux), the host's ps prints the container's processes, \
        as docker's top does.
        """)
    @Argument(help: "The container")
    var container: String
    @Argument(parsing: .captureForPassthrough, help: "Options of ps (docker's default is -ef; without any, box shows PID and CPID)")
    var psOptions: [String] = []

    func run() throws {
        let store = try engine()
        let c = try store.load(try store.resolve(container).id)
        guard c.state.Running, let ns = HostProcess.namespace(c.state.Pid, .pid) else {
            throw BoxError(.state, "Container \(c.id) is not running", exitCode: 1)
        }
        let pids = HostProcess.all().sorted().filter { HostProcess.namespace($0, .pid) == ns }
        if !psOptions.isEmpty { return say(try Self.hostPs(psOptions, pids: pids)) }
        var rows = [["UID", "PID", "PPID", "CPID", "STAT", "CMD"]]
        for pid in pids {
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

    /// docker's top with ps options (moby daemon/top_unix.go): the host's ps with those options (and `-q PIDS`,
    /// again without it for options that refuse -q), its lines whose PID column is one of the container's (and
    /// the thread lines, PID "-", under them), the columns aligned by a tabwriter of min width 20.
    static func hostPs(_ options: [String], pids: [Int32]) throws -> String {
        let args = options.joined(separator: " ").split(separator: " ").map(String.init)
        // The first try's complaint (an option that refuses -q) is not the user's: its stderr is read, not shown.
        var result = try Subprocess.run(["/usr/bin/ps"] + args + ["-q", pids.map(String.init).joined(separator: ",")], stderrToStdout: true)
        if result.status != 0 { result = try Subprocess.run(["/usr/bin/ps"] + args) }
        guard result.status == 0 else { throw BoxError(.state, "ps: exit status \(result.status)", exitCode: 1) }
        let lines = result.output.split(separator: "\n")
        guard let header = lines.first else { throw BoxError(.state, "ps printed nothing", exitCode: 1) }
        let titles = header.split(separator: " ").map(String.init)
        guard let pidColumn = titles.firstIndex(of: "PID") else {
            throw BoxError(.state, "Couldn't find PID field in ps output", exitCode: 1)
        }
        var rows = [titles.joined(separator: "\t")]
        var inContainer = false
        for line in lines.dropFirst() {
            let fields = line.split(separator: " ").map(String.init)
            guard fields.count >= titles.count else { continue }
            if fields[pidColumn] == "-" {
                if !inContainer { continue }
            } else {
                guard let pid = Int32(fields[pidColumn]) else {
                    throw BoxError(.state, "Unexpected pid '\(fields[pidColumn])'", exitCode: 1)
                }
                inContainer = pids.contains(pid)
                if !inContainer { continue }
            }
            // The last column (the command) keeps its spaces.
            let cells = fields.prefix(titles.count - 1) + [fields.dropFirst(titles.count - 1).joined(separator: " ")]
            rows.append(cells.joined(separator: "\t"))
        }
        return Tabwriter.align(rows.joined(separator: "\n"), minWidth: 20)
    }
}
