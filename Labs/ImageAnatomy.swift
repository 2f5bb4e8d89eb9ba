#if canImport(Glibc)
import Glibc
#endif
import LabKit

/// Seed 001 ("Fun with container images": a file made in a container, `docker commit <container> <repo>:<tag>`,
/// `docker save <imageid> > /root/extract/ci.tar`, `tar -xf ci.tar`, `cat <sha>.json`, `cd <sha>; tar -xf
/// layer.tar; cat root/testfolder/testfile`) and seed 002 (`docker save` "saves an image to a tar archive ...
/// with all parent layers"): an image is a config and a stack of layer tars, each named by its digest.
public let imageAnatomy = Lab("image-anatomy", "Inside an image: manifest, config and layer tars") {
    Summary("""
    Commit a container with a file of yours, save the image with box save, unpack the archive, read its \
    manifest.json and config (rootfs.diff_ids, history), find your file in the right layer.tar, and see that \
    a layer's sha256 is its diff_id.
    """)
    Seeds("001", "002")
    Minutes(25)
    Value("word") { $0.pick("word", from: ["quartz", "saffron", "tundra", "umber", "violet", "willow", "yarrow", "zephyr"], numbered: 100..<1000) }

    // The lab's directory, the learner's own: they unpack the archive there without sudo.
    LabSetup { ctx in
        try ctx.makeWorkDirectory(learnersOwn: true)
    }

    Step("make-file", "A file in a container") {
        Instructions("""
        As seed 001 does, start a container and make a folder and a file in it:
        ```
        sudo box run -it --name anatomy busybox sh
        mkdir /root/testfolder
        echo {{word}} > /root/testfolder/testfile
        exit
        ```
        `sudo box ps -a` lists `anatomy`, Exited. "If I issue a docker run command do I see the file?" \
        `sudo box run --rm busybox ls /root`: no. The file is in the writable layer of `anatomy` only.
        """)
        Check { ctx in
            let c = try ctx.container("anatomy", tryThis: "sudo box run -it --name anatomy busybox sh")
            try ctx.requireCreatedDuringStep(c)
            try require(c.spec.Config.Tty, expected: "anatomy started with a terminal (-it)", observed: "it has none",
                        tryThis: "sudo box rm -f anatomy; sudo box run -it --name anatomy busybox sh")
            try ctx.requireFileWritten(anatomyNote, in: c, holding: ctx.value("word"))
            return .pass("anatomy (\(c.spec.shortID)) has \(anatomyNote) in its writable layer")
        }
        Hint("If the container already exists from an earlier try: `sudo box rm -f anatomy` and run it again.")
        Solution("box run -dit --name anatomy busybox sh",
                 "box exec anatomy sh -c 'mkdir -p /root/testfolder && echo {{word}} > /root/testfolder/testfile'")
    }

    Step("commit", "Commit it as REPOSITORY:TAG") {
        Instructions("""
        "Lets check out the filesystem of this container": make it an image, named `anatomy:v1`, and find its id:
        ```
        sudo box commit anatomy anatomy:v1
        sudo box images
        ```
        """)
        Check { ctx in
            let c = try ctx.container("anatomy", tryThis: "do step 1 again: sudo box run -it --name anatomy busybox sh")
            let image = try ctx.commit(of: c, as: "anatomy:v1", tryThis: "sudo box commit anatomy anatomy:v1").image
            try require(Files.readIfPresent((ctx.layers(of: image).last ?? "") + anatomyNote)?.trimmed == ctx.value("word"),
                        expected: "your file in the image's top layer", observed: "the top layer has no \(anatomyNote) with your word",
                        tryThis: "write the file in anatomy (step 1), then commit again")
            return .pass("anatomy:v1 is an image of \(image.config.rootfs.diff_ids.count) layers")
        }
        Solution("box commit anatomy anatomy:v1")
    }

    Step("save", "Save the image and unpack it") {
        Instructions("""
        `box save` writes an image, "with all parent layers" (seed 002), as one tar archive. Save it by its \
        IMAGE ID, as the seed does, and unpack it:
        ```
        mkdir {{workdir}}/extract
        sudo box save IMAGEID > {{workdir}}/extract/ci.tar
        cd {{workdir}}/extract
        tar -xf ci.tar
        ls -l
        cat manifest.json
        ```
        `manifest.json` says which file is the image's **config** (`Config`) and which tars are its **layers** \
        (`Layers`), bottom first. Each layer has a directory of its own, holding `layer.tar`.
        """)
        Ask("Which file of the archive is the image's config? (its name, or its first 12 characters)", answer: "CONFIG")
        Check { ctx in
            let image = try anatomyImage(ctx)
            let dir = ctx.workDirectory + "/extract"
            let tar = dir + "/ci.tar"
            try require((FileFacts.lstat(tar)?.changed(since: ctx.clock) ?? false), expected: "\(tar) written during this step",
                        observed: Files.exists(tar) ? "it is older" : "there is no such file",
                        tryThis: "mkdir -p \(dir); sudo box save \(image.shortID) > \(tar)")
            let manifest = try savedManifest(ctx, since: ctx.clock.wall)
            let configName = Digest.hex(image.id) + ".json"
            try require(manifest.config == configName, expected: "the archive of anatomy:v1, unpacked in \(dir)",
                        observed: "manifest.json names config \(manifest.config)",
                        tryThis: "sudo box save \(image.shortID) > \(tar), and tar -xf it in \(dir)")
            try require(Files.exists(dir + "/" + configName), expected: "the config unpacked in \(dir)", observed: "it is not there",
                        tryThis: "cd \(dir); tar -xf ci.tar")
            let answer = try require(ctx.answer?.first, expected: "the config's name: lab answer CONFIG", observed: "no answer yet",
                                     tryThis: "cat \(dir)/manifest.json: the value of Config")
            try ctx.requireAnswered(answer, matchesID(answer.replacing(".json", with: ""), Digest.hex(image.id)),
                                    expected: "the file manifest.json names as Config (12 characters at least)", tryThis: "cat \(dir)/manifest.json")
            return .pass("the config is \(configName.prefix(12))….json: its name is the image id (sha256sum it: the name is its digest); \(manifest.layers.count) layer tars")
        }
        Hint("The IMAGE ID is the third column of `sudo box images`. `box save` refuses to write to a terminal: redirect it to the file.")
        Hint("If `mkdir` or `>` says Permission denied, the directory belongs to another user: `sudo lab reset image-anatomy` and start again.")
        Solution("mkdir -p {{workdir}}/extract",
                 "box save $(box images | awk '$1 == \"anatomy\" && $2 == \"v1\" {print $3}') > {{workdir}}/extract/ci.tar",
                 "cd {{workdir}}/extract && tar -xf ci.tar",
                 "lab answer $(sed 's/.*\"Config\":\"\\([0-9a-f]*\\).json\".*/\\1/' {{workdir}}/extract/manifest.json)")
    }

    Step("config", "The config: rootfs.diff_ids and history") {
        Instructions("""
        "Lets take a look at some metadata": the config is JSON (`python3 -m json.tool` or `jq .` print it \
        readably):
        ```
        cd {{workdir}}/extract
        python3 -m json.tool CONFIG.json
        ```
        - `rootfs.diff_ids`: one digest per layer, bottom first: the sha256 of each layer's **uncompressed** tar;
        - `history`: one entry per step that made the image: busybox's, and your commit (`created_by`: the \
        command of the container you committed); `sudo box history anatomy:v1` prints the same, newest first;
        - `config`: what `box run` uses when you give it nothing: `Cmd`, `Env`.
        """)
        Ask("When was your commit made, as the config's newest history entry says? (its `created`, at least to the second)",
            answer: "CREATED")
        Check { ctx in
            let image = try anatomyImage(ctx)
            let manifest = try savedManifest(ctx, since: nil)
            try require(manifest.config == Digest.hex(image.id) + ".json", expected: "the unpacked archive of anatomy:v1",
                        observed: "\(ctx.workDirectory)/extract holds another image's", tryThis: "redo step 3")
            let created = try require(image.config.history?.last?.created, expected: "a history in the config",
                                      observed: "it has none", tryThis: "commit anatomy again (step 2)")
            let answer = try require(ctx.answer?.first, expected: "a time: lab answer CREATED", observed: "no answer yet",
                                     tryThis: "look for \"created\" in the last entry of \"history\"")
            try ctx.requireAnswered(answer, answer.count >= 19 && created.hasPrefix(answer),
                                    expected: "the newest history entry's created (e.g. 2026-01-31T12:34:56)",
                                    tryThis: "copy the value of created from the last entry of history")
            return .pass("your commit made the newest history entry, at \(created); rootfs lists \(image.config.rootfs.diff_ids.count) diff_ids")
        }
        Solution("lab answer $(grep -o '\"created\":\"[^\"]*\"' {{workdir}}/extract/$(sed 's/.*\"Config\":\"\\([0-9a-f]*.json\\)\".*/\\1/' {{workdir}}/extract/manifest.json) | tail -1 | cut -d'\"' -f4)")
    }

    Step("find-file", "Find your file in a layer.tar") {
        Instructions("""
        "Lets inspect these tarfiles": unpack each layer in its own directory, and look:
        ```
        cd {{workdir}}/extract/DIRECTORY
        tar -xf layer.tar
        ls
        ```
        One layer is busybox's whole filesystem (bin, etc, ...); the other holds only what your commit \
        changed: `root/testfolder/testfile`. `cat root/testfolder/testfile` prints your word.
        """)
        Ask("Which directory of the archive holds your file? (its first 12 characters)", answer: "DIRECTORY")
        Check { ctx in
            let image = try anatomyImage(ctx)
            let manifest = try savedManifest(ctx, since: nil)
            let diffIDs = image.config.rootfs.diff_ids
            try require(manifest.layers.count == diffIDs.count && manifest.config == Digest.hex(image.id) + ".json",
                        expected: "the unpacked archive of anatomy:v1", observed: "\(ctx.workDirectory)/extract holds another image's",
                        tryThis: "redo step 3")
            let index = try require(diffIDs.indices.last { Files.exists(ctx.layerDirectory(diffIDs[$0]) + "/diff" + anatomyNote) },
                                    expected: "your file in one of anatomy:v1's layers", observed: "no layer has it", tryThis: "sudo lab reset image-anatomy")
            let directory = manifest.layers[index].split(separator: "/").first.map(String.init) ?? ""
            let unpacked = ctx.workDirectory + "/extract/" + directory + anatomyNote
            try require((FileFacts.lstat(unpacked)?.changed(since: ctx.clock) ?? false),
                        expected: "that layer.tar unpacked during this step",
                        observed: Files.exists(unpacked) ? "it was unpacked before this step" : "no \(anatomyNote) is unpacked in the archive's directories",
                        tryThis: "cd into each directory of \(ctx.workDirectory)/extract and run tar -xf layer.tar")
            try require(Files.readIfPresent(unpacked)?.trimmed == ctx.value("word"), expected: "your word in the unpacked file",
                        observed: "it holds something else", tryThis: "unpack the layer.tar again")
            let answer = try require(ctx.answer?.first, expected: "the directory: lab answer DIRECTORY", observed: "no answer yet",
                                     tryThis: "ls -d \(ctx.workDirectory)/extract/*/root")
            try ctx.requireAnswered(answer, matchesID(answer, directory),
                                    expected: "the name of the directory whose layer.tar has your file (12 characters at least)",
                                    tryThis: "ls -d \(ctx.workDirectory)/extract/*/root/testfolder")
            return .pass("layer \(index + 1) of \(diffIDs.count) (directory \(directory.prefix(12))) holds root/testfolder/testfile: the layer is only what the commit changed")
        }
        Hint("`ls {{workdir}}/extract/*/` shows which directory has a `root` after you unpacked its layer.tar.")
        Solution("cd {{workdir}}/extract && for d in */; do (cd $d && tar -xf layer.tar); done",
                 "lab answer $(cd {{workdir}}/extract && ls -d */root/testfolder | cut -d/ -f1)")
    }

    Step("digests", "A layer's sha256 is its diff_id") {
        Instructions("""
        Compare the digests of the layer tars with the config's `rootfs.diff_ids`:
        ```
        cd {{workdir}}/extract
        sha256sum */layer.tar
        grep -o '"diff_ids":[^]]*' CONFIG.json
        ```
        Each layer.tar's sha256 is one of the diff_ids: a layer is named by the digest of its content, so \
        `box load` can check every byte, and two images with the same layer share it. The directories are \
        named otherwise: the bottom one by its diff_id, the next by its **chain id**, the sha256 of the layers \
        below and itself, so the same layer on other parents gets another directory. The archive has a digest \
        too (`sha256sum ci.tar`), but nothing names it: no file in it, and no image id.
        """)
        Ask("What is the sha256 of the layer.tar that holds your file, and of ci.tar? (12 hex digits at least each)",
            answer: "LAYER ARCHIVE")
        Check { ctx in
            let image = try anatomyImage(ctx)
            let manifest = try savedManifest(ctx, since: nil)
            let diffIDs = image.config.rootfs.diff_ids
            try require(manifest.layers.count == diffIDs.count, expected: "the unpacked archive of anatomy:v1",
                        observed: "\(ctx.workDirectory)/extract holds another image's", tryThis: "redo step 3")
            let index = try require(diffIDs.indices.last { Files.exists(ctx.layerDirectory(diffIDs[$0]) + "/diff" + anatomyNote) },
                                    expected: "your file in one of anatomy:v1's layers", observed: "no layer has it", tryThis: "sudo lab reset image-anatomy")
            let tar = ctx.workDirectory + "/extract/" + manifest.layers[index]
            let digest = try require(try? LayerArchive.sha256(file: tar), expected: "\(tar) to read", observed: "it is gone",
                                     tryThis: "unpack ci.tar again (step 3)")
            let archive = ctx.workDirectory + "/extract/ci.tar"
            let whole = try require(try? LayerArchive.sha256(file: archive), expected: "\(archive) to read", observed: "it is gone",
                                    tryThis: "save it again (step 3)")
            let answer = try ctx.answerWords(2, tryThis: "sha256sum \(tar) \(archive)")
            try ctx.requireAnswered(answer[0], matchesID(answer[0], Digest.hex(digest)), expected: "the sha256 of \(manifest.layers[index]) first",
                                    tryThis: "sha256sum \(tar)")
            try ctx.requireAnswered(answer[1], matchesID(answer[1], Digest.hex(whole)), expected: "the sha256 of ci.tar second",
                                    tryThis: "sha256sum \(archive)")
            try require(digest == diffIDs[index], expected: "the tar to match its diff_id", observed: "it was changed: its sha256 is not in the config",
                        tryThis: "unpack ci.tar again (step 3)")
            return .pass("sha256 of \(manifest.layers[index].prefix(12))…/layer.tar = rootfs.diff_ids[\(index)] = \(Digest.hex(digest).prefix(12)); the directory's name is its chain id")
        }
        Hint("`sha256sum` prints the digest first; the config writes it after `sha256:`.")
        Solution("cd {{workdir}}/extract && sha256sum */layer.tar ci.tar",
                 "lab answer $(sha256sum $(ls -d */root/testfolder | cut -d/ -f1)/layer.tar ci.tar | cut -c1-64)")
    }
}

private let anatomyNote = "/root/testfolder/testfile"

/// The image anatomy:v1, made during the lab.
private func anatomyImage(_ ctx: Context) throws -> Image {
    try require(ctx.images().first { $0.names.contains("anatomy:v1") }, expected: "the image anatomy:v1",
                observed: "there is none", tryThis: "commit it again: sudo box commit anatomy anatomy:v1 (step 2)")
}

/// manifest.json as unpacked in {{workdir}}/extract (unpacked after `since`, if given): its config and layers.
private func savedManifest(_ ctx: Context, since: Timestamp?) throws -> (config: String, layers: [String]) {
    let path = ctx.workDirectory + "/extract/manifest.json"
    let text = try require(Files.readIfPresent(path), expected: "the archive unpacked in \(ctx.workDirectory)/extract",
                           observed: "there is no manifest.json", tryThis: "cd \(ctx.workDirectory)/extract; tar -xf ci.tar")
    if let since {
        // tar gives the files the archive's mtime (0): the inode's change time says when it was unpacked.
        try require((FileFacts.lstat(path).map { !($0.changed < since) } ?? false), expected: "manifest.json unpacked during this step",
                    observed: "it was unpacked before", tryThis: "cd \(ctx.workDirectory)/extract; tar -xf ci.tar")
    }
    guard let entry = (try? JSONValue.parse(text))?[0],
          case .string(let config)? = entry["Config"], case .array(let layers)? = entry["Layers"] else {
        throw Failure(expected: "a docker-archive manifest.json", observed: "\(path) is not one",
                      tryThis: "unpack a fresh box save (step 3)")
    }
    return (config, layers.compactMap { if case .string(let s) = $0 { s } else { nil } })
}
