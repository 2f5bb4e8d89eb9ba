#if canImport(Glibc)
import Glibc
#endif
import AsyncHTTPClient
import Engine
import Foundation
import NIOCore
import NIOHTTP1
import Synchronization

/// One registry's HTTP API (OCI distribution-spec v2) over async-http-client: requests with the registry's
/// authentication, redirects followed by hand, and the registry's JSON errors turned into BoxErrors that say
/// what to do.
///
/// Authentication follows the registry's challenge (distribution's docs/spec/auth/token.md, and the way
/// containerd's remotes/docker/authorizer.go answers it): a request without credentials; on 401, the
/// WWW-Authenticate header says `Basic realm=...` (docker-registry's htpasswd mode: the user and password go
/// with every request) or `Bearer realm=URL,service=S,scope=SCOPE` (a token server: GET URL?service=S&scope=SCOPE,
/// with the user and password if there are any, answers {"token": ...}); the request is sent again, once.
public final class RegistryClient: Sendable {
    public let endpoint: RegistryEndpoint
    let credential: CredentialStore.Credential?
    let http: HTTPClient
    /// The Authorization header value that worked last, per bearer scope ("" for basic): sent at once next time.
    private let authorizations = Mutex<[String: String]>([:])

    public init(endpoint: RegistryEndpoint, credential: CredentialStore.Credential?) {
        self.endpoint = endpoint
        self.credential = credential
        var configuration = HTTPClient.Configuration(
            redirectConfiguration: .disallow,  // followed by hand: an Authorization header must not go to another host
            timeout: .init(connect: .seconds(10), read: .seconds(60)))
        configuration.httpVersion = .http1Only
        http = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
    }

    public func shutdown() async {
        try? await http.shutdown()
    }

    /// The URL of a path of the API ("/v2/me/app/manifests/1"), or `location` itself when it is absolute.
    func url(_ location: String) -> String {
        if location.hasPrefix("http://") || location.hasPrefix("https://") { return location }
        return endpoint.baseURL + (location.hasPrefix("/") ? "" : "/") + location
    }

    public struct Response {
        public var status: HTTPResponseStatus
        public var headers: HTTPHeaders
        public var body: HTTPClientResponse.Body
        public var url: String
    }

    /// Sends a request, answering one authentication challenge and following up to five redirects.
    /// `body` makes the request's body afresh for each attempt.
    func send(_ method: HTTPMethod, _ location: String, headers: [(String, String)] = [],
              body: (() -> HTTPClientRequest.Body)? = nil, what: String) async throws -> Response {
        var target = url(location)
        // The registry's credentials go to the registry's own origin only: an upload Location or a redirect may
        // name another host, or the same host over plain http.
        var authorization = isRegistryOrigin(target) ? authorizations.withLock { $0[scopeKey(for: target)] ?? $0[""] } : nil
        var answered = false
        var redirects = 0
        while true {
            var request = HTTPClientRequest(url: target)
            request.method = method
            request.headers.add(name: "User-Agent", value: "box/\(RegistryVersion.string)")
            for (name, value) in headers { request.headers.add(name: name, value: value) }
            if let authorization { request.headers.add(name: "Authorization", value: authorization) }
            if let body { request.body = body() }
            let response: HTTPClientResponse
            do {
                response = try await http.execute(request, timeout: .minutes(30))
            } catch {
                throw unreachable(error, what: what, url: target)
            }
            if response.status == .unauthorized, !isRegistryOrigin(target) {
                // Storage a blob was redirected to, or an upload Location elsewhere, asking for credentials: answering
                // would hand the registry's user and password (or a token realm it names) to another origin.
                _ = try? await response.body.collect(upTo: 1 << 20)
                throw BoxError(.registry, "\(what): \(endpoint.registry) sent the request on to \(Self.origin(of: target)), which asks for credentials (401): box gives the credentials for \(endpoint.registry) to \(Self.origin(of: endpoint.baseURL)) only", exitCode: 1)
            }
            if response.status == .unauthorized, !answered {
                answered = true
                let challenge = response.headers.first(name: "WWW-Authenticate") ?? ""
                _ = try? await response.body.collect(upTo: 1 << 20)
                authorization = try await answer(challenge, what: what)
                authorizations.withLock { $0[scopeKey(for: target)] = authorization }
                continue
            }
            if [301, 302, 303, 307, 308].contains(response.status.code), (method == .GET || method == .HEAD),
               let location = response.headers.first(name: "Location"), redirects < 5 {
                redirects += 1
                _ = try? await response.body.collect(upTo: 1 << 20)
                let next = Self.resolve(location, against: target)
                // Blob downloads are redirected to storage (S3, a CDN) that refuses, or must not see, the
                // registry's credentials: they go only to the registry's own origin (scheme, host and port: an
                // https-to-http redirect on the same host would send them in clear).
                if !isRegistryOrigin(next) { authorization = nil }
                target = next
                continue
            }
            if response.status == .unauthorized {
                _ = try? await response.body.collect(upTo: 1 << 20)
                throw BoxError(.registry, credential == nil
                    ? "\(what): \(endpoint.registry) wants a user name and password: box login \(endpoint.registry)"
                    : "\(what): \(endpoint.registry) refused the user name and password of box login: box login \(endpoint.registry) again with the right ones",
                    exitCode: 1)
            }
            return Response(status: response.status, headers: response.headers, body: response.body, url: target)
        }
    }

    /// Bearer tokens are per scope (repository:me/app:pull,push); basic credentials are one for the registry.
    private func scopeKey(for url: String) -> String {
        guard let range = url.range(of: "/v2/") else { return "" }
        let path = url[range.upperBound...]
        for marker in ["/manifests/", "/blobs/", "/tags/"] {
            if let m = path.range(of: marker) { return String(path[..<m.lowerBound]) }
        }
        return ""
    }

    /// The Authorization header answering a WWW-Authenticate challenge.
    func answer(_ challenge: String, what: String) async throws -> String {
        let (scheme, parameters) = Self.parseChallenge(challenge)
        switch scheme.lowercased() {
        case "basic":
            guard let credential else {
                throw BoxError(.registry, "\(what): \(endpoint.registry) wants a user name and password: box login \(endpoint.registry)", exitCode: 1)
            }
            return "Basic " + Data((credential.username + ":" + credential.password).utf8).base64EncodedString()
        case "bearer":
            guard let realm = parameters["realm"], realm.hasPrefix("https://") || realm.hasPrefix("http://") else {
                throw BoxError(.registry, "\(what): \(endpoint.registry) asks for a token but names no token server (WWW-Authenticate: \(challenge))")
            }
            // The user and password go to the token server: over https, unless the registry itself is spoken to
            // over plain http (loopback, --insecure-registry), where they travel in clear anyway.
            guard realm.hasPrefix("https://") || !endpoint.secure else {
                throw BoxError(.registry, "\(what): \(endpoint.registry) names a token server over plain http (\(realm)): box sends credentials to a token server over https only, unless the registry is on loopback or --insecure-registry", exitCode: 1)
            }
            var query: [String] = []
            if let service = parameters["service"] { query.append("service=" + Self.percentEncoded(service)) }
            if let scope = parameters["scope"] { query.append("scope=" + Self.percentEncoded(scope)) }
            var request = HTTPClientRequest(url: realm + (query.isEmpty ? "" : (realm.contains("?") ? "&" : "?") + query.joined(separator: "&")))
            if let credential {
                request.headers.add(name: "Authorization", value: "Basic " + Data((credential.username + ":" + credential.password).utf8).base64EncodedString())
            }
            let response: HTTPClientResponse
            do { response = try await http.execute(request, timeout: .seconds(60)) } catch {
                throw unreachable(error, what: "\(what): the token server", url: realm)
            }
            let body = try await collect(response.body, limit: 1 << 20, what: "the token server's answer")
            guard response.status == .ok else {
                throw BoxError(.registry, credential == nil
                    ? "\(what): the token server \(realm) refused to give a token (\(response.status.code)): box login \(endpoint.registry)"
                    : "\(what): the token server \(realm) refused the user name and password (\(response.status.code)): box login \(endpoint.registry) again with the right ones",
                    exitCode: 1)
            }
            struct Token: Decodable { var token: String?; var access_token: String? }
            guard let token = try? JSONDecoder().decode(Token.self, from: Data(body)), let value = token.token ?? token.access_token else {
                throw BoxError(.registry, "\(what): the token server \(realm) answered without a token")
            }
            return "Bearer " + value
        default:
            throw BoxError(.registry, "\(what): \(endpoint.registry) answered 401 with an authentication box does not know (WWW-Authenticate: \(challenge))")
        }
    }

    /// `Bearer realm="https://auth/token",service="registry",scope="repository:me/app:pull"` ->
    /// ("Bearer", [realm: ..., service: ..., scope: ...]). Values are quoted strings or tokens (RFC 7235).
    static func parseChallenge(_ header: String) -> (String, [String: String]) {
        let text = Array(header.trimmingCharacters(in: .whitespaces))
        var i = 0
        var scheme = ""
        while i < text.count, text[i] != " " { scheme.append(text[i]); i += 1 }
        var parameters: [String: String] = [:]
        while i < text.count {
            while i < text.count, text[i] == " " || text[i] == "," { i += 1 }
            var key = ""
            while i < text.count, text[i] != "=", text[i] != "," { key.append(text[i]); i += 1 }
            guard i < text.count, text[i] == "=" else { break }
            i += 1
            var value = ""
            if i < text.count, text[i] == "\"" {
                i += 1
                while i < text.count, text[i] != "\"" {
                    if text[i] == "\\", i + 1 < text.count { i += 1 }
                    value.append(text[i]); i += 1
                }
                i += 1
            } else {
                while i < text.count, text[i] != "," { value.append(text[i]); i += 1 }
            }
            parameters[key.trimmingCharacters(in: .whitespaces).lowercased()] = value
        }
        return (scheme, parameters)
    }

    static func percentEncoded(_ s: String) -> String {
        s.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~"))) ?? s
    }

    /// "scheme://host:port" of a URL, in lower case, with the scheme's default port: what credentials belong to.
    static func origin(of url: String) -> String {
        guard let separator = url.range(of: "://") else { return "" }
        let scheme = url[..<separator.lowerBound].lowercased()
        var authority = host(of: url).lowercased()
        if let at = authority.lastIndex(of: "@") { authority = String(authority[authority.index(after: at)...]) }
        let hasPort = authority.hasPrefix("[") ? authority.contains("]:") : authority.contains(":")
        if !hasPort { authority += scheme == "https" ? ":443" : ":80" }
        return scheme + "://" + authority
    }

    /// Whether a URL is on the registry's own endpoint (scheme, host and port), where its credentials may go.
    func isRegistryOrigin(_ url: String) -> Bool {
        Self.origin(of: url) == Self.origin(of: endpoint.baseURL)
    }

    static func host(of url: String) -> String {
        guard let scheme = url.range(of: "://") else { return "" }
        let rest = url[scheme.upperBound...]
        return String(rest.prefix { $0 != "/" && $0 != "?" })
    }

    static func resolve(_ location: String, against base: String) -> String {
        if location.hasPrefix("http://") || location.hasPrefix("https://") { return location }
        guard let scheme = base.range(of: "://") else { return location }
        let origin = base[..<scheme.upperBound] + host(of: base)
        return String(origin) + (location.hasPrefix("/") ? "" : "/") + location
    }

    /// A connection that failed, or broke: what it was doing, and what to check.
    func unreachable(_ error: Error, what: String, url: String) -> BoxError {
        if let box = error as? BoxError { return box }
        var hint = "is the registry running and listening there?"
        if endpoint.secure, String(describing: error).lowercased().contains("ssl") || String(describing: error).contains("TLS") {
            hint = "a registry without TLS is reached over plain HTTP only on loopback or with --insecure-registry \(endpoint.registry)"
        }
        return BoxError(.registry, "\(what): \(url): \(Self.describe(error)): \(hint)")
    }

    static func describe(_ error: Error) -> String {
        if let e = error as? HTTPClientError {
            switch e {
            case .remoteConnectionClosed: return "the registry closed the connection"
            case .connectTimeout: return "connecting timed out"
            case .readTimeout: return "the registry stopped answering (read timed out)"
            case .deadlineExceeded: return "the request took too long"
            default: return "\(e)"
            }
        }
        let text = String(describing: error)
        if text.contains("connectionRefused") || text.contains("Connection refused") { return "connection refused" }
        return text
    }

    /// The body, at most `limit` bytes (a manifest, a config, an error).
    func collect(_ body: HTTPClientResponse.Body, limit: Int, what: String) async throws -> [UInt8] {
        do {
            var buffer = try await body.collect(upTo: limit)
            return buffer.readBytes(length: buffer.readableBytes) ?? []
        } catch let error as NIOTooManyBytesError {
            _ = error
            throw BoxError(.registry, "\(what) is larger than \(limit >> 10) KiB: not what a registry sends there")
        } catch {
            throw unreachable(error, what: what, url: endpoint.baseURL)
        }
    }

    /// The registry's own error ({"errors": [{"code": "MANIFEST_UNKNOWN", "message": ...}]}) for an unexpected status.
    func failure(_ response: Response, what: String, notFound: String? = nil) async -> BoxError {
        let body = (try? await collect(response.body, limit: 1 << 20, what: what)) ?? []
        struct Errors: Decodable {
            struct Item: Decodable { var code: String?; var message: String? }
            var errors: [Item]?
        }
        let said = (try? JSONDecoder().decode(Errors.self, from: Data(body)))?.errors?
            .map { [$0.code, $0.message].compactMap { $0 }.joined(separator: ": ") }.joined(separator: "; ")
        let detail = said.flatMap { $0.isEmpty ? nil : $0 } ?? String(decoding: body.prefix(200), as: UTF8.self)
        if response.status == .notFound, let notFound {
            return BoxError(.registry, "\(what): \(notFound) (\(endpoint.registry) answered 404\(detail.isEmpty ? "" : ": " + detail))", exitCode: 1)
        }
        return BoxError(.registry, "\(what): \(endpoint.registry) answered \(response.status.code) \(response.status.reasonPhrase)\(detail.isEmpty ? "" : ": " + detail)")
    }

    /// `box login`: the registry's /v2/ with the credentials (which `send` answers a challenge with). A registry
    /// without authentication answers 200 at once: the credentials are kept all the same, as docker does.
    public func ping() async throws {
        let response = try await send(.GET, "/v2/", what: "log in to \(endpoint.registry)")
        guard response.status == .ok else { throw await failure(response, what: "log in to \(endpoint.registry)") }
        _ = try? await response.body.collect(upTo: 1 << 20)
    }
}

public enum RegistryVersion {
    public static let string = "0.1.0"
}
