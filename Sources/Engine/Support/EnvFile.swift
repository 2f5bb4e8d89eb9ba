#if canImport(Glibc)
import Glibc
#endif

/// docker's --env-file: one KEY=VALUE a line, read as docker's opts.ParseEnvFile reads it. Leading blanks are
/// dropped, blank lines and `#` comments skipped, the value kept exactly (quotes and trailing blanks too); a
/// line that is only KEY takes the variable from box's own environment, or is left out if unset there.
public enum EnvFile {
    public static func read(_ path: String, environment: (String) -> String? = { getenv($0).map { String(cString: $0) } }) throws -> [String] {
        var text: [UInt8]
        do { text = try Files.read(path) } catch let e as BoxError {
            throw BoxError(.usage, "env file: \(e.description)", exitCode: 125)
        }
        if text.starts(with: [0xEF, 0xBB, 0xBF]) { text.removeFirst(3) }  // a UTF-8 byte order mark
        guard String(validating: text, as: UTF8.self) != nil else {
            throw BoxError(.usage, "env file \(path) contains invalid utf8 bytes", exitCode: 125)
        }
        var lines: [String] = []
        // By bytes: a String would hold CR LF as one Character, which no split on LF finds.
        for var raw in text.split(separator: 0x0A, omittingEmptySubsequences: false) {
            if raw.last == 0x0D { raw = raw.dropLast() }  // Go's line scanner drops a CR before the LF
            let line = String(decoding: raw, as: UTF8.self).drop { $0 == " " || $0 == "\t" }
            if line.isEmpty || line.hasPrefix("#") { continue }
            let parts = line.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = parts[0]
            if name.isEmpty { throw BoxError(.usage, "no variable name on line '\(line)' of \(path)", exitCode: 125) }
            if name.contains(where: { $0 == " " || $0 == "\t" }) {
                throw BoxError(.usage, "variable '\(name)' contains whitespaces (\(path))", exitCode: 125)
            }
            if parts.count == 2 {
                lines.append(String(name) + "=" + parts[1])
            } else if let value = environment(String(name)) {
                lines.append(String(name) + "=" + value)
            }
        }
        return lines
    }
}
