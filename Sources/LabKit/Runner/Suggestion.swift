/// "Did you mean": the closest of some words to a mistyped one (`lab nxt` → next, `lab start pid-namespace`
/// → pid-namespaces), by edit distance, or nil when none is close enough to be what was meant.
public enum Suggestion {
    public static func closest(to word: String, among candidates: [String]) -> String? {
        let scored = candidates.map { ($0, distance(word.lowercased(), $0.lowercased())) }
        guard let best = scored.min(by: { $0.1 < $1.1 }) else { return nil }
        // A prefix is what was meant too (`lab stat` → status), if only one word has it.
        let prefixed = candidates.filter { $0.hasPrefix(word) }
        if best.1 > max(2, word.count / 3) { return prefixed.count == 1 && word.count >= 2 ? prefixed[0] : nil }
        return best.0
    }

    /// Levenshtein distance: insertions, deletions and substitutions.
    public static func distance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        guard !a.isEmpty else { return b.count }
        var row = Array(0...b.count)
        for i in 1...a.count {
            var previous = row[0]
            row[0] = i
            for j in stride(from: 1, through: b.count, by: 1) {
                let old = row[j]
                row[j] = min(row[j] + 1, row[j - 1] + 1, previous + (a[i - 1] == b[j - 1] ? 0 : 1))
                previous = old
            }
        }
        return row[b.count]
    }
}
