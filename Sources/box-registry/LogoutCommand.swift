import ArgumentParser
import Engine
import Registry

struct LogoutCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "logout", abstract: "Forget the credentials box login kept for a registry")
    @Argument(help: "The registry (HOST[:PORT]); Docker Hub without one") var server: String?

    func run() throws {
        let registry = registryName(server)
        let key = RegistryEndpoint(registry: registry).credentialKey
        do {
            if try CredentialStore.fromEnvironment().remove(for: key) {
                writeOut(1, "Removing login credentials for \(key)\n")
            } else {
                writeOut(1, "Not logged in to \(key)\n")
            }
        } catch let e as BoxError { BoxRegistry.fail(e) }
    }
}
