#if canImport(Glibc)
import Glibc
#endif

/// Wall-clock time as docker prints it (RFC 3339 with nanoseconds, UTC), without Foundation's formatters.
public struct Timestamp: Sendable, Comparable, Codable, CustomStringConvertible {
    public var seconds: Int64
    public var nanoseconds: Int32

    public init(seconds: Int64, nanoseconds: Int32 = 0) {
        self.seconds = seconds
        self.nanoseconds = nanoseconds
    }

    public static func now() -> Timestamp {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Timestamp(seconds: Int64(ts.tv_sec), nanoseconds: Int32(ts.tv_nsec))
    }

    /// Docker's "zero time", used for FinishedAt of a container that never finished.
    public static let zero = Timestamp(seconds: -62_135_596_800)

    public var isZero: Bool { seconds == Timestamp.zero.seconds }

    public static func < (a: Timestamp, b: Timestamp) -> Bool {
        (a.seconds, a.nanoseconds) < (b.seconds, b.nanoseconds)
    }

    public var unixNanoseconds: Int64 { seconds &* 1_000_000_000 &+ Int64(nanoseconds) }

    /// "2026-11-27T15:49:35.123456789Z"
    public var rfc3339: String {
        if isZero { return "0001-01-01T00:00:00Z" }
        var t = time_t(seconds)
        var tm = tm()
        gmtime_r(&t, &tm)
        func pad(_ v: Int32, _ width: Int) -> String {
            let s = String(v)
            return String(repeating: "0", count: max(0, width - s.count)) + s
        }
        return "\(pad(tm.tm_year + 1900, 4))-\(pad(tm.tm_mon + 1, 2))-\(pad(tm.tm_mday, 2))T"
            + "\(pad(tm.tm_hour, 2)):\(pad(tm.tm_min, 2)):\(pad(tm.tm_sec, 2)).\(pad(nanoseconds, 9))Z"
    }

    public var description: String { rfc3339 }

    /// Parses what `rfc3339` writes, plain Unix seconds ("1764258575" or "1764258575.5"), or a duration back
    /// from now ("10m", "2h", "30s") as `docker events --since` accepts.
    public static func parse(_ text: String, now: Timestamp = .now()) -> Timestamp? {
        if let last = text.last, "smh".contains(last), let n = Double(text.dropLast()) {
            let unit: Double = last == "s" ? 1 : last == "m" ? 60 : 3600
            let back = Int64(n * unit * 1e9)
            let ns = now.unixNanoseconds - back
            return Timestamp(seconds: ns / 1_000_000_000, nanoseconds: Int32(ns % 1_000_000_000))
        }
        if let seconds = Double(text) {
            let whole = seconds.rounded(.down)
            return Timestamp(seconds: Int64(whole), nanoseconds: Int32((seconds - whole) * 1e9))
        }
        let u = Array(text.utf8)
        guard u.count >= 20, u[4] == UInt8(ascii: "-"), u[10] == UInt8(ascii: "T") else { return nil }
        func num(_ r: Range<Int>) -> Int32? { Int32(String(decoding: u[r], as: UTF8.self)) }
        guard let year = num(0..<4), let mon = num(5..<7), let day = num(8..<10), let hour = num(11..<13),
              let min = num(14..<16), let sec = num(17..<19) else { return nil }
        var nanos: Int32 = 0
        if u[19] == UInt8(ascii: ".") {
            var i = 20
            var digits = ""
            while i < u.count, u[i] >= 48, u[i] <= 57 { digits.append(Character(UnicodeScalar(u[i]))); i += 1 }
            nanos = Int32((digits + String(repeating: "0", count: max(0, 9 - digits.count))).prefix(9)) ?? 0
        }
        var tm = tm()
        tm.tm_year = year - 1900
        tm.tm_mon = mon - 1
        tm.tm_mday = day
        tm.tm_hour = hour
        tm.tm_min = min
        tm.tm_sec = sec
        return Timestamp(seconds: Int64(timegm(&tm)), nanoseconds: nanos)
    }

    // Stored as the RFC 3339 string: state files stay readable for learners who `cat` them.
    public init(from decoder: Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        if text == "0001-01-01T00:00:00Z" { self = .zero; return }
        guard let t = Timestamp.parse(text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "bad time \(text)"))
        }
        self = t
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(rfc3339)
    }

    /// "5 seconds", "About a minute", "3 hours": docker's units.HumanDuration.
    public static func humanDuration(_ seconds: Int64) -> String {
        switch seconds {
        case ..<1: return "Less than a second"
        case 1: return "1 second"
        case ..<60: return "\(seconds) seconds"
        case ..<120: return "About a minute"
        case ..<3600: return "\(seconds / 60) minutes"
        case ..<7200: return "About an hour"
        case ..<(48 * 3600): return "\(seconds / 3600) hours"
        case ..<(7 * 24 * 3600 * 2): return "\(seconds / 86400) days"
        case ..<(30 * 24 * 3600 * 3): return "\(seconds / (7 * 86400)) weeks"
        case ..<(365 * 24 * 3600 * 2): return "\(seconds / (30 * 86400)) months"
        default: return "\(seconds / (365 * 86400)) years"
        }
    }
}
