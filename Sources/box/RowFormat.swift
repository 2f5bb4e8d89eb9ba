import DockerFormat
import Engine

/// `--format` of the verbs that print rows (stats, events, network ls), as docker's CLI formatter reads it:
/// `json` prints each row as one JSON object; `table TEMPLATE` a header (the template over the column titles),
/// then each row, cells split at tabs and aligned; anything else is a template printed once per row.
/// `\t` and `\n` typed in the format become a tab and a newline.
struct RowFormat {
    enum Kind { case table, json, plain }
    let kind: Kind
    let template: FormatTemplate?

    init(_ format: String) throws {
        let text = format.replacing("\\t", with: "\t").replacing("\\n", with: "\n")
        if text == "json" {
            kind = .json
            template = nil
        } else if text.hasPrefix("table") {
            kind = .table
            template = try FormatTemplate(String(text.dropFirst(5).drop { $0 == " " }))
        } else {
            kind = .plain
            template = try FormatTemplate(text)
        }
    }

    /// The lines for `rows` (JSON objects with docker's field names); `titles` names each field's column.
    func render(_ rows: [JSONValue], titles: JSONValue) throws -> String {
        switch kind {
        case .json:
            return rows.map { $0.compact(escapeHTML: true) }.joined(separator: "\n")
        case .plain:
            return try rows.map { try template!.render($0) }.joined(separator: "\n")
        case .table:
            let lines = try [titles].map { try template!.render($0) } + rows.map { try template!.render($0) }
            return table(lines.map { $0.split(separator: "\t", omittingEmptySubsequences: false).map(String.init) })
        }
    }
}
