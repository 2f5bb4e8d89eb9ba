#if canImport(Glibc)
import Glibc
#endif

/// C strings that live until `free()`: the child reads them after clone, so they must outlive the call.
final class CStrings {
    private var owned: [UnsafeMutablePointer<CChar>] = []
    private var arrays: [UnsafeMutablePointer<UnsafePointer<CChar>?>] = []

    func c(_ s: String) -> UnsafePointer<CChar> {
        let p = strdup(s)!
        owned.append(p)
        return UnsafePointer(p)
    }

    /// A NULL-terminated array of C strings.
    func array(_ items: [String]) -> UnsafeMutablePointer<UnsafePointer<CChar>?> {
        let a = UnsafeMutablePointer<UnsafePointer<CChar>?>.allocate(capacity: items.count + 1)
        for (i, s) in items.enumerated() { a[i] = c(s) }
        a[items.count] = nil
        arrays.append(a)
        return a
    }

    func free() {
        owned.forEach { Glibc.free($0) }
        arrays.forEach { $0.deallocate() }
        owned = []
        arrays = []
    }
}
