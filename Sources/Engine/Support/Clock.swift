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
    /// The last second docker's time format can write: 9999-12-31T23:59:59Z.
    static let latest = Timestamp(seconds: 253_402_300_799)

    public var isZero: Bool { seconds == Timestamp.zero.seconds }

    public static func < (a: Timestamp, b: Timestamp) -> Bool {
        (a.seconds, a.nanoseconds) < (b.seconds, b.nanoseconds)
    }

    public var unixNanoseconds: Int64 { seconds &* 1_000_000_000 &+ Int64(nanoseconds) }

    /// "2026-11-27T15:49:35.123456789Z"
    public var rfc3339: String {
        if isZero { return "0001-01-01T00:00:00Z" }
        // The civil date by arithmetic, not gmtime_r: glibc's gmtime reads /etc/localtime on its first call,
        // 0.1 ms of each `box run`. A time outside years 1-9999 (never a clock's) is printed as the nearest end.
        let seconds = min(max(self.seconds, Timestamp.zero.seconds), Timestamp.latest.seconds)
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let secondOfDay = seconds - days * 86_400
        let (year, month, day) = Timestamp.civil(fromDays: days)
        var out: [UInt8] = []
        out.reserveCapacity(30)
        func put(_ v: Int64, _ width: Int) {  // zero-padded; nanoseconds out of range clamped
            var rest = min(max(v, 0), width == 2 ? 99 : width == 4 ? 9_999 : 999_999_999)
            var digits = [UInt8](repeating: UInt8(ascii: "0"), count: width)
            for i in stride(from: width - 1, through: 0, by: -1) {
                digits[i] = UInt8(ascii: "0") + UInt8(rest % 10)
                rest /= 10
            }
            out += digits
        }
        put(year, 4); out.append(UInt8(ascii: "-")); put(month, 2); out.append(UInt8(ascii: "-")); put(day, 2)
        out.append(UInt8(ascii: "T"))
        put(secondOfDay / 3_600, 2); out.append(UInt8(ascii: ":")); put(secondOfDay / 60 % 60, 2)
        out.append(UInt8(ascii: ":")); put(secondOfDay % 60, 2)
        out.append(UInt8(ascii: ".")); put(Int64(nanoseconds), 9); out.append(UInt8(ascii: "Z"))
        return String(decoding: out, as: UTF8.self)
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil); month 1-12, a day
    /// past the month's end runs on into the next, as timegm normalizes it.
    static func days(year: Int64, month: Int64, day: Int64) -> Int64 {
        let y = year - (month <= 2 ? 1 : 0)
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    /// The inverse: the date of a day number (civil_from_days).
    static func civil(fromDays days: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1_460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, dayOfYear - (153 * mp + 2) / 5 + 1)
    }

    public var description: String { rfc3339 }

    /// Parses what `rfc3339` writes, plain Unix seconds ("1764258575" or "1764258575.5"), or a duration back
    /// from now ("10m", "2h", "30s") as `docker events --since` accepts.
    public static func parse(_ text: String, now: Timestamp = .now()) -> Timestamp? {
        // Numbers as the user typed them: only finite ones, and only within docker's years 1-9999
        // (nan, inf or 1e30 would not convert to an integer).
        let range = Double(Timestamp.zero.seconds)...Double(Timestamp.latest.seconds)
        if let last = text.last, "smh".contains(last), let n = Double(text.dropLast()) {
            let unit: Double = last == "s" ? 1 : last == "m" ? 60 : 3600
            let back = n * unit
            guard back.isFinite, range.contains(Double(now.seconds) - back) else { return nil }
            let ns = now.unixNanoseconds - Int64(back * 1e9)
            return Timestamp(seconds: ns / 1_000_000_000, nanoseconds: Int32(ns % 1_000_000_000))
        }
        if let seconds = Double(text) {
            guard seconds.isFinite, range.contains(seconds) else { return nil }
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
        guard year >= 1 else { return nil }  // docker's times run from year 1 (the zero time) to 9999
        if (1...12).contains(mon) {  // by arithmetic: timegm would read /etc/localtime on its first call
            let days = Timestamp.days(year: Int64(year), month: Int64(mon), day: Int64(day))
            return Timestamp(seconds: days * 86_400 + Int64(hour) * 3_600 + Int64(min) * 60 + Int64(sec), nanoseconds: nanos)
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
}
