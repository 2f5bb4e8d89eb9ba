import Testing
import DockerFormat

@Suite("Sizes and durations as docker writes them for people")
struct UnitsTests {
    @Test("human durations use docker's units", arguments: [
        (0, "Less than a second"), (1, "1 second"), (59, "59 seconds"), (90, "About a minute"),
        (600, "10 minutes"), (4000, "About an hour"), (7200, "2 hours"), (3 * 86400, "3 days"),
    ])
    func human(seconds: Int, text: String) {
        #expect(Units.humanDuration(Int64(seconds)) == text)
    }

    // docker's go-units HumanSizeWithPrecision(size, 3), what its listings print: rounded, not cut.
    @Test("decimal sizes (box images, history, load), as docker's", arguments: [
        (0, "0B"), (999, "999B"), (1000, "1kB"), (1_980_000, "1.98MB"), (1_985_627, "1.99MB"),
        (215_700_000, "216MB"), (4_400_000_000, "4.4GB"),
    ])
    func humanSize(bytes: Int64, text: String) {
        #expect(Units.humanSize(bytes) == text)
    }

    @Test("HumanSize's four digits (system df)", arguments: [(1_985_627, "1.986MB"), (215_700_000, "215.7MB"), (0, "0B")])
    func humanSizeFour(bytes: Int64, text: String) {
        #expect(Units.humanSize(bytes, precision: 4) == text)
    }

    @Test("binary sizes and percentages (box stats), two decimals", arguments: [
        (512, "512.00B"), (1536, "1.50KiB"), (33_554_432_000, "31.25GiB"),
    ])
    func bytesSize(bytes: Int64, text: String) {
        #expect(Units.bytesSize(bytes) == text)
    }

    @Test("two decimals round half away from zero")
    func twoDecimals() {
        #expect(Units.twoDecimals(12.345) == "12.35")
        #expect(Units.twoDecimals(0.004) == "0.00")
        #expect(Units.twoDecimals(7) == "7.00")
    }
}
