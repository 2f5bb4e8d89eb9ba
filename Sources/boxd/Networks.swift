#if canImport(Glibc)
import Glibc
#endif
import Engine

/// /networks: list, create, inspect, remove, prune (moby's api/server/router/network). box's networks are
/// bridges; connect and disconnect add and remove a running container's veth pairs (Engine's NetworkConnect).
extension API {
    var networkStore: NetworkStore { NetworkStore(root: store.root) }

    func networks(_ r: Request, _ parts: [String], _ c: Connection) throws {
        switch (r.method, parts.count) {
        case ("GET", 1): c.json(200, try networkList(r))
        case ("POST", 2) where parts[1] == "create": c.json(201, try createNetwork(r))
        case ("POST", 2) where parts[1] == "prune":
            c.json(200, ["NetworksDeleted": .array(try networkStore.prune(includingDefault: false).map(JSONValue.string))])
        case ("GET", 2): c.json(200, networkJSON(try network(parts[1]), members: true))
        case ("DELETE", 2):
            do { try networkStore.remove(try network(parts[1]).Name) } catch let e as BoxError where e.message.contains("active endpoints") {
                throw APIError(409, e.message)
            }
            c.respond(204)
        case ("POST", 3) where parts[2] == "connect": try connect(r, network: parts[1]); c.respond(200)
        case ("POST", 3) where parts[2] == "disconnect": try disconnect(r, network: parts[1]); c.respond(200)
        default:
            throw APIError(404, "page not found: boxd does not serve \(r.method) \(r.path)")
        }
    }

    /// POST /networks/{id}/connect: `{"Container": …, "EndpointConfig": {"Aliases": […]}}`, what box's
    /// `network connect --alias` does; the endpoint settings box cannot give (addresses, links) are refused.
    func connect(_ r: Request, network name: String) throws {
        let body = try r.json()
        guard let id = body["Container"]?.string, !id.isEmpty else { throw APIError(400, "the body needs Container: which container to connect") }
        let n = try network(name)
        let endpoint = body["EndpointConfig"] ?? .null
        try API.refuseUnhandled(endpoint, handled: ["Aliases", "NetworkID"], prefix: "EndpointConfig.")
        try API.refuseUnhandled(body, handled: ["Container", "EndpointConfig"], prefix: "")
        let aliases = endpoint["Aliases"]?.strings ?? []
        for a in aliases where a.isEmpty || !a.allSatisfy({ $0.isLetter || $0.isNumber || "-_.".contains($0) }) {
            throw APIError(400, "invalid alias \"\(a)\": letters, digits, '-', '_' and '.' only")
        }
        _ = try NetworkConnect.connect(try resolve(id), network: n.Name, aliases: aliases, store: store)  // "already exists": 409
    }

    /// POST /networks/{id}/disconnect: `{"Container": …, "Force": …}`. box takes off only networks added with
    /// connect (a container's first stays while it runs), so Force changes nothing.
    func disconnect(_ r: Request, network name: String) throws {
        let body = try r.json()
        guard let id = body["Container"]?.string, !id.isEmpty else { throw APIError(400, "the body needs Container: which container to disconnect") }
        try API.refuseUnhandled(body, handled: ["Container", "Force"], prefix: "")
        try NetworkConnect.disconnect(try resolve(id), network: try network(name).Name, store: store)
    }

    /// The network by name, id or id prefix; docker's 404 otherwise.
    func network(_ name: String) throws -> Network {
        do { return try networkStore.get(name) } catch let e as BoxError where e.message.contains("not found") || e.message.contains("does not exist") {
            throw APIError(404, "network \(name) not found")
        }
    }

    /// docker's NetworkResource.
    func networkJSON(_ n: Network, members: Bool) -> JSONValue {
        var containers: [(String, JSONValue)] = []
        if members {
            for (ip, id) in n.Leases.sorted(by: { $0.key < $1.key }) {
                let c = try? store.load(id)
                containers.append((id, [
                    "Name": .string(c?.name ?? ""), "EndpointID": "",
                    "MacAddress": .string(ContainerNetwork.attachment(store, id)?.MacAddress ?? ""),
                    "IPv4Address": .string("\(ip)/\(n.Subnet.prefix)"), "IPv6Address": "",
                ]))
            }
        }
        return [
            "Name": .string(n.Name), "Id": .string(n.Id), "Created": .string(n.Created.rfc3339), "Scope": "local",
            "Driver": .string(n.Driver), "EnableIPv6": false,
            "IPAM": ["Driver": "default", "Options": .null,
                     "Config": [["Subnet": .string(n.Subnet.description), "Gateway": .string(n.Gateway.description)]]],
            "Internal": false, "Attachable": false, "Ingress": false, "ConfigFrom": ["Network": ""], "ConfigOnly": false,
            "Containers": .object(containers),
            "Options": ["com.docker.network.bridge.name": .string(n.Bridge),
                        "com.docker.network.bridge.enable_ip_masquerade": .string(n.Masquerade ? "true" : "false")],
            "Labels": [:],
        ]
    }

    /// GET /networks: filters name (substring, as docker's), id (prefix), driver, type (custom or builtin).
    func networkList(_ r: Request) throws -> JSONValue {
        let filters = try Filters(r.query["filters"])
        try filters.check(["name", "id", "driver", "type", "label", "scope", "dangling"])
        let list = try networkStore.list().filter { n in
            filters.allows("name") { n.Name.contains($0) } && filters.allows("id") { n.Id.hasPrefix($0) }
                && filters.allows("driver") { $0 == n.Driver } && filters.allows("scope") { $0 == "local" }
                && filters.allows("type") { $0 == (n.isDefault ? "builtin" : "custom") }
                && filters.allows("label") { _ in false }
                && filters.allows("dangling") { ["true", "1"].contains($0) == n.Leases.isEmpty }
        }
        return .array(list.map { networkJSON($0, members: false) })
    }

    /// POST /networks/create: `{"Name": …, "Driver": "bridge", "IPAM": {"Config": [{"Subnet": …}]}}`, 201
    /// with the new id. Options box has no use for are refused, not ignored.
    func createNetwork(_ r: Request) throws -> JSONValue {
        let body = try r.json()
        guard let name = body["Name"]?.string, !name.isEmpty else { throw APIError(400, "network create needs a Name") }
        let driver = body["Driver"]?.string ?? ""
        guard driver.isEmpty || driver == "bridge" else {
            throw APIError(400, "plugin \"\(driver)\" not found: box has the bridge driver only")
        }
        if body["Internal"]?.bool == true || body["EnableIPv6"]?.bool == true || body["Attachable"]?.bool == true {
            throw APIError(400, "box's networks are plain bridges: --internal, --ipv6 and --attachable are not supported")
        }
        var subnet: Subnet?
        if case .array(let configs)? = body["IPAM"]?["Config"] {
            guard configs.count <= 1 else { throw APIError(400, "box's networks have one subnet") }
            if let text = configs.first?["Subnet"]?.string { subnet = try Subnet(parsing: text) }
        }
        let masquerade = body["Options"]?["com.docker.network.bridge.enable_ip_masquerade"]?.string == "true"
        do {
            let n = try networkStore.create(name, subnet: subnet, masquerade: masquerade)
            return ["Id": .string(n.Id), "Warning": ""]
        } catch let e as BoxError where e.message.contains("already exists") {
            throw APIError(409, e.message)
        }
    }
}
