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
        public var comment: String?
        public var empty_layer: Bool?
    }

    public var architecture: String
    public var os: String
    public var created: String?
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
        config = try c.decodeIfPresent(Config.self, forKey: .config) ?? Config()
        rootfs = try c.decode(RootFS.self, forKey: .rootfs)
        history = try c.decodeIfPresent([History].self, forKey: .history)
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

    public init(parsing text: String) throws {
        var repo = text
        var tag = "latest"
        if let colon = text.lastIndex(of: ":"), !text[text.index(after: colon)...].contains("/") {
            repo = String(text[..<colon])
            tag = String(text[text.index(after: colon)...])
        }
        let allowed = Set("abcdefghijklmnopqrstuvwxyz0123456789._-/")
        guard !repo.isEmpty, repo.allSatisfy({ allowed.contains($0) }), !repo.hasPrefix("/"), !repo.hasSuffix("/"),
              !tag.isEmpty, tag.count <= 128, tag.allSatisfy({ $0.isLetter || $0.isNumber || "._-".contains($0) })
        else {
            throw BoxError(.usage, "invalid reference format: \"\(text)\" (names are lowercase letters, digits, . _ - /; tags up to 128 characters)")
        }
        self.repository = repo
        self.tag = tag
    }

    public var description: String { "\(repository):\(tag)" }
}

/// `box run` reads its image's config at every start: by hand (see JSONReadable), as init(from:) reads it. A test
/// holds both readers to the same answers, on good configs and on the ones JSONDecoder refuses.
extension ImageConfig: JSONReadable {
    public init(json: JSONValue) throws {
        let m = try JSONMembers(json)
        let config = try m.value("config") == nil ? Config() : m.object("config") { c in
            var config = Config(Env: try c.optionalStrings("Env"), Cmd: try c.optionalStrings("Cmd"))
            config.User = try c.optionalString("User")
            config.Entrypoint = try c.optionalStrings("Entrypoint")
            config.WorkingDir = try c.optionalString("WorkingDir")
            config.Labels = try c.optionalStringTable("Labels")
            return config
        }
        let rootfs = try m.object("rootfs") { r in RootFS(type: try r.string("type"), diff_ids: try r.strings("diff_ids")) }
        let history = try m.value("history") == nil ? nil : m.objects("history") { h in
            History(created: try h.optionalString("created"), created_by: try h.optionalString("created_by"),
                    comment: try h.optionalString("comment"), empty_layer: try h.optionalBool("empty_layer"))
        }
        self.init(architecture: try m.string("architecture"), os: try m.string("os"), created: try m.optionalString("created"),
                  config: config, rootfs: rootfs, history: history)
    }
}
