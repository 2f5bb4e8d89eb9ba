#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Engine
import Registry

/// `box pull`, `box push`, `box login` and `box logout` exec this program, installed beside box: the registry
/// client needs an HTTP and TLS stack that `box run` must not load (bench/startup), as `lab serve` execs lab-server.
@main
struct BoxRegistry: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "box-registry",
        abstract: "box's registry client: box pull, push, login and logout run it",
        subcommands: [PullCommand.self, PushCommand.self, LoginCommand.self, LogoutCommand.self])

    /// docker pull, push, login and logout exit 1 whatever failed (a registry that refuses or is not there, a bad
    /// name, no such image), and 125 for a flag they do not know (docker 28: `docker pull --bogus x`); so does box.
    static func fail(_ error: BoxError) -> Never {
        writeOut(2, "box: \(error)\n")
        Glibc.exit(1)
    }

    static func main() async {
        do {
            var command = try parseAsRoot()
            if var verb = command as? AsyncParsableCommand { try await verb.run() } else { try command.run() }
        } catch let error as BoxError {
            fail(error)
        } catch {
            if exitCode(for: error) == .validationFailure {
                writeOut(2, fullMessage(for: error) + "\n")
                Glibc.exit(125)
            }
            exit(withError: error)
        }
    }
}

/// Options every verb that talks to a registry takes.
struct RegistryOptions: ParsableArguments {
    @Option(name: .customLong("insecure-registry"),
            help: "Reach this registry (HOST:PORT) over plain HTTP; loopback registries always are (repeatable)")
    var insecure: [String] = []
}

/// docker's flags of pull and push beyond the registry's address. Content trust is off by default in docker
/// (--disable-content-trust defaults to true) and box verifies no signatures: the flag changes nothing, as in
/// docker by default.
struct TransferOptions: ParsableArguments {
    @Option(name: .long, help: "The platform: only the host's (linux/amd64 here), the one box pulls and keeps")
    var platform: String?
    @Option(name: .customLong("disable-content-trust"), help: "Skip image verification (default true: box verifies no signatures)")
    var disableContentTrust: Bool = true
    @OptionGroup(title: "Refused (docker's flags box does not do, and why)") var refused: TransferRefused

    /// Exits 125 (docker's status for a flag it rejects), before anything is read or sent, if a flag asks for
    /// what box does not do.
    func check() {
        do {
            if refused.allTags { throw BoxError(.usage, "--all-tags: \(TransferRefused.allTagsReason)", exitCode: 125) }
            try platform.map(ImageConfig.checkPlatform)
        } catch {
            writeOut(2, "box: \(error)\n")
            Glibc.exit(125)
        }
    }
}

/// What box's `--help` shows under REFUSED (scripts/flags-table.py reads it): the flag's help is its reason.
struct TransferRefused: ParsableArguments {
    static let allTagsReason = "box pulls and pushes one tag at a time (name each)"
    @Flag(name: [.short, .customLong("all-tags")], help: ArgumentHelp(TransferRefused.allTagsReason))
    var allTags = false
}

/// Writes to a descriptor unbuffered (stdout's buffer would reorder it with stderr's).
func writeOut(_ fd: Int32, _ text: String) {
    var bytes = Array(text.utf8)[...]
    while !bytes.isEmpty {
        let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        if n < 0 { if errno == EINTR { continue }; return }
        bytes = bytes.dropFirst(n)
    }
}

/// The image store box uses (BOX_ROOT), after checking we may use it: pull and push need root, as box does.
func imageStore() throws -> ImageStore {
    guard geteuid() == 0 else { throw BoxError(.usage, "box needs root (run it with sudo)") }
    let root = EngineRoot.fromEnvironment()
    try root.closeToOthers()
    return ImageStore(root: root)
}

/// Runs a registry verb with the client made for it, turning a BoxError into box's message and exit code.
func withClient<T>(_ registry: String, options: RegistryOptions, credential: CredentialStore.Credential?? = nil,
                   _ body: (RegistryClient) async throws -> T) async throws -> T {
    let endpoint = RegistryEndpoint(registry: registry, insecure: options.insecure)
    let stored: CredentialStore.Credential?
    if let credential { stored = credential } else {
        do { stored = try CredentialStore.fromEnvironment().credential(for: endpoint.credentialKey) } catch let e as BoxError { BoxRegistry.fail(e) }
    }
    let client = RegistryClient(endpoint: endpoint, credential: stored)
    do {
        let result = try await body(client)
        await client.shutdown()
        return result
    } catch let error as BoxError {
        await client.shutdown()
        BoxRegistry.fail(error)
    } catch {
        await client.shutdown()
        throw error
    }
}
