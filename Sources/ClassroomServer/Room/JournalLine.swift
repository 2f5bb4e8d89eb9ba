import Engine
import Foundation
import LabKit

/// One journal line as the server reads it: LabKit's `ProgressRecord`, which the fold takes and which holds the
/// fields of the classroom contract the room reads beside the fold too (the chain's `prev`, and a `fail` line's
/// `expected` and `observed`).
struct JournalLine: Sendable {
    struct Invalid: Error, CustomStringConvertible {
        var description: String
    }

    var record: ProgressRecord

    static func parse(_ line: String) throws -> JournalLine {
        if line.contains("\n") || line.contains("\r") { throw Invalid(description: "a line holds a newline") }
        do {
            return JournalLine(record: try JSONDecoder().decode(ProgressRecord.self, from: Data(line.utf8)))
        } catch {
            throw Invalid(description: "not a progress record: \(brief(error))")
        }
    }

    /// The line's `prev`, "" when it has none (or is no progress record: such a line is refused before it is
    /// chained).
    static func prev(of line: String) -> String {
        (try? parse(line))?.record.prev ?? ""
    }

    private static func brief(_ error: any Error) -> String {
        switch error {
        case DecodingError.dataCorrupted(let c): return c.debugDescription
        case DecodingError.keyNotFound(let key, _): return "no \"\(key.stringValue)\""
        case DecodingError.typeMismatch(_, let c), DecodingError.valueNotFound(_, let c):
            return "\(c.codingPath.map(\.stringValue).joined(separator: ".")): \(c.debugDescription)"
        default: return "\(error)"
        }
    }
}
