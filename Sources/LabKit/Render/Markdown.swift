#if canImport(Glibc)
import Glibc
#endif
import CSpawn

/// How text reaches the terminal: colours only on a terminal (and not with NO_COLOR or TERM=dumb), wrapped
/// to its width.
public struct Style: Sendable {
    public var color: Bool
    public var width: Int

    public init(color: Bool, width: Int) {
        self.color = color
        self.width = width
    }

    public static func forStandardOutput() -> Style {
        let tty = isatty(1) == 1
        let noColor = getenv("NO_COLOR") != nil || getenv("TERM").map { String(cString: $0) == "dumb" } ?? false
        var rows: UInt16 = 0, cols: UInt16 = 0
        var width = 80
        if tty, box_get_winsize(1, &rows, &cols) == 0, cols > 20 { width = Int(cols) }
        else if let c = getenv("COLUMNS").flatMap({ Int(String(cString: $0)) }), c > 20 { width = c }
        return Style(color: tty && !noColor, width: min(width, 100))
    }

    public static let plain = Style(color: false, width: 80)

    func paint(_ text: String, _ code: String) -> String { color ? "\u{1b}[\(code)m\(text)\u{1b}[0m" : text }
    public func bold(_ t: String) -> String { paint(t, "1") }
    public func dim(_ t: String) -> String { paint(t, "2") }
    public func green(_ t: String) -> String { paint(t, "32") }
    public func red(_ t: String) -> String { paint(t, "31") }
    public func yellow(_ t: String) -> String { paint(t, "33") }
    public func cyan(_ t: String) -> String { paint(t, "36") }
}

/// The Markdown labs are written in, rendered for a terminal: headings, paragraphs wrapped to the width,
/// lists, fenced code blocks (kept as they are, to copy), `inline code` and **bold**.
public enum Markdown {
    /// Fills in `{{name}}` with the learner's values.
    public static func substitute(_ text: String, values: [String: @Sendable (Learner) -> String], learner: Learner) -> String {
        guard text.contains("{{") else { return text }
        var out = text
        for (name, make) in values { out = out.replacing("{{\(name)}}", with: make(learner)) }
        return out
    }

    public static func render(_ markdown: String, _ style: Style) -> String {
        var out: [String] = []
        var paragraph: [String] = []
        var inCode = false
        var bullet: String?

        func flush() {
            guard !paragraph.isEmpty else { return }
            let text = paragraph.joined(separator: " ")
            if let b = bullet {
                out += wrap(text, style, first: "  \(b) ", rest: "    ")
            } else {
                out += wrap(text, style, first: "", rest: "")
            }
            paragraph = []
            bullet = nil
        }

        for raw in markdown.split(separator: "\n", omittingEmptySubsequences: false) {
            let line = String(raw)
            let trimmed = line.drop { $0 == " " }
            if trimmed.hasPrefix("```") {
                // A blank line around each block sets the commands apart from the prose.
                flush()
                inCode.toggle()
                if out.last != "" && !out.isEmpty || !inCode { out.append("") }
                continue
            }
            if inCode {
                out.append(style.cyan("    " + line))
                continue
            }
            if trimmed.isEmpty {
                flush()
                if out.last != "" && !out.isEmpty { out.append("") }
                continue
            }
            if line.hasPrefix("#") {
                flush()
                let title = String(line.drop { $0 == "#" }.drop { $0 == " " })
                out.append(style.bold(line.hasPrefix("##") ? title : title.uppercased()))
                continue
            }
            if trimmed.hasPrefix("- ") || trimmed.hasPrefix("* ") {
                flush()
                bullet = style.color ? "•" : "-"
                paragraph.append(String(trimmed.dropFirst(2)))
                continue
            }
            if let dot = trimmed.firstIndex(of: "."), dot != trimmed.startIndex, trimmed[..<dot].allSatisfy(\.isNumber),
               trimmed[trimmed.index(after: dot)...].hasPrefix(" ") {
                flush()
                bullet = String(trimmed[...dot])
                paragraph.append(String(trimmed[trimmed.index(dot, offsetBy: 2)...]))
                continue
            }
            paragraph.append(String(trimmed))
        }
        flush()
        while out.last == "" { out.removeLast() }
        return out.joined(separator: "\n")
    }

    /// Wraps words to the width, with `code` and **bold** styled and their markers removed.
    static func wrap(_ text: String, _ style: Style, first: String, rest: String) -> [String] {
        var lines: [String] = []
        var line = first
        var visible = first.count
        var atStart = true
        var inCode = false, inBold = false
        for word in text.split(separator: " ") {
            var shown = ""
            var count = 0
            var i = word.startIndex
            while i < word.endIndex {
                let c = word[i]
                if c == "`" {
                    inCode.toggle()
                    shown += style.color ? (inCode ? "\u{1b}[36m" : "\u{1b}[0m" + (inBold ? "\u{1b}[1m" : "")) : ""
                } else if c == "*", word[word.index(after: i)...].hasPrefix("*"), !inCode {
                    inBold.toggle()
                    shown += style.color ? (inBold ? "\u{1b}[1m" : "\u{1b}[0m" + (inCode ? "\u{1b}[36m" : "")) : ""
                    i = word.index(after: i)
                } else {
                    shown.append(c)
                    count += 1
                }
                i = word.index(after: i)
            }
            if !atStart && visible + 1 + count > style.width {
                lines.append(line + (style.color && (inCode || inBold) ? "\u{1b}[0m" : ""))
                line = rest + (style.color ? (inBold ? "\u{1b}[1m" : "") + (inCode ? "\u{1b}[36m" : "") : "")
                visible = rest.count
                atStart = true
            }
            line += (atStart ? "" : " ") + shown
            visible += (atStart ? 0 : 1) + count
            atStart = false
        }
        if style.color && (inCode || inBold) { line += "\u{1b}[0m" }
        lines.append(line)
        return lines
    }

    /// `text` with `sudo ` taken off the commands in it: where it begins a line or follows a space, a backtick, a
    /// quote, `(`, `$(`, `;`, `|` or `&` (so "pseudo " stays).
    public static func withoutSudo(_ text: String) -> String {
        var out = ""
        var rest = Substring(text)
        while let r = rest.firstRange(of: "sudo ") {
            let before = rest[..<r.lowerBound]
            let boundary = before.isEmpty ? (out.last.map { " \n\t`'\"(;|&".contains($0) } ?? true)
                                          : " \n\t`'\"(;|&".contains(before.last!)
            out += before
            if !boundary { out += "sudo " }
            rest = rest[r.upperBound...]
        }
        return out + rest
    }
}
