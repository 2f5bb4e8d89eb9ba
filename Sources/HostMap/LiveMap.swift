#if canImport(Glibc)
import Glibc
#endif
import Engine

/// Redraws a picture like `watch`: on the terminal's alternate screen, every `interval` seconds if it changed
/// (and at once when the window is resized), until Ctrl-C or a SIGTERM, which restore the screen the user had.
///
/// No signal handler: SIGINT, SIGTERM and SIGWINCH are blocked and waited for with sigtimedwait, which is also
/// the pause between redraws. So nothing runs in a handler, and the terminal is restored on the loop's own path.
public enum LiveMap {
    /// The terminal's width in columns (nil: `fd` is no terminal).
    public static func columns(_ fd: Int32 = 1) -> Int? {
        var size = winsize()
        guard ioctl(fd, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 else { return nil }
        return Int(size.ws_col)
    }

    public static func run(interval: Double, fd: Int32 = 1, frame: (_ columns: Int) throws -> String) throws {
        var wanted = sigset_t(), previous = sigset_t()
        sigemptyset(&wanted)
        for s in [SIGINT, SIGTERM, SIGWINCH, SIGHUP] { sigaddset(&wanted, s) }
        pthread_sigmask(SIG_BLOCK, &wanted, &previous)
        _ = writeFully(fd, Array("\u{1B}[?1049h\u{1B}[?25l".utf8))  // alternate screen, cursor hidden
        defer {
            _ = writeFully(fd, Array("\u{1B}[?25h\u{1B}[?1049l".utf8))
            pthread_sigmask(SIG_SETMASK, &previous, nil)
        }
        var shown = ""
        while true {
            let text = try frame(columns(fd) ?? 100)
            if text != shown {
                // Home, the frame, then clear what the last frame left below it: no blank flash between frames.
                let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { $0 + "\u{1B}[K" }
                _ = writeFully(fd, Array(("\u{1B}[H" + lines.joined(separator: "\n") + "\u{1B}[J").utf8))
                shown = text
            }
            var timeout = timespec(tv_sec: Int(interval), tv_nsec: Int((interval - Double(Int(interval))) * 1e9))
            let got = sigtimedwait(&wanted, nil, &timeout)
            if got == SIGINT || got == SIGTERM || got == SIGHUP { return }
            if got == SIGWINCH { shown = "" }
        }
    }
}
