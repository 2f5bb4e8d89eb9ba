/// Codable to and from `JSONValue`, for the engine's own files (state.json, config.v2.json, networks,
/// leases, the event journal).
///
/// Why not FoundationEssentials' JSONEncoder/JSONDecoder: their first use in a process costs 0.3-0.7 ms
/// (their code paged in, their generic machinery instantiated), and `box run` used both on its way to
/// the container: about 1.5 ms of each start, measured with a release build. This coder is small, and
/// JSONValue's parser is strict RFC 8259 with a nesting limit.
///
/// Output: object keys sorted (by Swift's String <, which is close to but not exactly JSONEncoder's
/// .sortedKeys order; these files are not hashed), "/" not escaped. Content-addressed blobs
/// (image configs) keep JSONEncoder's exact bytes (`Files.encodeBlob`), so image ids never change.
/// Types with special JSONEncoder strategies (Date, Data, URL) are not used in those files.
public enum JSONTree {
    public static func encode<T: Encodable>(_ value: T) throws -> JSONValue {
        let node = TreeNode()
        try value.encode(to: TreeEncoder(node: node, codingPath: []))
        return node.json
    }

    public static func decode<T: Decodable>(_ type: T.Type, from json: JSONValue) throws -> T {
        try T(from: TreeDecoder(value: json, codingPath: []))
    }

    public static func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8]) throws -> T {
        try decode(type, from: try JSONValue.parse(bytes: bytes))
    }
}

// MARK: - Encoding

/// What one encoder wrote: a value, an object or an array (filled in by containers after they are handed out).
final class TreeNode {
    var scalar: JSONValue?
    var object: [String: TreeNode]?
    var array: [TreeNode]?

    init(_ scalar: JSONValue? = nil) { self.scalar = scalar }

    var json: JSONValue {
        if let object { return .object(object.map { ($0.key, $0.value.json) }.sorted { $0.0 < $1.0 }) }
        if let array { return .array(array.map(\.json)) }
        return scalar ?? .object([])  // a value that encoded nothing is {} (as JSONEncoder writes it)
    }
}

struct TreeEncoder: Encoder {
    let node: TreeNode
    var codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        if node.object == nil { node.object = [:] }
        return KeyedEncodingContainer(TreeKeyedEncoder<Key>(node: node, codingPath: codingPath))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        if node.array == nil { node.array = [] }
        return TreeUnkeyedEncoder(node: node, codingPath: codingPath)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer {
        TreeSingleEncoder(node: node, codingPath: codingPath)
    }
}

/// The JSON for a primitive, or nil when `value` must encode itself.
private func primitive<T: Encodable>(_ value: T, _ path: [any CodingKey]) throws -> JSONValue? {
    switch value {
    case let v as String: return .string(v)
    case let v as Bool: return .bool(v)
    case let v as Int: return .int(Int64(v))
    case let v as Int64: return .int(v)
    case let v as Int32: return .int(Int64(v))
    case let v as Int16: return .int(Int64(v))
    case let v as Int8: return .int(Int64(v))
    case let v as UInt8: return .int(Int64(v))
    case let v as UInt16: return .int(Int64(v))
    case let v as UInt32: return .int(Int64(v))
    case let v as UInt: return try unsigned(UInt64(v), path)
    case let v as UInt64: return try unsigned(v, path)
    case let v as Double: return try finite(v, path)
    case let v as Float: return try finite(Double(v), path)
    default: return nil
    }
}

private func unsigned(_ v: UInt64, _ path: [any CodingKey]) throws -> JSONValue {
    guard let i = Int64(exactly: v) else {
        throw EncodingError.invalidValue(v, .init(codingPath: path, debugDescription: "\(v) is above the largest integer stored (Int64.max)"))
    }
    return .int(i)
}

private func finite(_ d: Double, _ path: [any CodingKey]) throws -> JSONValue {
    guard d.isFinite else { throw EncodingError.invalidValue(d, .init(codingPath: path, debugDescription: "\(d) is not a JSON number")) }
    return .double(d)
}

private func encodeInto<T: Encodable>(_ node: TreeNode, _ value: T, _ path: [any CodingKey]) throws {
    if let p = try primitive(value, path) { node.scalar = p; return }
    try value.encode(to: TreeEncoder(node: node, codingPath: path))
}

struct TreeKeyedEncoder<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let node: TreeNode
    var codingPath: [any CodingKey]

    private func child(_ key: Key) -> TreeNode {
        let c = TreeNode()
        node.object![key.stringValue] = c
        return c
    }

    mutating func encodeNil(forKey key: Key) throws { child(key).scalar = .null }
    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        try encodeInto(child(key), value, codingPath + [key])
    }
    mutating func encode(_ value: Bool, forKey key: Key) throws { child(key).scalar = .bool(value) }
    mutating func encode(_ value: String, forKey key: Key) throws { child(key).scalar = .string(value) }
    mutating func encode(_ value: Double, forKey key: Key) throws { try encodeInto(child(key), value, codingPath + [key]) }
    mutating func encode(_ value: Float, forKey key: Key) throws { try encodeInto(child(key), value, codingPath + [key]) }
    mutating func encode(_ value: Int, forKey key: Key) throws { child(key).scalar = .int(Int64(value)) }
    mutating func encode(_ value: Int8, forKey key: Key) throws { child(key).scalar = .int(Int64(value)) }
    mutating func encode(_ value: Int16, forKey key: Key) throws { child(key).scalar = .int(Int64(value)) }
    mutating func encode(_ value: Int32, forKey key: Key) throws { child(key).scalar = .int(Int64(value)) }
    mutating func encode(_ value: Int64, forKey key: Key) throws { child(key).scalar = .int(value) }
    mutating func encode(_ value: UInt, forKey key: Key) throws { try encodeInto(child(key), value, codingPath + [key]) }
    mutating func encode(_ value: UInt8, forKey key: Key) throws { child(key).scalar = .int(Int64(value)) }
    mutating func encode(_ value: UInt16, forKey key: Key) throws { child(key).scalar = .int(Int64(value)) }
    mutating func encode(_ value: UInt32, forKey key: Key) throws { child(key).scalar = .int(Int64(value)) }
    mutating func encode(_ value: UInt64, forKey key: Key) throws { try encodeInto(child(key), value, codingPath + [key]) }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key) -> KeyedEncodingContainer<NestedKey> {
        TreeEncoder(node: child(key), codingPath: codingPath + [key]).container(keyedBy: keyType)
    }
    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        TreeEncoder(node: child(key), codingPath: codingPath + [key]).unkeyedContainer()
    }
    mutating func superEncoder() -> any Encoder {
        let c = TreeNode()
        node.object!["super"] = c  // not through Key: a synthesized CodingKeys has no "super"
        return TreeEncoder(node: c, codingPath: codingPath)
    }
    mutating func superEncoder(forKey key: Key) -> any Encoder {
        TreeEncoder(node: child(key), codingPath: codingPath + [key])
    }
}

struct TreeUnkeyedEncoder: UnkeyedEncodingContainer {
    let node: TreeNode
    var codingPath: [any CodingKey]
    var count: Int { node.array!.count }

    mutating func encodeNil() throws { next().0.scalar = .null }
    /// The next element's node and its coding path (index counted from 0, as JSONEncoder's).
    private func next() -> (TreeNode, [any CodingKey]) {
        let path = codingPath + [IndexKey(count)]
        let c = TreeNode()
        node.array!.append(c)
        return (c, path)
    }

    mutating func encode<T: Encodable>(_ value: T) throws {
        let (c, path) = next()
        try encodeInto(c, value, path)
    }
    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
        let (c, path) = next()
        return TreeEncoder(node: c, codingPath: path).container(keyedBy: keyType)
    }
    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        let (c, path) = next()
        return TreeEncoder(node: c, codingPath: path).unkeyedContainer()
    }
    mutating func superEncoder() -> any Encoder {
        let (c, path) = next()
        return TreeEncoder(node: c, codingPath: path)
    }
}

struct TreeSingleEncoder: SingleValueEncodingContainer {
    let node: TreeNode
    var codingPath: [any CodingKey]

    mutating func encodeNil() throws { node.scalar = .null }
    mutating func encode<T: Encodable>(_ value: T) throws { try encodeInto(node, value, codingPath) }
}

struct IndexKey: CodingKey {
    var stringValue: String
    var intValue: Int?
    init(_ i: Int) { stringValue = "Index \(i)"; intValue = i }
    init?(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { self.init(intValue) }
}

// MARK: - Decoding

struct TreeDecoder: Decoder {
    let value: JSONValue
    var codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        guard case .object(let members) = value else { throw mismatch([String: JSONValue].self, value, codingPath) }
        var byKey: [String: JSONValue] = [:]
        for (k, v) in members { byKey[k] = v }  // a repeated key: the last one wins
        return KeyedDecodingContainer(TreeKeyedDecoder<Key>(members: byKey, order: members.map(\.0), codingPath: codingPath))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        guard case .array(let elements) = value else { throw mismatch([JSONValue].self, value, codingPath) }
        return TreeUnkeyedDecoder(elements: elements, codingPath: codingPath)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer {
        TreeSingleDecoder(value: value, codingPath: codingPath)
    }
}

func describe(_ v: JSONValue) -> String {
    switch v {
    case .null: return "null"
    case .bool: return "a boolean"
    case .int, .double: return "a number"
    case .string: return "a string"
    case .array: return "an array"
    case .object: return "an object"
    }
}

private func mismatch(_ type: Any.Type, _ v: JSONValue, _ path: [any CodingKey]) -> DecodingError {
    if case .null = v {
        return .valueNotFound(type, .init(codingPath: path, debugDescription: "expected \(type), found null"))
    }
    return .typeMismatch(type, .init(codingPath: path, debugDescription: "expected \(type), found \(describe(v))"))
}

private func decodeFrom<T: Decodable>(_ v: JSONValue, _ type: T.Type, _ path: [any CodingKey]) throws -> T {
    func integer<I: FixedWidthInteger>(_: I.Type) throws -> I {
        let result: I?
        switch v {
        case .int(let i): result = I(exactly: i)
        case .double(let d): result = I(exactly: d)
        default: throw mismatch(type, v, path)
        }
        guard let result else {
            throw DecodingError.dataCorrupted(.init(codingPath: path, debugDescription: "number does not fit in \(I.self)"))
        }
        return result
    }
    func double() throws -> Double {
        switch v {
        case .int(let i): return Double(i)
        case .double(let d): return d
        default: throw mismatch(type, v, path)
        }
    }
    let out: Any
    switch type {
    case is String.Type:
        guard case .string(let s) = v else { throw mismatch(type, v, path) }
        out = s
    case is Bool.Type:
        guard case .bool(let b) = v else { throw mismatch(type, v, path) }
        out = b
    case is Int.Type: out = try integer(Int.self)
    case is Int64.Type: out = try integer(Int64.self)
    case is Int32.Type: out = try integer(Int32.self)
    case is Int16.Type: out = try integer(Int16.self)
    case is Int8.Type: out = try integer(Int8.self)
    case is UInt.Type: out = try integer(UInt.self)
    case is UInt64.Type: out = try integer(UInt64.self)
    case is UInt32.Type: out = try integer(UInt32.self)
    case is UInt16.Type: out = try integer(UInt16.self)
    case is UInt8.Type: out = try integer(UInt8.self)
    case is Double.Type: out = try double()
    case is Float.Type:
        let f = Float(try double())
        guard f.isFinite else {
            throw DecodingError.dataCorrupted(.init(codingPath: path, debugDescription: "number does not fit in Float"))
        }
        out = f
    default: return try T(from: TreeDecoder(value: v, codingPath: path))
    }
    return out as! T
}

struct TreeKeyedDecoder<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let members: [String: JSONValue]
    let order: [String]
    var codingPath: [any CodingKey]

    var allKeys: [Key] {
        order.compactMap { Key(stringValue: $0) }
    }
    func contains(_ key: Key) -> Bool { members[key.stringValue] != nil }

    private func value(_ key: Key) throws -> JSONValue {
        guard let v = members[key.stringValue] else {
            throw DecodingError.keyNotFound(key, .init(codingPath: codingPath, debugDescription: "no value for \"\(key.stringValue)\""))
        }
        return v
    }

    func decodeNil(forKey key: Key) throws -> Bool { try value(key) == .null }
    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        try decodeFrom(try value(key), type, codingPath + [key])
    }
    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
        try TreeDecoder(value: try value(key), codingPath: codingPath + [key]).container(keyedBy: type)
    }
    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        try TreeDecoder(value: try value(key), codingPath: codingPath + [key]).unkeyedContainer()
    }
    func superDecoder() throws -> any Decoder {
        TreeDecoder(value: members["super"] ?? .null, codingPath: codingPath)
    }
    func superDecoder(forKey key: Key) throws -> any Decoder {
        TreeDecoder(value: members[key.stringValue] ?? .null, codingPath: codingPath + [key])
    }
}

struct TreeUnkeyedDecoder: UnkeyedDecodingContainer {
    let elements: [JSONValue]
    var codingPath: [any CodingKey]
    var currentIndex = 0
    var count: Int? { elements.count }
    var isAtEnd: Bool { currentIndex >= elements.count }

    init(elements: [JSONValue], codingPath: [any CodingKey]) {
        self.elements = elements
        self.codingPath = codingPath
    }

    private mutating func next(_ type: Any.Type) throws -> (JSONValue, [any CodingKey]) {
        guard !isAtEnd else {
            throw DecodingError.valueNotFound(type, .init(codingPath: codingPath + [IndexKey(currentIndex)], debugDescription: "the array has no more elements"))
        }
        defer { currentIndex += 1 }
        return (elements[currentIndex], codingPath + [IndexKey(currentIndex)])
    }

    mutating func decodeNil() throws -> Bool {
        guard !isAtEnd, elements[currentIndex] == .null else { return false }
        currentIndex += 1
        return true
    }
    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
        let (v, path) = try next(type)
        return try decodeFrom(v, type, path)
    }
    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
        let (v, path) = try next([String: JSONValue].self)
        return try TreeDecoder(value: v, codingPath: path).container(keyedBy: type)
    }
    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
        let (v, path) = try next([JSONValue].self)
        return try TreeDecoder(value: v, codingPath: path).unkeyedContainer()
    }
    mutating func superDecoder() throws -> any Decoder {
        let (v, path) = try next(JSONValue.self)
        return TreeDecoder(value: v, codingPath: path)
    }
}

struct TreeSingleDecoder: SingleValueDecodingContainer {
    let value: JSONValue
    var codingPath: [any CodingKey]

    func decodeNil() -> Bool { value == .null }
    func decode<T: Decodable>(_ type: T.Type) throws -> T { try decodeFrom(value, type, codingPath) }
}
