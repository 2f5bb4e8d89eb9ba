#if canImport(Glibc)
import Glibc
#endif
import LabKit

/// Seed 001 ("Fun with union filesystems": `mount | grep overlay` in a container, "Do multiple containers of the
/// same image share the same lowerdir?", "where is all this stuff stored?", copy_up, whiteouts), seed 003 ("Each
/// and every container gets its own thin writable layer ... read only image layers are sharable") and seed 004
/// (a new file made in the container, found and `cat`-ed in the layer's diff directory on the host; the
/// container started again, its file still there).
public let overlay = Lab("overlay", "Layers: lowerdir, upperdir, copy-up and whiteouts") {
    Summary("""
    Find a container's overlay mount and its lowerdir, upperdir and workdir; see two containers of one image \
    share the lowerdir; find a file made in the container in its upper dir on the host; watch copy-up and a \
    whiteout happen; find where box keeps it all.
    """)
    Seeds("001", "003", "004")
    Minutes(25)
    Value("word") { $0.pick("word", from: ["amber", "birch", "cobalt", "dune", "ember", "fern", "garnet", "heath", "indigo", "juniper"]) }
    // An applet link of the busybox image (DefaultImage links every applet of the host's busybox-static).
    Value("tool") { $0.pick("tool", from: ["vi", "ed", "rev", "more", "cpio", "watch", "gzip", "tar"]) }

    Step("overlay-root", "A container's root is an overlay mount") {
        Instructions("""
        Seed 003: "each and every container gets its own thin writable layer which sits on top of read-only \
        layers of the image ... possible due to the union mount concept". Look at that mount. In terminal 1:
        ```
        sudo box run -it --name ov1 busybox sh
        mount | grep overlay
        ```
        The container's `/` is a filesystem of type **overlay**, with three options:

        - `lowerdir=`: the image's layers, read-only (several, separated by `:`, the top one first);
        - `upperdir=`: the container's own writable layer, where every change goes;
        - `workdir=`: scratch space overlayfs needs beside the upper dir.

        The same mount is on the host. In terminal 2:
        ```
        mount | grep overlay
        sudo grep overlay /proc/$(sudo box inspect --format '{{.State.Pid}}' ov1)/mountinfo
        ```
        The host mounts it on a `merged` directory; `/proc/PID/mountinfo` of ov1's PID 1 shows it as that \
        process sees it: on `/`. Both show the same options.
        """)
        Ask("Which directory is ov1's upperdir?", answer: "PATH")
        Check { ctx in
            let (c, pid1) = try ctx.newShell("ov1", start: "sudo box run -it --name ov1 busybox sh")
            let layers = try ctx.overlay(of: pid1, name: "ov1")
            let answer = try require(ctx.answer, expected: "ov1's upperdir: lab answer PATH", observed: "no answer yet",
                                     tryThis: "mount | grep overlay in ov1, and copy the path after upperdir=")
            try require(answer.count == 1 && trimmedPath(answer[0]) == layers.upper,
                        expected: "the upperdir option of ov1's overlay", observed: "you answered \(answer.joined(separator: " "))",
                        tryThis: "in ov1: mount | grep overlay; the path between upperdir= and the next comma")
            return .pass("ov1's / is overlay \(layers.device): \(layers.lower.count) lowerdir(s), upperdir \(layers.upper)")
        }
        Hint("Inside ov1, `mount | grep overlay` prints one long line: the upper dir is the path after `upperdir=`, up to the comma.")
        Hint("The answer is one path, e.g. `lab answer /var/lib/box/overlay2/<64 hex digits>/diff`.")
        Solution("box run -dit --name ov1 busybox sh",
                 "lab answer $(grep -o 'upperdir=[^,]*' /proc/$(box inspect --format '{{.State.Pid}}' ov1)/mountinfo | cut -d= -f2)")
    }

    Step("shared-lower", "Two containers of one image share the lowerdir") {
        Instructions("""
        Seed 001 asks: "do multiple containers of the same image share the same lowerdir?" Keep ov1 open, and \
        in terminal 2 start a second container of the same image:
        ```
        sudo box run -it --name ov2 busybox sh
        mount | grep overlay
        ```
        Compare its line with ov1's. The **lowerdir** is the same directory: the image's layer, unpacked once on \
        the host and shared, read-only, by every container of the image. The **upperdir** differs: each \
        container gets its own thin writable layer (seed 003).
        """)
        Check { ctx in
            let (c1, p1) = try ctx.running("ov1", tryThis: "start ov1 again (step 1): sudo box run -it --name ov1 busybox sh")
            let (c2, p2) = try ctx.newShell("ov2", start: "sudo box run -it --name ov2 busybox sh")
            let l1 = try ctx.overlay(of: p1, name: "ov1"), l2 = try ctx.overlay(of: p2, name: "ov2")
            try require(c1.spec.Image == c2.spec.Image && l1.lower == l2.lower,
                        expected: "ov2 made from ov1's image, with the same lowerdir",
                        observed: "ov2's lowerdir is \(l2.lower.joined(separator: ":")), ov1's \(l1.lower.joined(separator: ":"))",
                        tryThis: "sudo box rm -f ov2; sudo box run -it --name ov2 busybox sh")
            try require(l1.upper != l2.upper, expected: "two upper dirs", observed: "both use \(l1.upper)",
                        tryThis: "this should not happen: run lab doctor")
            return .pass("ov1 and ov2 share lowerdir \(l1.lower.joined(separator: ":")); their upper dirs are \(l1.upper) and \(l2.upper)")
        }
        Hint("Same image, same lowerdir: start ov2 from `busybox`, like ov1.")
        Solution("box run -dit --name ov2 busybox sh")
    }

    Step("upper-dir", "A new file lands in the upper dir") {
        Instructions("""
        Seed 004 makes a file in a container and finds it on the host, in the layer's `diff` directory. In ov1 \
        (terminal 1):
        ```
        echo "{{word}} was here" > /newfile.txt
        ```
        Now, **on the host**, list ov1's upper dir (the path you found in step 1) and read the file there:
        ```
        sudo ls -li UPPERDIR
        sudo cat UPPERDIR/newfile.txt
        ```
        The upper dir holds only what ov1 changed; the image's files are in the lowerdir. ov2's upper dir \
        does not have the file, and `ls /newfile.txt` in ov2 finds nothing.
        """)
        Ask("What is the inode number of newfile.txt in ov1's upper dir, as the host's `ls -i` shows it?", answer: "INODE")
        Check { ctx in
            let (_, p1) = try ctx.running("ov1", tryThis: "start ov1 again (step 1)")
            let upper = try ctx.overlay(of: p1, name: "ov1").upper
            let file = upper + "/newfile.txt"
            let st = try require(FileFacts.lstat(file), expected: "newfile.txt in ov1's upper dir", observed: "\(upper) has no newfile.txt",
                                 tryThis: "in ov1: echo \"\(ctx.value("word")) was here\" > /newfile.txt")
            try require(st.isRegular && st.changed(since: ctx.clock), expected: "newfile.txt written during this step",
                        observed: "the newfile.txt there was last changed before the step started",
                        tryThis: "in ov1, write it again: echo \"\(ctx.value("word")) was here\" > /newfile.txt")
            let text = Files.readIfPresent(file) ?? ""
            try require(text.contains(ctx.value("word")), expected: "the file to say \"\(ctx.value("word")) was here\"",
                        observed: "it says \(text.trimmed.isEmpty ? "nothing" : "\"\(text.trimmed)\"")",
                        tryThis: "in ov1: echo \"\(ctx.value("word")) was here\" > /newfile.txt")
            if let p2 = try? ctx.running("ov2", tryThis: "").1, let l2 = try? ctx.overlay(of: p2, name: "ov2") {
                try require(FileFacts.lstat(l2.upper + "/newfile.txt") == nil, expected: "newfile.txt in ov1's layer only",
                            observed: "ov2's upper dir has one too", tryThis: "remove it from ov2 (rm /newfile.txt there)")
            }
            let inode = try ctx.numericAnswer(count: 1)[0]
            try ctx.requireAnswered(inode, UInt64(inode) == UInt64(st.inode), expected: "the inode of \(file)",
                                    tryThis: "on the host: sudo ls -i \(upper)")
            return .pass("\(file) is inode \(st.inode) (in ov1, `ls -i /newfile.txt` shows the same: overlayfs passes an upper-only file through)")
        }
        Hint("The upper dir is the `upperdir=` path of step 1; `sudo ls -i` prints inode numbers in the first column.")
        Solution("box exec ov1 sh -c 'echo \"{{word}} was here\" > /newfile.txt'",
                 "U=$(grep -o 'upperdir=[^,]*' /proc/$(box inspect --format '{{.State.Pid}}' ov1)/mountinfo | cut -d= -f2)",
                 "cat $U/newfile.txt",
                 "lab answer $(stat -c %i $U/newfile.txt)")
    }

    Step("copy-up", "Copy-up: the first write to an image file") {
        Instructions("""
        Seed 001: "when a write occurs to an existing file for the first time, a copy_up ... moves it from \
        lower to current". `/etc/passwd` comes from the image: it is in the lowerdir, not in ov1's upper dir. \
        On the host:
        ```
        sudo ls -li LOWERDIR/etc/passwd
        sudo ls -l UPPERDIR/etc
        ```
        (`No such file or directory`: nothing in /etc has changed yet). Now, in ov1, add a user to it and look at its inode from inside:
        ```
        ls -i /etc/passwd
        echo "{{word}}:x:1000:1000::/home:/bin/sh" >> /etc/passwd
        ls -i /etc/passwd
        ```
        On the host, `sudo ls -li UPPERDIR/etc/passwd` shows a **copy**: overlayfs copied the whole file up \
        before the write, and the lower one is unchanged (ov2 still has the image's passwd). Inside ov1 the \
        inode number did not change: overlayfs keeps showing the lower file's number, so a program inside never \
        notices the copy.
        """)
        Ask("What are the inode numbers of the two passwd files on the host: the lowerdir's, then the upperdir's?", answer: "LOWER UPPER")
        Check { ctx in
            let (_, p1) = try ctx.running("ov1", tryThis: "start ov1 again (step 1)")
            let layers = try ctx.overlay(of: p1, name: "ov1")
            let lowerFile = try require(layers.lower.map { $0 + "/etc/passwd" }.first { FileFacts.lstat($0) != nil },
                                        expected: "/etc/passwd in ov1's image", observed: "no lowerdir of ov1 has etc/passwd",
                                        tryThis: "start ov1 from busybox (step 1)")
            let upperFile = layers.upper + "/etc/passwd"
            let up = try require(FileFacts.lstat(upperFile), expected: "a copy of /etc/passwd in ov1's upper dir",
                                 observed: "\(layers.upper)/etc has no passwd: nothing wrote to it",
                                 tryThis: "in ov1: echo \"\(ctx.value("word")):x:1000:1000::/home:/bin/sh\" >> /etc/passwd")
            try require(up.isRegular && up.changed(since: ctx.clock), expected: "the copy made during this step",
                        observed: "\(upperFile) was last changed before the step started",
                        tryThis: "append the line again in ov1 (>> /etc/passwd)")
            let lowerText = Files.readIfPresent(lowerFile) ?? "", upperText = Files.readIfPresent(upperFile) ?? ""
            try require(upperText.hasPrefix(lowerText) && upperText.contains(ctx.value("word") + ":x:"),
                        expected: "the upper copy to be the image's passwd plus your \(ctx.value("word")) line",
                        observed: upperText.hasPrefix(lowerText) ? "it has no \(ctx.value("word")) line" : "it does not begin with the image's passwd (> instead of >>?)",
                        tryThis: upperText.hasPrefix(lowerText)
                            ? "append (>>, not >) in ov1: echo \"\(ctx.value("word")):x:1000:1000::/home:/bin/sh\" >> /etc/passwd"
                            : "put the image's file back into ov1 (sudo box cp \(lowerFile) ov1:/etc/passwd), then append your line with >>")
            try require(!lowerText.contains(ctx.value("word")), expected: "the lower passwd unchanged",
                        observed: "\(lowerFile) has your line: the image's layer was written on the host",
                        tryThis: "lab reset overlay: the image layer must not be edited by hand")
            let lower = try require(FileFacts.lstat(lowerFile), expected: "the lower passwd", observed: "it is gone", tryThis: "lab reset overlay")
            let answer = try ctx.numericAnswer(count: 2)
            try require(answer == [Int(lower.inode), Int(up.inode)], expected: "the lower inode first, then the upper one",
                        observed: "you answered \(answer[0]) \(answer[1])",
                        tryThis: "on the host: sudo ls -i LOWERDIR/etc/passwd UPPERDIR/etc/passwd")
            return .pass("copy-up: \(upperFile) (inode \(up.inode), \(up.size) bytes) is a copy of \(lowerFile) (inode \(lower.inode), \(lower.size) bytes), which is unchanged")
        }
        Hint("LOWERDIR and UPPERDIR are the paths after `lowerdir=` and `upperdir=` in `mount | grep overlay`.")
        Hint("Append with `>>`: `>` would empty the file first (still a copy-up, but the check wants the image's lines kept).")
        Solution("box exec ov1 sh -c 'echo \"{{word}}:x:1000:1000::/home:/bin/sh\" >> /etc/passwd'",
                 "M=/proc/$(box inspect --format '{{.State.Pid}}' ov1)/mountinfo",
                 "L=$(grep -o 'lowerdir=[^,]*' $M | cut -d= -f2 | cut -d: -f1)",
                 "U=$(grep -o 'upperdir=[^,]*' $M | cut -d= -f2)",
                 "lab answer $(stat -c %i $L/etc/passwd) $(stat -c %i $U/etc/passwd)")
    }

    Step("whiteout", "A delete is a whiteout") {
        Instructions("""
        Seed 001: "when a file is deleted within a container, a whiteout file is created in the current \
        layer. The underlying images are read only so not affected." The lowerdir cannot change, so a delete \
        is recorded in the upper dir. In ov1, delete an applet of the image:
        ```
        rm /bin/{{tool}}
        ls /bin/{{tool}}
        ```
        On the host:
        ```
        sudo ls -l UPPERDIR/bin
        ```
        `c--------- ... 0, 0 {{tool}}`: a **character device 0/0**, overlayfs's whiteout. It hides the lower \
        file in ov1's merged view. `sudo ls -l LOWERDIR/bin/{{tool}}` is still there, and in ov2 (terminal 2) \
        `ls -l /bin/{{tool}}` still works. `sudo box diff ov1` lists it as `D /bin/{{tool}}`.
        """)
        Check { ctx in
            let tool = ctx.value("tool")
            let (_, p1) = try ctx.running("ov1", tryThis: "start ov1 again (step 1)")
            let layers = try ctx.overlay(of: p1, name: "ov1")
            let lowerFile = try require(layers.lower.map { $0 + "/bin/" + tool }.first { FileFacts.lstat($0) != nil },
                                        expected: "/bin/\(tool) in ov1's image", observed: "no lowerdir of ov1 has bin/\(tool)",
                                        tryThis: "lab doctor: this busybox has no \(tool) applet")
            let whiteout = layers.upper + "/bin/" + tool
            let st = try require(FileFacts.lstat(whiteout), expected: "a whiteout for /bin/\(tool) in ov1's upper dir",
                                 observed: "\(layers.upper)/bin has no \(tool)", tryThis: "in ov1: rm /bin/\(tool)")
            try require(st.isWhiteout, expected: "a character device 0/0 (a whiteout)",
                        observed: "\(whiteout) is \(st.kind)", tryThis: "in ov1: rm /bin/\(tool) (a copy-up leaves a file, a delete a whiteout)")
            try require(st.changed(since: ctx.clock), expected: "the delete done during this step",
                        observed: "the whiteout was made before the step started", tryThis: "lab reset overlay, and do the steps again")
            try require(FileFacts.lstat("/proc/\(p1.pid)/root/bin/\(tool)") == nil, expected: "/bin/\(tool) gone in ov1",
                        observed: "ov1 still sees it", tryThis: "in ov1: rm /bin/\(tool)")
            if let p2 = try? ctx.running("ov2", tryThis: "").1 {
                try require(FileFacts.lstat("/proc/\(p2.pid)/root/bin/\(tool)") != nil, expected: "ov2 still to have /bin/\(tool)",
                            observed: "ov2 has no /bin/\(tool) either", tryThis: "delete it in ov1 only: start ov2 again (sudo box rm -f ov2; sudo box run -it --name ov2 busybox sh)")
            }
            return .pass("\(whiteout) is a character device 0/0; \(lowerFile) is untouched and still seen by the image's other containers")
        }
        Hint("Delete it inside ov1 (terminal 1), not on the host: `rm /bin/{{tool}}`.")
        Solution("box exec ov1 rm /bin/{{tool}}",
                 "ls -l $(grep -o 'upperdir=[^,]*' /proc/$(box inspect --format '{{.State.Pid}}' ov1)/mountinfo | cut -d= -f2)/bin")
    }

    Step("storage", "Where all this is stored") {
        Instructions("""
        Seed 001: "where is all this stuff stored?" docker keeps it in /var/lib/docker/overlay2; box in \
        **BOX_ROOT** (/var/lib/box unless `BOX_ROOT` says otherwise). `box info` tells:
        ```
        sudo box info
        sudo ls ROOT/overlay2
        ```
        One directory per layer: an image layer holds `diff/`; a container's holds `diff/` (its upper dir), \
        `work/` and `merged/` (the overlay mount, while it runs). Now leave ov1: type `exit` in terminal 1. \
        Its PID 1 ends, the overlay is unmounted (`mount | grep overlay` on the host lists ov2's only, \
        `merged/` is empty), and yet the upper dir stays:
        ```
        sudo ls UPPERDIR
        ```
        Seed 004 then starts the container again. Do so, and find your file:
        ```
        sudo box start -ai ov1
        cat /newfile.txt
        ```
        """)
        Check { ctx in
            let (c, p1) = try ctx.running("ov1", tryThis: "sudo box start -ai ov1")
            try require(c.spec.Created < ctx.clock.wall, expected: "ov1 the container of the earlier steps, started again",
                        observed: "ov1 was created during this step: a new container, with a new, empty upper dir",
                        tryThis: "the old ov1 and its layer are gone (box rm removes both); sudo lab reset overlay to do the lab again")
            let events = ctx.events().filter { $0.id == c.id }
            try require(events.contains { $0.action == "die" } && p1.started(after: ctx.clock),
                        expected: "ov1 stopped and started again during this step",
                        observed: events.contains { $0.action == "die" } ? "ov1 stopped, but its PID 1 now is older than the step" : "ov1 has run all along",
                        tryThis: "type exit in ov1's shell, then: sudo box start -ai ov1")
            let layers = try ctx.overlay(of: p1, name: "ov1")
            let text = Files.readIfPresent("/proc/\(p1.pid)/root/newfile.txt") ?? ""
            try require(text.contains(ctx.value("word")), expected: "ov1's /newfile.txt still there after the restart",
                        observed: "ov1 has no /newfile.txt with \(ctx.value("word")) in it",
                        tryThis: "step 3 made it; do not remove ov1 (box rm) between the exit and the start")
            return .pass("ov1 runs again (PID \(p1.pid)) on the same upper dir \(layers.upper), in \(ctx.storageRoot)/overlay2: /newfile.txt survived the stop")
        }
        Hint("`exit` ends the shell, which is PID 1: the container stops. `sudo box ps -a` shows it Exited.")
        Hint("`sudo box start -ai ov1` starts the same container again, attached: same layer, new PID 1.")
        Solution("box info | grep 'Root Dir'",
                 "box stop -t 1 ov1 2>/dev/null",
                 "box start ov1",
                 "box exec ov1 cat /newfile.txt")
    }
}

/// The overlay mounted on `/` in `pid`'s mount namespace, with its options split: what `mount | grep overlay`
/// shows inside the container.
private func trimmedPath(_ s: String) -> String {
    var p = s.trimmed
    while p.count > 1 && p.hasSuffix("/") { p.removeLast() }
    return p
}
