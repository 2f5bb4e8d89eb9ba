#if canImport(Glibc)
import Glibc
#endif
import LabKit

/// Seeds 002 and 004 ("docker pull fedora", "docker push user/name:tag", "layer/image is shared. Only new layer
/// (diff) will be uploaded"): a registry of your own (Debian's docker-registry, the distribution registry Docker
/// Hub runs) on loopback, an image pushed, a change committed and pushed again, and the registry's own storage
/// showing that only the new layer arrived; then a pull into an empty engine.
public let registryLab = Lab("registry", "Push to a registry of your own, pull from it") {
    Summary("""
    Start a local registry, push an image, commit a change and push again: only the new layer is uploaded, as \
    the registry's storage and log show. Pull it into an empty engine and read the manifest's digest.
    """)
    Seeds("002", "004")
    Minutes(20)
    Value("port") { l in String(5100 + l.number("port", below: 800)) }
    Value("word") { l in l.pick("word", from: ["amber", "birch", "cedar", "delta", "ember", "fjord", "grove", "heron"]) }

    // The registry's config: its storage and log in the lab's directory, listening on loopback only.
    LabSetup { ctx in
        try ctx.makeWorkDirectory()
        try Files.writeAtomically(ctx.workDirectory + "/registry.yml", """
        version: 0.1
        log:
          accesslog:
            disabled: false
        storage:
          filesystem:
            rootdirectory: \(ctx.workDirectory)/storage
        http:
          addr: 127.0.0.1:\(ctx.value("port"))

        """)
    }
    // The registry the learner started: the process serving this lab's config (its path names it, no name lookup).
    Teardown { ctx in
        for p in ctx.processes() where p.commandLine.contains(ctx.workDirectory + "/registry.yml") {
            kill(p.pid, SIGTERM)
            ctx.reportRemoved("the registry \(p.label)")
        }
    }

    Step("start", "Start a registry") {
        Instructions("""
        A registry is a web server that stores blobs (layers and configs) by their sha256 and manifests that \
        list them. Debian packages Docker Hub's own (`docker-registry`); run it in the background with the \
        config the lab wrote, and ask its API what it is:
        ```
        cat {{workdir}}/registry.yml
        sudo sh -c 'docker-registry serve {{workdir}}/registry.yml > {{workdir}}/registry.log 2>&1 &'
        curl -i http://127.0.0.1:{{port}}/v2/
        ```
        `200 OK` and `{}`: the distribution API, version 2. Its storage is a directory: \
        `{{workdir}}/storage` (empty until the first push).
        """)
        Check { ctx in
            let p = try registryProcess(ctx)
            try require(p.started(after: ctx.clock), expected: "the registry started during this step",
                        observed: "process \(p.pid) is older", tryThis: "kill \(p.pid), and start it again")
            try require(Loopback.accepts(port: Int(ctx.value("port")) ?? 0), expected: "something listening on 127.0.0.1:\(ctx.value("port"))",
                        observed: "nothing answers there yet", tryThis: "cat \(ctx.workDirectory)/registry.log says why")
            return .pass("docker-registry (PID \(p.pid)) listens on 127.0.0.1:\(ctx.value("port"))")
        }
        Hint("If it exits at once, `cat {{workdir}}/registry.log` says why (a port in use?).")
        Hint("`docker-registry: not found`: `sudo apt-get install docker-registry` (Debian and Ubuntu package the registry Docker Hub runs).")
        Solution("docker-registry serve {{workdir}}/registry.yml > {{workdir}}/registry.log 2>&1 < /dev/null &",
                 "for i in $(seq 50); do curl -fs http://127.0.0.1:{{port}}/v2/ && break; sleep 0.1; done")
    }

    Step("push", "Push an image") {
        Instructions("""
        An image's name says where it is pushed: `127.0.0.1:{{port}}/class/app:1` goes to the registry at \
        127.0.0.1:{{port}}, repository `class/app`, tag `1` (a name without a registry part goes to Docker Hub). \
        Make one and push it (seed 004: `docker push user/name:tag`):
        ```
        sudo box run --name reg-v1 busybox sh -c 'echo one > /version'
        sudo box commit reg-v1 127.0.0.1:{{port}}/class/app:1
        sudo box push 127.0.0.1:{{port}}/class/app:1
        sudo find {{workdir}}/storage -name data | wc -l
        ```
        Every layer is `Pushed`, then the config, then the manifest naming them: the last line is its digest. \
        The storage holds one `data` file per blob: two layers, the config, and the manifest itself.
        """)
        Check { ctx in
            _ = try registryProcess(ctx)
            let image = try appImage(ctx, tag: "1", tryThis: "sudo box commit reg-v1 127.0.0.1:\(ctx.value("port"))/class/app:1")
            let tag = try pushedTag(ctx, "1")
            let missing = (image.config.rootfs.diff_ids + [image.id]).filter { !Files.exists(blobData(ctx, $0)) }
            try require(missing.isEmpty, expected: "every layer and the config of app:1 in the registry's storage",
                        observed: "\(missing.count) of them are not there", tryThis: "sudo box push 127.0.0.1:\(ctx.value("port"))/class/app:1")
            return .pass("the registry has class/app:1 (manifest \(tag.prefix(19))...) and its \(image.config.rootfs.diff_ids.count) layers")
        }
        Solution("box run --name reg-v1 busybox sh -c 'echo one > /version'",
                 "box commit reg-v1 127.0.0.1:{{port}}/class/app:1",
                 "box push 127.0.0.1:{{port}}/class/app:1")
    }

    Step("push-again", "Commit a change, push again: only the new layer travels") {
        Instructions("""
        "Layer/image is shared. Only new layer (diff) will be uploaded" (seed 002). A container of app:1 \
        changes one file; its commit is app:1's layers plus one:
        ```
        sudo box run --name reg-v2 127.0.0.1:{{port}}/class/app:1 sh -c 'echo {{word}} > /version'
        sudo box commit reg-v2 127.0.0.1:{{port}}/class/app:2
        sudo box push 127.0.0.1:{{port}}/class/app:2
        grep -c 'PUT /v2/class/app/blobs/uploads' {{workdir}}/registry.log
        ```
        box asks the registry first (`HEAD /v2/class/app/blobs/DIGEST`) for each layer: the two it has are \
        `Layer already exists`, only the new one is `Pushed`. The registry's log shows the uploads (`PUT`): \
        two more than before, the new layer and the new config. Its storage has three new blobs: those two and \
        the manifest (a registry keeps manifests as blobs too, by their sha256).
        """)
        StepSetup { ctx in
            try ctx.remember("blobs-before", storedBlobs(ctx).sorted().joined(separator: " "))
        }
        Check { ctx in
            _ = try registryProcess(ctx)
            let v1 = try appImage(ctx, tag: "1", tryThis: "push app:1 again (step 2)")
            let v2 = try appImage(ctx, tag: "2", tryThis: "sudo box commit reg-v2 127.0.0.1:\(ctx.value("port"))/class/app:2")
            try require(Array(v2.config.rootfs.diff_ids.dropLast()) == v1.config.rootfs.diff_ids,
                        expected: "app:2 committed from a container of app:1 (its layers plus one)",
                        observed: "it has \(v2.config.rootfs.diff_ids.count) layers, not app:1's and one more",
                        tryThis: "sudo box run --name reg-v2 127.0.0.1:\(ctx.value("port"))/class/app:1 sh -c 'echo \(ctx.value("word")) > /version'")
            let manifest = try pushedTag(ctx, "2")
            let before = Set((ctx.data["blobs-before"] ?? "").split(separator: " ").map(String.init))
            // What arrived in this step may include a wrong image pushed first: what counts is that app:2's three
            // new blobs arrived in it, and that app:1's layers were there before it (so they did not travel again).
            let arrived = storedBlobs(ctx).subtracting(before)
            let new = Set([v2.config.rootfs.diff_ids.last ?? "", v2.id, manifest])
            try require(new.isSubset(of: arrived), expected: "three new blobs in the registry: app:2's new layer, its config and its manifest",
                        observed: "\(new.subtracting(arrived).count) of them did not arrive in this step",
                        tryThis: "sudo box push 127.0.0.1:\(ctx.value("port"))/class/app:2")
            let old = Set(v1.config.rootfs.diff_ids)
            try require(old.isSubset(of: before), expected: "app:1's \(old.count) layers in the registry before this step (pushed in step 2)",
                        observed: "\(old.subtracting(before).count) of them arrived only now",
                        tryThis: "sudo box push 127.0.0.1:\(ctx.value("port"))/class/app:1, then begin this step again")
            return .pass("only the new layer \(Digest.hex(v2.config.rootfs.diff_ids.last ?? "").prefix(12)), the config and the manifest were uploaded; app:1's \(v1.config.rootfs.diff_ids.count) layers were already there")
        }
        Hint("Run the container from app:1, not from busybox: then app:2 shares app:1's layers.")
        Solution("box run --name reg-v2 127.0.0.1:{{port}}/class/app:1 sh -c 'echo {{word}} > /version'",
                 "box commit reg-v2 127.0.0.1:{{port}}/class/app:2",
                 "box push 127.0.0.1:{{port}}/class/app:2")
    }

    Step("pull", "Pull it into an empty engine") {
        Instructions("""
        Another machine, or here an empty engine root (`BOX_ROOT` says where box keeps everything), pulls it: \
        every blob is checked against its sha256 on the way in (seed 004: `docker pull`).
        ```
        sudo BOX_ROOT={{workdir}}/fresh box pull 127.0.0.1:{{port}}/class/app:2
        sudo BOX_ROOT={{workdir}}/fresh box images
        sudo BOX_ROOT={{workdir}}/fresh box run --rm 127.0.0.1:{{port}}/class/app:2 cat /version
        sudo cat {{workdir}}/storage/docker/registry/v2/repositories/class/app/_manifests/tags/2/current/link
        ```
        The same IMAGE ID as in your engine (the id is the config's sha256), and the `Digest:` the pull printed \
        is the manifest's, which the registry's storage keeps as the tag's link. What is it?

        In a classroom with no internet, this is how the instructor serves images: a registry on the instructor's \
        machine (`addr: 0.0.0.0:5000`), images pushed to it once, and every attendee pulling \
        `--insecure-registry 10.0.0.5:5000 10.0.0.5:5000/class/app:2` (plain HTTP is only for registries you name).
        """)
        Ask("What is the digest of app:2's manifest?", answer: "sha256:...")
        Check { ctx in
            let v2 = try appImage(ctx, tag: "2", tryThis: "commit and push app:2 again (step 3)")
            let name = "127.0.0.1:\(ctx.value("port"))/class/app:2"
            let pulled = try require(ctx.images(inEngineRoot: ctx.workDirectory + "/fresh").first { $0.names.contains(name) },
                                     expected: "\(name) in the engine root \(ctx.workDirectory)/fresh",
                                     observed: "that root has no such image", tryThis: "sudo BOX_ROOT=\(ctx.workDirectory)/fresh box pull \(name)")
            try require(pulled.id == v2.id, expected: "the pulled image's id to be app:2's (\(v2.shortID))",
                        observed: "it is \(pulled.shortID)", tryThis: "push app:2 again, then pull it")
            let digest = try pushedTag(ctx, "2")
            try ctx.requireAnswer([digest], tryThis: "the Digest: line of box pull, or the tag's link in the registry's storage")
            return .pass("\(name) pulled into an empty engine: image \(pulled.shortID), manifest \(digest)")
        }
        Hint("`box pull` prints `Digest: sha256:...`; `box push` printed the same digest on its last line.")
        Solution("BOX_ROOT={{workdir}}/fresh box pull 127.0.0.1:{{port}}/class/app:2",
                 "lab answer $(cat {{workdir}}/storage/docker/registry/v2/repositories/class/app/_manifests/tags/2/current/link)")
    }
}

/// The registry serving this lab's config.
private func registryProcess(_ ctx: Context) throws -> Proc {
    try require(ctx.processes().first { $0.commandLine.contains(ctx.workDirectory + "/registry.yml") && $0.commandLine.contains("serve") },
                expected: "docker-registry serving \(ctx.workDirectory)/registry.yml",
                observed: "no process serves that config", tryThis: "sudo sh -c 'docker-registry serve \(ctx.workDirectory)/registry.yml > \(ctx.workDirectory)/registry.log 2>&1 &'")
}

private func appImage(_ ctx: Context, tag: String, tryThis: String) throws -> Image {
    let name = "127.0.0.1:\(ctx.value("port"))/class/app:\(tag)"
    return try require(ctx.images().first { $0.names.contains(name) }, expected: "an image \(name)", observed: "there is none", tryThis: tryThis)
}

/// The manifest digest the registry's storage has for class/app:TAG (the tag's `current/link`).
private func pushedTag(_ ctx: Context, _ tag: String) throws -> String {
    let link = ctx.workDirectory + "/storage/docker/registry/v2/repositories/class/app/_manifests/tags/\(tag)/current/link"
    let digest = Files.readIfPresent(link)?.trimmed ?? ""
    return try require(digest.hasPrefix("sha256:") ? digest : nil, expected: "the tag class/app:\(tag) in the registry's storage",
                       observed: "the registry has no such tag", tryThis: "sudo box push 127.0.0.1:\(ctx.value("port"))/class/app:\(tag)")
}

private func blobData(_ ctx: Context, _ digest: String) -> String {
    let hex = Digest.hex(digest)
    return ctx.workDirectory + "/storage/docker/registry/v2/blobs/sha256/\(hex.prefix(2))/\(hex)/data"
}

/// Every blob in the registry's storage, as sha256:HEX.
private func storedBlobs(_ ctx: Context) -> Set<String> {
    let root = ctx.workDirectory + "/storage/docker/registry/v2/blobs/sha256"
    var out = Set<String>()
    for prefix in (try? Files.list(root)) ?? [] {
        for hex in (try? Files.list(root + "/" + prefix)) ?? [] where Files.exists("\(root)/\(prefix)/\(hex)/data") {
            out.insert("sha256:" + hex)
        }
    }
    return out
}
