// JSONValue.swift — a small JSON document model that prints exactly like Go.
//
// `docker inspect` prints what Go's encoding/json produces, and
// `docker inspect --format` runs Go's text/template over the same data.
// To reproduce both byte for byte we keep our own tiny JSON model instead
// of Foundation's: objects remember the order their keys were inserted in
// (Go prints struct fields in declaration order), integers stay integers,
// and the printer mirrors Go's choices for escaping and number formatting.
//
// Only the Swift standard library is used.

/// A JSON value. Objects keep their keys in insertion order.
public enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)
    case array([JSONValue])
    /// Key/value pairs in insertion order — the order they print in.
    case object([(String, JSONValue)])

    /// Structural equality. Objects are equal only if they hold the same
    /// keys in the same order: order is part of what we print. `.int(1)`
    /// and `.double(1)` are different values.
    public static func == (lhs: JSONValue, rhs: JSONValue) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): return true
        case let (.bool(a), .bool(b)): return a == b
        case let (.int(a), .int(b)): return a == b
        case let (.double(a), .double(b)): return a == b
        case let (.string(a), .string(b)): return a == b
        case let (.array(a), .array(b)): return a == b
        case let (.object(a), .object(b)):
            return a.count == b.count && zip(a, b).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        default: return false
        }
    }

    /// The value stored under `key` if this is an object. With duplicate
    /// keys the last one wins, as when Go decodes into a map.
    public subscript(key: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        return members.last(where: { $0.0 == key })?.1
    }

    /// The element at `index` if this is an array and the index is in range.
    public subscript(index: Int) -> JSONValue? {
        guard case .array(let elements) = self, elements.indices.contains(index) else { return nil }
        return elements[index]
    }
}

// Literals make documents easy to write in code and tests:
//     let state: JSONValue = ["Status": "running", "Pid": 4242, "Running": true]
// A dictionary literal keeps its source order.
extension JSONValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral,
    ExpressibleByFloatLiteral, ExpressibleByBooleanLiteral,
    ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int64) { self = .int(value) }
    public init(floatLiteral value: Double) { self = .double(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, JSONValue)...) { self = .object(elements) }
}

// MARK: - Printing

extension JSONValue {
    /// The value as `docker inspect` prints it: Go's
    /// `json.MarshalIndent(v, "", "    ")`. Nested values are indented one
    /// more level, `"Key": value` has one space after the colon, empty
    /// objects and arrays print as `{}` and `[]`, and there is no trailing
    /// newline.
    ///
    /// `escapeHTML` mirrors Go's default of escaping `<`, `>` and `&` as
    /// `\u003c`, `\u003e`, `\u0026`. (The docker daemon turns this off with
    /// `SetEscapeHTML(false)`; pass `false` to get that behaviour.)
    public func prettyPrinted(indent: String = "    ", escapeHTML: Bool = true) -> String {
        var out = ""
        write(into: &out, indent: indent, level: 0, escapeHTML: escapeHTML)
        return out
    }

    /// The value with no insignificant whitespace, as Go's `json.Marshal`
    /// prints it. Docker's `{{json .X}}` template function prints this with
    /// `escapeHTML: false`.
    public func compact(escapeHTML: Bool = true) -> String {
        var out = ""
        write(into: &out, indent: nil, level: 0, escapeHTML: escapeHTML)
        return out
    }

    /// The shared printer: `indent == nil` means compact output.
    private func write(into out: inout String, indent: String?, level: Int, escapeHTML: Bool) {
        // A line break followed by the indentation for `depth`.
        func newline(_ depth: Int) {
            guard let indent else { return }
            out += "\n"
            for _ in 0..<depth { out += indent }
        }
        switch self {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .int(let i): out += String(i)
        case .double(let d): out += JSONValue.goFormat(d, style: .json)
        case .string(let s): JSONValue.appendQuoted(s, to: &out, escapeHTML: escapeHTML)
        case .array(let elements):
            guard !elements.isEmpty else { out += "[]"; return }
            out += "["
            for (i, element) in elements.enumerated() {
                if i > 0 { out += "," }
                newline(level + 1)
                element.write(into: &out, indent: indent, level: level + 1, escapeHTML: escapeHTML)
            }
            newline(level)
            out += "]"
        case .object(let members):
            guard !members.isEmpty else { out += "{}"; return }
            out += "{"
            for (i, (key, value)) in members.enumerated() {
                if i > 0 { out += "," }
                newline(level + 1)
                JSONValue.appendQuoted(key, to: &out, escapeHTML: escapeHTML)
                out += indent == nil ? ":" : ": "
                value.write(into: &out, indent: indent, level: level + 1, escapeHTML: escapeHTML)
            }
            newline(level)
            out += "}"
        }
    }

    /// Appends `s` as a JSON string literal, escaped the way Go's encoder
    /// does it:
    /// - `"` and `\` get a backslash;
    /// - `\n`, `\r`, `\t`, `\b`, `\f` use their short forms (Go ≥ 1.22 for
    ///   `\b` and `\f`); every other control character becomes `\u00XX`
    ///   with lowercase hex;
    /// - `<`, `>`, `&` become `\u003c`, `\u003e`, `\u0026` when `escapeHTML`;
    /// - U+2028 and U+2029 are always escaped (they break JavaScript).
    static func appendQuoted(_ s: String, to out: inout String, escapeHTML: Bool) {
        out += "\""
        // Most strings need no escape at all: appended whole, not a scalar at a time (state.json's every
        // write went through here scalar by scalar).
        let plain = s.utf8.allSatisfy { b in
            b >= 0x20 && b != UInt8(ascii: "\"") && b != UInt8(ascii: "\\") && b < 0x80
                && !(escapeHTML && (b == UInt8(ascii: "<") || b == UInt8(ascii: ">") || b == UInt8(ascii: "&")))
        }
        if plain {
            out += s
            out += "\""
            return
        }
        for scalar in s.unicodeScalars {
            let isHTML = scalar == "<" || scalar == ">" || scalar == "&"
            if let short = shortEscape(scalar) {
                out += short
            } else if scalar.value < 0x20 || scalar == "\u{2028}" || scalar == "\u{2029}" || (escapeHTML && isHTML) {
                out += "\\u" + hex(scalar.value, width: 4)
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        out += "\""
    }

    /// The escapes that Go's JSON encoder and its `strconv.Quote` both write as a backslash and one character:
    /// `\"`, `\\`, `\n`, `\r`, `\t`, `\b`, `\f`; nil for every other scalar.
    public static func shortEscape(_ scalar: Unicode.Scalar) -> String? {
        switch scalar {
        case "\"": "\\\""
        case "\\": "\\\\"
        case "\n": "\\n"
        case "\r": "\\r"
        case "\t": "\\t"
        case "\u{08}": "\\b"
        case "\u{0C}": "\\f"
        default: nil
        }
    }

    /// Lowercase hexadecimal, zero-padded to `width` digits.
    public static func hex(_ value: UInt32, width: Int) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }
}

// MARK: - Go number formatting

extension JSONValue {
    /// The two ways Go turns a float64 into text.
    public enum FloatStyle: Sendable {
        /// encoding/json: plain decimals for 1e-6 ≤ |x| < 1e21, otherwise
        /// exponent form with no zero padding (`1e+21`, `1e-7`).
        case json
        /// fmt's `%v` (how templates print numbers): `%g` with the shortest
        /// digits, exponent form when the exponent is < -4 or ≥ 6, padded to
        /// two digits (`1e+06`, `1.5e-05`).
        case fmtV
    }

    /// Formats `d` like Go, using the shortest digits that round-trip.
    /// Swift's `description` already finds those digits (Go and Swift use
    /// the same "shortest round-trip" rule); only the layout differs.
    public static func goFormat(_ d: Double, style: FloatStyle) -> String {
        if d.isNaN { return style == .json ? "null" : "NaN" }  // JSON has no NaN or ±Inf;
        if d.isInfinite { return style == .json ? "null" : (d < 0 ? "-Inf" : "+Inf") }  // Go would refuse.
        let sign = d.sign == .minus ? "-" : ""
        if d == 0 { return sign + "0" }

        let (digits, pointPosition) = shortestDigits(of: d.magnitude)
        let exponent = pointPosition - 1  // value = d.ddd × 10^exponent
        let useExponent: Bool
        switch style {
        case .json: useExponent = d.magnitude < 1e-6 || d.magnitude >= 1e21
        case .fmtV: useExponent = exponent < -4 || exponent >= 6
        }
        if useExponent {
            // d.ddde±XX — Go pads the exponent to two digits for fmt, and
            // encoding/json strips that padding again ("e-07" → "e-7").
            var mantissa = String(digits.first!)
            if digits.count > 1 { mantissa += "." + String(digits.dropFirst()) }
            let magnitude = String(abs(exponent))
            let padded = style == .fmtV && magnitude.count < 2 ? "0" + magnitude : magnitude
            return sign + mantissa + "e" + (exponent < 0 ? "-" : "+") + padded
        }
        // Plain decimal: place the point, padding with zeros on either side.
        let text = String(digits)
        if pointPosition <= 0 {
            return sign + "0." + String(repeating: "0", count: -pointPosition) + text
        } else if pointPosition >= digits.count {
            return sign + text + String(repeating: "0", count: pointPosition - digits.count)
        } else {
            let split = text.index(text.startIndex, offsetBy: pointPosition)
            return sign + String(text[..<split]) + "." + String(text[split...])
        }
    }

    /// Splits a positive finite double into its shortest significant digits
    /// and the position of the decimal point: value = 0.DIGITS × 10^point.
    /// Reads Swift's description, which looks like "123.45", "0.001" or
    /// "1.2345e+16".
    private static func shortestDigits(of d: Double) -> (digits: [Character], point: Int) {
        let text = d.description
        let parts = text.split(separator: "e", maxSplits: 1)
        let exponent = parts.count == 2 ? Int(parts[1])! : 0
        let mantissa = parts[0].split(separator: ".", omittingEmptySubsequences: false)
        let integerPart = mantissa[0]
        let fraction = mantissa.count > 1 ? mantissa[1] : ""
        var digits = Array(integerPart + fraction)
        var point = integerPart.count + exponent
        while digits.first == "0" { digits.removeFirst(); point -= 1 }
        while digits.last == "0" { digits.removeLast() }
        return (digits, point)
    }
}

// MARK: - Parsing

/// Why `JSONValue.parse` rejected its input.
public struct JSONParseError: Error, CustomStringConvertible, Equatable {
    /// Byte offset (0-based, in UTF-8) where parsing stopped.
    public let offset: Int
    /// What the parser was looking for, e.g. `value` or `',' or ']'`.
    public let expected: String
    /// What it found instead: a quoted character or `end of input`.
    public let found: String

    public var description: String {
        "invalid JSON at byte \(offset): expected \(expected), found \(found)"
    }
}

extension JSONValue {
    /// Parses strict JSON (RFC 8259). Object keys keep their order; numbers
    /// without a fraction or exponent that fit in Int64 become `.int`,
    /// all other numbers `.double`. Nothing but whitespace may follow the
    /// value.
    public static func parse(_ text: String) throws -> JSONValue {
        try parse(bytes: Array(text.utf8))
    }

    /// The same, from a file's bytes (invalid UTF-8 inside strings is replaced, as String(decoding:) does).
    public static func parse(bytes: [UInt8]) throws -> JSONValue {
        var parser = JSONParser(bytes: bytes)
        parser.skipWhitespace()
        let value = try parser.parseValue()
        parser.skipWhitespace()
        guard parser.offset == parser.bytes.count else { throw parser.failure(expecting: "end of input") }
        return value
    }
}

/// A recursive-descent parser over UTF-8 bytes.
private struct JSONParser {
    let bytes: [UInt8]
    var offset = 0
    var depth = 0
    /// Deeper documents are refused rather than risking the stack.
    static let maxDepth = 512

    var current: UInt8? { offset < bytes.count ? bytes[offset] : nil }

    func failure(expecting expected: String, at position: Int? = nil) -> JSONParseError {
        let position = position ?? offset
        let found: String
        if position >= bytes.count {
            found = "end of input"
        } else if (0x20..<0x7F).contains(bytes[position]) {
            found = "'\(Character(Unicode.Scalar(bytes[position])))'"
        } else {
            found = "byte 0x" + JSONValue.hex(UInt32(bytes[position]), width: 2)
        }
        return JSONParseError(offset: position, expected: expected, found: found)
    }

    mutating func skipWhitespace() {
        while let b = current, b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D { offset += 1 }
    }

    /// Consumes `byte` or fails saying that `expected` was wanted.
    mutating func expect(_ byte: UInt8, _ expected: String) throws {
        guard current == byte else { throw failure(expecting: expected) }
        offset += 1
    }

    mutating func parseValue() throws -> JSONValue {
        guard let c = current else { throw failure(expecting: "value") }
        switch c {
        case UInt8(ascii: "{"): return try parseContainer(isObject: true)
        case UInt8(ascii: "["): return try parseContainer(isObject: false)
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): try parseWord("true"); return .bool(true)
        case UInt8(ascii: "f"): try parseWord("false"); return .bool(false)
        case UInt8(ascii: "n"): try parseWord("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try parseNumber()
        default: throw failure(expecting: "value")
        }
    }

    mutating func parseWord(_ word: String) throws {
        for byte in word.utf8 { try expect(byte, "'\(word)'") }
    }

    /// Objects and arrays share the loop: `{` or `[`, members separated by
    /// commas, then the closing bracket. A trailing comma is an error.
    mutating func parseContainer(isObject: Bool) throws -> JSONValue {
        depth += 1
        defer { depth -= 1 }
        guard depth <= JSONParser.maxDepth else {
            throw failure(expecting: "at most \(JSONParser.maxDepth) levels of nesting")
        }
        let close = UInt8(ascii: isObject ? "}" : "]")
        offset += 1  // the opening bracket
        var members: [(String, JSONValue)] = []
        var elements: [JSONValue] = []
        skipWhitespace()
        if current == close {
            offset += 1
        } else {
            while true {
                skipWhitespace()
                if isObject {
                    guard current == UInt8(ascii: "\"") else { throw failure(expecting: "string key") }
                    let key = try parseString()
                    skipWhitespace()
                    try expect(UInt8(ascii: ":"), "':'")
                    skipWhitespace()
                    members.append((key, try parseValue()))
                } else {
                    elements.append(try parseValue())
                }
                skipWhitespace()
                if current == UInt8(ascii: ",") { offset += 1; continue }
                try expect(close, isObject ? "',' or '}'" : "',' or ']'")
                break
            }
        }
        return isObject ? .object(members) : .array(elements)
    }

    /// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`
    mutating func parseNumber() throws -> JSONValue {
        let start = offset
        func isDigit(_ b: UInt8?) -> Bool { b.map { (0x30...0x39).contains($0) } ?? false }
        func digits() throws {
            guard isDigit(current) else { throw failure(expecting: "digit") }
            while isDigit(current) { offset += 1 }
        }
        if current == UInt8(ascii: "-") { offset += 1 }
        if current == UInt8(ascii: "0") { offset += 1 } else { try digits() }
        var isInteger = true
        if current == UInt8(ascii: ".") {
            offset += 1
            try digits()
            isInteger = false
        }
        if current == UInt8(ascii: "e") || current == UInt8(ascii: "E") {
            offset += 1
            if current == UInt8(ascii: "+") || current == UInt8(ascii: "-") { offset += 1 }
            try digits()
            isInteger = false
        }
        let text = String(decoding: bytes[start..<offset], as: UTF8.self)
        if isInteger, let n = Int64(text) { return .int(n) }
        guard let d = Double(text), d.isFinite else {
            throw failure(expecting: "number within the range of a 64-bit float", at: start)
        }
        return .double(d)
    }

    /// A string starting at the opening quote. Raw control characters are
    /// not allowed; escapes are `\" \\ \/ \b \f \n \r \t \uXXXX`, and a
    /// character outside the Basic Multilingual Plane is written as a
    /// UTF-16 surrogate pair `\uD83D\uDE00`.
    mutating func parseString() throws -> String {
        offset += 1  // opening quote
        var out: [UInt8] = []
        while true {
            guard let b = current else { throw failure(expecting: "closing '\"'") }
            switch b {
            case UInt8(ascii: "\""):
                offset += 1
                return String(decoding: out, as: UTF8.self)
            case UInt8(ascii: "\\"):
                offset += 1
                let simple: UInt8?
                switch current ?? 0 {
                case UInt8(ascii: "\""): simple = 0x22
                case UInt8(ascii: "\\"): simple = 0x5C
                case UInt8(ascii: "/"): simple = 0x2F
                case UInt8(ascii: "b"): simple = 0x08
                case UInt8(ascii: "f"): simple = 0x0C
                case UInt8(ascii: "n"): simple = 0x0A
                case UInt8(ascii: "r"): simple = 0x0D
                case UInt8(ascii: "t"): simple = 0x09
                case UInt8(ascii: "u"): simple = nil
                default: throw failure(expecting: "escape character (one of \" \\ / b f n r t u)")
                }
                offset += 1
                if let simple { out.append(simple); continue }
                let scalar = try parseUnicodeEscape()
                UTF8.encode(scalar) { out.append($0) }
            case 0x00..<0x20:
                throw failure(expecting: "escaped control character")
            default:
                out.append(b)
                offset += 1
            }
        }
    }

    /// The code point after `\u` (already consumed), joining surrogate pairs.
    mutating func parseUnicodeEscape() throws -> Unicode.Scalar {
        let start = offset - 2  // points at the backslash
        let unit = try hex4()
        if (0xDC00...0xDFFF).contains(unit) {
            throw failure(expecting: "high surrogate before low surrogate", at: start)
        }
        if (0xD800...0xDBFF).contains(unit) {
            guard current == UInt8(ascii: "\\"), offset + 1 < bytes.count, bytes[offset + 1] == UInt8(ascii: "u")
            else { throw failure(expecting: "'\\u' low surrogate after high surrogate") }
            offset += 2
            let low = try hex4()
            guard (0xDC00...0xDFFF).contains(low) else {
                throw failure(expecting: "low surrogate (\\uDC00-\\uDFFF)", at: offset - 6)
            }
            return Unicode.Scalar(0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00))!
        }
        return Unicode.Scalar(unit)!
    }

    mutating func hex4() throws -> UInt32 {
        var value: UInt32 = 0
        for _ in 0..<4 {
            guard let b = current, let digit = hexValue(b) else { throw failure(expecting: "hex digit") }
            value = value << 4 | digit
            offset += 1
        }
        return value
    }

    func hexValue(_ b: UInt8) -> UInt32? {
        switch b {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return UInt32(b - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return UInt32(b - UInt8(ascii: "a") + 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return UInt32(b - UInt8(ascii: "A") + 10)
        default: return nil
        }
    }
}
