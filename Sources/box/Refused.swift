import ArgumentParser
import Engine

/// docker's flags that box does not do. Each is parsed, so a docker command line is understood, and refused
/// with its reason if used (exit status 125, as docker's CLI for a flag it rejects), never a bare "Unknown
/// option". A verb keeps them in one group, shown in its --help under REFUSED with the reason as the flag's
/// help, which is also what the error says and what scripts/flags-table.py reads into docs/flags.md:
///
///     struct StartRefused: RefusedFlags {
///         @Option(help: "box keeps no checkpoints (docker's are CRIU's, experimental)") var checkpoint: String?
///     }
///     @OptionGroup(title: refusedTitle) var refused: StartRefused      // and `try refused.check()` in run()
///
/// A flag's name is its property's, as ArgumentParser's `.long` makes it (`cpuRtPeriod`: --cpu-rt-period).
protocol RefusedFlags: ParsableArguments {}

/// The title of the REFUSED section (ArgumentParser prints it in capitals).
let refusedTitle = "Refused (docker's flags box does not do, and why)"

extension RefusedFlags {
    /// Throws for the first refused flag that was given, naming it and saying why.
    func check() throws {
        for child in Mirror(reflecting: self).children {
            guard let label = child.label, Self.given(child.value) else { continue }
            let flag = Self.longName(String(label.drop { $0 == "_" }))
            throw BoxError(.usage, "--\(flag): \(Self.reason(flag))", exitCode: 125)
        }
    }

    static func given(_ value: Any) -> Bool {
        if let option = value as? Option<String?> { return option.wrappedValue != nil }
        if let option = value as? Option<[String]> { return !option.wrappedValue.isEmpty }
        if let flag = value as? Flag<Bool> { return flag.wrappedValue }
        return false
    }

    /// `cpuRtPeriod` -> `cpu-rt-period`.
    static func longName(_ property: String) -> String {
        property.reduce(into: "") { name, c in
            if c.isUppercase { name += "-" + c.lowercased() } else { name.append(c) }
        }
    }

    /// The flag's help text, which is its reason: one source for --help, the error and the flags table.
    static func reason(_ flag: String) -> String {
        let lines = helpMessage(includeHidden: false, columns: 10_000).split(separator: "\n", omittingEmptySubsequences: false)
        let column = 26  // ArgumentParser's help column: a label that fits is padded to it
        for (i, line) in lines.enumerated() {
            let label = line.prefix(column).drop { $0 == " " }
            guard label.hasPrefix("-"), label.split(separator: " ").contains(where: {
                $0.trimmingCharacters(in: ",") == "--" + flag }) else { continue }
            // After the label, or on the next line when the label is too long to fit.
            if line.count > column && line[line.index(line.startIndex, offsetBy: column - 1)] == " " {
                return String(line.dropFirst(column))
            }
            if i + 1 < lines.count { return lines[i + 1].drop { $0 == " " }.description }
        }
        return "box does not do it"
    }
}
