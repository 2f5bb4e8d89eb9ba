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
    ///
    /// `seccomp=FILE` is a profile in docker's format: as docker's client does, box reads the file here and keeps
    /// its text ("seccomp={...}", which `inspect` shows as docker does), so a later change of the file changes
    /// nothing, and a start or `box exec` needs no file of the user's.
    public static func validate(_ options: [String]) throws -> [String] {
        try options.map { option in
            let separator: Character = option.hasPrefix("seccomp:") || option.hasPrefix("no-new-privileges:") ? ":" : "="
            let parts = option.split(separator: separator, maxSplits: 1).map(String.init)
            switch (parts.first, parts.count == 2 ? parts[1] : nil) {
            case ("seccomp", "unconfined"?):
                return "seccomp=unconfined"
            case ("seccomp", let value?):
                var text = value
                if !value.hasPrefix("{") {
                    guard let bytes = try? Files.read(value) else {
                        throw BoxError(.usage, "--security-opt seccomp=\(value): no such profile file (a seccomp profile in docker's JSON format, or unconfined)")
                    }
                    text = String(decoding: bytes, as: UTF8.self)
                }
                text = String(text.drop { $0.isWhitespace })  // kept as "seccomp={...": how a start knows it
                _ = try Profile.parse(text)
                return "seccomp=" + text
            case ("no-new-privileges", nil), ("no-new-privileges", "true"?):
                return "no-new-privileges"  // what box gives every process anyway
            default:
                throw BoxError(.usage, "--security-opt \(option): box knows seccomp=unconfined, seccomp=FILE and no-new-privileges only")
            }
        }
    }

    /// Whether a container's processes run without a filter: `--security-opt seccomp=unconfined`, or
    /// `--privileged` without a profile of its own (moby's daemon/seccomp_linux.go WithSeccomp: a privileged
    /// container gets the profile it names, else none). `securityOpt`: its HostConfig.SecurityOpt.
    public static func isUnconfined(securityOpt: [String], privileged: Bool) -> Bool {
        securityOpt.contains("seccomp=unconfined") || (privileged && customProfile(securityOpt) == nil)
    }

    /// The profile of the user's that `securityOpt` names (its JSON text), if any.
    static func customProfile(_ securityOpt: [String]) -> String? {
        securityOpt.first { $0.hasPrefix("seccomp={") }.map { String($0.dropFirst("seccomp=".count)) }
    }

    /// The compiled filter for a container with these options and capabilities (nil: unconfined), compiled and
    /// kept if it is not there yet (ContainerSpec.seccompFilter passes a container's).
    public static func filterFile(securityOpt: [String], privileged: Bool, caps: UInt64, root: EngineRoot) throws -> String? {
        if isUnconfined(securityOpt: securityOpt, privileged: privileged) { return nil }
        if let text = customProfile(securityOpt) {
            let profile = try Profile.parse(text)
            let digest = String(Digest.sha256(Array(text.utf8)).dropFirst("sha256:".count).prefix(16))
            let id = "custom-" + digest + "-" + String(cString: box_seccomp_library())
            return try kept(id, caps: caps, root: root) { fd, failed in
                try profile.compile(caps: caps, kernel: kernelVersion, to: fd, failed: &failed)
            }
        }
        return try filterFile(caps: caps, root: root)
    }

    public static func filterFile(caps: UInt64, root: EngineRoot) throws -> String {
        try kept(String(cString: box_seccomp_default_id()), caps: caps, root: root) { fd, failed in
            let room = failed.count
            return box_seccomp_compile(caps, fd, &failed, room)
        }
    }

    static var kernelRelease: String {
        var u = utsname()
        uname(&u)
        return withUnsafeBytes(of: &u.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
    }

    /// The running kernel as major*1000+minor (a profile's minKernel is compared with it, as moby does).
    static var kernelVersion: Int {
        let parts = kernelRelease.split(separator: ".").prefix(2).map { Int($0.prefix { $0.isNumber }) ?? 0 }
        return (parts.first ?? 0) * 1000 + (parts.count > 1 ? parts[1] : 0)
    }

    /// How box compiles a profile (CSpawn's seccomp.c, the generated table's layout, the architectures it adds):
    /// part of every kept filter's name, so that a box that compiles differently never loads an older box's
    /// filter. Bump it with any such change.
    static let compiledFormat = "f1"

    /// The filter file named `id`, the capability bits and the kernel release in BOX_ROOT/seccomp, made with
    /// `compile` (which writes the BPF to a descriptor and returns 0 or -errno) if it is not there yet.
    static func kept(_ id: String, caps: UInt64, root: EngineRoot, compile: (Int32, inout [CChar]) throws -> Int32) throws -> String {
        let release = kernelRelease.map { $0.isLetter || $0.isNumber || $0 == "." || $0 == "-" ? $0 : "_" }
        let dir = root.path + "/seccomp"
        let path = dir + "/" + compiledFormat + "-" + id + "-" + String(caps, radix: 16) + "-" + String(release) + ".bpf"
        if Files.exists(path) { return path }
        try Files.mkdirs(dir, mode: 0o700)
        let tmp = "\(path).tmp-\(getpid())"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard fd >= 0 else { throw BoxError.sys(.start, "create \(tmp)") }
        var failed = [CChar](repeating: 0, count: 64)
        let rc: Int32
        do { rc = try compile(fd, &failed) } catch { close(fd); unlink(tmp); throw error }
        close(fd)
        guard rc == 0 else {
            unlink(tmp)
            let name = String(decoding: failed.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
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

    /// A seccomp profile in docker's JSON format (moby's profiles/seccomp types), read as moby's setupSeccomp
    /// reads it: `archMap` (or `architectures`), each rule's `names` (or `name`), `action` with `errnoRet`
    /// (EPERM by default, as runc gives), `args`, and `includes`/`excludes` on the native architecture, the
    /// container's capabilities and the kernel's version. Unknown fields (`comment`, `flags`...) are ignored.
    struct Profile: Codable {
        var defaultAction: String
        var defaultErrnoRet: UInt32?
        var architectures: [String]?
        var archMap: [ArchMap]?
        var syscalls: [Syscall]?

        struct ArchMap: Codable { var architecture: String; var subArchitectures: [String]? }
        struct Syscall: Codable {
            var names: [String]?
            var name: String?
            var action: String
            var errnoRet: UInt32?
            var args: [Arg]?
            var includes: Filter?
            var excludes: Filter?
        }
        struct Arg: Codable { var index: UInt32; var value: UInt64; var valueTwo: UInt64?; var op: String }
        struct Filter: Codable { var caps: [String]?; var arches: [String]?; var minKernel: String? }

        static func parse(_ text: String) throws -> Profile {
            let profile: Profile
            do { profile = try JSONTree.decode(Profile.self, from: Array(text.utf8)) } catch {
                throw BoxError(.usage, "the seccomp profile is not docker's JSON format: \(error)")
            }
            if !(profile.architectures ?? []).isEmpty && !(profile.archMap ?? []).isEmpty {
                throw BoxError(.usage, "the seccomp profile names both 'architectures' and 'archMap': use one")
            }
            _ = try profile.action(profile.defaultAction, errno: profile.defaultErrnoRet)
            for call in profile.syscalls ?? [] {
                _ = try profile.action(call.action, errno: call.errnoRet)
                for arg in call.args ?? [] { _ = try op(arg.op) }
            }
            return profile
        }

        /// libseccomp's action values (seccomp.h's SCMP_ACT_*: the kernel's SECCOMP_RET_* with their data).
        func action(_ name: String, errno: UInt32?) throws -> UInt32 {
            let data = (errno ?? UInt32(EPERM)) & 0xffff
            switch name {
            case "SCMP_ACT_ALLOW": return 0x7fff_0000
            case "SCMP_ACT_ERRNO": return 0x0005_0000 | data
            case "SCMP_ACT_TRACE": return 0x7ff0_0000 | data
            case "SCMP_ACT_TRAP": return 0x0003_0000
            case "SCMP_ACT_LOG": return 0x7ffc_0000
            case "SCMP_ACT_KILL", "SCMP_ACT_KILL_THREAD": return 0
            case "SCMP_ACT_KILL_PROCESS": return 0x8000_0000
            default: throw BoxError(.usage, "the seccomp profile's action \(name) is not one box knows (SCMP_ACT_NOTIFY needs an agent box does not have)")
            }
        }

        static func op(_ name: String) throws -> UInt32 {
            let ops = ["SCMP_CMP_NE": 1, "SCMP_CMP_LT": 2, "SCMP_CMP_LE": 3, "SCMP_CMP_EQ": 4, "SCMP_CMP_GE": 5,
                       "SCMP_CMP_GT": 6, "SCMP_CMP_MASKED_EQ": 7]
            guard let op = ops[name] else { throw BoxError(.usage, "the seccomp profile's operator \(name) is not libseccomp's") }
            return UInt32(op)
        }

        /// moby's names for this machine: its GOARCH-like name, and libseccomp's for the arch map.
        static var native: (moby: String, scmp: String) {
#if arch(x86_64)
            return ("amd64", "SCMP_ARCH_X86_64")
#elseif arch(arm64)
            return ("arm64", "SCMP_ARCH_AARCH64")
#else
            return ("", "")
#endif
        }

        /// Whether `filter` (includes when `including`, else excludes) holds for this container, as setupSeccomp.
        static func holds(_ filter: Filter, caps: Set<String>, kernel: Int, including: Bool) -> Bool {
            let version: Int? = filter.minKernel.map {
                let p = $0.split(separator: ".").prefix(2).map { Int($0.prefix { $0.isNumber }) ?? 0 }
                return (p.first ?? 0) * 1000 + (p.count > 1 ? p[1] : 0)
            }
            if including {
                if let arches = filter.arches, !arches.isEmpty, !arches.contains(native.moby) { return false }
                if let need = filter.caps, !need.allSatisfy(caps.contains) { return false }
                if let version, kernel < version { return false }
                return true
            }
            if let arches = filter.arches, arches.contains(native.moby) { return true }
            if let any = filter.caps, any.contains(where: caps.contains) { return true }
            if let version, kernel >= version { return true }
            return false
        }

        /// Builds and writes the BPF program for a container with `caps`.
        func compile(caps mask: UInt64, kernel: Int, to fd: Int32, failed: inout [CChar]) throws -> Int32 {
            let caps = Set(Capabilities.names(mask))
            let strings = CStrings()
            defer { strings.free() }
            var arches = architectures ?? []
            if arches.isEmpty, let entry = (archMap ?? []).first(where: { $0.architecture == Profile.native.scmp }) {
                arches = [entry.architecture] + (entry.subArchitectures ?? [])
            }
            // libseccomp's names: SCMP_ARCH_X86_64 -> x86_64.
            let archNames = strings.array(arches.map { $0.hasPrefix("SCMP_ARCH_") ? String($0.dropFirst(10)).lowercased() : $0.lowercased() })
            var calls: [box_seccomp_call] = []
            var argBuffers: [UnsafeMutablePointer<box_seccomp_arg>] = []
            defer { argBuffers.forEach { $0.deallocate() } }
            for rule in syscalls ?? [] {
                if let exclude = rule.excludes, Profile.holds(exclude, caps: caps, kernel: kernel, including: false) { continue }
                if let include = rule.includes, !Profile.holds(include, caps: caps, kernel: kernel, including: true) { continue }
                let act = try action(rule.action, errno: rule.errnoRet)
                let args = try (rule.args ?? []).map {
                    box_seccomp_arg(index: $0.index, op: try Profile.op($0.op), value: $0.value, value_two: $0.valueTwo ?? 0)
                }
                // runc: conditions on one argument index are ANDed in one rule; the same index twice makes one
                // rule per condition (libseccomp cannot AND two conditions on one argument).
                let indexes = args.map(\.index)
                let groups = Set(indexes).count == indexes.count ? [args] : args.map { [$0] }
                for name in rule.names ?? rule.name.map({ [$0] }) ?? [] {
                    for group in groups {
                        let buffer = UnsafeMutablePointer<box_seccomp_arg>.allocate(capacity: max(1, group.count))
                        buffer.initialize(from: group, count: group.count)
                        argBuffers.append(buffer)
                        calls.append(box_seccomp_call(name: strings.c(name), action: act, args: UnsafePointer(buffer), nargs: UInt32(group.count)))
                    }
                }
            }
            let defaultAct = try action(defaultAction, errno: defaultErrnoRet)
            let room = failed.count
            return box_seccomp_compile_calls(defaultAct, UnsafePointer(archNames), calls, calls.count, fd, &failed, room)
        }
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
