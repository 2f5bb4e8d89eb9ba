/// The OCI image configuration (image-spec config.md), the JSON whose sha256 is the image id.
/// Field names are the spec's, so `box save` can write it as is and skopeo/umoci can read it.
public struct ImageConfig: Codable, Sendable, Equatable {
    public struct Config: Codable, Sendable, Equatable {
        public var User: String?
        public var Env: [String]?
        public var Entrypoint: [String]?
        public var Cmd: [String]?
        public var WorkingDir: String?
        public var Labels: [String: String]?
        public init(Env: [String]? = nil, Cmd: [String]? = nil) {
            self.Env = Env
            self.Cmd = Cmd
        }
    }
    public struct RootFS: Codable, Sendable, Equatable {
        public var type: String = "layers"
        public var diff_ids: [String]
    }
    public struct History: Codable, Sendable, Equatable {
        public var created: String?
        public var created_by: String?
        public var author: String?
        public var comment: String?
        public var empty_layer: Bool?
    }

    public var architecture: String
    public var os: String
    public var created: String?
    public var author: String?  // docker commit --author
    public var config: Config
    public var rootfs: RootFS
    public var history: [History]?

    public init(architecture: String, os: String, created: String?, config: Config, rootfs: RootFS, history: [History]?) {
        self.architecture = architecture
        self.os = os
        self.created = created
        self.config = config
        self.rootfs = rootfs
        self.history = history
    }

    /// The spec makes `config` optional (umoci leaves it out of a new image): absent reads as empty.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        architecture = try c.decode(String.self, forKey: .architecture)
        os = try c.decode(String.self, forKey: .os)
        created = try c.decodeIfPresent(String.self, forKey: .created)
        author = try c.decodeIfPresent(String.self, forKey: .author)
        config = try c.decodeIfPresent(Config.self, forKey: .config) ?? Config()
        rootfs = try c.decode(RootFS.self, forKey: .rootfs)
        history = try c.decodeIfPresent([History].self, forKey: .history)
    }

    /// docker's --platform (save, load, import, pull, push): box keeps and runs the host's platform only, so
    /// that is the one a command may ask for ("linux", or "linux/ARCH" with the host's ARCH); anything else is
    /// refused, saying so.
    public static func checkPlatform(_ platform: String) throws {
        let parts = platform.lowercased().split(separator: "/").map(String.init)
        guard parts.first == "linux", parts.count == 1 || parts[1] == hostArchitecture, parts.count <= 3 else {
            throw BoxError(.usage, "--platform \(platform): box keeps and runs linux/\(hostArchitecture) images only, this host's", exitCode: 125)
        }
    }

    /// The architecture name OCI uses for this machine.
    public static var hostArchitecture: String {
        #if arch(x86_64)
        return "amd64"
        #elseif arch(arm64)
        return "arm64"
        #else
        return "unknown"
        #endif
    }
}

/// An image as the store knows it: its id, the names pointing at it, and its parsed config.
public struct Image: Sendable {
    public var id: String  // "sha256:<hex of the config blob>"
    public var config: ImageConfig
    public var names: [String]

    public var shortID: String { String(Digest.hex(id).prefix(12)) }
}

/// A parsed image reference: "busybox", "busybox:1.36", "sha256:abc..." or an id prefix.
public struct ImageReference: Sendable, Equatable, CustomStringConvertible {
    public var repository: String
    public var tag: String

    /// Docker's reference grammar (distribution/reference): `[DOMAIN[:PORT]/]COMPONENT[/COMPONENT...][:TAG]`.
    /// A name refused here is refused by every verb that names an image (run, tag, commit, build -t, import,
    /// load), before anything changes: a loaded archive could otherwise name an image `../../etc:x`.
    public init(parsing text: String) throws {
        var repo = text
        var tag = "latest"
        if let colon = text.lastIndex(of: ":"), !text[text.index(after: colon)...].contains("/") {
            repo = String(text[..<colon])
            tag = String(text[text.index(after: colon)...])
        }
        if let problem = Self.problem(name: repo) ?? Self.problem(tag: tag) {
            throw BoxError(.usage, "invalid reference format: \"\(text)\": \(problem)")
        }
        self.repository = repo
        self.tag = tag
    }

    /// Why `name` is not a repository name in docker's grammar, or nil if it is one.
    static func problem(name: String) -> String? {
        let example = "(e.g. busybox, me/my_app, localhost:5000/app-2)"
        guard !name.isEmpty else { return "the repository name is empty \(example)" }
        guard name.utf8.count <= 255 else { return "the repository name is longer than 255 characters" }
        var components = name.split(separator: "/", omittingEmptySubsequences: false).map { Array($0.utf8) }
        // A first component followed by more is a registry's domain (and port) when it reads as one.
        if components.count > 1, isDomainAndPort(components[0]) { components.removeFirst() }
        for c in components where !isPathComponent(c) {
            let shown = String(decoding: c, as: UTF8.self)
            if c.contains(where: { (65...90).contains($0) }) { return "the repository name must be lowercase \(example)" }
            return shown.isEmpty
                ? "a name cannot start or end with \"/\" or have \"//\" \(example)"
                : "\"\(shown)\" is not a name component: lowercase letters and digits, joined by one \".\", \"_\", \"__\" or dashes \(example)"
        }
        return nil
    }

    /// Why `tag` is not a tag (`[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`), or nil if it is one.
    static func problem(tag: String) -> String? {
        let bytes = Array(tag.utf8)
        func word(_ b: UInt8) -> Bool { isAlphanumeric(b) || (65...90).contains(b) || b == UInt8(ascii: "_") }
        guard let first = bytes.first, word(first), bytes.count <= 128,
              bytes.allSatisfy({ word($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "-") }) else {
            return "the tag \"\(tag)\" must be 1 to 128 letters, digits, \"_\", \".\" or \"-\", not starting with \".\" or \"-\""
        }
        return nil
    }

    private static func isAlphanumeric(_ b: UInt8) -> Bool { (97...122).contains(b) || (48...57).contains(b) }

    /// `[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*`
    static func isPathComponent(_ c: [UInt8]) -> Bool {
        var i = 0
        while true {
            let start = i
            while i < c.count, isAlphanumeric(c[i]) { i += 1 }
            guard i > start else { return false }  // a run of letters and digits at the start and after each separator
            if i == c.count { return true }
            switch c[i] {
            case UInt8(ascii: "."): i += 1
            case UInt8(ascii: "_"): i += (i + 1 < c.count && c[i + 1] == UInt8(ascii: "_")) ? 2 : 1
            case UInt8(ascii: "-"): while i < c.count, c[i] == UInt8(ascii: "-") { i += 1 }
            default: return false
            }
        }
    }

    /// `(domain-label(.domain-label)* | [ipv6]) (:port)?`, a label being letters, digits and inner dashes.
    static func isDomainAndPort(_ c: [UInt8]) -> Bool {
        var host = c[...], port: ArraySlice<UInt8>? = nil
        if c.first == UInt8(ascii: "[") {
            guard let close = c.firstIndex(of: UInt8(ascii: "]")), close > 1,
                  c[1..<close].allSatisfy({ isHex($0) || $0 == UInt8(ascii: ":") }) else { return false }
            host = []
            if close + 1 < c.count {
                guard c[close + 1] == UInt8(ascii: ":") else { return false }
                port = c[(close + 2)...]
            }
        } else if let colon = c.firstIndex(of: UInt8(ascii: ":")) {
            host = c[..<colon]
            port = c[(colon + 1)...]
        }
        if let port, port.isEmpty || !port.allSatisfy({ (48...57).contains($0) }) { return false }
        if c.first == UInt8(ascii: "[") { return true }
        let labels = host.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        return labels.allSatisfy { label in
            guard let first = label.first, let last = label.last else { return false }
            func alnum(_ b: UInt8) -> Bool { isAlphanumeric(b) || (65...90).contains(b) }
            return alnum(first) && alnum(last) && label.allSatisfy { alnum($0) || $0 == UInt8(ascii: "-") }
        }
    }

    private static func isHex(_ b: UInt8) -> Bool { (48...57).contains(b) || (97...102).contains(b) || (65...70).contains(b) }

    public var description: String { "\(repository):\(tag)" }
}

extension ImageConfig.Config {
    /// One Dockerfile instruction applied to an image config (the `--change` of docker commit).
    mutating func apply(_ change: String) throws {
        let trimmed = change.trimmed
        let keyword = trimmed.prefix { !$0.isWhitespace }.uppercased()
        let rest = String(trimmed.dropFirst(keyword.count)).trimmed
        func list() throws -> [String] {
            // JSON form ["a", "b"], or shell form run by /bin/sh -c (Dockerfile rules).
            guard rest.hasPrefix("[") else { return ["/bin/sh", "-c", rest] }
            guard case .array(let items) = try JSONValue.parse(rest) else { throw BoxError(.usage, "invalid \(keyword): \(rest)") }
            return try items.map {
                guard case .string(let s) = $0 else { throw BoxError(.usage, "invalid \(keyword): \(rest) (strings only)") }
                return s
            }
        }
        func pair() throws -> (String, String) {
            // KEY= is an empty value, as docker allows (`--label bare`, `ENV EMPTY=`).
            let kv = rest.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
            guard kv.count == 2, !kv[0].isEmpty else { throw BoxError(.usage, "invalid \(keyword): \"\(rest)\": use \(keyword) KEY=VALUE") }
            return (kv[0], kv[1])
        }
        switch keyword {
        case "CMD": Cmd = try list()
        case "ENTRYPOINT": Entrypoint = try list()
        case "WORKDIR": WorkingDir = rest
        case "USER": User = rest
        case "ENV":
            let (k, v) = try pair()
            Env = (Env ?? []).filter { !$0.hasPrefix(k + "=") } + [k + "=" + v]
        case "LABEL":
            let (k, v) = try pair()
            Labels = (Labels ?? [:]).merging([k: v]) { $1 }
        default:
            throw BoxError(.usage, "unsupported change \"\(change)\": use CMD, ENTRYPOINT, ENV, WORKDIR, USER or LABEL")
        }
    }
}
