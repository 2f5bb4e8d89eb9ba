#if canImport(Glibc)
import Glibc
#endif
import LabKit

/// Seed 002 ("Import/export", "Docker Command Examples": `docker save image:tag | gzip > my_image.tar.gz`,
/// `docker load < img_file.tar.gz`, `docker tag <image id> helloworld:0.1`, `docker export my_container | gzip >
/// my_container.tar.gz`, `cat my_container.tar.gz | docker import - my_image:my_tag`, and "Difference between
/// loading a saved image and importing an exported container as an image?"): load keeps an image's layers and
/// history; import makes one flat layer with none.
public let loadVsImport = Lab("load-vs-import", "Save and load an image, export and import a container") {
    Summary("""
    Save an image with gzip and load it back, tagging it by id: its layers and history are kept. Export a \
    container and import it: one flat layer, no history. Compare the archives and box history of both.
    """)
    Seeds("002")
    Minutes(20)
    Value("word") { $0.pick("word", from: ["acorn", "beacon", "comet", "dune", "echo", "falcon", "garnet", "hazel"], numbered: 100..<1000) }

    // The lab's directory, the learner's own: the archives are written there by the learner's shell (`>`).
    LabSetup { ctx in
        try ctx.remember("started", Timestamp.now().rfc3339)
        try ctx.makeWorkDirectory(learnersOwn: true)
    }
    Step("image", "An image with a history") {
        Instructions("""
        Seed 002 pulls a `helloworld` image; make one of your own, of two layers: busybox's, and one with a \
        file, committed with a command to run:
        ```
        sudo box run --name lvi-src busybox sh -c 'echo hello from {{word}} > /hello'
        sudo box commit -c 'CMD ["cat", "/hello"]' lvi-src lvi-hello:0.1
        sudo box run --rm lvi-hello:0.1
        sudo box history lvi-hello:0.1
        ```
        `box history` shows two lines: busybox's layer, and your commit's.
        """)
        Check { ctx in
            let src = try ctx.container("lvi-src", tryThis: "sudo box run --name lvi-src busybox sh -c 'echo hello from \(ctx.value("word")) > /hello'")
            let image = try ctx.commit(of: src, as: "lvi-hello:0.1", tryThis: "sudo box commit -c 'CMD [\"cat\", \"/hello\"]' lvi-src lvi-hello:0.1").image
            let hello = Files.readIfPresent((ctx.layers(of: image).last ?? "") + "/hello")?.trimmed
            try require(hello == "hello from \(ctx.value("word"))", expected: "/hello in the top layer saying hello from \(ctx.value("word"))",
                        observed: hello.map { "it says \($0)" } ?? "there is no /hello", tryThis: "sudo box rm lvi-src, and do this step again")
            try require(image.config.config.Cmd == ["cat", "/hello"], expected: "the image's command to be cat /hello",
                        observed: "it is \((image.config.config.Cmd ?? []).joined(separator: " "))",
                        tryThis: "commit with -c 'CMD [\"cat\", \"/hello\"]'")
            return .pass("lvi-hello:0.1 has \(image.config.rootfs.diff_ids.count) layers and \(image.config.history?.count ?? 0) history entries")
        }
        Hint("If lvi-src exists from an earlier try: `sudo box rm lvi-src` first.")
        Solution("box run --name lvi-src busybox sh -c 'echo hello from {{word}} > /hello'",
                 "box commit -c 'CMD [\"cat\", \"/hello\"]' lvi-src lvi-hello:0.1",
                 "box run --rm lvi-hello:0.1")
    }

    Step("save", "Save it, compressed") {
        Instructions("""
        "Save an existing image" (seed 002): `box save` writes the image, all its layers, its config and its \
        name, as a tar on standard output; gzip it on the way:
        ```
        sudo box save lvi-hello:0.1 | gzip > {{workdir}}/img.tar.gz
        ls -l {{workdir}}
        gzip -dc {{workdir}}/img.tar.gz | tar -t
        ```
        """)
        Check { ctx in
            let image = try helloImage(ctx)
            let path = ctx.workDirectory + "/img.tar.gz"
            let manifest = try archiveManifest(ctx, path, made: ctx.clock.wall,
                                               tryThis: "sudo box save lvi-hello:0.1 | gzip > \(path)")
            try require(manifest.contains("\"\(Digest.hex(image.id)).json\""), expected: "img.tar.gz to be the save of lvi-hello:0.1",
                        observed: "it holds another image", tryThis: "sudo box save lvi-hello:0.1 | gzip > \(path)")
            try require(manifest.contains("lvi-hello:0.1"), expected: "the archive to carry the name lvi-hello:0.1",
                        observed: "it has no name in it (saved by id)", tryThis: "save it by name: sudo box save lvi-hello:0.1 | gzip > \(path)")
            return .pass("\(path) is a gzipped docker-archive of lvi-hello:0.1: config, \(image.config.rootfs.diff_ids.count) layer tars, manifest.json")
        }
        Hint("`box save` will not write to a terminal: pipe it into gzip, and redirect gzip into the file.")
        Solution("box save lvi-hello:0.1 | gzip > {{workdir}}/img.tar.gz")
    }

    Step("load", "Remove it, load it back, tag it by id") {
        Instructions("""
        Remove the image, then load it from the archive (seed 002: "Load an image from a file"):
        ```
        sudo box rmi lvi-hello:0.1
        sudo box images
        sudo box load < {{workdir}}/img.tar.gz        # or: sudo box load -i {{workdir}}/img.tar.gz
        sudo box images
        ```
        It is back, with its name, its id and its age: `load` stores the config and layers byte for byte, \
        and the id is the config's sha256. Now give it another name, by its IMAGE ID, as the seed does:
        ```
        sudo box tag IMAGEID lvi-loaded:0.1
        sudo box images
        sudo box history lvi-loaded:0.1
        ```
        Two names, one IMAGE ID (like the seed's `helloworld` and `renesaenz/helloworld`); the history is the \
        one you made.
        """)
        Check { ctx in
            let committed = try require(labEvents(ctx).last { $0.action == "commit" && $0.attributes["ref"] == "lvi-hello:0.1" }?.attributes["imageID"],
                                        expected: "lvi-hello:0.1 committed earlier in the lab", observed: "no such commit",
                                        tryThis: "sudo lab reset load-vs-import, and start again")
            let image = try require(ctx.images().first { $0.id == committed }, expected: "lvi-hello's image, loaded back",
                                    observed: "it is not in box's store", tryThis: "sudo box load < \(ctx.workDirectory)/img.tar.gz")
            // The config is written when the image is stored: a fresh one means it was removed and loaded again.
            let stored = FileFacts.lstat(ctx.configFile(of: image))?.modified
            try require(stored.map { !($0 < ctx.clock.wall) } ?? false, expected: "the image removed and loaded back during this step",
                        observed: "box's store has had it since before the step (it was not removed)",
                        tryThis: "sudo box rmi lvi-hello:0.1 lvi-loaded:0.1, then sudo box load < \(ctx.workDirectory)/img.tar.gz")
            try require(image.names.contains("lvi-hello:0.1"), expected: "the loaded image named lvi-hello:0.1 (the archive's name)",
                        observed: "it is named \(image.names.joined(separator: ", "))", tryThis: "sudo box load < \(ctx.workDirectory)/img.tar.gz")
            try require(image.names.contains("lvi-loaded:0.1"), expected: "the loaded image tagged lvi-loaded:0.1",
                        observed: image.names.isEmpty ? "it has no name" : "its names are \(image.names.joined(separator: ", "))",
                        tryThis: "sudo box tag \(image.shortID) lvi-loaded:0.1")
            return .pass("\(image.shortID) is back, loaded during this step, as lvi-hello:0.1 and lvi-loaded:0.1, with its \(image.config.history?.count ?? 0) history entries")
        }
        Hint("`box load` reads standard input: `sudo box load < FILE` (the shell opens the file), or `sudo box load -i FILE`.")
        Hint("If the image was still there, `box load` only names it again: remove it first with `sudo box rmi`.")
        Solution("box rmi lvi-hello:0.1",
                 "box load < {{workdir}}/img.tar.gz",
                 "box tag $(box images | awk '$1 == \"lvi-hello\" {print $3}') lvi-loaded:0.1")
    }

    Step("export-import", "Export a container, import it") {
        Instructions("""
        `export` writes a **container's** filesystem, as it sees it (every layer merged into one tree), and \
        `import` makes an image of such a tree (seed 002):
        ```
        sudo box run --name lvi-box lvi-loaded:0.1
        sudo box export lvi-box | gzip > {{workdir}}/c.tar.gz
        cat {{workdir}}/c.tar.gz | sudo box import - lvi-flat:0.1
        sudo box history lvi-flat:0.1
        ```
        One line: `Imported from -`. The layers and the history are gone, and so is the config: \
        `sudo box run --rm lvi-flat:0.1` has no command to run (`sudo box run --rm lvi-flat:0.1 cat /hello` works).
        """)
        Check { ctx in
            let loaded = try require(ctx.images().first { $0.names.contains("lvi-loaded:0.1") }, expected: "the image lvi-loaded:0.1",
                                     observed: "there is none", tryThis: "load and tag it again (step 3)")
            let c = try ctx.container("lvi-box", tryThis: "sudo box run --name lvi-box lvi-loaded:0.1")
            try require(!(c.spec.Created < ctx.clock.wall) && c.spec.Image == loaded.id,
                        expected: "lvi-box made from lvi-loaded:0.1 during this step",
                        observed: c.spec.Image == loaded.id ? "it was made before the step began" : "it was made from \(c.spec.Config.Image)",
                        tryThis: "sudo box rm -f lvi-box; sudo box run --name lvi-box lvi-loaded:0.1")
            let path = ctx.workDirectory + "/c.tar.gz"
            let diffID = try gzippedTar(ctx, path, made: ctx.clock.wall, tryThis: "sudo box export lvi-box | gzip > \(path)")
            let flat = try require(ctx.images().first { $0.names.contains("lvi-flat:0.1") }, expected: "an image lvi-flat:0.1",
                                   observed: "there is none", tryThis: "cat \(path) | sudo box import - lvi-flat:0.1")
            try require(flat.config.created.flatMap { Timestamp.parse($0) }.map { !($0 < ctx.clock.wall) } ?? false,
                        expected: "lvi-flat:0.1 imported during this step", observed: "it is older",
                        tryThis: "sudo box rmi lvi-flat:0.1; cat \(path) | sudo box import - lvi-flat:0.1")
            try require(flat.config.rootfs.diff_ids == [diffID], expected: "lvi-flat:0.1 imported from \(path)",
                        observed: "its layer is not that file's content", tryThis: "cat \(path) | sudo box import - lvi-flat:0.1")
            try require(flat.config.history?.last?.comment == "Imported from -", expected: "the import read from standard input (import -)",
                        observed: "box history says \(flat.config.history?.last?.comment ?? "nothing")",
                        tryThis: "cat \(path) | sudo box import - lvi-flat:0.1")
            let hello = Files.readIfPresent((ctx.layers(of: flat).first ?? "") + "/hello")?.trimmed
            try require(hello == "hello from \(ctx.value("word"))" && Files.exists((ctx.layers(of: flat).first ?? "") + "/bin/busybox"),
                        expected: "lvi-box's whole filesystem in the one layer", observed: "it lacks /hello or /bin/busybox",
                        tryThis: "export lvi-box, made from lvi-loaded:0.1")
            return .pass("lvi-flat:0.1 is lvi-box's filesystem as one layer; its history has one entry, the import")
        }
        Hint("`box export` works on a stopped container too: lvi-box printed its hello and exited, and can still be exported.")
        Hint("`import -` reads the tar from standard input; gzip is undone by box itself.")
        Solution("box run --name lvi-box lvi-loaded:0.1",
                 "box export lvi-box | gzip > {{workdir}}/c.tar.gz",
                 "cat {{workdir}}/c.tar.gz | box import - lvi-flat:0.1")
    }

    Step("compare", "Load or import: history and size") {
        Instructions("""
        "Loading an image using the load command creates a new image including its history. Importing a \
        container as an image using the import command creates a new image excluding the history which \
        results in a smaller image size" (seed 002). See for yourself:
        ```
        ls -l {{workdir}}
        sudo box history lvi-loaded:0.1
        sudo box history lvi-flat:0.1
        sudo box images --tree
        ```
        The exported container is a little smaller than the saved image (one tar instead of a stack of \
        them, with their metadata); but on disk the flat image shares nothing: `box images --tree` shows it \
        apart, with a copy of busybox of its own, while lvi-loaded stands on busybox's layer.
        """)
        Ask("How many bytes are img.tar.gz and c.tar.gz?", answer: "IMG C")
        Check { ctx in
            let img = ctx.workDirectory + "/img.tar.gz", c = ctx.workDirectory + "/c.tar.gz"
            let sizes = [Files.size(img), Files.size(c)]
            try require(sizes[0] != nil && sizes[1] != nil, expected: "both archives in \(ctx.workDirectory)",
                        observed: "\(sizes[0] == nil ? "img.tar.gz" : "c.tar.gz") is missing", tryThis: "make it again (steps 2 and 4)")
            let loaded = try require(ctx.images().first { $0.names.contains("lvi-loaded:0.1") }, expected: "lvi-loaded:0.1",
                                     observed: "there is none", tryThis: "load it again (step 3)")
            let flat = try require(ctx.images().first { $0.names.contains("lvi-flat:0.1") }, expected: "lvi-flat:0.1",
                                   observed: "there is none", tryThis: "import it again (step 4)")
            let answer = try ctx.numericAnswer(count: 2)
            try require(answer == sizes.map { Int($0 ?? 0) }, expected: "the sizes ls -l shows, img.tar.gz first",
                        observed: "you answered \(answer[0]) \(answer[1])", tryThis: "ls -l \(ctx.workDirectory)")
            return .pass("""
                img.tar.gz \(sizes[0]!) bytes: \(loaded.config.rootfs.diff_ids.count) layers, \(loaded.config.history?.count ?? 0) history entries; \
                c.tar.gz \(sizes[1]!) bytes: \(flat.config.rootfs.diff_ids.count) layer, \(flat.config.history?.count ?? 0) history entry
                """)
        }
        Hint("`ls -l` prints the size in bytes in its fifth column; `stat -c %s FILE` prints it alone.")
        Solution("lab answer $(stat -c %s {{workdir}}/img.tar.gz) $(stat -c %s {{workdir}}/c.tar.gz)")
    }
}

/// The image lvi-hello:0.1.
private func helloImage(_ ctx: Context) throws -> Image {
    try require(ctx.images().first { $0.names.contains("lvi-hello:0.1") }, expected: "the image lvi-hello:0.1",
                observed: "there is none", tryThis: "make it again (step 1)")
}

/// Box's events since the lab started.
private func labEvents(_ ctx: Context) -> [Event] {
    guard let since = ctx.data["started"].flatMap({ Timestamp.parse($0) }) else { return [] }
    return ctx.events(since: since)
}

/// Checks that `path` is a gzip file written after `made` and returns the sha256 of what it holds, uncompressed.
private func gzippedTar(_ ctx: Context, _ path: String, made: Timestamp, tryThis: String) throws -> String {
    try require(FileFacts.lstat(path).map { !($0.modified < made) } ?? false, expected: "\(path) written during this step",
                observed: Files.exists(path) ? "it is older" : "there is no such file", tryThis: tryThis)
    let head = (try? Files.read(path).prefix(2)).map(Array.init) ?? []
    try require(head == [0x1f, 0x8b], expected: "\(path) compressed with gzip", observed: "it does not start with gzip's magic (1f 8b)",
                tryThis: tryThis)
    var template = Array("/tmp/lvi-check-XXXXXX".utf8CString)
    guard let made = mkdtemp(&template) else { throw Failure(expected: "a temporary directory", observed: "mkdtemp failed", tryThis: "lab doctor") }
    let dir = String(cString: made)
    defer { try? Files.removeTree(dir) }
    return try require(try? LayerArchive.decompress(path, to: dir + "/plain.tar"), expected: "\(path) to decompress",
                       observed: "gzip data that does not decompress", tryThis: tryThis)
}

/// The manifest.json of a gzipped docker-archive written after `made`.
private func archiveManifest(_ ctx: Context, _ path: String, made: Timestamp, tryThis: String) throws -> String {
    _ = try gzippedTar(ctx, path, made: made, tryThis: tryThis)
    var template = Array("/tmp/lvi-check-XXXXXX".utf8CString)
    guard let made = mkdtemp(&template) else { throw Failure(expected: "a temporary directory", observed: "mkdtemp failed", tryThis: "lab doctor") }
    let dir = String(cString: made)
    defer { try? Files.removeTree(dir) }
    _ = try? LayerArchive.extract(path, into: dir, mode: .plain)
    return try require(Files.readIfPresent(dir + "/manifest.json"), expected: "\(path) to be a saved image (a tar with manifest.json)",
                       observed: "it has no manifest.json", tryThis: tryThis)
}
