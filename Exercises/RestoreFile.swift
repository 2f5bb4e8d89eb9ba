#if canImport(Glibc)
import Glibc
#endif
import LabKit

/// Seed 001 ("When a file is deleted within a container, a whiteout file is created in the current layer. The
/// underlying images are read only so not affected"), seed 003 ("rootfs of a container is never made writable
/// ... always protected and read only") and seed 004 (the layer's diff directory read on the host), as a
/// challenge: a running container deleted a file of its image; put it back without restarting it.
public let restoreFile = Exercise("restore-file", "Bring back a file a running container deleted") {
    Summary("""
    A running container deleted a configuration file that came with its image. Restore it inside the \
    running container, with its original content, without restarting the container and without touching \
    the image.
    """)
    Seeds("001", "003", "004")
    Minutes(15)
    Prerequisites("overlay")
    Value("token") { l in l.pick("token", from: ["otter", "heron", "lynx", "marten", "osprey", "badger", "kestrel", "ibex"])
        + "-" + String(1000 + l.number("token", below: 9000)) }

    LabSetup { ctx in
        let w = ctx.workDirectory
        try Files.mkdirs(w + "/image")
        try Files.writeAtomically(w + "/image/app.conf", appConf(ctx), durable: false)
        try Files.writeAtomically(w + "/image/Boxfile", "FROM busybox\nLABEL boxlab.lab=restore-file\nCOPY app.conf /etc/app.conf\n", durable: false)
        // --no-cache: the image is made now, from the learner's own file, whatever the cache holds.
        try ctx.box("build", "--no-cache", "-q", "-t", "ex-files-img", w + "/image")
        // The service: deletes its configuration, then reports every change of it in its log.
        try ctx.box("run", "-d", "--name", "ex-files", "--label", "boxlab.lab=restore-file", "ex-files-img", "sh", "-c", """
            rm /etc/app.conf; s=; while :; do if [ -f /etc/app.conf ]; then n='config: /etc/app.conf is back'; \
            else n='config: /etc/app.conf is missing'; fi; [ "$n" = "$s" ] || echo "$n"; s=$n; sleep 2; done
            """)
        let c = try ctx.container("ex-files", tryThis: "lab reset restore-file")
        let pid1 = try require(Proc.read(c.state.Pid), expected: "ex-files running", observed: "it is \(c.state.Status.rawValue)",
                               tryThis: "lab reset restore-file, then lab start restore-file")
        let image = try require(ctx.images().first { $0.id == c.spec.Image }, expected: "ex-files's image",
                                observed: "it is gone", tryThis: "lab reset restore-file")
        let lower = try require(ctx.layers(of: image).last, expected: "the image's layers", observed: "none",
                                tryThis: "lab reset restore-file") + "/etc/app.conf"
        let st = try require(FileFacts.lstat(lower), expected: "etc/app.conf in the image's top layer", observed: "\(lower) is missing",
                             tryThis: "lab reset restore-file")
        try ctx.remember("id", c.id)
        try ctx.remember("pid", String(pid1.pid))
        try ctx.remember("ticks", String(pid1.startTicks))
        try ctx.remember("lower", lower)
        try ctx.remember("lower-stat", "\(st.inode) \(st.changed.unixNanoseconds)")
        // The exercise begins once the file is gone.
        for _ in 0..<100 {
            if FileFacts.lstat("/proc/\(pid1.pid)/root/etc/app.conf") == nil { return }
            usleep(50_000)
        }
        throw Failure(expected: "ex-files to delete /etc/app.conf", observed: "it did not within 5 s", tryThis: "lab doctor")
    }
    Teardown { ctx in
        // The image and its LABEL step (`box rmi` by id; the container that used it is gone by now).
        for image in ctx.images() where image.config.config.Labels?["boxlab.lab"] == "restore-file" {
            if (try? ctx.box("rmi", image.id)) != nil { ctx.reportRemoved("image \(image.shortID) (\(image.names.first ?? "a build step"))") }
        }
        if Files.exists(ctx.workDirectory) {
            try Files.removeTree(ctx.workDirectory)
            ctx.reportRemoved("the lab's directory \(ctx.workDirectory)")
        }
    }

    Goal("Restore /etc/app.conf in the running container ex-files") {
        Instructions("""
        The container `ex-files` runs a service whose start-up deleted its configuration, `/etc/app.conf`, \
        a file that came with its image (`ex-files-img`). Its log says so:
        ```
        sudo box logs ex-files
        ```
        Put the file back **inside the running container**, with exactly the content the image has. Do not \
        restart the container (its PID 1 must stay the same process), and do not change the image: its \
        layers are shared, read-only, by every container made from it.

        Tools you know: `mount | grep overlay`, `/proc/PID/mountinfo`, `/proc/PID/root`, `box inspect`, \
        `box diff`, `box exec`.
        """)
        Check { ctx in
            let id = try require(ctx.data["id"], expected: "the exercise's container", observed: "the setup did not run",
                                 tryThis: "lab reset restore-file, then lab start restore-file")
            let again = "lab reset restore-file, then lab start restore-file"
            let (c, pid1) = try ctx.running(id, tryThis: again)
            try require(String(pid1.pid) == ctx.data["pid"] && String(pid1.startTicks) == ctx.data["ticks"],
                        expected: "ex-files's PID 1 the same process as when the exercise began (host PID \(ctx.data["pid"] ?? "?"))",
                        observed: "its PID 1 is now \(pid1.pid), started \(String(pid1.startTicks) == ctx.data["ticks"] ? "then" : "later"): the container was restarted",
                        tryThis: "\(again): this time restore the file without box restart / stop / start")
            try require(!pid1.mounts.contains { $0.mountPoint == "/etc/app.conf" },
                        expected: "the file restored in the container's own layer",
                        observed: "something is mounted on /etc/app.conf in ex-files",
                        tryThis: "unmount it (nsenter --target \(pid1.pid) --mount umount /etc/app.conf) and copy the file instead")
            let expected = appConf(ctx)
            let merged = "/proc/\(pid1.pid)/root/etc/app.conf"
            let inside = try require(FileFacts.lstat(merged), expected: "/etc/app.conf in ex-files", observed: "ex-files still has no /etc/app.conf",
                                     tryThis: "the file is still in the image: find the image's layer (lowerdir) on the host")
            let text = Files.readIfPresent(merged) ?? ""
            try require(inside.isRegular && text == expected, expected: "/etc/app.conf with the image's content",
                        observed: "ex-files's /etc/app.conf \(inside.isRegular ? "has other content (\(text.utf8.count) bytes, the image's has \(expected.utf8.count))" : "is not a regular file")",
                        tryThis: "copy the image's own file, byte for byte (cat or cp, not retyped)")
            // In the upper dir: a copy written now, or nothing (the whiteout removed, the lower file showing through).
            let root = try require(pid1.mounts.last { $0.mountPoint == "/" && $0.fsType == "overlay" }, expected: "ex-files's overlay",
                                   observed: "its / is no overlay", tryThis: again)
            let upper = try require(root.superOptions.split(separator: ",").first { $0.hasPrefix("upperdir=") }.map { String($0.dropFirst(9)) },
                                    expected: "an upperdir", observed: root.superOptions, tryThis: again) + "/etc/app.conf"
            var how = "the whiteout removed: the image's file shows through"
            if let up = FileFacts.lstat(upper) {
                try require(up.isRegular && Files.readIfPresent(upper) == expected && up.changed(since: ctx.clock),
                            expected: "a copy of the file in ex-files's upper dir, written during the exercise",
                            observed: "\(upper) is \(up.isRegular ? "older than the exercise, or differs" : "not a regular file (a whiteout?)")",
                            tryThis: "write the file into the running container (box cp, or /proc/PID/root)")
                how = "a copy in ex-files's upper dir (\(upper))"
            }
            // The image's layer: the same file, untouched (same inode, no change since the setup).
            let lower = try require(ctx.data["lower"], expected: "the setup's notes", observed: "none", tryThis: again)
            let st = try require(FileFacts.lstat(lower), expected: "the image's layer unchanged", observed: "\(lower) is gone",
                                 tryThis: "\(again): never change the image's layer (the lowerdir)")
            try require("\(st.inode) \(st.changed.unixNanoseconds)" == ctx.data["lower-stat"] && Files.readIfPresent(lower) == expected,
                        expected: "the image's layer unchanged", observed: "\(lower) was changed (or replaced) since the exercise began",
                        tryThis: "\(again): copy from the lowerdir, never into it")
            try require(c.spec.Image == ctx.images().first(where: { $0.names.contains("ex-files-img:latest") })?.id,
                        expected: "ex-files-img still the image ex-files runs", observed: "the name ex-files-img now points elsewhere",
                        tryThis: "\(again): the image must stay as it was")
            return .pass("ex-files (PID 1 still \(pid1.pid)) has /etc/app.conf again: \(how); the image's layer is untouched")
        }
        Hint("The file is gone from the container's view only: the image's layer on the host still has it. `mount | grep overlay` (or `grep overlay /proc/PID/mountinfo`) gives the lowerdir.")
        Hint("`sudo box diff ex-files` shows `D /etc/app.conf`: a whiteout in the upper dir hides the lower file. Writing the file into the running container (e.g. `sudo box cp FILE ex-files:/etc/app.conf`, or via /proc/PID/root) replaces the whiteout with a copy.")
        Solution("""
        L=$(grep -o 'lowerdir=[^,]*' /proc/$(box inspect --format '{{.State.Pid}}' ex-files)/mountinfo | cut -d= -f2 | cut -d: -f1)
        box cp $L/etc/app.conf ex-files:/etc/app.conf
        """)
    }
}

/// The file the image ships, with the learner's own token.
private func appConf(_ ctx: Context) -> String {
    """
    # ex-files: settings of the service (from the image ex-files-img)
    listen = 0.0.0.0:8080
    token = \(ctx.value("token"))

    """
}
