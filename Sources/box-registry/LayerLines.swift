#if canImport(Glibc)
import Glibc
#endif
import DockerFormat
import Engine
import Registry
import Synchronization

/// docker's per-layer lines on standard output: `3f4d90098f5b: Pull complete`. On a terminal the layer being
/// transferred has a bar redrawn in place (`3f4d90098f5b: Downloading [=====>    ] 1.2MB/5.3MB`); otherwise only
/// the finished lines are printed, one per layer.
final class LayerLines: Sendable {
    let active: String      // "Downloading", "Pushing"
    let finished: String    // "Pull complete", "Pushed"
    let existing: String    // "Already exists", "Layer already exists"
    let terminal = isatty(1) == 1
    let quiet: Bool
    private let lastDrawn = Mutex<(String, Int64)>(("", -1))

    init(active: String, finished: String, existing: String, quiet: Bool) {
        self.active = active; self.finished = finished; self.existing = existing; self.quiet = quiet
    }

    static func short(_ digest: String) -> String { String(Digest.hex(digest).prefix(12)) }

    func callAsFunction(_ event: TransferEvent) {
        guard !quiet else { return }
        switch event {
        case .exists(let digest):
            writeOut(1, "\(Self.short(digest)): \(existing)\n")
        case .started(let digest, let size):
            if terminal { draw(digest, 0, size, force: true) }
        case .bytes(let digest, let done, let total):
            if terminal { draw(digest, done, total, force: false) }
        case .mounted(let digest, let source):
            writeOut(1, "\(Self.short(digest)): Mounted from \(source)\n")
        case .done(let digest):
            writeOut(1, (terminal ? "\r" : "") + "\(Self.short(digest)): \(finished)" + (terminal ? "\u{1b}[K" : "") + "\n")
        }
    }

    /// At most 50 redraws a layer (every 2%): a terminal write per network read is too many.
    private func draw(_ digest: String, _ done: Int64, _ total: Int64, force: Bool) {
        let step = max(total / 50, 1)
        let due = lastDrawn.withLock { last -> Bool in
            guard force || last.0 != digest || done / step != last.1 else { return false }
            last = (digest, done / step)
            return true
        }
        guard due else { return }
        let width = 40
        let filled = total > 0 ? min(Int(done * Int64(width) / total), width) : 0
        let bar = String(repeating: "=", count: filled) + (filled < width ? ">" : "") + String(repeating: " ", count: max(width - filled - 1, 0))
        writeOut(1, "\r\(Self.short(digest)): \(active) [\(bar)] \(Units.humanSize(done))/\(Units.humanSize(total))\u{1b}[K")
    }
}
