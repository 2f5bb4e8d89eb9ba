#if canImport(Glibc)
import Glibc
#endif
import Engine
import Synchronization

/// The Engine API boxd serves (docker 20.10's, version 1.41), over the engine of one BOX_ROOT. Handlers are
/// thin: they read the request, call the engine, and answer in docker's shape (moby's api/server/router/…).
final class API: Sendable {
    static let version = "1.41"
    static let minimumVersion = "1.24"

    let store: ContainerStore
    /// `docker run`'s attach, made before the start: the start hands it the container's first monitor socket.
    let attaches = Mutex<[String: Handoff]>([:])
    /// exec instances by id (docker keeps them in memory too, until the container goes).
    let execs = Mutex<[String: ExecRecord]>([:])

    init(store: ContainerStore) { self.store = store }

    var life: Lifecycle { Lifecycle(store: store) }

    func route(_ r: Request, _ c: Connection) {
        let parts = r.path.split(separator: "/").map(String.init)
        do {
            switch (r.method, parts.first ?? "") {
            case ("GET", "_ping"), ("HEAD", "_ping"):
                ping(r, c)
            case ("GET", "version"):
                c.json(200, version())
            case ("GET", "info"):
                c.json(200, try info())
            case ("GET", "events"):
                try events(r, c)
            // The container endpoints of Archive.swift and SystemEndpoints.swift (diff, export, archive, stats,
            // update, prune) come before the general `containers` case: ContainerFileEndpoint is nil for the rest.
            case (_, "containers") where ContainerFileEndpoint(r, parts) != nil:
                try containerFiles(ContainerFileEndpoint(r, parts)!, r, parts, c)
            case ("POST", "images") where parts.count == 2 && parts[1] == "create" && r.query["fromSrc"] != nil:
                try importImage(r, c)
            case (_, "images") where !(parts.count == 2 && parts[1] == "create"):
                try images(r, parts, c)
            case (_, "networks"):
                try networks(r, parts, c)
            case ("GET", "system") where parts.count == 2 && parts[1] == "df":
                c.json(200, try diskUsage())
            case ("POST", "build"):
                try build(r, c)
            case ("POST", "commit"):
                try commit(r, c)
            case (_, "containers"):
                try containers(r, Array(parts.dropFirst()), c)
            case (_, "exec") where parts.count == 3:
                try exec(r, id: parts[1], action: parts[2], c)
            case ("POST", "images") where parts.count == 2 && parts[1] == "create":
                try pullImage(r, c)
            default:
                throw APIError(404, "page not found: boxd does not serve \(r.method) \(r.path) (yet); box's own CLI may: see `box --help`")
            }
        } catch let e as APIError {
            c.error(e)
        } catch let e as BoxError {
            c.error(APIError(e))
        } catch {
            c.error(APIError(500, "\(error)"))
        }
    }

    func resolve(_ name: String) throws -> Container { try store.resolve(name) }
}

extension JSONValue {
    /// A string field, or a string array's elements (docker accepts both for Cmd, Entrypoint, Env's cousins).
    var strings: [String]? {
        switch self {
        case .string(let s): return [s]
        case .array(let a): return a.compactMap { if case .string(let s) = $0 { return s }; return nil }
        default: return nil
        }
    }
    var string: String? { if case .string(let s) = self { return s }; return nil }
    var bool: Bool? { if case .bool(let b) = self { return b }; return nil }
    var int: Int64? {
        switch self {
        case .int(let i): return i
        case .double(let d): return Int64(exactly: d.rounded()) 
        default: return nil
        }
    }
    var pairs: [(String, JSONValue)] { if case .object(let o) = self { return o }; return [] }
    var elements: [JSONValue]? { if case .array(let a) = self { return a }; return nil }
}

/// docker's `filters` query parameter: `{"name":{"web":true}}` (what the CLI sends), or the older
/// `{"name":["web"]}`. Keys with the values asked for.
struct Filters {
    var values: [String: [String]] = [:]

    init(_ text: String?) throws {
        guard let text, !text.isEmpty else { return }
        guard case .object(let fields) = try? JSONValue.parse(text) else {
            throw APIError(400, "invalid filters \"\(text)\": expected a JSON object such as {\"name\":[\"web\"]}")
        }
        for (key, value) in fields {
            switch value {
            case .array: values[key] = value.strings ?? []
            case .object(let set): values[key] = set.map(\.0)
            default: throw APIError(400, "invalid filter \"\(key)\": expected a list of values")
            }
        }
    }

    /// Every key must be one of `known` (docker answers 400 for the others).
    func check(_ known: [String]) throws {
        for key in values.keys where !known.contains(key) { throw APIError(400, "invalid filter '\(key)'") }
    }

    /// True if the filter `key` is absent or one of its values matches.
    func allows(_ key: String, _ match: (String) -> Bool) -> Bool {
        guard let wanted = values[key], !wanted.isEmpty else { return true }
        return wanted.contains(where: match)
    }
}

/// Labels as docker's `label` filters read them: `key` or `key=value`.
func labelMatches(_ filter: String, _ labels: [String: String]) -> Bool {
    let kv = filter.split(separator: "=", maxSplits: 1).map(String.init)
    guard let key = kv.first, let value = labels[key] else { return false }
    return kv.count == 1 || kv[1] == value
}
