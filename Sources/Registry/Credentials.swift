#if canImport(Glibc)
import Glibc
#endif
import Engine
import Foundation

/// `box login`'s credentials, in docker's config.json shape, `{"auths": {"localhost:5000": {"auth": base64(user:pw)}}}`,
/// in $BOX_CONFIG/config.json (default ~/.box/config.json): the file 0600 and its directory 0700, as docker keeps
/// ~/.docker. Written whole to a temporary file and renamed, so a crash leaves the old file or the new one.
public struct CredentialStore: Sendable {
    public let path: String

    public struct Credential: Sendable, Equatable {
        public var username: String
        public var password: String
        public init(username: String, password: String) { self.username = username; self.password = password }
    }

    struct File: Codable {
        struct Auth: Codable { var auth: String? }
        var auths: [String: Auth] = [:]
    }

    public init(path: String) { self.path = path }

    public static func fromEnvironment() -> CredentialStore {
        let env = { (name: String) -> String? in getenv(name).map { String(cString: $0) }.flatMap { $0.isEmpty ? nil : $0 } }
        let dir = env("BOX_CONFIG") ?? ((env("HOME") ?? "/root") + "/.box")
        return CredentialStore(path: dir + "/config.json")
    }

    func load() throws -> File {
        guard Files.exists(path) else { return File() }
        do {
            return try JSONDecoder().decode(File.self, from: Data(try Files.read(path)))
        } catch {
            throw BoxError(.registry, "\(path) is not valid (\(error)): fix it, or remove it and box login again", exitCode: 1)
        }
    }

    func save(_ file: File) throws {
        let dir = String(path[..<(path.lastIndex(of: "/") ?? path.startIndex)])
        if !dir.isEmpty { try Files.mkdirs(dir, mode: 0o700) }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try Files.writeAtomically(path, Array(try encoder.encode(file)), mode: 0o600)
    }

    public func credential(for key: String) throws -> Credential? {
        guard let auth = try load().auths[key]?.auth, let data = Data(base64Encoded: auth) else { return nil }
        let pair = String(decoding: data, as: UTF8.self)
        guard let colon = pair.firstIndex(of: ":") else { return nil }
        return Credential(username: String(pair[..<colon]), password: String(pair[pair.index(after: colon)...]))
    }

    public func store(_ credential: Credential, for key: String) throws {
        var file = try load()
        file.auths[key] = .init(auth: Data((credential.username + ":" + credential.password).utf8).base64EncodedString())
        try save(file)
    }

    /// Removes the registry's credentials; false if there were none.
    @discardableResult
    public func remove(for key: String) throws -> Bool {
        var file = try load()
        guard file.auths.removeValue(forKey: key) != nil else { return false }
        try save(file)
        return true
    }
}
