import Engine
import Foundation
import LabKit

/// One journal line as the server reads it: LabKit's `ProgressRecord` (which the fold takes), and beside it the
/// fields of the classroom contract that the record may not carry: the chain's `prev`, and a `fail` line's
/// `expected` and `observed`.
struct JournalLine: Sendable {
    struct Fields: Decodable, Sendable {
        var event: String
        var lab: String
        var step: String?
        var prev: String?
        var expected: String?
        var observed: String?
    }

    /// A `fail` line as the contract writes it, for a LabKit that does not know the event yet: the same required
    /// fields as any record.
    private struct FailLine: Decodable {
        var time: Timestamp
        var lab: String
        var step: String
    }

    struct Invalid: Error, CustomStringConvertible {
        var description: String
    }

    /// nil for a `fail` line when LabKit's record has no such event: it is checked as a FailLine instead.
    var record: ProgressRecord?
    var fields: Fields

    static func parse(_ line: String) throws -> JournalLine {
        if line.contains("\n") || line.contains("\r") { throw Invalid(description: "a line holds a newline") }
        let data = Data(line.utf8)
        let decoder = JSONDecoder()
        let fields: Fields
        do { fields = try decoder.decode(Fields.self, from: data) } catch {
            throw Invalid(description: "not a journal record (JSON with event and lab): \(brief(error))")
        }
        do {
            return JournalLine(record: try decoder.decode(ProgressRecord.self, from: data), fields: fields)
        } catch {
            guard fields.event == "fail" else {
                throw Invalid(description: "not a progress record: \(brief(error))")
            }
            do { _ = try decoder.decode(FailLine.self, from: data) } catch {
                throw Invalid(description: "a fail record needs time, lab and step: \(brief(error))")
            }
            return JournalLine(record: nil, fields: fields)
        }
    }

    /// The line's `prev`, "" when it has none (or is no JSON: such a line is refused before it is chained).
    static func prev(of line: String) -> String {
        (try? JSONDecoder().decode(Fields.self, from: Data(line.utf8)))?.prev ?? ""
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
