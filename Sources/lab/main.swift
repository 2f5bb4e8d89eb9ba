// lab: the step runner. Follow a lab with `lab next`; every step is checked from the kernel's own state.
#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Engine

signal(SIGPIPE, SIG_IGN)

do {
    var command = try LabCommand.parseAsRoot()
    try command.run()
} catch let error as BoxError {
    writeErr("lab: \(error)\n")
    exit(error.exitCode == 125 ? 2 : error.exitCode)
} catch {
    LabCommand.exit(withError: error)
}
