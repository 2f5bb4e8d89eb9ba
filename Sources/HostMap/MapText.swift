/// The picture for a terminal: a box of Unicode line drawing per container, colours when `colour` (a terminal
/// only), and plain text with the same words for a screen reader or a log (`--plain`: no line drawing, no
/// bars, every row headed by what it is, marks said as words).
public enum MapText {
    /// Width of a row's heading.
    static let labelWidth = 12
    /// Width of a bar, in characters.
    static let barWidth = 10

    public static func render(_ doc: MapDocument, width: Int = 100, colour: Bool) -> String {
        let width = min(max(width, 60), 200)
        let inner = width - 4
        var out: [String] = []
        for block in doc.blocks {
            let title = block.title
            let titleText = title.map(\.text).joined()
            let fill = max(0, width - 5 - titleText.count)
            out.append(paint("╭─ ", .dim, colour) + title.map { styled($0, colour) }.joined() + paint(" " + String(repeating: "─", count: fill) + "╮", .dim, colour))
            for row in block.rows {
                var spans = [MapDocument.Span(row.label.rightPadded(labelWidth), .dim)] + row.spans
                spans = cut(spans, to: inner)
                let used = spans.reduce(0) { $0 + shownCount($1) }
                out.append(paint("│ ", .dim, colour) + spans.map { styled($0, colour) }.joined()
                           + String(repeating: " ", count: max(0, inner - used)) + paint(" │", .dim, colour))
            }
            out.append(paint("╰" + String(repeating: "─", count: width - 2) + "╯", .dim, colour))
        }
        out += doc.footer.map { paint($0, .dim, colour) }
        return out.joined(separator: "\n") + "\n"
    }

    /// The same words as plain text: one line per row, each headed by its block and label.
    public static func plain(_ doc: MapDocument) -> String {
        var out: [String] = []
        for block in doc.blocks {
            let kind: String
            switch block.kind {
            case .host: kind = ""
            case .container: kind = "container "
            case .isolated: kind = "processes in namespaces of their own: "
            }
            out.append(kind + squeeze(block.title.map(plainText).joined()))
            var label = ""
            for row in block.rows {
                if !row.label.isEmpty { label = row.label }
                let text = squeeze(row.spans.map(plainText).joined())
                if text.isEmpty { continue }
                out.append("  \(label): \(text)")
            }
        }
        out += doc.footer
        return out.joined(separator: "\n") + "\n"
    }

    static func plainText(_ s: MapDocument.Span) -> String {
        if case .bar = s.role { return "" }
        if let p = s.plain { return p }
        return s.marked ? s.text + " (changed)" : s.text
    }

    /// Runs of spaces made one, ends trimmed: column padding means nothing read aloud.
    static func squeeze(_ s: String) -> String {
        var out = ""
        for c in s where !(c == " " && (out.isEmpty || out.last == " ")) { out.append(c) }
        while out.last == " " { out.removeLast() }
        return out
    }

    /// How many columns a span takes on the terminal.
    static func shownCount(_ s: MapDocument.Span) -> Int {
        if case .bar = s.role { return barWidth }
        return s.text.count
    }

    /// The spans that fit in `width` columns, the last one cut with "…".
    static func cut(_ spans: [MapDocument.Span], to width: Int) -> [MapDocument.Span] {
        var out: [MapDocument.Span] = []
        var used = 0
        for s in spans {
            let n = shownCount(s)
            if used + n <= width {
                out.append(s)
                used += n
                continue
            }
            if case .bar = s.role { break }
            let room = width - used - 1
            if room > 0 {
                var t = s
                t.text = String(s.text.prefix(room))
                out.append(t)
            }
            out.append(MapDocument.Span("…", .dim))
            break
        }
        return out
    }

    static func bar(_ fraction: Double) -> String {
        let full = Int((fraction * Double(barWidth)).rounded())
        return String(repeating: "█", count: full) + String(repeating: "░", count: barWidth - full)
    }

    static func styled(_ s: MapDocument.Span, _ colour: Bool) -> String {
        var text = s.text
        if case .bar(let f) = s.role { text = bar(f) }
        guard colour else { return text }
        let base = code(s.role)
        let mark = s.marked ? "30;43;" : ""
        guard !(base.isEmpty && mark.isEmpty) else { return text }
        return "\u{1B}[\(mark)\(base.isEmpty ? "1" : base)m\(text)\u{1B}[0m"
    }

    static func paint(_ text: String, _ role: MapDocument.Role, _ colour: Bool) -> String {
        colour ? "\u{1B}[\(code(role))m\(text)\u{1B}[0m" : text
    }

    static func code(_ role: MapDocument.Role) -> String {
        switch role {
        case .plain: return ""
        case .dim: return "2"
        case .strong: return "1"
        case .own: return "36"
        case .host: return "34"
        case .shared: return "1;35"
        case .good: return "32"
        case .warn: return "1;31"
        case .bar(let f): return f >= 0.9 ? "31" : (f >= 0.7 ? "33" : "32")
        }
    }
}
