/// A few strings by key, kept as pairs sorted by key: an event's attributes, a network's leases.
///
/// Not a Dictionary: the first Dictionary<String, String> a process gives storage to has the Swift runtime look
/// up `String: Hashable` by name, which scans every protocol conformance in the binary (about 4,000): 0.2 ms of
/// scanning (perf), about 1 ms of each `box run` with the pages it faulted in (alternating runs), in every
/// container's monitor, at the first lease on a bridge network, else in the `die` event before `box run` could
/// answer. These tables hold a handful of entries; sorted, they are also written in the order JSONTree writes
/// keys.
public struct StringTable: Sendable, Equatable {
    fileprivate struct Entry: Sendable, Equatable {
        var key: String
        var value: String
    }

    fileprivate var entries: [Entry] = []

    public init() {}

    /// A table of the dictionary's entries.
    public init(_ dictionary: [String: String]) {
        for (key, value) in dictionary { self[key] = value }
    }

    /// Where `key` is, or would go.
    private func index(of key: String) -> (position: Int, found: Bool) {
        var low = 0, high = entries.count
        while low < high {
            let mid = (low + high) / 2
            if entries[mid].key < key { low = mid + 1 } else { high = mid }
        }
        return (low, low < entries.count && entries[low].key == key)
    }

    /// The value of `key`; setting nil removes it.
    public subscript(key: String) -> String? {
        get {
            let (i, found) = index(of: key)
            return found ? entries[i].value : nil
        }
        set {
            let (i, found) = index(of: key)
            switch (found, newValue) {
            case (true, let value?): entries[i].value = value
            case (true, nil): entries.remove(at: i)
            case (false, let value?): entries.insert(Entry(key: key, value: value), at: i)
            case (false, nil): break
            }
        }
    }

    public var isEmpty: Bool { entries.isEmpty }
    public var count: Int { entries.count }

    /// The entry with the smallest key.
    public var first: (key: String, value: String)? { entries.first.map { ($0.key, $0.value) } }

    /// The same entries as a Dictionary.
    public var dictionary: [String: String] {
        [String: String](uniqueKeysWithValues: entries.map { ($0.key, $0.value) })
    }

    /// The entries `isIncluded` keeps.
    public func filter(_ isIncluded: ((key: String, value: String)) throws -> Bool) rethrows -> StringTable {
        var kept = StringTable()
        kept.entries = try entries.filter { try isIncluded(($0.key, $0.value)) }
        return kept
    }
}

extension StringTable: ExpressibleByDictionaryLiteral {
    /// A repeated key keeps its last value.
    public init(dictionaryLiteral elements: (String, String)...) {
        for (key, value) in elements { self[key] = value }
    }
}

extension StringTable: Sequence {
    public struct Iterator: IteratorProtocol {
        fileprivate var base: IndexingIterator<[Entry]>
        public mutating func next() -> (key: String, value: String)? { base.next().map { ($0.key, $0.value) } }
    }

    /// The entries in key order.
    public func makeIterator() -> Iterator { Iterator(base: entries.makeIterator()) }
}

/// The same as Codable writes and reads a [String: String].
extension StringTable: Codable {
    public init(from decoder: any Decoder) throws {
        self.init(try decoder.singleValueContainer().decode([String: String].self))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(dictionary)
    }
}
