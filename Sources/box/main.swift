// box: a small, real container engine. `@main` is replaced by this file so the hidden re-exec modes run
// before ArgumentParser does anything: `box __monitor ID` is a container's monitor and `box __proxy IP PORT` a
// published port's proxy (HelperRoles.swift), and `box __nsexec ...`
// never gets here at all (CSpawn's constructor handles it before Swift starts).
#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Engine

let arguments = CommandLine.arguments
// Whoever started us may have blocked signals (a test harness's thread does); Ctrl-C and kill must work,
// and the monitor and PID 1, which inherit the mask, must get their signals.
var noSignals = sigset_t()
sigemptyset(&noSignals)
sigprocmask(SIG_SETMASK, &noSignals, nil)
if arguments.count == 3 && arguments[1] == "__monitor" {
    HelperRoles.monitor(id: arguments[2])
}
if arguments.count == 4 && arguments[1] == "__proxy" {
    HelperRoles.proxy(target: arguments[2], port: arguments[3])
}

// A client whose monitor went away gets EPIPE on its socket, and reports it, instead of dying silently.
signal(SIGPIPE, SIG_IGN)

do {
    var command = try Box.parseAsRoot()
    try command.run()
} catch let error as BoxError {
    fail(error)
} catch let code as ExitCode {
    // The container's own exit code, thrown by every foreground run: exit with it at once. ArgumentParser's
    // exitCode(for:) would first build a help generator over every command (0.5 ms of reflection at each exit).
    exit(code.rawValue)
} catch {
    // Help and --version exit 0; docker exits 125 for a bad flag, and so do we.
    let code = Box.exitCode(for: error)
    if code == .validationFailure {
        writeErr(Box.fullMessage(for: error) + "\n")
        exit(125)
    }
    Box.exit(withError: error)
}
