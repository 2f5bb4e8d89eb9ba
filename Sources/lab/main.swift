// lab: the step runner. Follow a lab with `lab next`; every step is checked from the kernel's own state.
#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Engine

signal(SIGPIPE, SIG_IGN)
// Whoever started us may have blocked signals (a test harness's thread does): Ctrl-C and `kill` must end
// `lab watch`.
var none = sigset_t()
sigemptyset(&none)
sigprocmask(SIG_SETMASK, &none, nil)

do {
    var command = try LabCommand.parseAsRoot()
    try command.run()
} catch let error as BoxError {
    writeErr("lab: \(error)\n")
    exit(error.exitCode == 125 ? 2 : error.exitCode)
} catch {
    LabCommand.exit(withError: error)
}
