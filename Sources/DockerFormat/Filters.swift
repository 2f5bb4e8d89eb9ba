// Filters.swift — docker's `--filter KEY=VALUE` for ps and images, where box's CLI and a future boxd can both
// use it (the Engine API takes the same filters as a JSON map of key to values).
//
// Semantics as moby's api/types/filters and daemon/list.go, daemon/images/images.go: different keys must all
// match; several values of one key match if any does, except `label`, where every one must; `name` and `id`
// values are regular expressions (a value equal to the text matches too), searched in the text.

#if canImport(Glibc)
import Glibc
#endif
import Engine

/// Parsed `--filter` arguments.
public struct ListFilters: Sendable {
    public private(set) var values: [String: [String]] = [:]

    public init() {}

    /// `arguments` as typed after --filter; `accepted` the keys the verb knows. A value without `=` is the CLI's
    /// error (exit 125), an unknown key the daemon's (exit 1), both in docker's words.
    public init(_ arguments: [String], accepted: Set<String>) throws {
        for argument in arguments {
            guard let eq = argument.firstIndex(of: "=") else {
                throw BoxError(.usage, "invalid argument \"\(argument)\" for \"-f, --filter\" flag: bad format of filter (expected name=value)", exitCode: 125)
            }
            let key = argument[..<eq].lowercased().trimmingSpaces
            let value = String(argument[argument.index(after: eq)...]).trimmingSpaces
            guard accepted.contains(key) else { throw Self.invalid(key) }
            values[key, default: []].append(value)
        }
    }

    /// docker's "Invalid filter 'KEY'" (or 'KEY=VALUE' for a value the key does not take), exit 1.
    public static func invalid(_ what: String) -> BoxError {
        BoxError(.usage, "Invalid filter '\(what)'", exitCode: 1)
    }

    public func contains(_ key: String) -> Bool { values[key] != nil }
    public subscript(key: String) -> [String] { values[key] ?? [] }

    /// Adds a value (images REPO[:TAG] is a `reference` filter).
    public mutating func add(_ key: String, _ value: String) { values[key, default: []].append(value) }

    /// True if the key is absent, or one of its values equals `text` or, as a regular expression, is found in it.
    public func matches(_ key: String, _ text: String) -> Bool {
        guard let wanted = values[key] else { return true }
        return wanted.contains { value in
            value == text || ((try? Regex(value)).map { text.contains($0) } ?? false)
        }
    }

    /// `label` filters: every `KEY` or `KEY=VALUE` must be among `labels`.
    public func matchesLabels(_ labels: [String: String]) -> Bool {
        self["label"].allSatisfy { wanted in
            let parts = wanted.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let value = labels[String(parts[0])] else { return false }
            return parts.count == 1 || value == parts[1]
        }
    }

    /// One boolean filter (`dangling=true`), or the error for a value other than true/false/1/0.
    public func bool(_ key: String) throws -> Bool? {
        guard let last = values[key]?.last else { return nil }
        switch last.lowercased() {
        case "true", "1": return true
        case "false", "0": return false
        default: throw Self.invalid("\(key)=[\(last)]")
        }
    }
}

extension StringProtocol {
    var trimmingSpaces: String {
        String(drop { $0 == " " }.reversed().drop { $0 == " " }.reversed())
    }
}

/// docker's container filters (daemon/list.go), over box's containers.
public struct ContainerFilter {
    public static let keys: Set<String> = ["ancestor", "before", "expose", "exited", "health", "id", "isolation",
                                           "is-task", "label", "name", "network", "publish", "since", "status", "volume"]
    static let states: Set<String> = ["created", "restarting", "running", "removing", "paused", "exited", "dead"]
    static let healths: Set<String> = ["starting", "healthy", "unhealthy", "none"]

    let filters: ListFilters
    let exited: [Int32]
    let ancestors: Set<String>
    let before: Timestamp?
    let since: Timestamp?

    /// Checks every value now (a bad status or exit code, a `before` container that does not exist), as the
    /// daemon does before it lists anything.
    public init(_ filters: ListFilters, store: ContainerStore) throws {
        self.filters = filters
        for status in filters["status"] where !Self.states.contains(status) { throw ListFilters.invalid("status=\(status)") }
        for health in filters["health"] where !Self.healths.contains(health) {
            throw BoxError(.usage, "Unrecognised filter value for health: \(health)", exitCode: 1)
        }
        exited = try filters["exited"].map { text in
            guard let code = Int32(text) else { throw BoxError(.usage, "strconv.Atoi: parsing \"\(text)\": invalid syntax", exitCode: 1) }
            return code
        }
        // ancestor: the image and, as for docker, any image whose name or id was given; an unknown one matches none.
        var ancestors: Set<String> = []
        for name in filters["ancestor"] {
            ancestors.insert(name)
            if let image = try? store.images.resolve(name) { ancestors.insert(image.id) }
        }
        self.ancestors = ancestors
        func created(_ name: String) throws -> Timestamp {
            do { return try store.resolve(name).spec.Created } catch let e as BoxError where e.message.hasPrefix("No such container") {
                throw BoxError(.state, "no such container \(name)", exitCode: 1)
            }
        }
        before = try filters["before"].last.map(created)
        since = try filters["since"].last.map(created)
    }

    /// docker lists containers in every state when a status is asked for, as with -a.
    public var matchesAnyState: Bool { filters.contains("status") }

    public func includes(_ c: Container) -> Bool {
        let state = c.state
        if !filters.matches("name", "/" + c.name) || !filters.matches("id", c.id) { return false }
        if filters.contains("status") && !filters["status"].contains(state.Status.rawValue) { return false }
        if !exited.isEmpty && (state.Running || state.StartedAt.isZero || !exited.contains(state.ExitCode)) { return false }
        if !ancestors.isEmpty && !ancestors.contains(c.spec.Image) && !ancestors.contains(c.spec.Config.Image) { return false }
        if !filters.matchesLabels(c.spec.Config.Labels) { return false }
        if let before, !(c.spec.Created < before) { return false }
        if let since, !(since < c.spec.Created) { return false }
        if filters.contains("network") {
            let network = c.spec.HostConfig.NetworkMode
            if !filters["network"].contains(network == "default" || network.isEmpty ? Network.defaultName : network) { return false }
        }
        if filters.contains("volume") {
            // moby's list.go: a mount's volume name (its source if it has none) or its destination; every mount
            // counts (-v, --mount, anonymous volumes, --volumes-from), not only Binds.
            let mounts = c.spec.mountPoints.flatMap { [$0.name ?? $0.host, $0.container] }.filter { !$0.isEmpty }
            if !filters["volume"].contains(where: mounts.contains) { return false }
        }
        // box has no health checks: every container's health is "none".
        if filters.contains("health") && !filters["health"].contains("none") { return false }
        if filters.contains("publish") || filters.contains("expose") {
            let ports = (c.spec.HostConfig.PortBindings ?? []).map { "\($0.ContainerPort)" }
            for key in ["publish", "expose"] where filters.contains(key) {
                if !filters[key].contains(where: { want in ports.contains(want) || ports.contains(want + "/tcp") }) { return false }
            }
        }
        if filters.contains("is-task") && filters["is-task"].contains("true") { return false }  // no swarm tasks
        return true
    }
}

/// docker's image filters (daemon/images/images.go): dangling, reference, before, since, label.
public struct ImageFilter {
    public static let keys: Set<String> = ["before", "dangling", "label", "reference", "since", "until"]

    let filters: ListFilters
    let dangling: Bool?
    let before: String?
    let since: String?

    public init(_ filters: ListFilters, store: ImageStore) throws {
        self.filters = filters
        dangling = try filters.bool("dangling")
        before = try filters["before"].last.map { try store.resolve($0).config.created ?? "" }
        since = try filters["since"].last.map { try store.resolve($0).config.created ?? "" }
    }

    /// The names of `image` to list (all of them, or those a `reference` filter matches), or nil to leave it out.
    /// An image with no name is listed once, as `<none>:<none>`.
    public func names(_ image: Image) -> [String]? {
        if let dangling, dangling != image.names.isEmpty { return nil }
        if !filters.matchesLabels(image.config.config.Labels ?? [:]) { return nil }
        let created = image.config.created ?? ""
        if let before, !(created < before) { return nil }
        if let since, !(since < created) { return nil }
        guard filters.contains("reference") else { return image.names }
        let kept = image.names.filter { name in
            let repository = String(name[..<(name.lastIndex(of: ":") ?? name.endIndex)])
            return filters["reference"].contains { pattern in
                Self.glob(pattern, repository) || Self.glob(pattern, name)
            }
        }
        return kept.isEmpty ? nil : kept
    }

    /// Go's path.Match: `*` and `?` do not cross a `/`.
    static func glob(_ pattern: String, _ text: String) -> Bool {
        fnmatch(pattern, text, FNM_PATHNAME) == 0
    }
}
