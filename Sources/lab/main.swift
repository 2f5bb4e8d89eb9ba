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

// In a workshop's room (lab join): the instructor's messages first, and after the command, whatever it
// recorded goes to the room in the background.
let verb = CommandLine.arguments.dropFirst().first ?? ""
let classroom: Classroom? = geteuid() == 0 && !["__sync", "serve", "join"].contains(verb)
    ? Classroom(journal: ProgressJournal(learner: .current())) : nil
if let classroom, classroom.isJoined { showMessages(classroom) }

var failure: Error?
do {
    var command = try LabCommand.parseAsRoot()
    try command.run()
} catch {
    failure = error
}
if let classroom { spawnSync(classroom) }
if let error = failure as? BoxError {
    writeErr(shown("lab: \(error)\n"))
    exit(error.exitCode == 125 ? 2 : error.exitCode)
} else if let failure {
    LabCommand.exit(withError: failure)
}
