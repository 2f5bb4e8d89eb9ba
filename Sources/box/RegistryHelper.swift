#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Engine

/// A verb that is box-registry's: every argument goes to it (`box pull --help` shows box-registry's help).
protocol RegistryVerb: ParsableCommand {
    var arguments: [String] { get }
}

extension RegistryVerb {
    /// The verb's help: what it does, that box-registry does it, and one example line.
    static func passthrough(_ verb: String, _ abstract: String, example: String) -> CommandConfiguration {
        CommandConfiguration(commandName: verb, abstract: "\(abstract) (box-registry \(verb))", discussion: "  " + example)
    }

    func run() throws {
        try RegistryHelper.exec(Self.configuration.commandName ?? "", arguments)
    }
}

/// `box pull`, `push`, `login` and `logout` are box-registry's (installed beside box, as lab-server is beside
/// lab): the registry client's HTTP and TLS stack stays out of box, whose start-up every `box run` pays
/// (bench/startup). box replaces itself with it, so its output, exit code and signals are the verb's own.
enum RegistryHelper {
    static func exec(_ verb: String, _ arguments: [String]) throws -> Never {
        let me = Subprocess.selfExecutable()
        let beside = String(me[..<(me.lastIndex(of: "/") ?? me.startIndex)]) + "/box-registry"
        guard let path = access(beside, X_OK) == 0 ? beside : Subprocess.which("box-registry") else {
            throw BoxError(.usage, "box-registry is not installed beside box (\(beside)): sudo ./setup.sh installs both", exitCode: 1)
        }
        var cargs = ([path, verb] + arguments).map { strdup($0) } + [nil]
        execv(path, &cargs)
        throw BoxError.sys(.usage, "exec \(path)")
    }
}
