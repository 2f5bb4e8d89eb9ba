// Listing.swift — the `--format` of docker's list verbs (ps, images, history, system df).
//
// docker's CLI renders every listing through one formatter (cli/command/formatter): the default output is itself
// a template (`table {{.ID}}\t{{.Image}}…`), `table TEMPLATE` renders a header row and then each row, splitting
// cells at tabs and aligning them with a tabwriter (min width 10, padding 3); `json` prints each row as one JSON
// object; any other text is a template printed once per row with no alignment. The header of a table is the
// same template executed over the column titles (docker does it with a map from field name to title).

import Engine

/// One listing's `--format`, parsed.
public struct ListFormat: Sendable {
    enum Kind: Sendable { case table, json, plain }
    let kind: Kind
    let template: FormatTemplate?

    /// `format` as typed (nil or empty: `defaultTable`, docker's default for the verb, a `table …` format).
    public init(_ format: String?, defaultTable: String) throws {
        var text = format ?? ""
        if text.isEmpty || text == "table" { text = defaultTable }
        // docker's Context.preFormat: the text after `table` trimmed of spaces, `\t` and `\n` as typed become
        // a tab and a newline (table or not).
        func body(_ text: Substring) -> String {
            String(text.drop { $0 == " " }.reversed().drop { $0 == " " }.reversed())
                .replacing("\\t", with: "\t").replacing("\\n", with: "\n")
        }
        if text == "json" {
            kind = .json
            template = nil
        } else if text.hasPrefix("table") {
            kind = .table
            template = try FormatTemplate(body(text.dropFirst(5)))
        } else {
            kind = .plain
            template = try FormatTemplate(body(Substring(text)))
        }
    }

    public var isTable: Bool { kind == .table }

    /// The whole output (without the final newline): a header from `titles` when it is a table, then one line
    /// per row. Rows are JSON objects whose keys are docker's field names.
    public func render(_ rows: [JSONValue], titles: JSONValue) throws -> String {
        switch kind {
        case .json:
            // docker's `--format json` is json.Marshal of each row: sorted keys, HTML characters escaped.
            return rows.map { Self.sortedKeys($0).compact(escapeHTML: true) }.joined(separator: "\n")
        case .plain:
            return try rows.map { try template!.render($0) }.joined(separator: "\n")
        case .table:
            let lines = [try template!.render(titles)] + (try rows.map { try template!.render($0) })
            return Tabwriter.align(lines.joined(separator: "\n"))
        }
    }

    static func sortedKeys(_ value: JSONValue) -> JSONValue {
        guard case .object(let members) = value else { return value }
        return .object(members.sorted { $0.0 < $1.0 })
    }
}

/// Go's text/tabwriter as docker's formatter configures it: a cell ends at a tab and is padded to its column's
/// width plus 3, at least 10; the text after a line's last tab is not a cell and is not padded.
public enum Tabwriter {
    public static func align(_ text: String, minWidth: Int = 10, padding: Int = 3) -> String {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map {
            $0.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
        }
        var widths: [Int] = []
        for cells in lines {
            for (i, cell) in cells.dropLast().enumerated() {
                if i >= widths.count { widths.append(0) }
                widths[i] = max(widths[i], max(minWidth, cell.count + padding))
            }
        }
        return lines.map { cells in
            var line = ""
            for (i, cell) in cells.enumerated() {
                line += cell
                if i < cells.count - 1 { line += String(repeating: " ", count: widths[i] - cell.count) }
            }
            return line
        }.joined(separator: "\n")
    }
}

/// Ways docker's CLI writes a time in listings.
public enum ListTime {
    /// "2026-12-07 20:43:25 +0000 UTC": Go's time.Time String() in UTC (ps's and images' CreatedAt).
    public static func goString(_ t: Timestamp) -> String {
        let text = t.rfc3339
        return String(text.prefix(10)) + " " + String(text.dropFirst(11).prefix(8)) + " +0000 UTC"
    }

    /// "2026-05-07T20:33:45Z": RFC 3339 to the second (history's CREATED AT with -H=false).
    public static func seconds(_ t: Timestamp) -> String {
        String(t.rfc3339.prefix(19)) + "Z"
    }
}
