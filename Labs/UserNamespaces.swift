#if canImport(Glibc)
import Glibc
#endif
import LabKit

/// Seed 000 ("Things to check: ... users namespace"; "Network, users, process tree and mounts are isolated by
/// namespace"): the one namespace box's containers do not use. `unshare -U -r sh` makes a shell that is root
/// inside a user namespace and the learner's own uid outside: uid_map says which is which, and a file made
/// inside belongs to the outside uid on the host.
public let userNamespaces = Lab("user-namespaces", "User namespaces: root inside, yourself outside") {
    Summary("""
    Start a shell in a new user namespace with unshare -U -r: root inside, your own uid outside. Read the \
    mapping in /proc/PID/uid_map, and make a file inside that the host sees as yours.
    """)
    Seeds("000")
    Minutes(15)

    // The lab's directory, writable by the learner's own user (the shell may run unprivileged).
    LabSetup { ctx in
        try ctx.shell("mkdir -p \(ctx.workDirectory) && chmod 1777 \(ctx.workDirectory)")
    }
    Teardown { ctx in
        if Files.exists(ctx.workDirectory) {
            try ctx.shell("rm -rf \(ctx.workDirectory)")
            ctx.reportRemoved("the lab's directory \(ctx.workDirectory)")
        }
    }

    Step("unshare", "A shell in a new user namespace") {
        Instructions("""
        Seed 000 lists what namespaces isolate: "Network, **users**, process tree and mounts". A **user \
        namespace** has its own uids: a process can be root (uid 0, with every capability) inside it and an \
        ordinary user outside, where the kernel checks what it touches. It is the one namespace that needs no \
        root to make. Open a second terminal (terminal 2) and, **as yourself**, without sudo:
        ```
        unshare -U -r sh
        id
        ```
        `uid=0(root)`: `-r` (`--map-root-user`) mapped your uid to 0 inside. (If your distribution forbids \
        unprivileged user namespaces, `sudo unshare -U -r sh` works too: then the outside uid is root's, 0.) \
        In terminal 1 (the host), find that shell and see whose it is:
        ```
        ps -o pid,user,comm,args -C sh
        ```
        Keep terminal 2's shell open.
        """)
        Check { ctx in
            let shell = try ctx.learnerShell(inNew: [.user], tryThis: "unshare -U -r sh   (in terminal 2, and keep it open)")
            let map = try require(shell.uidMap.first, expected: "a uid mapping for \(shell.label)",
                                  observed: "its uid_map is empty", tryThis: "unshare -U -r sh   (-r writes the mapping)")
            try require(map.inside == 0, expected: "root inside (uid 0 mapped)", observed: "uid \(map.inside) inside maps to \(map.outside)",
                        tryThis: "unshare -U -r sh   (-r maps your uid to root)")
            return .pass("\(shell.label) lives in user:[\(shell.namespace(.user) ?? 0)]: uid 0 inside is uid \(map.outside) outside")
        }
        Hint("Keep the shell running in terminal 2 and type `lab next` (or `lab check`) in another.")
        Hint("`unshare -U` alone makes the namespace with no mapping: you are `nobody` (65534) inside. `-r` maps you to root.")
        Solution("setsid unshare -U -r sh -c 'echo $$ > {{workdir}}/shell.pid; sleep 86404; :' </dev/null >/dev/null 2>&1 &",
                 "while [ ! -s {{workdir}}/shell.pid ]; do sleep 0.1; done")
    }

    Step("uid-map", "/proc/PID/uid_map") {
        Instructions("""
        The mapping is a file of the namespace: each line is `INSIDE OUTSIDE COUNT`, a range of uids inside \
        and where it starts outside. In terminal 2:
        ```
        cat /proc/$$/uid_map
        readlink /proc/$$/ns/user
        grep CapEff /proc/$$/status
        ```
        Root inside has every capability, but only over what its namespace owns: try `hostname x` or \
        `cat /etc/shadow` (a host file): permission denied. In terminal 1, `readlink /proc/$$/ns/user` \
        shows the host's namespace, another number.
        """)
        Ask("Which user namespace is your shell in (the number of user:[...]), and what is its uid_map line?",
            answer: "NAMESPACE INSIDE OUTSIDE COUNT")
        Check { ctx in
            let answer = try ctx.numericAnswer(count: 4)
            let shells = ctx.processes().filter { $0.isShell && ctx.isLearners($0) && !$0.shares(.user, with: ctx.host) && $0.shares(.pid, with: ctx.host) }
            try require(!shells.isEmpty, expected: "your shell in a user namespace (step 1)", observed: "none runs now",
                        tryThis: "unshare -U -r sh   in terminal 2, and keep it open")
            let shell = try require(shells.first { $0.namespace(.user) == UInt64(answer[0]) },
                                    expected: "the user namespace of your shell", observed: "no shell of yours is in user:[\(answer[0])]",
                                    tryThis: "readlink /proc/$$/ns/user in terminal 2")
            let map = try require(shell.uidMap.first, expected: "a uid mapping", observed: "its uid_map is empty",
                                  tryThis: "start it again with unshare -U -r sh")
            try require([map.inside, map.outside, map.count] == Array(answer[1...]), expected: "the uid_map line of user:[\(answer[0])]",
                        observed: "you answered \(answer[1...].map(String.init).joined(separator: " "))", tryThis: "cat /proc/$$/uid_map in terminal 2")
            return .pass("user:[\(answer[0])] maps \(map.count) uid: \(map.inside) inside is \(map.outside) outside")
        }
        Hint("Answer with four numbers: `lab answer 4026532xxx 0 1000 1`.")
        Solution("p=$(cat {{workdir}}/shell.pid)",
                 "lab answer $(readlink /proc/$p/ns/user | tr -dc 0-9) $(cat /proc/$p/uid_map)")
    }

    Step("file-owner", "A file made inside, seen from outside") {
        Instructions("""
        The kernel stores outside uids on disk: a file root makes inside belongs to the outside uid. In \
        terminal 2, make one that says which namespace made it:
        ```
        readlink /proc/self/ns/user > {{workdir}}/made-inside
        ls -ln {{workdir}}
        ```
        Owner 0: root, inside. Now in terminal 1:
        ```
        ls -ln {{workdir}}
        ```
        The same file belongs to the outside uid. (A file of a uid that has no mapping shows as 65534, \
        `nobody`, inside: try `ls -ln /etc/shadow` in terminal 2.)
        """)
        Check { ctx in
            let path = ctx.workDirectory + "/made-inside"
            var st = stat()
            try require(lstat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFREG, expected: "the file \(path)",
                        observed: "there is no such file", tryThis: "in terminal 2: readlink /proc/self/ns/user > \(path)")
            let modified = Int64(st.st_mtim.tv_sec) * 1_000_000_000 + Int64(st.st_mtim.tv_nsec)
            try require(modified >= ctx.clock.wall.unixNanoseconds - 20_000_000, expected: "\(path) written during this step",
                        observed: "it was written before", tryThis: "write it again: readlink /proc/self/ns/user > \(path)")
            let text = (Files.readIfPresent(path) ?? "").trimmed
            let ns = try require(UInt64(text.filter(\.isNumber)).flatMap { text.hasPrefix("user:[") ? $0 : nil },
                                 expected: "user:[NUMBER] in it (what readlink /proc/self/ns/user printed)", observed: "it holds \"\(text)\"",
                                 tryThis: "readlink /proc/self/ns/user > \(path)   (in terminal 2)")
            try require(ns != ctx.host.namespace(.user), expected: "the file made in your new user namespace",
                        observed: "it names the host's user namespace: it was made on the host",
                        tryThis: "write it from terminal 2, the unshare'd shell")
            let shell = try require(ctx.processes().first { $0.isShell && ctx.isLearners($0) && $0.namespace(.user) == ns },
                                    expected: "your shell in user:[\(ns)] still running", observed: "no shell of yours is in it",
                                    tryThis: "keep the unshare'd shell open, and write the file from it")
            let map = try require(shell.uidMap.first { $0.inside == 0 }, expected: "root mapped in user:[\(ns)]",
                                  observed: "no mapping of uid 0", tryThis: "unshare -U -r sh")
            try require(st.st_uid == map.outside, expected: "the file owned by uid \(map.outside), root's outside uid",
                        observed: "it is owned by uid \(st.st_uid)", tryThis: "write it as root in terminal 2 (id says uid=0)")
            return .pass("\(path) was made by root in user:[\(ns)] and is owned by uid \(st.st_uid) on the host")
        }
        Hint("Write it from the unshare'd shell: the lab reads the namespace number out of the file.")
        Solution("p=$(cat {{workdir}}/shell.pid)",
                 "nsenter --target $p --user sh -c 'readlink /proc/self/ns/user > {{workdir}}/made-inside'")
    }
}
