#if canImport(Glibc)
import Glibc
#endif
import Engine

/// What a container wrote: its overlay's upper directory, sorted the way overlayfs means it. A file also in a
/// lower layer was copied up (changed); one in no layer was added; a character device 0/0 is a whiteout (a file
/// of a lower layer deleted). Directories count only when new: a copied-up directory is just a parent.
public enum UpperCounts {
    /// Stops counting after this many entries: a picture redrawn every second does not walk a big tree.
    public static let limit = 20_000

    public static func count(upper: String, lowers: [String]) -> (added: Int, changed: Int, whiteouts: Int) {
        var added = 0, changed = 0, whiteouts = 0, seen = 0
        func inLower(_ relative: String) -> Bool {
            var st = stat()
            return lowers.contains { lstat($0 + relative, &st) == 0 }
        }
        func walk(_ relative: String) {
            for name in (try? Files.list(upper + relative)) ?? [] {
                seen += 1
                if seen > limit { return }
                let rel = relative + "/" + name
                var st = stat()
                guard lstat(upper + rel, &st) == 0 else { continue }
                let type = st.st_mode & S_IFMT
                if type == S_IFCHR && st.st_rdev == 0 {
                    whiteouts += 1
                } else if type == S_IFDIR {
                    if !inLower(rel) { added += 1 }
                    walk(rel)
                } else if inLower(rel) {
                    changed += 1
                } else {
                    added += 1
                }
            }
        }
        walk("")
        return (added, changed, whiteouts)
    }
}
