#if canImport(Glibc)
import Glibc
#endif
import LabKit

/// Seed 001 ("How are these folders used? Linux filesystem mounts provide a namespace for folders and files"):
/// `unshare -m bash` in another terminal, a bind mount there, and the first terminal cannot see it. Then what
/// propagation changes: a mount made in a namespace that shares its mounts with the host's does appear there.
public let mountNamespaces = Lab("mount-namespaces", "A bind mount the other terminal cannot see") {
    Summary("""
    Make a mount namespace with unshare -m, bind-mount a directory in it, and see that the host's terminal \
    does not see the mount; then make one that shares its mounts with the host, and see the difference.
    """)
    Seeds("001")
    Minutes(15)
    Value("word") { $0.pick("word", from: ["aurora", "basalt", "cinder", "delta", "ember", "fjord", "glacier", "harbor"]) }
    // How many notes source/ holds: what terminal 2 counts in target/ differs from one learner to the next.
    Value("notes") { String(2 + $0.number("notes", below: 6)) }

    // The lab's own directory: source/ holds a file, target/ is where the learner mounts it; the directory
    // itself is a shared mount, so that the last step can show propagation whatever the host's / is.
    LabSetup { ctx in
        let w = ctx.workDirectory
        try ctx.shell("""
            mkdir -p \(w)/source \(w)/target
            for i in $(seq 1 \(ctx.value("notes"))); do echo '\(ctx.value("word"))' > \(w)/source/note$i.txt; done
            mountpoint -q \(w) || mount --bind \(w) \(w)
            mount --make-shared \(w)
            """)
    }
    Teardown { ctx in
        let w = ctx.workDirectory
        // Learners' shells in the lab's namespaces keep copies of its mounts: end those that hold one.
        for p in ctx.processes() where !p.shares(.mnt, with: ctx.host) && p.shares(.pid, with: ctx.host)
            && p.mounts.contains(where: { $0.mountPoint.hasPrefix(w + "/") }) {
            kill(p.pid, SIGKILL)
            ctx.reportRemoved("process \(p.label), which held a mount of the lab")
        }
        if Files.exists(w) {
            try ctx.shell("if mountpoint -q \(w); then umount -R -l \(w); fi; rm -rf \(w)")
            ctx.reportRemoved("the lab's directory \(w) and its mounts")
        }
    }

    Step("unshare", "A shell in a new mount namespace") {
        Instructions("""
        Open a second terminal (terminal 2) and start a shell in a new **mount namespace**:
        ```
        sudo unshare -m sh
        ```
        (bash works too.) It starts with a copy of the host's mount table; from now on, mounts made on one \
        side are not seen on the other. Keep this shell open.
        """)
        Check { ctx in
            let shell = try ctx.learnerShell(inNew: [.mnt], tryThis: "sudo unshare -m sh   (in terminal 2, and keep it open)")
            try require(ctx.hasHostRoot(shell), expected: "a copy of the host's mount table (what unshare -m makes)",
                        observed: "\(shell.label)'s / is not the host's root filesystem", tryThis: "sudo unshare -m sh")
            return .pass("\(shell.label) lives in mnt:[\(shell.namespace(.mnt) ?? 0)]; the host is in mnt:[\(ctx.host.namespace(.mnt) ?? 0)]")
        }
        Hint("`unshare -m` needs root: `sudo unshare -m sh`. Keep it open and type `lab next` in another terminal.")
        // A shell that stays, as the learner's does; its pidfile is how the later solutions find it.
        Solution("setsid unshare -m sh -c 'echo $$ > {{workdir}}/shell.pid; sleep 86402; :' </dev/null >/dev/null 2>&1 &")
    }

    Step("bind-mount", "Bind-mount a directory in it") {
        Instructions("""
        In terminal 2 (the unshare'd shell), mount one directory over another, as the seed does:
        ```
        mount --bind {{workdir}}/source {{workdir}}/target
        ls {{workdir}}/target
        ```
        The notes show up in target/. Now, in terminal 1 (the host):
        ```
        ls {{workdir}}/target
        grep {{workdir}} /proc/self/mountinfo
        ```
        Empty: the mount exists only in terminal 2's mount namespace.
        """)
        Check { ctx in
            let target = ctx.workDirectory + "/target"
            let holders = ctx.processes().filter { !$0.shares(.mnt, with: ctx.host) && $0.shares(.pid, with: ctx.host) && !ctx.isInContainer($0) }
            let holder = try require(holders.first { p in p.mounts.contains { $0.mountPoint == target && $0.root.hasSuffix("/source") } },
                                     expected: "\(target) bind-mounted in your new mount namespace",
                                     observed: holders.isEmpty ? "no shell in a mount namespace of its own" : "no mount on \(target) there",
                                     tryThis: "in the unshare'd shell: mount --bind \(ctx.workDirectory)/source \(target)")
            let onHost = ctx.host.mounts.contains { $0.mountPoint == target }
            try require(!onHost, expected: "the host not to see the mount", observed: "the host's mount table has \(target) too",
                        tryThis: "you mounted it on the host: umount \(target) there, and mount it in the unshare'd shell")
            return .pass("\(target) is a mount in mnt:[\(holder.namespace(.mnt) ?? 0)] (\(holder.label)) and not in the host's")
        }
        Hint("Run the mount in the shell `unshare -m` started, not in a new terminal.")
        Solution("nsenter --target $(cat {{workdir}}/shell.pid) --mount mount --bind {{workdir}}/source {{workdir}}/target")
    }

    Step("who-sees-what", "Who sees what") {
        Instructions("""
        Compare the two views once more:
        ```
        ls {{workdir}}/target         # in terminal 1 (host) and in terminal 2
        ```
        """)
        Ask("How many entries does terminal 1 (the host) see in target/, and how many terminal 2?", answer: "HOST MINE")
        Check { ctx in
            let target = ctx.workDirectory + "/target"
            let holders = ctx.processes().filter { p in
                !p.shares(.mnt, with: ctx.host) && p.mounts.contains { $0.mountPoint == target }
            }
            let holder = try require(holders.first, expected: "your unshare'd shell with its mount (step 2)",
                                     observed: "no process has \(target) mounted", tryThis: "redo step 2's mount in terminal 2")
            func count(_ pid: Int32) -> Int { ((try? Files.list("/proc/\(pid)/root\(target)")) ?? []).count }
            let host = count(ctx.host.pid), mine = count(holder.pid)
            try ctx.requireAnswer(numbers: [host, mine], tryThis: "ls -A \(target) on each side, and count")
            return .pass("the host sees \(host) entr\(host == 1 ? "y" : "ies") in target/, mnt:[\(holder.namespace(.mnt) ?? 0)] sees \(mine)")
        }
        Solution("lab answer $(ls -A {{workdir}}/target | wc -l) $(nsenter --target $(cat {{workdir}}/shell.pid) --mount ls -A {{workdir}}/target | wc -l)")
    }

    Step("shared", "Shared propagation: mounts that do cross") {
        Instructions("""
        `unshare -m` made every mount in the new namespace **private** (its default, `--propagation private`). \
        The lab's directory {{workdir}} is a **shared** mount on the host (`findmnt -o TARGET,PROPAGATION {{workdir}}`). \
        Keep that sharing in a new namespace, in a third terminal:
        ```
        sudo unshare -m --propagation unchanged sh
        mount --bind {{workdir}}/source {{workdir}}/target
        ```
        Now `ls {{workdir}}/target` on the host shows note.txt: a mount under a shared mount is copied to \
        every peer of it, the host's included. `grep shared /proc/self/mountinfo` shows the peer groups.
        """)
        Check { ctx in
            let target = ctx.workDirectory + "/target"
            let onHost = ctx.host.mounts.filter { $0.mountPoint == target }
            let sharers = ctx.processes().filter { p in
                p.started(after: ctx.clock) && !p.shares(.mnt, with: ctx.host) && p.shares(.pid, with: ctx.host)
                    && ctx.isLearners(p) && p.isShell && p.mounts.contains { $0.mountPoint == ctx.workDirectory && $0.isShared }
            }
            try require(!sharers.isEmpty, expected: "a shell in a new mount namespace, started in this step, that keeps \(ctx.workDirectory) shared",
                        observed: "no such process", tryThis: "sudo unshare -m --propagation unchanged sh")
            try require(!onHost.isEmpty, expected: "\(target) mounted, and seen by the host",
                        observed: "the host's mount table has nothing on \(target)",
                        tryThis: "in the new shell: mount --bind \(ctx.workDirectory)/source \(target)")
            // Mount ids are global and the original is made before its propagated copies: the host's copy
            // must be younger than the new namespace's mount, i.e. it came from there.
            let origins = sharers.compactMap { p in p.mounts.first { $0.mountPoint == target }?.id }
            try require(onHost.contains { m in origins.contains { $0 < m.id } },
                        expected: "the mount made in the new namespace, propagated to the host",
                        observed: origins.isEmpty ? "the new namespace has no mount on \(target)" : "the host's mount on \(target) was made on the host",
                        tryThis: "umount \(target) on the host, then mount it in the new shell")
            return .pass("the host sees \(target) (propagated: \(onHost[0].propagation), \(onHost[0].tags.joined(separator: " ")))")
        }
        Hint("Without `--propagation unchanged`, unshare makes everything private again and nothing crosses.")
        Solution("setsid unshare -m --propagation unchanged sh -c 'mount --bind {{workdir}}/source {{workdir}}/target; sleep 86403; :' </dev/null >/dev/null 2>&1 &")
    }
}
