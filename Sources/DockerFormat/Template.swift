// Template.swift — the part of Go's text/template that people type after
// `docker inspect --format`.
//
// Docker renders `--format` with Go's text/template over the inspect data
// and a few extra functions (json, join, split, upper, lower, title, pad,
// truncate). We render over a `JSONValue` instead of Go structs, which is
// what docker itself falls back to when a template fails on the typed
// struct: the raw JSON decoded into maps, executed with
// `missingkey=error`. That choice fixes the semantics below:
//
// * `.A.B` looks up keys; a missing key is an error
//   (`map has no entry for key "B"`), but `index .M "k"` on a missing key
//   yields "no value" and prints `<no value>`;
// * values print like Go's `fmt.Print`: `[a b]` for arrays, `map[k:v]`
//   with sorted keys for objects, `<nil>` for null;
// * `range` over an object visits keys in sorted order;
// * `if`/`with` use Go truthiness: false, 0, "", null and empty
//   arrays/objects are false.
//
// Supported syntax: text, `{{pipeline}}`, `{{- ` / ` -}}` trimming,
// `{{/* comments */}}`, `.`, `.A.B`, `$`, `$x.A`, `(pipeline).A`, string
// ("…" and `…`), number, true/false/nil literals, `|` pipes, variables
// (`$x := …`, `$x = …`), if/else if/else, with/else with/else,
// range/else with `$v :=` or `$k, $v :=`.
// Not supported: define, template, block, break, continue, char literals
// ('a'), hex numbers, and the Go functions html, js, urlquery, slice, call.

import Engine

/// A template that failed to parse or to execute.
public struct TemplateError: Error, CustomStringConvertible, Equatable {
    public enum Phase: Sendable, Equatable { case parsing, executing }
    public let phase: Phase
    /// The error as Go's text/template words it, e.g.
    /// `template: :1: unclosed action` or
    /// `template: :1:8: executing "" at <.State.Nope>: map has no entry for key "Nope"`.
    /// Locations are `:line` for parse errors and `:line:column` (0-based
    /// byte column) for execution errors; the template name is empty, as
    /// in docker.
    public let message: String

    /// The line the docker CLI prints. Docker prefixes both parse and
    /// execution errors with "template parsing error: ".
    public var description: String { "template parsing error: " + message }
}

/// A parsed `--format` template.
public struct FormatTemplate: Sendable {
    let nodes: [TemplateNode]

    /// Parses `source`. Text outside `{{…}}` is copied verbatim: a `\n`
    /// typed there stays a backslash and an `n`; only string literals
    /// inside actions, like `{{"\n"}}`, interpret escapes.
    public init(_ source: String) throws {
        var parser = TemplateParser(source)
        nodes = try parser.parseTemplate()
    }

    /// Executes the template with `value` as both `.` and `$`.
    public func render(_ value: JSONValue) throws -> String {
        var executor = TemplateExecutor(root: value)
        try executor.walk(nodes, dot: value)
        return executor.output
    }
}

// MARK: - Syntax tree

/// Where a node came from, for error messages: Go prints the location as
/// `:line:column` and the node's source text as `at <…>`.
struct TemplateSpot: Sendable {
    var location: String
    var text: String
}

enum TemplateControlKind: String, Sendable { case `if`, range, with }

indirect enum TemplateNode: Sendable {
    case text(String)
    /// `{{pipeline}}`: prints the value, unless the pipeline declares a variable.
    case action(TemplatePipeline)
    /// `{{if p}}body{{else}}otherwise{{end}}`, and likewise `with` and `range`.
    case control(TemplateControlKind, TemplatePipeline, body: [TemplateNode], otherwise: [TemplateNode], spot: TemplateSpot)
}

/// Commands joined by `|`: each command's result becomes the last argument
/// of the next. May start with `$x :=` (or `$k, $v :=` in range).
struct TemplatePipeline: Sendable {
    var declarations: [String] = []
    var isAssignment = false
    var commands: [TemplateCommand] = []
    var text = ""
}

/// A function call `name arg…`, or a single operand.
struct TemplateCommand: Sendable {
    var operands: [TemplateOperand]
    var spot: TemplateSpot
}

/// One argument: a term followed by `.Field` lookups.
struct TemplateOperand: Sendable {
    enum Term: Sendable {
        case dot
        case variable(String)
        case literal(JSONValue)
        case function(String)
        case pipeline(TemplatePipeline)
    }
    var term: Term
    var fields: [String]
    var spot: TemplateSpot
}

// MARK: - Parser

/// Parses straight from UTF-8 bytes. Positions are byte offsets, like Go's.
struct TemplateParser {
    let src: [UInt8]
    var i = 0
    /// Variables in scope; `$` is always there. Used to reject undefined
    /// variables at parse time, as Go does.
    var variables = ["$"]
    /// Set by `-}}`: trim whitespace at the start of the following text.
    var trimNextText = false
    /// How deep parentheses and blocks (if, with, range, each `else if`) are nested here. Parsing, executing
    /// and freeing the tree recurse once per level on the thread's stack, so a template like 10,000 nested
    /// parentheses crashed box; Go's text/template stops at 10,000 ("max expression depth exceeded") on a
    /// stack that grows, box stops far earlier, far deeper than any real --format needs.
    var depth = 0
    static let maxDepth = 100

    init(_ source: String) { src = Array(source.utf8) }

    /// How a list of nodes ended.
    enum ListEnd { case eof, end, otherwise, otherwiseChain(TemplateControlKind) }

    mutating func parseTemplate() throws -> [TemplateNode] {
        let (nodes, end, at) = try parseList()
        switch end {
        case .eof: return nodes
        case .end: throw parseError("unexpected {{end}}", at: at)
        case .otherwise, .otherwiseChain: throw parseError("unexpected {{else}}", at: at)
        }
    }

    // MARK: Bytes

    func byte(_ at: Int) -> UInt8? { at < src.count ? src[at] : nil }
    var current: UInt8? { byte(i) }

    /// Go's trim markers and separators use this definition of space.
    static func isSpace(_ b: UInt8?) -> Bool { b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D }
    static func isDigit(_ b: UInt8?) -> Bool { b.map { (0x30...0x39).contains($0) } ?? false }
    /// Letters, `_`, and any non-ASCII byte (Go allows Unicode letters).
    static func isIdentifierStart(_ b: UInt8?) -> Bool {
        guard let b else { return false }
        return (0x41...0x5A).contains(b) || (0x61...0x7A).contains(b) || b == 0x5F || b >= 0x80
    }
    static func isIdentifierByte(_ b: UInt8?) -> Bool { isIdentifierStart(b) || isDigit(b) }

    func text(_ range: Range<Int>) -> String { String(decoding: src[range], as: UTF8.self) }

    func hasPrefix(_ s: String, at position: Int) -> Bool {
        position + s.utf8.count <= src.count && src[position..<position + s.utf8.count].elementsEqual(s.utf8)
    }

    func firstIndex(of s: String, from position: Int) -> Int? {
        let needle = Array(s.utf8)
        var p = position
        while p + needle.count <= src.count {
            if src[p..<p + needle.count].elementsEqual(needle) { return p }
            p += 1
        }
        return nil
    }

    /// The identifier starting at `i`, without consuming it.
    func peekWord() -> String? {
        guard Self.isIdentifierStart(current) else { return nil }
        var end = i
        while Self.isIdentifierByte(byte(end)) { end += 1 }
        return text(i..<end)
    }

    mutating func readIdentifier() -> String {
        let start = i
        while Self.isIdentifierByte(current) { i += 1 }
        return text(start..<i)
    }

    // MARK: Locations and errors

    func lineNumber(at position: Int) -> Int {
        1 + src[..<min(position, src.count)].count(where: { $0 == 0x0A })
    }

    /// Go prints `:line:column`, the column being the 0-based byte offset
    /// from the start of the line.
    func spot(at position: Int, text: String) -> TemplateSpot {
        let lineStart = src[..<position].lastIndex(of: 0x0A).map { $0 + 1 } ?? 0
        return TemplateSpot(location: ":\(lineNumber(at: position)):\(position - lineStart)", text: text)
    }

    func parseError(_ message: String, at position: Int? = nil) -> TemplateError {
        TemplateError(phase: .parsing, message: "template: :\(lineNumber(at: position ?? i)): \(message)")
    }

    /// The character at `i` for an error message, quoted like Go does.
    func describeCurrent() -> String {
        guard current != nil else { return "EOF" }
        var end = i + 1
        while end < src.count, src[end] & 0xC0 == 0x80 { end += 1 }  // whole UTF-8 sequence
        return "\"\(text(i..<end))\""
    }

    // MARK: Delimiters

    /// `}}` — or ` -}}`, which also trims the whitespace after the action.
    /// Go only treats the dash as a trim marker when whitespace precedes it.
    func closingDelimiter() -> (length: Int, trims: Bool)? {
        let brace = UInt8(ascii: "}")
        if Self.isSpace(current), byte(i + 1) == UInt8(ascii: "-"), byte(i + 2) == brace, byte(i + 3) == brace {
            return (4, true)
        }
        return current == brace && byte(i + 1) == brace ? (2, false) : nil
    }

    mutating func skipSpaces() {
        while Self.isSpace(current) && closingDelimiter() == nil { i += 1 }
    }

    mutating func expectClose(after what: String) throws {
        skipSpaces()
        guard let close = closingDelimiter() else {
            throw parseError(current == nil ? "unclosed action" : "unexpected \(describeCurrent()) in \(what)")
        }
        i += close.length
        trimNextText = close.trims
    }

    // MARK: Lists and control structures

    /// Parses text and actions until EOF, `{{end}}` or `{{else…}}`, and
    /// reports which one (and where its action started).
    mutating func parseList() throws -> (nodes: [TemplateNode], end: ListEnd, at: Int) {
        var nodes: [TemplateNode] = []
        while true {
            let open = firstIndex(of: "{{", from: i) ?? src.count
            // `{{- ` trims the whitespace before the action; the space after
            // the dash is required, otherwise `{{-3}}` is the number -3.
            let trimsBefore = byte(open + 2) == UInt8(ascii: "-") && Self.isSpace(byte(open + 3))
            var start = i, stop = open
            if trimNextText { while start < stop && Self.isSpace(src[start]) { start += 1 } }
            if trimsBefore { while stop > start && Self.isSpace(src[stop - 1]) { stop -= 1 } }
            if start < stop { nodes.append(.text(text(start..<stop))) }
            trimNextText = false
            guard open < src.count else { i = open; return (nodes, .eof, open) }

            i = open + (trimsBefore ? 4 : 2)
            if hasPrefix("/*", at: i) {  // a comment must start right after the delimiter
                guard let commentEnd = firstIndex(of: "*/", from: i + 2) else { throw parseError("unclosed comment") }
                i = commentEnd + 2
                guard let close = closingDelimiter() else { throw parseError("comment ends before closing delimiter") }
                i += close.length
                trimNextText = close.trims
                continue
            }
            skipSpaces()
            switch peekWord() {
            case "end":
                i += 3
                try expectClose(after: "end")
                return (nodes, .end, open)
            case "else":
                i += 4
                skipSpaces()
                // `{{else if …}}` / `{{else with …}}` continue a chain.
                if let word = peekWord(), let kind = TemplateControlKind(rawValue: word), kind != .range {
                    i += word.utf8.count
                    return (nodes, .otherwiseChain(kind), open)
                }
                try expectClose(after: "else")
                return (nodes, .otherwise, open)
            case let word? where TemplateControlKind(rawValue: word) != nil:
                i += word.utf8.count
                nodes.append(try parseControl(TemplateControlKind(rawValue: word)!))
            case let word? where ["define", "template", "block", "break", "continue"].contains(word):
                throw parseError("{{\(word)}} is not supported")
            default:
                let pipeline = try parsePipeline(context: "command", inParens: false)
                try expectClose(after: "command")
                nodes.append(.action(pipeline))
            }
        }
    }

    /// Parses the rest of `{{if …}}`, `{{with …}}` or `{{range …}}` through
    /// its `{{end}}`. Variables declared inside go out of scope at the end.
    mutating func parseControl(_ kind: TemplateControlKind) throws -> TemplateNode {
        try enter()
        defer { depth -= 1 }
        let mark = variables.count
        defer { variables.removeSubrange(mark...) }
        skipSpaces()
        let pipelineStart = i
        let pipeline = try parsePipeline(context: kind.rawValue, inParens: false)
        try expectClose(after: kind.rawValue)
        let spot = spot(at: pipelineStart, text: "{{\(kind.rawValue) \(pipeline.text)}}")

        let (body, end, endAt) = try parseList()
        var otherwise: [TemplateNode] = []
        switch end {
        case .eof:
            throw parseError("unexpected EOF", at: endAt)
        case .end:
            break
        case .otherwise:
            let (list, elseEnd, elseAt) = try parseList()
            guard case .end = elseEnd else {
                throw parseError(elseAt == src.count ? "unexpected EOF" : "expected end; found {{else}}", at: elseAt)
            }
            otherwise = list
        case .otherwiseChain(let nested):
            // Go reads `{{if a}}…{{else if b}}…{{end}}` as
            // `{{if a}}…{{else}}{{if b}}…{{end}}{{end}}` with the two ends
            // merged. That merging only happens for if/if and with/with.
            let inner = try parseControl(nested)
            otherwise = [inner]
            if nested != kind {
                let (rest, restEnd, restAt) = try parseList()
                guard case .end = restEnd else {
                    throw parseError(restAt == src.count ? "unexpected EOF" : "expected end; found {{else}}", at: restAt)
                }
                otherwise += rest
            }
        }
        return .control(kind, pipeline, body: body, otherwise: otherwise, spot: spot)
    }

    /// One level deeper, or the error that says how deep box goes.
    mutating func enter() throws {
        guard depth < Self.maxDepth else {
            throw parseError("max expression depth exceeded: box allows \(Self.maxDepth) nested parentheses and blocks (if, with, range, else if)")
        }
        depth += 1
    }

    // MARK: Pipelines, commands, operands

    /// `[decl :=] command [| command]…`, ending before `}}` (or before `)`
    /// when parenthesized).
    mutating func parsePipeline(context: String, inParens: Bool) throws -> TemplatePipeline {
        skipSpaces()
        let start = i
        var pipeline = TemplatePipeline()
        try parseDeclarations(into: &pipeline, context: context)
        skipSpaces()
        if closingDelimiter() != nil || (inParens && current == UInt8(ascii: ")")) {
            throw parseError("missing value for \(context)")
        }
        var end = i
        while true {
            pipeline.commands.append(try parseCommand(inParens: inParens, end: &end))
            guard current == UInt8(ascii: "|") else { break }
            i += 1
        }
        pipeline.text = text(start..<end)
        return pipeline
    }

    /// Recognizes `$x :=`, `$x =`, and in range `$k, $v :=`. If the
    /// variable is not followed by one of those it is an ordinary operand,
    /// and we rewind.
    mutating func parseDeclarations(into pipeline: inout TemplatePipeline, context: String) throws {
        guard current == UInt8(ascii: "$") else { return }
        let save = i
        var names: [String] = []
        while true {
            guard current == UInt8(ascii: "$") else { throw parseError("\(context) can only initialize variables") }
            i += 1
            let name = "$" + readIdentifier()
            skipSpaces()
            if current == UInt8(ascii: ":") && byte(i + 1) == UInt8(ascii: "=") {
                i += 2
            } else if current == UInt8(ascii: "=") && byte(i + 1) != UInt8(ascii: "=") {
                i += 1
                pipeline.isAssignment = true
            } else if current == UInt8(ascii: ",") {
                guard context == "range" && names.isEmpty else { throw parseError("too many declarations in \(context)") }
                i += 1
                skipSpaces()
                names.append(name)
                continue
            } else if names.isEmpty {
                i = save  // just a variable used as a value
                return
            } else {
                throw parseError("expected := after \(names[0]), \(name)")
            }
            names.append(name)
            break
        }
        if pipeline.isAssignment {
            if let unknown = names.first(where: { !variables.contains($0) }) {
                throw parseError("undefined variable \"\(unknown)\"")
            }
        } else {
            variables += names
        }
        pipeline.declarations = names
    }

    /// Operands separated by spaces, up to `|`, `}}` or (in parens) `)`.
    /// `end` is moved to the end of the last operand.
    mutating func parseCommand(inParens: Bool, end: inout Int) throws -> TemplateCommand {
        var operands: [TemplateOperand] = []
        skipSpaces()
        let start = i
        func atEnd(_ p: TemplateParser) -> Bool {
            p.closingDelimiter() != nil || p.current == UInt8(ascii: "|") || (inParens && p.current == UInt8(ascii: ")"))
        }
        while true {
            skipSpaces()
            if atEnd(self) { break }
            operands.append(try parseOperand())
            end = i
            if !(Self.isSpace(current) || atEnd(self) || current == nil || current == UInt8(ascii: ")")) {
                throw parseError("unexpected \(describeCurrent()) in operand")
            }
        }
        guard let first = operands.first else { throw parseError("missing value for command") }
        if case .literal(.null) = first.term { throw parseError("nil is not a command") }
        return TemplateCommand(operands: operands, spot: spot(at: start, text: text(start..<end)))
    }

    mutating func parseOperand() throws -> TemplateOperand {
        let start = i
        let term: TemplateOperand.Term
        var fields: [String] = []
        guard let c = current else { throw parseError("unclosed action") }
        switch c {
        case UInt8(ascii: ".") where Self.isIdentifierStart(byte(i + 1)):  // .Field
            i += 1
            fields.append(readIdentifier())
            term = .dot
        case UInt8(ascii: ".") where !Self.isDigit(byte(i + 1)):  // . itself
            i += 1
            term = .dot
        case UInt8(ascii: "$"):
            i += 1
            let name = "$" + readIdentifier()
            guard variables.contains(name) else { throw parseError("undefined variable \"\(name)\"", at: start) }
            term = .variable(name)
        case UInt8(ascii: "\""):
            term = .literal(.string(try parseQuoted()))
        case UInt8(ascii: "`"):
            guard let close = firstIndex(of: "`", from: i + 1) else { throw parseError("unterminated raw quoted string") }
            // Go drops carriage returns from raw strings.
            term = .literal(.string(String(text(i + 1..<close).unicodeScalars.filter { $0 != "\r" })))
            i = close + 1
        case UInt8(ascii: "("):
            try enter()
            defer { depth -= 1 }
            i += 1
            let inner = try parsePipeline(context: "parenthesized pipeline", inParens: true)
            guard current == UInt8(ascii: ")") else { throw parseError(current == nil ? "unclosed action" : "unclosed left paren") }
            i += 1
            term = .pipeline(inner)
        case UInt8(ascii: ")"):
            throw parseError("unexpected right paren")
        case UInt8(ascii: "."), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            term = .literal(try parseNumber())
        case _ where Self.isIdentifierStart(c):
            let word = readIdentifier()
            switch word {
            case "true", "false": term = .literal(.bool(word == "true"))
            case "nil": term = .literal(.null)
            case _ where TemplateExecutor.functionNames.contains(word): term = .function(word)
            case "if", "else", "end", "range", "with", "define", "template", "block", "break", "continue":
                throw parseError("unexpected <\(word)> in command", at: start)
            default: throw parseError("function \"\(word)\" not defined", at: start)
            }
        default:  // Go words this with %#U: bad character U+0021 '!'
            let hex = String(c, radix: 16, uppercase: true)
            throw parseError("bad character U+\(String(repeating: "0", count: 4 - hex.count) + hex) '\(Character(Unicode.Scalar(c)))'")
        }
        // Chained fields, with no space in between: `.A.B`, `$x.A`, `(…).A`.
        // Go reports a chain's position as that of its second element (the
        // `.Nope` in `.State.Nope`); we copy that so locations match docker.
        var position = start
        while current == UInt8(ascii: "."), Self.isIdentifierStart(byte(i + 1)) {
            switch term {
            case .literal, .function: throw parseError("unexpected . after term \"\(text(start..<i))\"")
            default: break
            }
            if position == start { position = i }
            i += 1
            fields.append(readIdentifier())
        }
        return TemplateOperand(term: term, fields: fields, spot: spot(at: position, text: text(start..<i)))
    }

    /// A Go interpreted string literal. Escapes: \a \b \f \n \r \t \v \\ \"
    /// \xHH \ooo \uHHHH \UHHHHHHHH. A literal newline ends it with an error.
    mutating func parseQuoted() throws -> String {
        let start = i
        i += 1
        var out: [UInt8] = []
        func digits(_ count: Int, radix: UInt32, _ p: inout TemplateParser) throws -> UInt32 {
            var value: UInt32 = 0
            for _ in 0..<count {
                guard let b = p.current, let d = UInt32(String(Unicode.Scalar(b)), radix: Int(radix)) else {
                    throw p.parseError("invalid syntax")
                }
                value = value * radix + d
                p.i += 1
            }
            return value
        }
        while true {
            guard let b = current, b != 0x0A else { throw parseError("unterminated quoted string", at: start) }
            i += 1
            if b == UInt8(ascii: "\"") { return String(decoding: out, as: UTF8.self) }
            guard b == UInt8(ascii: "\\") else { out.append(b); continue }
            guard let e = current, e != 0x0A else { throw parseError("unterminated quoted string", at: start) }
            i += 1
            switch e {
            case UInt8(ascii: "a"): out.append(0x07)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "v"): out.append(0x0B)
            case UInt8(ascii: "\\"), UInt8(ascii: "\""): out.append(e)
            case UInt8(ascii: "x"): out.append(UInt8(try digits(2, radix: 16, &self)))
            case UInt8(ascii: "0")...UInt8(ascii: "7"):
                i -= 1
                let value = try digits(3, radix: 8, &self)
                guard value <= 0xFF else { throw parseError("invalid syntax") }
                out.append(UInt8(value))
            case UInt8(ascii: "u"), UInt8(ascii: "U"):
                let value = try digits(e == UInt8(ascii: "u") ? 4 : 8, radix: 16, &self)
                guard let scalar = Unicode.Scalar(value) else { throw parseError("invalid syntax") }
                UTF8.encode(scalar) { out.append($0) }
            default:
                throw parseError("invalid syntax")
            }
        }
    }

    /// `[+-]digits[.digits][e[+-]digits]` (or `.5`). Integers that fit
    /// Int64 become `.int`, other numbers `.double`.
    mutating func parseNumber() throws -> JSONValue {
        let start = i
        var isInteger = true, hasDigits = false
        if current == UInt8(ascii: "+") || current == UInt8(ascii: "-") { i += 1 }
        while Self.isDigit(current) { i += 1; hasDigits = true }
        if current == UInt8(ascii: ".") {
            i += 1
            isInteger = false
            while Self.isDigit(current) { i += 1; hasDigits = true }
        }
        if hasDigits && (current == UInt8(ascii: "e") || current == UInt8(ascii: "E")) {
            i += 1
            isInteger = false
            if current == UInt8(ascii: "+") || current == UInt8(ascii: "-") { i += 1 }
            hasDigits = Self.isDigit(current)
            while Self.isDigit(current) { i += 1 }
        }
        // A number must end at a separator: `12ab` is one bad number.
        var valid = hasDigits
        while Self.isIdentifierByte(current) || current == UInt8(ascii: ".") { i += 1; valid = false }
        let literal = text(start..<i)
        if valid, isInteger, let n = Int64(literal) { return .int(n) }
        if valid, let d = Double(literal), d.isFinite { return .double(d) }
        throw parseError("bad number syntax: \"\(literal)\"", at: start)
    }
}

// MARK: - Execution

/// Walks the tree, writing to `output`.
struct TemplateExecutor {
    /// Variables in scope, innermost last. A nil value is Go's "no value".
    var variables: [(name: String, value: JSONValue?)]
    var output = ""

    init(root: JSONValue) { variables = [("$", root)] }

    mutating func walk(_ nodes: [TemplateNode], dot: JSONValue) throws {
        for node in nodes {
            switch node {
            case .text(let text):
                output += text
            case .action(let pipeline):
                let value = try evaluate(pipeline, dot: dot)
                if pipeline.declarations.isEmpty {
                    output += value.map(GoFormat.describe) ?? "<no value>"
                }
            case let .control(kind, pipeline, body, otherwise, spot):
                let mark = variables.count
                defer { variables.removeSubrange(mark...) }
                if kind == .range {
                    try walkRange(pipeline, body: body, otherwise: otherwise, spot: spot, dot: dot)
                } else if let value = try evaluate(pipeline, dot: dot), value.isTruthy {
                    try walk(body, dot: kind == .with ? value : dot)  // `with` rebinds dot
                } else {
                    try walk(otherwise, dot: dot)
                }
            }
        }
    }

    /// `range` visits array elements in order, object members in sorted key
    /// order (as Go does for maps), and 0..<n for an integer n. Null or "no
    /// value" iterate zero times; anything else is an error. Dot is bound
    /// to each element; `$v :=` gets the element, `$k, $v :=` the
    /// index/key and the element.
    mutating func walkRange(_ pipeline: TemplatePipeline, body: [TemplateNode], otherwise: [TemplateNode],
                            spot: TemplateSpot, dot: JSONValue) throws {
        let value = try evaluate(pipeline, dot: dot, declaring: false)
        let items: AnySequence<(key: JSONValue, element: JSONValue)>
        let count: Int64
        switch value {
        case nil, .null?: items = AnySequence([]); count = 0
        case .array(let elements)?:
            items = AnySequence(elements.enumerated().lazy.map { (.int(Int64($0.offset)), $0.element) }); count = Int64(elements.count)
        case .object(let members)?:
            items = AnySequence(JSONValue.sortedMembers(members).lazy.map { (.string($0.0), $0.1) }); count = Int64(members.count)
        case .int(let n)?:  // one at a time: {{range 9223372036854775807}} must not allocate them all first
            items = AnySequence((0..<max(n, 0)).lazy.map { (.int($0), .int($0)) }); count = max(n, 0)
        case let other?: throw Self.executionError("range can't iterate over \(GoFormat.describe(other))", at: spot)
        }
        if count == 0 { return try walk(otherwise, dot: dot) }
        for (key, element) in items {
            let mark = variables.count
            let values = pipeline.declarations.count == 2 ? [key, element] : [element]
            try bind(pipeline.declarations, to: values, assigning: pipeline.isAssignment, spot: spot)
            try walk(body, dot: element)
            variables.removeSubrange(mark...)
        }
    }

    mutating func bind(_ names: [String], to values: [JSONValue?], assigning: Bool, spot: TemplateSpot) throws {
        for (name, value) in zip(names, values) {
            if !assigning {
                variables.append((name, value))
            } else if let index = variables.lastIndex(where: { $0.name == name }) {
                variables[index].value = value
            } else {
                throw Self.executionError("undefined variable: \(name)", at: spot)
            }
        }
    }

    /// Runs the commands left to right, piping each result into the next
    /// as its final argument, then binds any declared variable.
    mutating func evaluate(_ pipeline: TemplatePipeline, dot: JSONValue, declaring: Bool = true) throws -> JSONValue? {
        var result: JSONValue? = nil
        for (n, command) in pipeline.commands.enumerated() {
            result = try evaluate(command, dot: dot, piped: n == 0 ? [] : [result])
        }
        if declaring, !pipeline.declarations.isEmpty {
            let spot = pipeline.commands[0].spot
            try bind(pipeline.declarations, to: [result], assigning: pipeline.isAssignment, spot: spot)
        }
        return result
    }

    /// `piped` holds the previous command's result, if there was one.
    mutating func evaluate(_ command: TemplateCommand, dot: JSONValue, piped: [JSONValue?]) throws -> JSONValue? {
        let first = command.operands[0]
        guard case .function(let name) = first.term, first.fields.isEmpty else {
            guard command.operands.count == 1, piped.isEmpty else {
                throw Self.executionError("can't give argument to non-function \(first.spot.text)", at: command.spot)
            }
            return try evaluate(first, dot: dot)
        }
        let operands = Array(command.operands.dropFirst())

        // `and` and `or` stop at the first argument that decides the
        // answer and return that argument itself (Go ≥ 1.18).
        if name == "and" || name == "or" {
            guard operands.count + piped.count > 0 else {
                throw Self.executionError("wrong number of args for \(name): want at least 1 got 0", at: first.spot)
            }
            var last: JSONValue? = nil
            for operand in operands {
                last = try evaluate(operand, dot: dot)
                if (last?.isTruthy ?? false) != (name == "and") { return last }
            }
            return piped.isEmpty ? last : piped[0]
        }

        // A missing value ("no value") reaches functions as nil, as in Go.
        var arguments: [JSONValue] = []
        for operand in operands { arguments.append(try evaluate(operand, dot: dot) ?? .null) }
        arguments += piped.map { $0 ?? .null }
        do {
            return try Self.call(name, arguments)
        } catch let failure as CallFailure {
            // Go attributes arity errors to the function name, type errors to
            // the offending argument, and failures inside the call to the
            // whole command.
            let spot: TemplateSpot
            switch failure.blame {
            case .function: spot = first.spot
            case .argument(let n) where n < operands.count: spot = operands[n].spot
            default: spot = command.spot
            }
            throw Self.executionError(failure.message, at: spot)
        }
    }

    mutating func evaluate(_ operand: TemplateOperand, dot: JSONValue) throws -> JSONValue? {
        var value: JSONValue?
        switch operand.term {
        case .dot:
            value = dot
        case .variable(let name):
            guard let variable = variables.last(where: { $0.name == name }) else {
                throw Self.executionError("undefined variable: \(name)", at: operand.spot)
            }
            value = variable.value
        case .literal(let literal):
            value = literal
        case .pipeline(let pipeline):
            value = try evaluate(pipeline, dot: dot)
        case .function(let name):  // a bare function name as an argument: call it with no arguments
            do { value = try Self.call(name, []) } catch let failure as CallFailure {
                throw Self.executionError(failure.message, at: operand.spot)
            }
        }
        for field in operand.fields {
            value = try Self.lookUp(field, in: value, spot: operand.spot)
        }
        return value
    }

    /// `.Name` on a value, with docker's `missingkey=error` semantics.
    static func lookUp(_ name: String, in value: JSONValue?, spot: TemplateSpot) throws -> JSONValue {
        switch value {
        case .object(let members)?:
            guard let found = members.last(where: { $0.0 == name }) else {
                throw executionError("map has no entry for key \"\(name)\"", at: spot)
            }
            return found.1
        case nil: throw executionError("nil data; no entry for key \"\(name)\"", at: spot)
        case .null?: throw executionError("nil pointer evaluating interface {}.\(name)", at: spot)
        case let other?: throw executionError("can't evaluate field \(name) in type \(other.goTypeName)", at: spot)
        }
    }

    /// An execution error in Go's words. Go shortens the node text to 20
    /// characters followed by "...".
    static func executionError(_ message: String, at spot: TemplateSpot) -> TemplateError {
        var context = spot.text
        if context.unicodeScalars.count > 20 {
            context = String(String.UnicodeScalarView(context.unicodeScalars.prefix(20))) + "..."
        }
        return TemplateError(phase: .executing,
                             message: "template: \(spot.location): executing \"\" at <\(context)>: \(message)")
    }

    // MARK: Functions

    /// Go's builtins that make sense for JSON, plus docker's additions.
    static let functionNames: Set<String> = [
        "and", "or", "not", "eq", "ne", "lt", "le", "gt", "ge",   // Go logic and comparison
        "len", "index", "print", "printf", "println",             // Go builtins
        "json", "join", "split", "upper", "lower", "title", "pad", "truncate",  // docker
    ]

    /// Why a function call failed, and which part of the command to blame.
    struct CallFailure: Error {
        enum Blame { case function, argument(Int), call }
        var message: String
        var blame: Blame
    }

    static func call(_ name: String, _ args: [JSONValue]) throws -> JSONValue? {
        func arity(_ n: Int, atLeast: Bool = false) throws {
            guard atLeast ? args.count < n : args.count != n else { return }
            let want = atLeast ? "at least \(n)" : "\(n)"
            throw CallFailure(message: "wrong number of args for \(name): want \(want) got \(args.count)", blame: .function)
        }
        func failed(_ reason: String) -> CallFailure {
            CallFailure(message: "error calling \(name): \(reason)", blame: .call)
        }
        func wrongType(_ n: Int, expected: String) -> CallFailure {
            CallFailure(message: "wrong type for value; expected \(expected); got \(args[n].goTypeName)", blame: .argument(n))
        }
        func string(_ n: Int) throws -> String {
            guard case .string(let s) = args[n] else { throw wrongType(n, expected: "string") }
            return s
        }
        func int(_ n: Int) throws -> Int {
            guard case .int(let v) = args[n] else { throw wrongType(n, expected: "int") }
            return Int(v)
        }
        func compare(_ reason: (String) -> CallFailure) throws -> (less: Bool, equal: Bool) {
            do {
                return (try GoFormat.less(args[0], args[1]), try GoFormat.equal(args[0], args[1]))
            } catch let message as GoFormat.ComparisonError { throw reason(message.text) }
        }

        switch name {
        case "not":
            try arity(1)
            return .bool(!args[0].isTruthy)
        case "eq":  // true if the first argument equals any of the others
            try arity(1, atLeast: true)
            guard args.count > 1 else { throw failed("missing argument for comparison") }
            do {
                for other in args.dropFirst() where try GoFormat.equal(args[0], other) { return .bool(true) }
            } catch let message as GoFormat.ComparisonError { throw failed(message.text) }
            return .bool(false)
        case "ne":
            try arity(2)
            do { return .bool(!(try GoFormat.equal(args[0], args[1]))) } catch let message as GoFormat.ComparisonError {
                throw failed(message.text)
            }
        case "lt", "le", "gt", "ge":
            try arity(2)
            let (less, equal) = try compare(failed)
            switch name {
            case "lt": return .bool(less)
            case "le": return .bool(less || equal)
            case "gt": return .bool(!less && !equal)
            default: return .bool(!less)
            }
        case "len":
            try arity(1)
            switch args[0] {
            case .string(let s): return .int(Int64(s.utf8.count))  // Go counts bytes
            case .array(let a): return .int(Int64(a.count))
            case .object(let m): return .int(Int64(m.count))
            case .null: throw failed("len of nil pointer")
            case let other: throw failed("len of type \(other.goTypeName)")
            }
        case "index":  // index x 1 2 → x[1][2]; a missing map key gives "no value"
            try arity(1, atLeast: true)
            var item: JSONValue? = args[0]
            for key in args.dropFirst() {
                switch (item, key) {
                case (.array(let elements)?, .int(let n)):
                    guard n >= 0 && n < elements.count else { throw failed("index out of range: \(n)") }
                    item = elements[Int(n)]
                case (.array?, _): throw failed("cannot index slice/array with type \(key.goTypeName)")
                case (.object(let members)?, .string(let k)): item = members.last(where: { $0.0 == k })?.1
                case (.object?, _): throw failed("value has type \(key.goTypeName); should be string")
                case (nil, _), (.null?, _): throw failed("index of untyped nil")
                case (let other?, _): throw failed("can't index item of type \(other.goTypeName)")
                }
            }
            return item
        case "print":
            return .string(GoFormat.sprint(args))
        case "println":  // spaces between all operands, newline at the end
            return .string(args.map(GoFormat.describe).joined(separator: " ") + "\n")
        case "printf":
            try arity(1, atLeast: true)
            return .string(GoFormat.sprintf(try string(0), Array(args.dropFirst())))
        case "json":  // docker: json.Encoder with SetEscapeHTML(false), trailing newline trimmed
            try arity(1)
            return .string(args[0].compact(escapeHTML: false))
        case "join":
            try arity(2)
            guard case .array(let elements) = args[0] else { throw wrongType(0, expected: "[]string") }
            var parts: [String] = []
            for element in elements {
                guard case .string(let s) = element else { throw wrongType(0, expected: "[]string") }
                parts.append(s)
            }
            return .string(parts.joined(separator: try string(1)))
        case "split":
            try arity(2)
            return .array(GoFormat.split(try string(0), separator: try string(1)).map(JSONValue.string))
        case "upper":
            try arity(1)
            return .string(GoFormat.mapCase(try string(0), \.uppercaseMapping))
        case "lower":
            try arity(1)
            return .string(GoFormat.mapCase(try string(0), \.lowercaseMapping))
        case "title":
            try arity(1)
            return .string(GoFormat.title(try string(0)))
        case "pad":  // docker: prefix and suffix spaces, unless the string is empty
            try arity(3)
            let (s, before, after) = (try string(0), try int(1), try int(2))
            guard before >= 0, after >= 0 else { throw failed("strings: negative Repeat count") }
            // Go's fmt limit for a width: `pad "x" 999999999 0` must not build a gigabyte of spaces.
            guard before <= 1_000_000, after <= 1_000_000 else { throw failed("pad: at most 1000000 spaces on each side") }
            return .string(s.isEmpty ? s : String(repeating: " ", count: before) + s + String(repeating: " ", count: after))
        case "truncate":  // docker: the first n bytes
            try arity(2)
            let (s, n) = (try string(0), try int(1))
            guard n >= 0 else { throw failed("slice bounds out of range [:\(n)]") }
            return .string(String(decoding: s.utf8.prefix(n), as: UTF8.self))
        default:
            throw failed("function not defined")  // unreachable: the parser checks names
        }
    }
}

// MARK: - Go value semantics

extension JSONValue {
    /// Go's notion of truth for `if`, `with`, `and`, `or`, `not`.
    var isTruthy: Bool {
        switch self {
        case .null: return false
        case .bool(let b): return b
        case .int(let n): return n != 0
        case .double(let d): return d != 0
        case .string(let s): return !s.isEmpty
        case .array(let a): return !a.isEmpty
        case .object(let m): return !m.isEmpty
        }
    }

    /// The Go type a JSON value decodes to, for error messages.
    var goTypeName: String {
        switch self {
        case .null: return "<nil>"
        case .bool: return "bool"
        case .int: return "int"
        case .double: return "float64"
        case .string: return "string"
        case .array: return "[]interface {}"
        case .object: return "map[string]interface {}"
        }
    }

    /// Members as Go sees a map: one entry per key (the last one wins),
    /// sorted by key bytes.
    static func sortedMembers(_ members: [(String, JSONValue)]) -> [(String, JSONValue)] {
        var seen = Set<String>()
        let unique = members.reversed().filter { seen.insert($0.0).inserted }
        return unique.sorted { $0.0.utf8.lexicographicallyPrecedes($1.0.utf8) }
    }
}

/// The slices of Go's fmt and strings packages that templates reach.
enum GoFormat {
    /// `fmt.Print` of one value (the `%v` verb).
    static func describe(_ value: JSONValue) -> String {
        switch value {
        case .null: return "<nil>"
        case .bool(let b): return b ? "true" : "false"
        case .int(let n): return String(n)
        case .double(let d): return JSONValue.goFormat(d, style: .fmtV)
        case .string(let s): return s
        case .array(let elements): return "[" + elements.map(describe).joined(separator: " ") + "]"
        case .object(let members):
            return "map[" + JSONValue.sortedMembers(members).map { "\($0.0):\(describe($0.1))" }
                .joined(separator: " ") + "]"
        }
    }

    /// `fmt.Sprint`: a space between operands when neither is a string.
    static func sprint(_ args: [JSONValue]) -> String {
        var out = ""
        for (n, arg) in args.enumerated() {
            if n > 0, !arg.isString, !args[n - 1].isString { out += " " }
            out += describe(arg)
        }
        return out
    }

    /// `fmt.Sprintf` for the verbs %v %s %d %q %t and %%, with the `-`,
    /// `+` and `0` flags, a width and a precision (which truncates %s and
    /// %q). Mistakes print the way Go prints them: `%!d(string=abc)`,
    /// `%!s(MISSING)`, `%!(EXTRA int=1)`.
    static func sprintf(_ format: String, _ args: [JSONValue]) -> String {
        let scalars = Array(format.unicodeScalars)
        var out = "", i = 0, next = 0
        // Go's parsenum: a width or precision that grows past 1e6 ("crazy long number most likely") ends the
        // format there, which then prints %!(NOVERB): `%999999999d` must not build a gigabyte of padding.
        func number() -> Int? {
            var n: Int? = nil
            while i < scalars.count, ("0"..."9").contains(scalars[i]) {
                if let n, n > 1_000_000 { i = scalars.count; return nil }
                n = (n ?? 0) * 10 + Int(scalars[i].value - 48)
                i += 1
            }
            return n
        }
        while i < scalars.count {
            let c = scalars[i]
            i += 1
            guard c == "%" else { out.unicodeScalars.append(c); continue }
            var flags = Set<Unicode.Scalar>()
            while i < scalars.count, "-+# 0".unicodeScalars.contains(scalars[i]) { flags.insert(scalars[i]); i += 1 }
            let width = number()
            var precision: Int? = nil
            if i < scalars.count, scalars[i] == "." { i += 1; precision = number() ?? 0 }
            guard i < scalars.count else { out += "%!(NOVERB)"; break }
            let verb = scalars[i]
            i += 1
            if verb == "%" { out += "%"; continue }
            guard next < args.count else { out += "%!\(verb)(MISSING)"; continue }
            let arg = args[next]
            next += 1
            var text = format1(arg, verb: verb, precision: precision, plus: flags.contains("+"))
            let fill = (width ?? 0) - text.unicodeScalars.count
            if fill > 0 {
                let padding = String(repeating: flags.contains("0") && !flags.contains("-") && arg.isNumber ? "0" : " ", count: fill)
                if flags.contains("-") {
                    text += padding
                } else if padding.hasPrefix("0"), let sign = text.first, sign == "-" || sign == "+" {
                    text = String(sign) + padding + text.dropFirst()  // zeros go after the sign
                } else {
                    text = padding + text
                }
            }
            out += text
        }
        if next < args.count {
            let extras = args[next...].map { $0 == .null ? "<nil>" : "\($0.goTypeName)=\(describe($0))" }
            out += "%!(EXTRA " + extras.joined(separator: ", ") + ")"
        }
        return out
    }

    /// One argument under one verb. Arrays and objects apply the verb to
    /// each element (and each key), as Go does.
    private static func format1(_ arg: JSONValue, verb: Unicode.Scalar, precision: Int?, plus: Bool) -> String {
        func truncated(_ s: String) -> String {
            guard let precision else { return s }
            return String(String.UnicodeScalarView(s.unicodeScalars.prefix(precision)))
        }
        switch (verb, arg) {
        case ("v", _): return describe(arg)
        case (_, .array(let elements)) where "sdq".unicodeScalars.contains(verb):
            return "[" + elements.map { format1($0, verb: verb, precision: precision, plus: plus) }
                .joined(separator: " ") + "]"
        case (_, .object(let members)) where "sdq".unicodeScalars.contains(verb):
            return "map[" + JSONValue.sortedMembers(members).map {
                format1(.string($0.0), verb: verb, precision: precision, plus: plus) + ":"
                    + format1($0.1, verb: verb, precision: precision, plus: plus)
            }.joined(separator: " ") + "]"
        case ("s", .string(let s)): return truncated(s)
        case ("q", .string(let s)): return quote(truncated(s))
        case ("d", .int(let n)): return (plus && n >= 0 ? "+" : "") + String(n)
        case ("t", .bool(let b)): return b ? "true" : "false"
        case (_, .null): return "%!\(verb)(<nil>)"
        default: return "%!\(verb)(\(arg.goTypeName)=\(describe(arg)))"
        }
    }

    /// `strconv.Quote`: a double-quoted Go string literal. Printable
    /// characters stay as they are; others become \n, \t, \xHH, \uHHHH...
    static func quote(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            if let short = JSONValue.shortEscape(scalar) {
                out += short
                continue
            }
            switch scalar {
            case "\u{07}": out += "\\a"
            case "\u{0B}": out += "\\v"
            case _ where isPrintable(scalar): out.unicodeScalars.append(scalar)
            case _ where scalar.value < 0x80: out += "\\x" + JSONValue.hex(scalar.value, width: 2)
            case _ where scalar.value < 0x10000: out += "\\u" + JSONValue.hex(scalar.value, width: 4)
            default: out += "\\U" + JSONValue.hex(scalar.value, width: 8)
            }
        }
        return out + "\""
    }

    /// Roughly Go's `unicode.IsPrint`: letters, marks, numbers,
    /// punctuation, symbols, and the ASCII space.
    private static func isPrintable(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.properties.generalCategory {
        case .control, .format, .surrogate, .privateUse, .unassigned,
             .lineSeparator, .paragraphSeparator, .spaceSeparator:
            return scalar == " "
        default:
            return true
        }
    }

    /// `strings.Split`: every occurrence of `separator`, keeping empty
    /// parts; an empty separator splits into single characters.
    static func split(_ s: String, separator: String) -> [String] {
        guard !separator.isEmpty else { return s.unicodeScalars.map { String($0) } }
        let bytes = Array(s.utf8), sep = Array(separator.utf8)
        var parts: [String] = [], start = 0, i = 0
        while i + sep.count <= bytes.count {
            if bytes[i..<i + sep.count].elementsEqual(sep) {
                parts.append(String(decoding: bytes[start..<i], as: UTF8.self))
                i += sep.count
                start = i
            } else {
                i += 1
            }
        }
        parts.append(String(decoding: bytes[start...], as: UTF8.self))
        return parts
    }

    /// `strings.ToUpper`/`ToLower` map each character on its own (Unicode
    /// "simple" case mapping), so "ß" stays "ß" where Swift's
    /// `uppercased()` would give "SS". We keep a character whose full
    /// mapping is longer than one character.
    static func mapCase(_ s: String, _ mapping: (Unicode.Scalar.Properties) -> String) -> String {
        var out = String.UnicodeScalarView()
        for scalar in s.unicodeScalars {
            let mapped = mapping(scalar.properties).unicodeScalars
            if mapped.count == 1 { out.append(contentsOf: mapped) } else { out.append(scalar) }
        }
        return String(out)
    }

    /// `strings.Title`: title-case the first letter of every word, a word
    /// starting after anything but a letter, digit or underscore.
    static func title(_ s: String) -> String {
        var previous: Unicode.Scalar = " "
        return String(s.unicodeScalars.map { scalar -> String in
            defer { previous = scalar }
            return isWordSeparator(previous) ? mapCase(String(scalar), \.titlecaseMapping) : String(scalar)
        }.joined())
    }

    private static func isWordSeparator(_ scalar: Unicode.Scalar) -> Bool {
        if scalar.isASCII {
            let c = Character(scalar)
            return !(c.isLetter || c.isNumber || c == "_")
        }
        let properties = scalar.properties
        if properties.isAlphabetic || properties.numericType == .decimal { return false }
        return properties.isWhitespace
    }

    /// Comparison failures, worded as Go words them.
    struct ComparisonError: Error { var text: String }

    /// `eq`: same-kind basic values compare by value. Numbers compare
    /// numerically even across int/float (Go would refuse to compare int
    /// with float64, but JSON does not tell 1 from 1.0 reliably). Null only
    /// equals null. Arrays and objects cannot be compared.
    static func equal(_ a: JSONValue, _ b: JSONValue) throws -> Bool {
        switch (a, b) {
        case (.null, .null): return true
        case (.null, _), (_, .null): return false
        case let (.bool(x), .bool(y)): return x == y
        case let (.string(x), .string(y)): return x.utf8.elementsEqual(y.utf8)
        case let (.int(x), .int(y)): return x == y
        case (.array, _), (.object, _), (_, .array), (_, .object):
            throw ComparisonError(text: "non-comparable type \(a.goTypeName)")
        default:
            if let x = a.numberValue, let y = b.numberValue { return x == y }
            throw ComparisonError(text: "incompatible types for comparison")
        }
    }

    /// `lt`: numbers and strings (compared byte-wise) only.
    static func less(_ a: JSONValue, _ b: JSONValue) throws -> Bool {
        switch (a, b) {
        case let (.int(x), .int(y)): return x < y
        case let (.string(x), .string(y)): return x.utf8.lexicographicallyPrecedes(y.utf8)
        default:
            if let x = a.numberValue, let y = b.numberValue { return x < y }
            if a.goTypeName == b.goTypeName { throw ComparisonError(text: "invalid type for comparison") }
            throw ComparisonError(text: "incompatible types for comparison")
        }
    }
}

extension JSONValue {
    var isString: Bool { if case .string = self { return true } else { return false } }
    var isNumber: Bool { numberValue != nil }
    var numberValue: Double? {
        switch self {
        case .int(let n): return Double(n)
        case .double(let d): return d
        default: return nil
        }
    }
}
