// lab: the step runner. Follow a lab with `lab next`; every step is checked from the kernel's own state.
#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Engine
import LabKit

signal(SIGPIPE, SIG_IGN)
// Whoever started us may have blocked signals (a test harness's thread does): Ctrl-C and `kill` must end
// `lab watch`.
var none = sigset_t()
sigemptyset(&none)
sigprocmask(SIG_SETMASK, &none, nil)

// A mistyped verb gets the verb it most likely was, not ArgumentParser's "Unexpected argument".
let verbs = LabCommand.configuration.subcommands.map { $0.configuration.commandName ?? "" } + ["help"]
if CommandLine.arguments.count > 1, let typed = CommandLine.arguments.dropFirst().first, !typed.hasPrefix("-"),
   !verbs.contains(typed) {
    let near = Suggestion.closest(to: typed, among: verbs).map { ": did you mean `lab \($0)`?" } ?? ""
    writeErr(shown("lab: there is no verb \"\(typed)\"\(near) (`lab --help` lists them)\n"))
    exit(2)
}

do {
    var command = try LabCommand.parseAsRoot()
    try command.run()
} catch let error as BoxError {
    writeErr(shown("lab: \(error)\n"))
    exit(error.exitCode == 125 ? 2 : error.exitCode)
} catch {
    LabCommand.exit(withError: error)
}
