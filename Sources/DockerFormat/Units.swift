/// docker's ways of writing sizes and durations for people (its go-units package): `box ps`, `box images`,
/// `box history`, `box stats`, the progress of `box load`, and `lab status`.
public enum Units {
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

    /// docker's decimal sizes in listings (go-units HumanSizeWithPrecision(size, 3)): 0B, 1.99MB, 215.7MB.
    public static func humanSize(_ bytes: Int64) -> String { humanSize(bytes, precision: 3) }

    /// go-units HumanSizeWithPrecision: Go's `%.*g` of the size in the largest unit under 1000, so `precision`
    /// significant digits, rounded, trailing zeros dropped (4 is HumanSize, `system df`'s "1.986MB").
    public static func humanSize(_ bytes: Int64, precision: Int) -> String {
        let units = ["B", "kB", "MB", "GB", "TB", "PB"]
        var v = Double(bytes), i = 0
        while v >= 1000 && i < units.count - 1 { v /= 1000; i += 1 }
        var integerDigits = 1
        while integerDigits < 20 && v >= pow10(integerDigits) { integerDigits += 1 }
        let decimals = max(0, precision - integerDigits)
        let scale = pow10(decimals)
        let rounded = (v * scale).rounded() / scale
        var text = String(Int64(rounded))
        if decimals > 0 {
            let fraction = Int64(((rounded - rounded.rounded(.down)) * scale).rounded())
            var digits = String(fraction)
            digits = String(repeating: "0", count: max(0, decimals - digits.count)) + digits
            while digits.hasSuffix("0") { digits.removeLast() }
            if !digits.isEmpty { text += "." + digits }
        }
        return text + units[i]
    }

    static func pow10(_ n: Int) -> Double {
        var v = 1.0
        for _ in 0..<n { v *= 10 }
        return v
    }

    /// docker's binary units (go-units BytesSize), with two decimals: 1.50MiB, 31.25GiB.
    public static func bytesSize(_ bytes: Int64) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var v = Double(bytes), i = 0
        while v >= 1024 && i < units.count - 1 { v /= 1024; i += 1 }
        return twoDecimals(v) + units[i]
    }

    /// 12.34
    public static func twoDecimals(_ v: Double) -> String {
        let hundredths = Int((v * 100).rounded())
        let frac = hundredths % 100
        return "\(hundredths / 100).\(frac < 10 ? "0" : "")\(frac)"
    }
}
