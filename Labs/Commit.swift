#if canImport(Glibc)
import Glibc
#endif
import LabKit

/// Seed 000 ("Docker Commit": container1 gets htop, container2 does not; `docker commit $(docker ps -q)
/// ubuntu-htop`; run the new image; "You can still run unchanged ubuntu"), seed 001 ("Create test dir ... If I
/// issue a docker run command do I see the file?") and seed 004 (`docker commit`, `docker history`, "every
/// container gets its own writable top layer"): a file made in one container is that container's alone until
/// a commit turns its writable layer into a new image layer.
public let commitLab = Lab("commit", "Commit a container: its writable layer becomes an image layer") {
    Summary("""
    Make a file in one container and see that a second container of the same image lacks it; commit the \
    running container to a new image, run that image and find the file; see that the base image is unchanged, \
    and read the new layer in box history.
    """)
    Seeds("000", "001", "004")
    Minutes(20)
    // What goes in the file: your own, so a neighbour's layer is not yours.
    Value("word") { $0.pick("word", from: ["aurora", "basalt", "cinder", "delta", "ember", "fjord", "glacier", "harbor"], numbered: 100..<1000) }

    Step("container1", "A file in container1") {
        Instructions("""
        Seed 000 installs `htop` in a first container; busybox has no package manager, so make something of \
        your own instead, as seed 001 does. In terminal 1 start **container1** with an interactive shell:
        ```
        sudo box run -it --name container1 busybox sh
        ```
        and in it:
        ```
        mkdir /root/testfolder
        echo {{word}} > /root/testfolder/testfile
        cat /root/testfolder/testfile
        ```
        Keep this shell open: container1 must stay running for the whole lab.
        """)
        Check { ctx in
            let (c, pid1) = try ctx.newShell("container1", start: "sudo box run -it --name container1 busybox sh")
            try ctx.requireFileWritten(notePath, in: c, holding: ctx.value("word"))
            return .pass("container1 (host PID \(pid1.pid)) has \(notePath) in its own writable layer (under \(ctx.layerStorage))")
        }
        Hint("Type the commands in container1's shell (the prompt `/ #`), not on the host.")
        Hint("If you left the shell, `sudo box ps -a` shows container1 Exited: `sudo box rm container1` and start again.")
        Solution("box run -dit --name container1 busybox sh",
                 "box exec container1 sh -c 'mkdir -p /root/testfolder && echo {{word}} > /root/testfolder/testfile'")
    }

    Step("container2", "Same image, another container") {
        Instructions("""
        In terminal 2 run **container2** with the same command:
        ```
        sudo box run -it --name container2 busybox sh
        ls /root/testfolder
        hostname
        ```
        `ls: /root/testfolder: No such file or directory`. They are completely different containers (seed 000): \
        another hostname, another IP, and container1 has your file while container2 does not. Each container \
        gets its own thin writable layer on top of the same read-only image layers (seed 004). Run `hostname` \
        in container1 too.
        """)
        Ask("What are the hostnames of container1 and container2?", answer: "HOSTNAME1 HOSTNAME2")
        Check { ctx in
            let (c1, p1) = try ctx.running("container1", tryThis: "container1 must still run: start it again (step 1)")
            let (c2, p2) = try ctx.newContainer("container2", tryThis: "sudo box run -it --name container2 busybox sh")
            try require(c2.spec.Image == c1.spec.Image, expected: "container2 made from the same image as container1",
                        observed: "container2 runs \(c2.spec.Config.Image), container1 \(c1.spec.Config.Image)",
                        tryThis: "sudo box rm -f container2; sudo box run -it --name container2 busybox sh")
            try require(!Files.exists("/proc/\(p2.pid)/root" + notePath), expected: "container2 without your file",
                        observed: "container2 has \(notePath) too",
                        tryThis: "you wrote it there as well: sudo box rm -f container2 and start a fresh one")
            try require(Files.exists("/proc/\(p1.pid)/root" + notePath), expected: "container1 still has your file",
                        observed: "container1 has no \(notePath)", tryThis: "write it again in container1 (step 1)")
            let names = [Namespaces.hostname(of: p1.pid) ?? "?", Namespaces.hostname(of: p2.pid) ?? "?"]
            let answer = try require(ctx.answer, expected: "two hostnames: lab answer HOSTNAME1 HOSTNAME2", observed: "no answer yet",
                                     tryThis: "run hostname in each container")
            try require(answer == names, expected: "container1's hostname, then container2's",
                        observed: "you answered \(answer.joined(separator: " "))", tryThis: "run hostname in container1, then in container2")
            return .pass("container1 (\(names[0])) has \(notePath); container2 (\(names[1])), from the same image, does not")
        }
        Hint("`hostname` in each container's shell; or, from the host, `sudo box exec container1 hostname`.")
        Solution("box run -dit --name container2 busybox sh",
                 "box exec container2 ls /root/testfolder || true",
                 "lab answer $(box exec container1 hostname) $(box exec container2 hostname)")
    }

    Step("commit", "Commit the running container1") {
        Instructions("""
        Exit container2 (`exit` or Ctrl-D in terminal 2): its shell was its main process, so container2 ends. \
        Now only container1 runs, and, as seed 000 says, "Let's commit! it's that quick":
        ```
        sudo box ps -q
        sudo box commit $(sudo box ps -q) busybox-note
        ```
        box freezes container1 for the moment of the copy, writes its writable layer as a new layer, and makes \
        an image of busybox's layers plus that one, named `busybox-note`. container1 keeps running: check \
        terminal 1. `sudo box images` lists the new image.
        """)
        // container1's PID 1 when the step begins: the commit must be of that container, running throughout.
        StepSetup { ctx in
            guard let (c, pid1) = try? ctx.running("container1", tryThis: "") else { return }
            try ctx.remember("commit-c1", "\(c.id) \(pid1.pid):\(pid1.startTicks)")
        }
        Check { ctx in
            let c1 = try ctx.container("container1", tryThis: "start container1 again and do step 1 again")
            let remembered = try require(ctx.data["commit-c1"].map { $0.split(separator: " ").map(String.init) },
                                         expected: "container1 running when this step began", observed: "it was not running",
                                         tryThis: "sudo lab reset commit, and do the lab again keeping container1's shell open")
            try require(remembered[0] == c1.id, expected: "the same container1 as when the step began",
                        observed: "container1 was made again", tryThis: "sudo lab reset commit, and do the lab again")
            let (commit, image) = try ctx.commit(of: c1, as: "busybox-note:latest", tryThis: "sudo box commit $(sudo box ps -q) busybox-note")
            let died = ctx.events().first { $0.id == c1.id && $0.action == "die" && $0.time < commit.time }
            try require(died == nil, expected: "container1 running when it was committed",
                        observed: "it had exited before the commit", tryThis: "sudo lab reset commit: seed 000 commits a running container")
            if let p = Proc.read(c1.state.Pid), c1.state.Running {
                try require("\(p.pid):\(p.startTicks)" == remembered[1], expected: "container1's PID 1 the same as when the step began",
                            observed: "it was restarted", tryThis: "sudo lab reset commit, and do the lab again")
            }
            let base = try require(ctx.images().first { $0.id == c1.spec.Image }, expected: "container1's image",
                                   observed: "it is gone", tryThis: "sudo lab reset commit")
            let layers = ctx.layers(of: image)
            try require(layers.count == base.config.rootfs.diff_ids.count + 1 && layers.dropLast() == ctx.layers(of: base)[...],
                        expected: "busybox-note = busybox's layers + one", observed: "it has \(layers.count) layers",
                        tryThis: "commit container1 (made from busybox): sudo box commit container1 busybox-note")
            try require(Files.readIfPresent((layers.last ?? "") + notePath)?.trimmed == ctx.value("word"),
                        expected: "your file in the new layer", observed: "the new layer has no \(notePath) holding \(ctx.value("word"))",
                        tryThis: "write it in container1 (step 1), then commit again")
            return .pass("container1 was committed while running: busybox-note has busybox's \(layers.count - 1) layer(s) and one more, holding \(notePath)")
        }
        Hint("`sudo box ps -q` must print one id: if container2 still runs, exit its shell (or `sudo box stop container2`).")
        Hint("`sudo box commit container1 busybox-note` does the same with the name.")
        Solution("box stop -t 1 container2", "box commit $(box ps -q) busybox-note")
    }

    Step("run-new-image", "Run the new image and find the file") {
        Instructions("""
        Run a container of the new image. As seed 000 says, you do not need a shell for it:
        ```
        sudo box run --rm busybox-note cat /root/testfolder/testfile
        ```
        prints your word. Now one to look around in, **container3**:
        ```
        sudo box run -it --name container3 busybox-note sh
        cat /root/testfolder/testfile
        ```
        The file is there from the start: it is in the image, not in container3's writable layer (`sudo box diff \
        container3` lists nothing about it).
        """)
        Check { ctx in
            let (c, pid1) = try ctx.newContainer("container3", tryThis: "sudo box run -it --name container3 busybox-note sh")
            let image = try require(ctx.images().first { $0.names.contains("busybox-note:latest") }, expected: "the image busybox-note",
                                    observed: "there is none", tryThis: "commit container1 again (step 3)")
            try require(c.spec.Image == image.id, expected: "container3 made from busybox-note",
                        observed: "it was made from \(c.spec.Config.Image)",
                        tryThis: "sudo box rm -f container3; sudo box run -it --name container3 busybox-note sh")
            let seen = Files.readIfPresent("/proc/\(pid1.pid)/root" + notePath)?.trimmed
            try require(seen == ctx.value("word"), expected: "container3 to see \(notePath) with your word",
                        observed: seen.map { "it holds \($0)" } ?? "it has no such file", tryThis: "commit container1 again (step 3)")
            try require(!Files.exists(ctx.upperDirectory(of: c) + notePath), expected: "the file to come from the image",
                        observed: "container3's own writable layer has a copy (it was written in container3)",
                        tryThis: "sudo box rm -f container3 and run a fresh one; only read the file")
            return .pass("container3 (host PID \(pid1.pid)) reads \(notePath) from busybox-note's top layer; its own layer is empty of it")
        }
        Hint("The image's name goes where busybox was: `sudo box run -it --name container3 busybox-note sh`.")
        Solution("box run --rm busybox-note cat /root/testfolder/testfile",
                 "box run -dit --name container3 busybox-note sh",
                 "box exec container3 cat /root/testfolder/testfile")
    }

    Step("base-unchanged", "The base image did not change") {
        Instructions("""
        "You can still run unchanged ubuntu, it didn't get overwritten" (seed 000). The commit added a layer \
        **on top of** busybox's; busybox itself is untouched. Start **container4** from busybox:
        ```
        sudo box run -it --name container4 busybox sh
        ls /root
        ```
        No testfolder. `sudo box images --tree` draws it: busybox-note's new layer is a branch on top of busybox's.
        """)
        Check { ctx in
            let c = try ctx.container("container4", tryThis: "sudo box run -it --name container4 busybox sh")
            try ctx.requireCreatedDuringStep(c)
            let busybox = try require(ctx.images().first { $0.names.contains("busybox:latest") }, expected: "the busybox image",
                                      observed: "there is none", tryThis: "sudo lab reset commit")
            try require(c.spec.Image == busybox.id, expected: "container4 made from busybox",
                        observed: "it was made from \(c.spec.Config.Image)",
                        tryThis: "sudo box rm -f container4; sudo box run -it --name container4 busybox sh")
            if c.state.Running {
                try require(!Files.exists("/proc/\(c.state.Pid)/root" + notePath), expected: "container4 without your file",
                            observed: "container4 has \(notePath)", tryThis: "sudo box rm -f container4 and run a fresh one")
            }
            let withFile = ctx.layers(of: busybox).filter { Files.exists($0 + notePath) }
            try require(withFile.isEmpty, expected: "busybox's layers without your file", observed: "a busybox layer has it",
                        tryThis: "sudo lab reset commit")
            if let note = ctx.images().first(where: { $0.names.contains("busybox-note:latest") }) {
                let shared = ctx.layers(of: note).prefix(ctx.layers(of: busybox).count)
                try require(Array(shared) == ctx.layers(of: busybox), expected: "busybox-note built on busybox's layers",
                            observed: "they share none", tryThis: "sudo lab reset commit")
            }
            return .pass("container4 runs busybox (\(busybox.config.rootfs.diff_ids.count) layer(s), unchanged); your file is only in busybox-note's own layer")
        }
        Hint("Use the plain busybox image: `sudo box run -it --name container4 busybox sh`.")
        Solution("box run -dit --name container4 busybox sh", "box exec container4 ls -A /root")
    }

    Step("history", "box history: the new layer") {
        Instructions("""
        Seed 004: images are built like git, commit by commit, and `docker history` shows each step with its size:
        ```
        sudo box history busybox-note
        sudo box history busybox
        sudo box images --tree
        ```
        busybox-note has one line more than busybox: the layer your commit made, CREATED BY `sh` (container1's \
        command), a few kB. `box images --tree` names layers by their own id (the sha256 of their content, \
        the diff_id), which is not the image's id. The layers live in box's store: `ls /var/lib/box/overlay2` \
        (seed 000: "changes in our favourite directory /var/lib/docker/").
        """)
        Ask("Which IMAGE id does the top line of `box history busybox-note` show, and which layer id does `box images --tree` show for busybox-note?",
            answer: "IMAGE LAYER")
        Check { ctx in
            let image = try require(ctx.images().first { $0.names.contains("busybox-note:latest") }, expected: "the image busybox-note",
                                    observed: "there is none", tryThis: "commit container1 again (step 3)")
            let answer = try ctx.answerWords(2, tryThis: "sudo box history busybox-note; sudo box images --tree")
            let top = Digest.hex(image.config.rootfs.diff_ids.last ?? "")
            try ctx.requireAnswered(answer[0], matchesID(answer[0], Digest.hex(image.id)),
                                    expected: "the IMAGE column of the top line (12 hex digits at least)",
                                    tryThis: "sudo box history busybox-note: the first column of the first line")
            try ctx.requireAnswered(answer[1], matchesID(answer[1], top), expected: "the id box images --tree shows on busybox-note's line",
                                    tryThis: "sudo box images --tree: the 12 hex digits before Images: busybox-note")
            return .pass("busybox-note (\(image.shortID)) is busybox plus layer \(top.prefix(12)), stored in \(ctx.layerDirectory(top))")
        }
        Hint("The image id is also what `box commit` printed (after sha256:). The layer id is a different digest.")
        Solution("lab answer $(box history busybox-note | awk 'NR == 2 {print $1}') $(box images --tree | grep -o '[0-9a-f]\\{12\\} Images: busybox-note' | cut -c1-12)")
    }
}

private let notePath = "/root/testfolder/testfile"
