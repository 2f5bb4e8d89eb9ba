#if canImport(Glibc)
import Glibc
#endif
import DockerFormat
import Engine

/// Progress of save, load and commit on stderr: a one-line bar redrawn in place (bytes and layers) when stderr
/// is a terminal, one plain line per layer when it is not, nothing with `quiet`.
final class Progress {
    let verb: String
    let totalBytes: Int64
    let totalLayers: Int
    let terminal: Bool
    let quiet: Bool
    private var bytes: Int64 = 0
    private var layers = 0
    private var lastDraw: Int64 = -1

    init(_ verb: String, bytes: Int64, layers: Int, quiet: Bool = false) {
        self.verb = verb
        totalBytes = bytes
        totalLayers = layers
        terminal = isatty(2) == 1
        self.quiet = quiet
    }

    /// A new layer begins.
    func layer(_ name: String) {
        layers += 1
        guard !quiet else { return }
        if terminal { draw(force: true) } else { writeErr("\(verb) \(name.hasPrefix("sha256:") ? "layer " + Digest.hex(name).prefix(12) : name)\n") }
    }

    func add(_ n: Int) {
        bytes += Int64(n)
        if terminal && !quiet { draw(force: false) }
    }

    private func draw(force: Bool) {
        // Redraw at most every 1% (or 1 MB when the total is unknown): a terminal write per 64 KiB is too many.
        let step = totalBytes > 0 ? max(totalBytes / 100, 1) : 1 << 20
        guard force || bytes / step != lastDraw else { return }
        lastDraw = bytes / step
        var line = "\r" + verb
        if totalBytes > 0 {
            // A bar only when the total is known (save); otherwise the count goes up (load, commit).
            let width = 30
            let done = min(Int(bytes * Int64(width) / totalBytes), width)
            line += " [" + String(repeating: "=", count: done) + (done < width ? ">" : "")
                + String(repeating: " ", count: max(width - done - 1, 0)) + "] "
                + Units.humanSize(bytes) + "/" + Units.humanSize(totalBytes)
        } else {
            line += " " + Units.humanSize(bytes)
        }
        if totalLayers > 0 {
            line += ", layer \(min(max(layers, 1), totalLayers))/\(totalLayers)"
        } else if layers > 0 {
            line += ", \(layers) layer\(layers == 1 ? "" : "s")"
        }
        writeErr(line + "\u{1b}[K")
    }

    /// Ends the bar's line (on a terminal).
    func finish() {
        if terminal && !quiet && (bytes > 0 || layers > 0) {
            draw(force: true)
            writeErr("\n")
        }
    }
}
