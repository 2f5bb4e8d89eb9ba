#if canImport(Glibc)
import Glibc
#endif
import Engine
import Foundation

/// `box login`'s credentials, in docker's config.json shape, `{"auths": {"localhost:5000": {"auth": base64(user:pw)}}}`,
/// in $BOX_CONFIG/config.json (default ~/.box/config.json): the file 0600 and its directory 0700, as docker keeps
/// ~/.docker. Login and logout change `auths[REGISTRY]` only: whatever else the file holds (docker's credsStore,
/// credHelpers, proxies, HttpHeaders, other registries' identitytoken) is written back as it was, in its order.
/// Written to a new temporary file and renamed, so a crash leaves the old file or the new one.
public struct CredentialStore: Sendable {
    public let path: String

    public struct Credential: Sendable, Equatable {
        public var username: String
        public var password: String
        public init(username: String, password: String) { self.username = username; self.password = password }
    }

    public init(path: String) { self.path = path }

    public static func fromEnvironment() -> CredentialStore {
        let env = { (name: String) -> String? in getenv(name).map { String(cString: $0) }.flatMap { $0.isEmpty ? nil : $0 } }
        let dir = env("BOX_CONFIG") ?? ((env("HOME") ?? "/root") + "/.box")
        return CredentialStore(path: dir + "/config.json")
    }

    /// The whole file, every member kept (an empty object when there is none).
    func load() throws -> JSONValue {
        guard Files.exists(path) else { return .object([]) }
        let value: JSONValue
        do { value = try JSONValue.parse(bytes: try Files.read(path)) } catch {
            throw BoxError(.registry, "\(path) is not valid (\(error)): fix it, or remove it and box login again", exitCode: 1)
        }
        guard case .object = value else {
            throw BoxError(.registry, "\(path) is not a JSON object: fix it, or remove it and box login again", exitCode: 1)
        }
        return value
    }

    /// The file with `auths[key]` set to `entry`, or removed when `entry` is nil; every other member as it was.
    static func replacing(_ key: String, with entry: JSONValue?, in file: JSONValue) -> JSONValue {
        guard case .object(var members) = file else { return file }
        var auths: [(String, JSONValue)] = []
        if case .object(let existing)? = file["auths"] { auths = existing }
        if let i = auths.firstIndex(where: { $0.0 == key }) {
            if let entry { auths[i].1 = entry } else { auths.remove(at: i) }
        } else if let entry {
            auths.append((key, entry))
        }
        if let i = members.firstIndex(where: { $0.0 == "auths" }) { members[i].1 = .object(auths) } else { members.append(("auths", .object(auths))) }
        return .object(members)
    }

    /// Through a temporary file this open makes (O_EXCL|O_NOFOLLOW, mode 0600 from the start), renamed over it.
    func save(_ file: JSONValue) throws {
        let dir = String(path[..<(path.lastIndex(of: "/") ?? path.startIndex)])
        if !dir.isEmpty { try Files.mkdirs(dir, mode: 0o700) }
        try Files.writeAtomically(path, Array((file.prettyPrinted(indent: "\t", escapeHTML: false) + "\n").utf8), mode: 0o600, exclusive: true)
    }

    public func credential(for key: String) throws -> Credential? {
        guard case .string(let auth)? = try load()["auths"]?[key]?["auth"], let data = Data(base64Encoded: auth) else { return nil }
        let pair = String(decoding: data, as: UTF8.self)
        guard let colon = pair.firstIndex(of: ":") else { return nil }
        return Credential(username: String(pair[..<colon]), password: String(pair[pair.index(after: colon)...]))
    }

    public func store(_ credential: Credential, for key: String) throws {
        let auth = Data((credential.username + ":" + credential.password).utf8).base64EncodedString()
        try save(Self.replacing(key, with: .object([("auth", .string(auth))]), in: try load()))
    }

    /// Removes the registry's credentials; false if there were none.
    @discardableResult
    public func remove(for key: String) throws -> Bool {
        let file = try load()
        guard file["auths"]?[key] != nil else { return false }
        try save(Self.replacing(key, with: nil, in: file))
        return true
    }
}
