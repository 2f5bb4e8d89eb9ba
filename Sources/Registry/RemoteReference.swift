import Engine

/// A name as `box pull` and `box push` take it, `[REGISTRY/]REPOSITORY[:TAG|@DIGEST]`, resolved to the registry
/// it lives in and the name box stores it under.
///
/// The first component is a registry when it has a "." or a ":" or is `localhost` (distribution/reference's
/// splitDockerDomain, which docker and containerd share); otherwise the image is on Docker Hub, and a name
/// with one component is in its `library/` namespace. Box, like docker, stores Hub images under the short
/// name (`busybox:latest`) and every other one under the full name (`localhost:5000/me/app:1`).
public struct RemoteReference: Sendable, Equatable, CustomStringConvertible {
    /// The registry as named: "localhost:5000", "docker.io".
    public var registry: String
    /// The repository inside the registry: "me/app", "library/busybox".
    public var repository: String
    public var tag: String?
    public var digest: String?
    /// The name the image has in box without tag or digest: "localhost:5000/me/app", "busybox".
    public var name: String

    public static let dockerHub = "docker.io"

    public init(parsing text: String) throws {
        var rest = Substring(text)
        if let at = rest.lastIndex(of: "@") {
            let digest = String(rest[rest.index(after: at)...])
            guard digest.hasPrefix("sha256:"), Digest.isValidHex(Digest.hex(digest)) else {
                throw BoxError(.usage, "invalid reference format: \"\(text)\": a digest is sha256: and 64 lowercase hex digits", exitCode: 1)
            }
            self.digest = digest
            rest = rest[..<at]
        }
        if let colon = rest.lastIndex(of: ":"), !rest[rest.index(after: colon)...].contains("/") {
            tag = String(rest[rest.index(after: colon)...])
            rest = rest[..<colon]
        }
        if tag == nil && digest == nil { tag = "latest" }
        // Engine's grammar (the one every other verb uses) decides what a name is.
        let checked = try ImageReference(parsing: String(rest) + ":" + (tag ?? "latest"))
        name = checked.repository
        let slash = name.firstIndex(of: "/")
        if let slash, name[..<slash].contains(where: { $0 == "." || $0 == ":" }) || name[..<slash] == "localhost" {
            registry = String(name[..<slash])
            repository = String(name[name.index(after: slash)...])
        } else {
            registry = Self.dockerHub
            repository = name
        }
        if registry == "index.docker.io" || registry == "registry-1.docker.io" { registry = Self.dockerHub }
        if registry == Self.dockerHub {
            // Hub's official images are library/NAME; box, like docker, shows them as NAME.
            if !repository.contains("/") { repository = "library/" + repository }
            name = repository.hasPrefix("library/") ? String(repository.dropFirst("library/".count)) : repository
        }
    }

    /// The name box tags a pulled image with (nil for a pull by digest alone, which docker does not tag).
    public var local: ImageReference? {
        guard let tag else { return nil }
        return try? ImageReference(parsing: name + ":" + tag)
    }

    /// What the registry's API calls the manifest: the digest when there is one, else the tag.
    public var manifestReference: String { digest ?? tag ?? "latest" }

    /// The repository as docker prints it in "The push refers to repository [...]".
    public var fullName: String { registry + "/" + repository }

    public var description: String {
        name + (tag.map { ":" + $0 } ?? "") + (digest.map { "@" + $0 } ?? "")
    }
}

/// Where a registry is reached: plain HTTP only on loopback or when named insecure (docker's
/// --insecure-registry), HTTPS with the system's CA store otherwise. Docker Hub's API is registry-1.docker.io.
public struct RegistryEndpoint: Sendable, Equatable {
    public var registry: String
    public var baseURL: String
    public var secure: Bool

    public init(registry: String, insecure: [String] = []) {
        self.registry = registry
        let host = registry == RemoteReference.dockerHub ? "registry-1.docker.io" : registry
        secure = !(Self.isLoopback(registry) || insecure.contains(registry))
        baseURL = (secure ? "https://" : "http://") + host
    }

    /// localhost, 127.0.0.0/8 or ::1, with or without a port (docker treats them as insecure too).
    public static func isLoopback(_ registry: String) -> Bool {
        var host = Substring(registry)
        if host.hasPrefix("[") {
            guard let close = host.firstIndex(of: "]") else { return false }
            return host[host.index(after: host.startIndex)..<close] == "::1"
        }
        if let colon = host.firstIndex(of: ":") { host = host[..<colon] }
        if host == "localhost" { return true }
        let parts = host.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts[0] == "127" && parts.allSatisfy { UInt8($0) != nil }
    }

    /// The key docker's config.json keeps Hub credentials under; every other registry is its own name.
    public var credentialKey: String {
        registry == RemoteReference.dockerHub ? "https://index.docker.io/v1/" : registry
    }
}
