#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Engine

struct Box: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "box",
        abstract: "A small, real container engine: namespaces, overlayfs, cgroups and capabilities, docker's verbs.",
        discussion: """
        box keeps its state in BOX_ROOT (default /var/lib/box) and its sockets in BOX_RUN (default /run/box).
        It needs root. The image `busybox` is built on first use from the host's busybox-static.

        Try:
          sudo box run -it --name c1 busybox sh   # Ctrl-P Ctrl-Q detaches
          sudo box inspect --format '{{.State.Pid}}' c1
          sudo box exec c1 ps                          # PID 1 inside is your shell
          sudo box events --since 10m
        """,
        version: Version.string,
        subcommands: [
            Run.self, Create.self, Start.self, Exec.self, Ps.self, Inspect.self, Logs.self, Attach.self, Top.self,
            Stop.self, Kill.self, Restart.self, Wait.self, Rm.self, Pause.self, Unpause.self, Update.self, Stats.self,
            System.self, Commit.self, Diff.self, Tag.self, History.self, Rmi.self, Images.self, ImageCommand.self,
            Build.self, Save.self, Load.self, Export.self, Import.self, Cp.self, NetworkCommand.self, VolumeCommand.self, Port.self, Events.self,
            Rename.self, ContainerCommand.self,
            Info.self, VersionCommand.self, Pull.self, Push.self, Login.self, Logout.self, MapVerb.self,
        ]
    )
}

enum Version {
    static let string = "0.1.0"
}

/// Prints a BoxError the way docker prints daemon errors, and exits with its code.
func fail(_ error: BoxError) -> Never {
    var text = error.description
    if error.stage == .start || error.stage == .exec {
        text = "\(error.stage == .start ? "failed to start the container" : "exec failed"): \(text)"
    }
    writeErr("box: \(text)\n")
    exit(error.exitCode)
}

/// The engine, after checking we can use it: every verb needs root (namespaces, mounts, /proc of others).
func engine() throws -> ContainerStore {
    guard geteuid() == 0 else { throw BoxError(.usage, "box needs root (run it with sudo)", exitCode: 125) }
    let root = EngineRoot.fromEnvironment()
    try root.closeToOthers()  // a root an older box left open to other users (one stat otherwise)
    return ContainerStore(root: root, helper: HelperRoles.box)
}

/// Runs `body` for each name, printing errors as docker does and exiting 1 if any failed.
func forEach(_ names: [String], _ body: (String) throws -> Void) throws {
    var failed = false
    for name in names {
        do { try body(name) } catch let e as BoxError {
            writeErr("box: \(e)\n")
            failed = true
        }
    }
    if failed { throw ExitCode(1) }
}

/// docker's prune confirmation: true with -f; otherwise asks on a terminal (and refuses without one, saying
/// what -f would do).
func confirmed(force: Bool, removes what: String, verb: String) throws -> Bool {
    if force { return true }
    guard isatty(0) == 1 else { throw BoxError(.usage, "\(verb) removes \(what): add -f to confirm", exitCode: 1) }
    writeErr("WARNING! This will remove \(what).\nAre you sure you want to continue? [y/N] ")
    guard let answer = readLine() else { return false }
    return answer.lowercased().hasPrefix("y")
}

/// Writes to stdout immediately (print's buffer would reorder it with the container's own output).
func say(_ text: String) {
    writeFully(1, Array((text + "\n").utf8))
}

/// Writes to stderr unbuffered (and without touching C's `stderr` global, which Swift 6 rejects).
func writeErr(_ text: String) {
    writeFully(2, Array(text.utf8))
}
