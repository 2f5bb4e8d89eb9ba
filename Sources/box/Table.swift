import DockerFormat
import Engine

/// Columns padded like docker's tabwriter (three spaces between columns, no trailing spaces).
func table(_ rows: [[String]]) -> String {
    guard let header = rows.first else { return "" }
    var widths = [Int](repeating: 0, count: header.count)
    for row in rows { for (i, cell) in row.enumerated() where i < widths.count { widths[i] = max(widths[i], cell.count) } }
    return rows.map { row in
        var line = ""
        for (i, cell) in row.enumerated() {
            line += cell
            if i < row.count - 1 { line += String(repeating: " ", count: widths[i] - cell.count + 3) }
        }
        return line
    }.joined(separator: "\n")
}

/// Prints a listing in its `--format` (see ListFormat), a template's error in docker's CLI words (exit 1).
func printListing(_ format: ListFormat, _ rows: [JSONValue], titles: JSONValue) throws {
    let text: String
    do { text = try format.render(rows, titles: titles) } catch let e as TemplateError {
        throw BoxError(.usage, (e.phase == .parsing ? "failed to parse template: " : "failed to execute template: ") + e.message, exitCode: 1)
    }
    if !text.isEmpty { say(text) }
}

/// `--format` parsed, a template that does not parse refused in docker's CLI words (exit 1).
func listFormat(_ format: String?, defaultTable: String) throws -> ListFormat {
    do { return try ListFormat(format, defaultTable: defaultTable) } catch let e as TemplateError {
        throw BoxError(.usage, "failed to parse template: " + e.message, exitCode: 1)
    }
}
