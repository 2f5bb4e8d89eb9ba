import Glibc
import Testing
@testable import Engine

@Suite("Timestamps by arithmetic agree with glibc")
struct CivilTimeTests {
    @Test("rfc3339 and parse agree with gmtime_r and timegm, leap days and centuries included")
    func againstGlibc() {
        var samples: [Int64] = [0, 59, 86_399, 86_400, 951_782_400, 951_868_799, 4_107_542_400, 4_107_628_800,
                                -1, -86_401, 1_795_794_575, 253_402_300_799]
        var x: UInt64 = 0x9E37_79B9_7F4A_7C15
        for _ in 0..<2_000 {  // spread over 1900-2400
            x = x &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            samples.append(Int64(x >> 33) % 15_778_800_000 - 2_208_988_800)
        }
        for s in samples {
            var t = time_t(s)
            var tm = tm()
            gmtime_r(&t, &tm)
            func pad(_ v: Int32, _ w: Int) -> String { let d = String(v); return String(repeating: "0", count: max(0, w - d.count)) + d }
            let expected = "\(pad(tm.tm_year + 1900, 4))-\(pad(tm.tm_mon + 1, 2))-\(pad(tm.tm_mday, 2))T"
                + "\(pad(tm.tm_hour, 2)):\(pad(tm.tm_min, 2)):\(pad(tm.tm_sec, 2)).000000042Z"
            let stamp = Timestamp(seconds: s, nanoseconds: 42)
            #expect(stamp.rfc3339 == expected, "\(s)")
            #expect(Timestamp.parse(expected) == stamp, "\(s)")
        }
        // Out of docker's range: refused when parsed, clamped (not a crash) when printed.
        #expect(Timestamp.parse("-001-01-01T00:00:00Z") == nil)
        #expect(Timestamp.parse("0000-01-01T00:00:00Z") == nil)
        #expect(Timestamp(seconds: -70_000_000_000, nanoseconds: -1).rfc3339 == "0001-01-01T00:00:00.000000000Z")
        #expect(Timestamp(seconds: 300_000_000_000).rfc3339 == "9999-12-31T23:59:59.000000000Z")
        #expect(Timestamp(seconds: .min).rfc3339.hasPrefix("0001-") && Timestamp(seconds: .max).rfc3339.hasPrefix("9999-"))
        // What a user types after --since: numbers that are not times are refused, not a crash.
        for text in ["nan", "inf", "-inf", "1e30", "-1e30", "nans", "1e30h", "-1e10h", "infm"] {
            #expect(Timestamp.parse(text, now: Timestamp(seconds: 1_795_794_575)) == nil, "\(text)")
        }
        #expect(Timestamp.parse("10s", now: Timestamp(seconds: 100)) == Timestamp(seconds: 90))
        // Out-of-range fields are normalized as timegm does: 31 April is 1 May.
        #expect(Timestamp.parse("2026-04-31T00:00:00Z") == Timestamp.parse("2026-05-01T00:00:00Z"))
    }
}
