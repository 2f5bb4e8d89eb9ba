#if canImport(Glibc)
import Glibc
#endif
import LabKit

/// Seed 001 ("unshare -m bash ... mount --bind ...: can the previous term window see the contents of mymount?")
/// turned around: a mount namespace nobody seems to use still holds a mount. A namespace lives as long as
/// something refers to it: a process in it, a descriptor on its /proc/PID/ns/mnt, or a bind mount of that file
/// (what `unshare --mount=FILE` and `ip netns add` make). Find every holder and let it go.
public let nsKeeper = Exercise("ns-keeper", "Find what keeps a mount namespace alive, and let it go") {
    Summary("""
    A tmpfs with a file in it is mounted in a mount namespace of its own, which the host does not see. Find the \
    namespace by its inode, find everything that keeps it alive, and release it until the kernel frees it.
    """)
    Seeds("001")
    Minutes(20)
    Prerequisites("mount-namespaces")
    Value("file") { "ledger-" + $0.pick("file", from: ["aurora", "basalt", "cinder", "delta", "ember", "fjord", "glacier", "harbor"]) + ".txt" }

    // The lab's directory is a private mount of its own: a bind mount of a mount namespace's file must not be
    // propagated into that namespace (the kernel refuses the loop), so unshare --mount=FILE needs it private.
    // Then a shell in a new mount namespace mounts the tmpfs and becomes a sleep; unshare binds the
    // namespace's file under .cache, so the namespace outlives the sleep.
    LabSetup { ctx in
        let w = ctx.workDirectory, file = ctx.value("file")
        try ctx.shell("""
            mkdir -p \(w)/vault \(w)/.cache
            : > \(w)/.cache/session
            mountpoint -q \(w) || mount --bind \(w) \(w)
            mount --make-private \(w)
            """)
        let started = try ctx.shell("""
            setsid unshare --mount=\(w)/.cache/session --propagation private sh -c \
            'mount -t tmpfs -o size=1m,mode=0700 vault \(w)/vault && echo "balance: \(ctx.learner.number("balance", below: 90_000) + 10_000)" > \(w)/vault/\(file) && exec sleep infinity' \
            </dev/null >/dev/null 2>&1 &
            echo $!
            """)
        let pid = try require(Int32(started.filter { !$0.isWhitespace }), expected: "the holder's pid", observed: started, tryThis: "lab doctor")
        for _ in 0..<50 {
            if let p = Proc.read(pid), p.comm == "sleep", p.mounts.contains(where: { $0.mountPoint == w + "/vault" && $0.fsType == "tmpfs" }),
               let inode = p.namespace(.mnt) {
                try ctx.remember("ns", String(inode))
                if let id = mountNamespaceID("/proc/\(pid)/ns/mnt") { try ctx.remember("nsid", String(id)) }
                return
            }
            usleep(100_000)
        }
        throw Failure(expected: "a tmpfs on \(w)/vault in a new mount namespace", observed: "none within 5 s", tryThis: "lab doctor")
    }

    Teardown { ctx in
        let w = ctx.workDirectory
        if let id = ctx.data["nsid"].flatMap({ UInt64($0) }), let inode = ctx.data["ns"].flatMap({ UInt64($0) }) {
            for p in ctx.processes() where p.namespace(.mnt) == inode && mountNamespaceID("/proc/\(p.pid)/ns/mnt") == id {
                kill(p.pid, SIGKILL)
                ctx.reportRemoved("process \(p.label), in the exercise's mount namespace")
            }
        }
        for m in ctx.host.mounts.reversed() where m.mountPoint.hasPrefix(w + "/") && m.fsType == "nsfs" {
            umount2(m.mountPoint, Int32(MNT_DETACH))
            ctx.reportRemoved("the mount of \(m.root) on \(m.mountPoint)")
        }
        if Files.exists(w) {
            try ctx.shell("if mountpoint -q \(w); then umount -R -l \(w); fi; rm -rf \(w)")
            ctx.reportRemoved("the exercise's directory \(w) and its mounts")
        }
    }

    Goal("Free the mount namespace that holds the vault") {
        Instructions("""
        A tmpfs is mounted on `{{workdir}}/vault`, with a file `{{file}}` in it. On the host the directory \
        is empty: the mount exists in another **mount namespace** (as the seed's `unshare -m` shell had its \
        bind mount to itself).

        1. Find that namespace: which process sees the tmpfs, and what is its namespace's inode \
           (`mnt:[4026…]`)?
        2. Find **everything** that keeps the namespace alive, and release it, without rebooting and without \
           `lab reset`. The goal is reached when the kernel has freed the namespace (and with it the tmpfs): no \
           process in it, no open descriptor on it, no mount that refers to it.

        Tools: `grep vault /proc/*/mountinfo`, `readlink /proc/PID/ns/mnt`, `lsns -t mnt`, `findmnt`, \
        `nsenter`, `ls -l /proc/*/fd`, `kill`, `umount`.
        """)
        Check { ctx in
            let inode = try require(ctx.data["ns"].flatMap { UInt64($0) }, expected: "the exercise's namespace",
                                    observed: "the setup did not run", tryThis: "sudo lab reset ns-keeper, then sudo lab start ns-keeper")
            let id = ctx.data["nsid"].flatMap { UInt64($0) }
            let holders = namespaceHolders(ctx, inode: inode, id: id)
            try require(holders.processes + holders.descriptors + holders.mounts == 0,
                        expected: "mnt:[\(inode)] freed: nothing refers to it any more",
                        observed: holders.processes > 0
                            ? "it still exists: \(holders.processes) process(es) live in it"
                            : "no process lives in it any more, yet it exists: " + [
                                holders.descriptors > 0 ? "\(holders.descriptors) open descriptor(s) refer to it" : nil,
                                holders.mounts > 0 ? "\(holders.mounts) mount(s) of its nsfs file" : nil,
                            ].compactMap { $0 }.joined(separator: ", "),
                        tryThis: holders.processes > 0 ? "lsns -t mnt lists the namespaces and a process of each"
                            : holders.mounts > 0 ? "a namespace can be kept by a mount of its file: findmnt -t nsfs"
                            : "ls -l /proc/*/fd | grep 'mnt:\\[\(inode)\\]'")
            return .pass("mnt:[\(inode)] is gone: no process in it, no descriptor on it, no mount of it; its tmpfs went with it")
        }
        Hint("`grep -l ' {{workdir}}/vault ' /proc/[0-9]*/mountinfo` names the processes that see the tmpfs; `readlink /proc/PID/ns/mnt` gives the namespace's inode.")
        Hint("Once no process is left in it, `lsns` stops listing it, but it may still exist: `unshare --mount=FILE` and `ip netns add` keep a namespace with a bind mount of its /proc/PID/ns file. `findmnt -t nsfs` lists them; `nsenter --mount=FILE ls {{workdir}}/vault` proves it.")
        Solution("""
        pid=$(grep -l ' {{workdir}}/vault ' /proc/[0-9]*/mountinfo 2>/dev/null | head -1 | cut -d/ -f3)
        ns=$(readlink /proc/$pid/ns/mnt)
        for d in /proc/[0-9]*; do if [ "$(readlink $d/ns/mnt 2>/dev/null)" = "$ns" ]; then kill -9 ${d#/proc/}; fi; done
        findmnt -rn -t nsfs -o TARGET,FSROOT | awk -v ns="$ns" '$2 == ns {print $1}' | xargs -r umount
        """)
    }
}

/// What still refers to the mount namespace with this inode (and, when known, this unique id: inode numbers
/// are reused as soon as a namespace is freed, the 64-bit id of NS_GET_MNTNS_ID never is).
private func namespaceHolders(_ ctx: Context, inode: UInt64, id: UInt64?) -> (processes: Int, descriptors: Int, mounts: Int) {
    func same(_ path: String) -> Bool { id == nil || mountNamespaceID(path).map { $0 == id } ?? true }
    let link = "mnt:[\(inode)]"
    var processes = 0, descriptors = 0, mounts = 0
    var namespacesSeen: Set<UInt64> = []
    for p in ctx.processes() {
        if p.namespace(.mnt) == inode && same("/proc/\(p.pid)/ns/mnt") { processes += 1 }
        for fd in (try? Files.list("/proc/\(p.pid)/fd")) ?? [] where Files.readLink("/proc/\(p.pid)/fd/\(fd)") == link {
            if same("/proc/\(p.pid)/fd/\(fd)") { descriptors += 1 }
        }
        // Mounts of the namespace's file, in every mount namespace (one process of each is enough).
        guard let ns = p.namespace(.mnt), namespacesSeen.insert(ns).inserted else { continue }
        for m in p.mounts where m.fsType == "nsfs" && m.root == link && same("/proc/\(p.pid)/root\(m.mountPoint)") {
            mounts += 1
        }
    }
    return (processes, descriptors, mounts)
}

/// The mount namespace's unique 64-bit id (ioctl NS_GET_MNTNS_ID, Linux 6.10), or nil on an older kernel.
private func mountNamespaceID(_ path: String) -> UInt64? {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var id: UInt64 = 0
    let nsGetMntnsID: UInt = 0x8008_B705  // _IOR(0xb7, 0x5, __u64)
    return ioctl(fd, nsGetMntnsID, &id) == 0 ? id : nil
}
