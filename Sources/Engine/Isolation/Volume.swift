/// A bind mount from `-v HOST:CONTAINER[:ro|rw]`.
public struct Volume: Sendable, Equatable {
    public var host: String
    public var container: String
    public var readOnly: Bool

    public init(host: String, container: String, readOnly: Bool) {
        self.host = host
        self.container = container
        self.readOnly = readOnly
    }

    public init(parsing text: String) throws {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 2 || parts.count == 3 else {
            throw BoxError(.usage, "invalid volume \"\(text)\": use HOST:CONTAINER or HOST:CONTAINER:ro")
        }
        guard parts[0].hasPrefix("/") else {
            throw BoxError(.usage, "invalid volume \"\(text)\": the host path must be absolute (box has no named volumes)")
        }
        guard parts[1].hasPrefix("/"), parts[1] != "/" else {
            throw BoxError(.usage, "invalid volume \"\(text)\": the container path must be absolute and not /")
        }
        guard !parts[1].split(separator: "/").contains("..") else {
            throw BoxError(.usage, "invalid volume \"\(text)\": the container path may not contain ..")
        }
        if parts.count == 3, !["ro", "rw"].contains(parts[2]) {
            throw BoxError(.usage, "invalid volume \"\(text)\": the mode must be ro or rw")
        }
        host = parts[0]
        container = parts[1]
        readOnly = parts.count == 3 && parts[2] == "ro"
    }
}

/// `-u UID[:GID]` or `-u NAME[:GROUP]`, names looked up in the image's /etc/passwd and /etc/group.
public struct UserSpec: Sendable, Equatable {
    public var uid: UInt32
    public var gid: UInt32

    public static func resolve(_ text: String, layers: [String]) throws -> UserSpec {
        if text.isEmpty { return UserSpec(uid: 0, gid: 0) }
        let parts = text.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        func lookup(_ file: String, _ name: String) -> [String]? {
            // The topmost layer that has the file wins, as in the merged view.
            for layer in layers.reversed() {
                guard let content = Files.readIfPresent(layer + "/etc/" + file) else { continue }
                for line in content.split(separator: "\n") {
                    let fields = line.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
                    if fields.first == name { return fields }
                }
                return nil
            }
            return nil
        }
        var gid: UInt32? = nil
        let uid: UInt32
        if let n = UInt32(parts[0]) {
            uid = n
        } else if let fields = lookup("passwd", parts[0]), fields.count > 3, let n = UInt32(fields[2]) {
            uid = n
            gid = UInt32(fields[3])
        } else {
            throw BoxError(.usage, "unable to find user \(parts[0]): no matching entries in the image's /etc/passwd", exitCode: 125)
        }
        if parts.count == 2 {
            if let n = UInt32(parts[1]) {
                gid = n
            } else if let fields = lookup("group", parts[1]), fields.count > 2, let n = UInt32(fields[2]) {
                gid = n
            } else {
                throw BoxError(.usage, "unable to find group \(parts[1]): no matching entries in the image's /etc/group")
            }
        }
        return UserSpec(uid: uid, gid: gid ?? 0)
    }
}
