#if canImport(Glibc)
import Glibc
#endif
import CSpawn

/// The seccomp filter a container's processes run under: docker's default profile (moby's default.json, turned
/// into a table by scripts/seccomp/generate.py: CSpawn's seccomp_profile.h), or none.
///
/// The profile depends on the container's capabilities (CAP_SYS_ADMIN allows mount, unshare, setns...; moby's
/// `includes.caps`), so its BPF program is compiled per set of capabilities, once: it is kept in
/// `BOX_ROOT/seccomp/` under a name made of the profile's id, the capability bits and the kernel release (a rule
/// may want a minimum kernel), as crun keeps its compiled filters in `.cache/seccomp` under a checksum of the
/// same inputs. Every start and `box exec` of a container then reads a few kilobytes instead of building the
/// filter (libseccomp: about 1,000 rules over three architectures).
public enum Seccomp {
    /// `--security-opt` values box knows, as docker spells them ("seccomp=unconfined"; docker also takes the
    /// older "seccomp:unconfined"). Anything else is refused: box has no AppArmor or SELinux, and its
    /// processes always have no_new_privs.
    public static func validate(_ options: [String]) throws -> [String] {
        try options.map { option in
            let parts = option.split(separator: option.contains("=") ? "=" : ":", maxSplits: 1).map(String.init)
            switch (parts.first, parts.count == 2 ? parts[1] : nil) {
            case ("seccomp", "unconfined"?):
                return "seccomp=unconfined"
            case ("seccomp", let path?):
                throw BoxError(.usage, "--security-opt seccomp=\(path): box cannot load a seccomp profile from a file yet; "
                               + "leave the option out for docker's default profile, or use seccomp=unconfined for none")
            case ("no-new-privileges", nil), ("no-new-privileges", "true"?):
                return "no-new-privileges"  // what box gives every process anyway
            default:
                throw BoxError(.usage, "--security-opt \(option): box knows seccomp=unconfined and no-new-privileges only")
            }
        }
    }

    /// Whether `spec`'s processes run without a filter: `--security-opt seccomp=unconfined`, or `--privileged`
    /// (as docker: a privileged container gets no seccomp profile unless one is named).
    public static func isUnconfined(_ spec: ContainerSpec) -> Bool {
        spec.HostConfig.Privileged || (spec.HostConfig.SecurityOpt ?? []).contains("seccomp=unconfined")
    }

    /// The compiled filter for `spec` (nil: unconfined), compiled and kept if it is not there yet.
    public static func filterFile(for spec: ContainerSpec, root: EngineRoot) throws -> String? {
        isUnconfined(spec) ? nil : try filterFile(caps: spec.Capabilities, root: root)
    }

    public static func filterFile(caps: UInt64, root: EngineRoot) throws -> String {
        var u = utsname()
        uname(&u)
        let release = withUnsafeBytes(of: &u.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            .map { $0.isLetter || $0.isNumber || $0 == "." || $0 == "-" ? $0 : "_" }
        let dir = root.path + "/seccomp"
        let path = dir + "/" + String(cString: box_seccomp_default_id()) + "-" + String(caps, radix: 16) + "-" + String(release) + ".bpf"
        if Files.exists(path) { return path }
        try Files.mkdirs(dir, mode: 0o700)
        let tmp = "\(path).tmp-\(getpid())"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard fd >= 0 else { throw BoxError.sys(.start, "create \(tmp)") }
        var failed = [CChar](repeating: 0, count: 64)
        let rc = box_seccomp_compile(caps, fd, &failed, failed.count)
        close(fd)
        guard rc == 0 else {
            unlink(tmp)
            let name = String(cString: failed)
            throw BoxError(.start, "build the seccomp filter" + (name.isEmpty ? "" : " (at \(name))"), errno: -rc)
        }
        // Another start may have made the same file meanwhile: the same content, so either rename wins.
        guard rename(tmp, path) == 0 else {
            let err = errno
            unlink(tmp)
            throw BoxError.sys(.start, "rename \(tmp) to \(path)", errno: err)
        }
        return path
    }

    /// The program in `file`, as the child hands it to the kernel (8 bytes an instruction).
    static func program(_ file: String) throws -> [UInt8] {
        let bytes = try Files.read(file)
        guard !bytes.isEmpty, bytes.count % 8 == 0, bytes.count / 8 <= 4096 else {
            throw BoxError(.start, "the seccomp filter \(file) is damaged: remove it and start again")
        }
        return bytes
    }
}
