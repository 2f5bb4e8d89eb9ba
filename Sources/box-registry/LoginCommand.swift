#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Engine
import Registry

struct LoginCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "login",
        abstract: "Log in to a registry",
        discussion: """
        Checks the user name and password with the registry (basic or token authentication, as it asks), then \
        keeps them in $BOX_CONFIG/config.json (default ~/.box/config.json, mode 0600), as docker keeps ~/.docker.
          echo "$PASSWORD" | box login -u me --password-stdin localhost:5000
        """)
    @Argument(help: "The registry (HOST[:PORT]); Docker Hub without one") var server: String?
    @Option(name: [.short, .long], help: "User name") var username: String?
    @Option(name: [.short, .long], help: "Password (visible to other users in ps: prefer --password-stdin)") var password: String?
    @Flag(name: .customLong("password-stdin"), help: "Read the password from standard input") var passwordStdin = false
    @OptionGroup var options: RegistryOptions

    func run() async throws {
        let registry = registryName(server)
        var user = username, secret = password
        do {
            if passwordStdin {
                guard password == nil else { throw BoxError(.usage, "--password and --password-stdin are mutually exclusive", exitCode: 1) }
                guard user != nil else { throw BoxError(.usage, "Must provide --username with --password-stdin", exitCode: 1) }
                var text = ""
                while let line = readLine(strippingNewline: false) { text += line }
                while text.hasSuffix("\n") || text.hasSuffix("\r") { text.removeLast() }
                secret = text
            } else if password != nil {
                writeOut(2, "WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n")
            }
            if user == nil {
                guard isatty(0) == 1 else { throw BoxError(.usage, "no user name: give -u USER (and --password-stdin)", exitCode: 1) }
                writeOut(1, "Username: ")
                user = readLine() ?? ""
            }
            if secret == nil {
                guard isatty(0) == 1 else { throw BoxError(.usage, "no password: give --password-stdin and pipe it in", exitCode: 1) }
                secret = getpass("Password: ").map { String(cString: $0) } ?? ""
            }
            guard let user, !user.isEmpty, let secret, !secret.isEmpty else {
                throw BoxError(.usage, "Error: a user name and a password are both required", exitCode: 1)
            }
            let endpoint = RegistryEndpoint(registry: registry, insecure: options.insecure)
            let credential = CredentialStore.Credential(username: user, password: secret)
            try await withClient(registry, options: options, credential: .some(credential)) { client in
                try await client.ping()
            }
            let store = CredentialStore.fromEnvironment()
            try store.store(credential, for: endpoint.credentialKey)
            writeOut(1, "Login Succeeded\n")
        } catch let e as BoxError { BoxRegistry.fail(e) }
    }
}

/// "http://localhost:5000/" -> "localhost:5000"; none -> Docker Hub.
func registryName(_ server: String?) -> String {
    guard var name = server, !name.isEmpty else { return RemoteReference.dockerHub }
    for scheme in ["https://", "http://"] where name.hasPrefix(scheme) { name = String(name.dropFirst(scheme.count)) }
    while name.hasSuffix("/") { name.removeLast() }
    if name.hasSuffix("/v1") || name.hasSuffix("/v2") { name.removeLast(3) }
    return ["index.docker.io", "registry-1.docker.io"].contains(name) ? RemoteReference.dockerHub : name
}
