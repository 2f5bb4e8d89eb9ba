#if canImport(Glibc)
import Glibc
#endif

/// The one error type of the engine. It says which stage failed (so a learner knows where to look), why, and
/// the exit code the CLI should use — docker's: 125 for the engine itself, 126 when the command cannot be
/// invoked, 127 when it cannot be found, 1 for "no such ..." lookups.
public struct BoxError: Error, CustomStringConvertible, Sendable, Equatable {
    public enum Stage: String, Sendable {
        case usage, store, image, layer, create, start, exec, attach, signal, remove, state, mount, cgroup, network, registry
    }
    public var stage: Stage
    public var message: String
    public var errno: Int32?
    public var exitCode: Int32

    public init(_ stage: Stage, _ message: String, errno: Int32? = nil, exitCode: Int32 = 125) {
        self.stage = stage
        self.message = message
        self.errno = errno
        self.exitCode = exitCode
    }

    /// A failed syscall: `BoxError.sys(.mount, "mount overlay on /var/lib/box/...")` picks up errno.
    public static func sys(_ stage: Stage, _ what: String, errno err: Int32 = Glibc.errno) -> BoxError {
        BoxError(stage, what, errno: err)
    }

    public var description: String {
        guard let errno else { return message }
        return "\(message): \(String(cString: strerror(errno)))"
    }

    public static func noSuchContainer(_ name: String) -> BoxError {
        BoxError(.state, "No such container: \(name)", exitCode: 1)
    }
    public static func noSuchImage(_ name: String) -> BoxError {
        BoxError(.image, "No such image: \(name)", exitCode: 1)
    }
}
