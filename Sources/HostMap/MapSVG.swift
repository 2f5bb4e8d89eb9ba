/// The picture as SVG (for slides and the README): the same blocks, rows and words as the terminal's, each
/// block a rounded box, each span a run of monospace text in its role's colour, bars as rectangles, marks
/// as a yellow band behind the text.
public enum MapSVG {
    static let fontSize = 13.0
    /// DejaVu Sans Mono's advance is 0.602 em; other monospace fonts are close.
    static let charWidth = 7.85
    static let lineHeight = 19.0
    static let margin = 12.0

    public static func render(_ doc: MapDocument) -> String {
        let columns = min(160, doc.blocks.flatMap { b in
            [b.title.reduce(3) { $0 + MapText.shownCount($1) }] + b.rows.map { r in r.spans.reduce(MapText.labelWidth) { $0 + MapText.shownCount($1) } }
        }.max() ?? 60)
        // Two columns to spare: a glyph from a fallback font (⇆, ✕) may be wider than the grid.
        let boxWidth = Double(columns + 4) * charWidth
        let footerWidth = Double(doc.footer.map(\.count).max() ?? 0) * charWidth
        var body: [String] = []
        var y = margin
        for block in doc.blocks {
            let height = Double(block.rows.count + 1) * lineHeight + 10
            let stroke = block.kind == .host ? "#3465a4" : (block.kind == .isolated ? "#75507b" : "#4e9a06")
            body.append(##"<g class="\##(block.kind)">"##)
            body.append(##"<rect x="\##(n(margin))" y="\##(n(y))" width="\##(n(boxWidth))" height="\##(n(height))" rx="8" fill="#fbfbf8" stroke="\##(stroke)" stroke-width="1.5"/>"##)
            var line = y + lineHeight
            body.append(row(block.title, x: margin + charWidth, y: line, bold: true))
            for r in block.rows {
                line += lineHeight
                let spans = [MapDocument.Span(r.label.rightPadded(MapText.labelWidth), .dim)] + MapText.cut(r.spans, to: columns - MapText.labelWidth)
                body.append(row(spans, x: margin + charWidth, y: line, bold: false))
            }
            body.append("</g>")
            y += height + margin
        }
        for text in doc.footer {
            y += lineHeight
            body.append(##"<text x="\##(n(margin))" y="\##(n(y))" fill="#555">\##(escape(text))</text>"##)
        }
        let width = max(boxWidth, footerWidth) + 2 * margin, height = y + margin
        return """
        <svg xmlns="http://www.w3.org/2000/svg" width="\(n(width))" height="\(n(height))" viewBox="0 0 \(n(width)) \(n(height))" \
        font-family="DejaVu Sans Mono, Menlo, Consolas, monospace" font-size="\(n(fontSize))">
        <rect width="100%" height="100%" fill="#ffffff"/>
        \(body.joined(separator: "\n"))
        </svg>

        """
    }

    /// One row: a <text> with a <tspan> per span at its column, and the bars and marks behind it.
    static func row(_ spans: [MapDocument.Span], x: Double, y: Double, bold: Bool) -> String {
        var behind: [String] = []
        var tspans: [String] = []
        var column = 0
        for s in spans {
            let x0 = x + Double(column) * charWidth
            let count = MapText.shownCount(s)
            if case .bar(let f) = s.role {
                let w = Double(count) * charWidth - 4
                behind.append(##"<rect x="\##(n(x0))" y="\##(n(y - 11))" width="\##(n(w))" height="12" fill="#e6e6e0" stroke="#aaa" stroke-width="0.5"/>"##)
                behind.append(##"<rect class="bar" x="\##(n(x0))" y="\##(n(y - 11))" width="\##(n(w * f))" height="12" fill="\##(f >= 0.9 ? "#cc0000" : (f >= 0.7 ? "#c4a000" : "#4e9a06"))"/>"##)
            } else if !s.text.isEmpty {
                if s.marked {
                    behind.append(##"<rect class="mark" x="\##(n(x0 - 1))" y="\##(n(y - 13))" width="\##(n(Double(count) * charWidth + 2))" height="17" rx="3" fill="#fce94f"/>"##)
                }
                let weight = bold || s.role == .strong || s.role == .shared || s.marked ? ##" font-weight="bold""## : ""
                tspans.append(##"<tspan x="\##(n(x0))" fill="\##(colour(s.role))"\##(weight)>\##(escape(s.text))</tspan>"##)
            }
            column += count
        }
        return behind.joined() + ##"<text y="\##(n(y))" xml:space="preserve">"## + tspans.joined() + "</text>"
    }

    static func colour(_ role: MapDocument.Role) -> String {
        switch role {
        case .plain, .strong: return "#222222"
        case .dim: return "#777777"
        case .own: return "#06989a"
        case .host: return "#3465a4"
        case .shared: return "#75507b"
        case .good: return "#4e9a06"
        case .warn: return "#cc0000"
        case .bar: return "#222222"
        }
    }

    static func escape(_ s: String) -> String {
        var out = ""
        for c in s {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            default: out.append(c)
            }
        }
        return out
    }

    /// A coordinate with at most one decimal.
    static func n(_ v: Double) -> String { MapDocument.decimal(v).replacingSuffix(".0") }
}

extension String {
    func replacingSuffix(_ suffix: String) -> String { hasSuffix(suffix) ? String(dropLast(suffix.count)) : self }
}
