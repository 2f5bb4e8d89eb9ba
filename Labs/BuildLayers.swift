#if canImport(Glibc)
import Glibc
#endif
import LabKit

/// Seed 004 ("Dockerfile": `docker build -t helloworld:0.1 .`, "Every RUN instruction adds a layer to our image";
/// "layers -> image & stacks of image ... like git, app is committed step by step"; `docker history`;
/// `docker pull` saying "Already exists" for the layers it has; "debug commands: docker images --tree,
/// docker history"): a Boxfile built, its layers read back, the cache used and busted.
public let buildLayers = Lab("build-layers", "Build an image: every step a layer, and the cache") {
    Summary("""
    Build an image from a Boxfile and read it back with box history: every RUN and COPY is a layer. \
    Build it again and see the cache; edit a copied file, then an instruction, and see which layers are \
    rebuilt; read the result with box images --tree.
    """)
    Seeds("004")
    Minutes(25)
    Prerequisites("overlay")
    Value("word") { $0.pick("word", from: ["otter", "heron", "lynx", "marten", "osprey", "badger", "kestrel", "ibex", "puffin", "stoat"]) }

    // The build context: a Boxfile and the file it copies. The LABEL marks every image the lab builds, so
    // that lab reset finds the intermediate ones (the cache) too.
    LabSetup { ctx in
        let app = ctx.workDirectory + "/app"
        try ctx.makeWorkDirectory()
        try Files.mkdirs(app)
        try Files.writeAtomically(app + "/Boxfile", """
            # The image of the build-layers lab: one layer per RUN and COPY.
            FROM busybox
            LABEL boxlab.lab=build-layers
            RUN mkdir -p /app && date > /app/built
            COPY greeting.txt /app/greeting.txt
            RUN wc -c /app/greeting.txt > /app/size
            CMD ["cat", "/app/greeting.txt", "/app/size"]

            """)
        try Files.writeAtomically(app + "/greeting.txt", "Hello from the \(ctx.value("word"))'s first image\n")
        // The learner edits them with their own editor, without sudo: handed over once root has finished
        // writing there (lchown: root made each of them just now, in its own fresh directory).
        for path in [app + "/Boxfile", app + "/greeting.txt", app] { _ = lchown(path, ctx.learner.uid, ctx.learner.gid) }
        try ctx.remember("since", Timestamp.now().rfc3339)
    }
    Teardown { ctx in
        let since = ctx.data["since"].flatMap { Timestamp.parse($0) } ?? .now()
        for image in ctx.images() {
            let labelled = image.config.config.Labels?["boxlab.lab"] == "build-layers"
            let made = image.config.created.flatMap { Timestamp.parse($0) }.map { !($0 < since) } ?? false
            let ours = image.names.isEmpty && made && (image.config.history ?? []).contains { ($0.created_by ?? "").contains("/app/") }
            guard labelled || ours else { continue }
            // (`box rmi` has no -f; no container uses these: lab reset removed the lab's containers first.)
            if (try? ctx.box("rmi", image.id)) != nil { ctx.reportRemoved("image \(image.shortID) (\(image.names.first ?? "a build step"))") }
        }
    }

    Step("build", "Build an image from a Boxfile") {
        Instructions("""
        A **Boxfile** is box's Dockerfile: instructions run one after the other, each on the result of the \
        one before. The lab wrote one for you:
        ```
        cat {{workdir}}/app/Boxfile
        cat {{workdir}}/app/greeting.txt
        ```
        Build it, as the seed does with `docker build -t helloworld:0.1 .`, and run the result:
        ```
        sudo box build -t bl-app {{workdir}}/app
        sudo box run --rm bl-app
        ```
        Follow the build's output: `Step 3/6 : RUN ...` runs in a container (`---> Running in ...`), which is \
        then committed: its writable layer becomes a new layer, and the image so far a new image (`---> ID`).
        """)
        Check { ctx in
            let built = try require(builds(ctx.events()).last, expected: "bl-app built during this step",
                                    observed: "no `box build -t bl-app` since the step started",
                                    tryThis: "sudo box build -t bl-app \(ctx.workDirectory)/app")
            let image = try require(ctx.images().first { $0.id == built.imageID }, expected: "the image the build made",
                                    observed: "image \(Digest.hex(built.imageID).prefix(12)) is gone", tryThis: "build it again")
            let steps = layerSteps(image)
            try require(steps.contains { $0.by.contains("COPY greeting.txt") } && steps.filter { $0.by.contains("/app/") }.count >= 3,
                        expected: "the Boxfile's RUN, COPY and RUN as layers of bl-app",
                        observed: "bl-app's layers were made by: \(steps.map(\.by).joined(separator: " | "))",
                        tryThis: "build the lab's Boxfile unchanged: sudo box build -t bl-app \(ctx.workDirectory)/app")
            return .pass("bl-app is image \(image.shortID), built from \(ctx.workDirectory)/app/Boxfile")
        }
        Hint("The last argument of `box build` is the directory holding the Boxfile (the build context), not the Boxfile itself.")
        Solution("box build -t bl-app {{workdir}}/app", "box run --rm bl-app")
    }

    Step("history", "box history: a stack of layers") {
        Instructions("""
        Seed 004: "layers -> image & stacks of image ... like git, the app is committed step by step". Read \
        the stack, newest first:
        ```
        sudo box history bl-app
        ```
        Rows with a SIZE are layers: each RUN and the COPY, and busybox's own layer at the bottom. LABEL and \
        CMD rows are `0B`: they change only the image's config. The layers themselves, bottom first, are in \
        the image's config, each named by the sha256 of its content (its **diff id**):
        ```
        sudo box inspect --format '{{range .RootFS.Layers}}{{println .}}{{end}}' bl-app
        ```
        Each is unpacked once under `BOX_ROOT/overlay2/<id>/diff`: a container of bl-app gets them as its \
        lowerdirs (see the overlay lab).
        """)
        Ask("How many layers does bl-app have, and which one did the COPY make (its first 12 hex digits)?", answer: "COUNT LAYER")
        Check { ctx in
            let image = try require(ctx.images().first { $0.names.contains("bl-app:latest") }, expected: "the image bl-app",
                                    observed: "no image is called bl-app", tryThis: "build it (step 1): sudo box build -t bl-app \(ctx.workDirectory)/app")
            let layers = image.config.rootfs.diff_ids
            let copy = try require(layerSteps(image).first { $0.by.contains(" COPY ") }, expected: "a COPY layer in bl-app",
                                   observed: "bl-app has none", tryThis: "build the lab's Boxfile unchanged (step 1)")
            let answer = try require(ctx.answer, expected: "two values: lab answer COUNT LAYER", observed: "no answer yet",
                                     tryThis: "count the layers, find the COPY's, then: lab answer COUNT LAYER")
            try require(answer.count == 2 && Int(answer[0]) != nil, expected: "two values: lab answer COUNT LAYER",
                        observed: "lab answer \(answer.joined(separator: " "))", tryThis: "e.g. lab answer 7 0123456789ab")
            try ctx.requireAnswered(answer[0], Int(answer[0]) == layers.count, expected: "bl-app's number of layers",
                                    tryThis: "count the lines of the box inspect command, or the rows of box history that have a size")
            try ctx.requireAnswered(answer[1], sameLayer(answer[1], copy.layer), expected: "the layer the COPY made",
                                    tryThis: "the layers are listed bottom first: busybox's, then one per RUN or COPY, in the Boxfile's order")
            return .pass("bl-app has \(layers.count) layers; the COPY made \(Digest.hex(copy.layer).prefix(12))")
        }
        Hint("History is newest first, the layer list oldest first: count the history rows with a size from the bottom up.")
        Solution("L=$(box inspect --format '{{range .RootFS.Layers}}{{println .}}{{end}}' bl-app)",
                 "box history bl-app",
                 "lab answer $(echo \"$L\" | grep -c sha256) $(echo \"$L\" | sed -n 3p | cut -c8-19)")
    }

    Step("cache", "Build again: Using cache") {
        Instructions("""
        Build the same Boxfile once more:
        ```
        sudo box build -t bl-app {{workdir}}/app
        ```
        Every step says `---> Using cache`, and the result is the same image id as before. box keeps every \
        step's image; a step whose parent image, instruction and (for COPY and ADD) copied files are all \
        unchanged is taken from there instead of being run. Seed 004 shows the same with `docker pull`: \
        `6941bfcbbfca: Already exists`. `sudo box images` lists those intermediate images as `<none>`.
        """)
        Check { ctx in
            let built = try require(builds(ctx.events()).last, expected: "bl-app built again during this step",
                                    observed: "no `box build -t bl-app` since the step started",
                                    tryThis: "sudo box build -t bl-app \(ctx.workDirectory)/app")
            // The build before it (in this step or earlier): the cached one must give the same image, and make
            // nothing in between (a --no-cache build replaces the cache: the next build is then cached on it).
            let all = builds(ctx.events(since: nil))
            let before = try require(all.last { $0.time < built.time }, expected: "bl-app built in an earlier step",
                                     observed: "no build of bl-app before this one", tryThis: "do step 1 first")
            let fresh = ctx.images().filter { image in
                image.config.created.flatMap { Timestamp.parse($0) }.map { before.time < $0 } ?? false
            }
            try require(built.imageID == before.imageID && fresh.isEmpty,
                        expected: "a build that took every step from the cache: the same image as the build before, no new layer",
                        observed: fresh.isEmpty ? "it gave image \(Digest.hex(built.imageID).prefix(12)), the build before it \(Digest.hex(before.imageID).prefix(12))"
                            : "the last build made \(fresh.count) new image(s): \(fresh.map(\.shortID).joined(separator: ", "))",
                        tryThis: "build the same Boxfile again, without --no-cache (if you edited greeting.txt or the Boxfile, undo it first)")
            return .pass("the build gave \(Digest.hex(built.imageID).prefix(12)) again, and made no image and no layer")
        }
        Hint("`--no-cache` would run every step again; leave it out, and change nothing in `{{workdir}}/app` yet.")
        Solution("box build -t bl-app {{workdir}}/app | grep 'Using cache'")
    }

    Step("bust-copy", "Edit a copied file: the COPY and what follows are rebuilt") {
        Instructions("""
        For a COPY, the cache compares the **content** of what is copied. Change the greeting, and build again:
        ```
        echo "and hello again from the {{word}}" >> {{workdir}}/app/greeting.txt
        sudo box build -t bl-app {{workdir}}/app
        sudo box run --rm bl-app
        ```
        Steps 2 and 3 still say `Using cache`; from the COPY on, every step runs again: a step's cache key \
        includes its parent image, and the COPY's parent is new. Compare the layer lists of the two builds \
        (`sudo box history bl-app`, `sudo box inspect ...` as in step 2): the bottom ones are the same, the \
        ones from the COPY up are new. Seed 004's best practice follows: what changes often goes last.
        """)
        Check { ctx in
            let word = ctx.value("word")
            let (old, new) = try rebuilt(ctx)
            let greeting = Files.readIfPresent(ctx.workDirectory + "/app/greeting.txt") ?? ""
            try require(greeting.contains("again from the \(word)"), expected: "greeting.txt edited",
                        observed: "\(ctx.workDirectory)/app/greeting.txt has no line \"and hello again from the \(word)\"",
                        tryThis: "echo \"and hello again from the \(word)\" >> \(ctx.workDirectory)/app/greeting.txt, then build again")
            let o = layerSteps(old), n = layerSteps(new)
            try require(o.map(\.by) == n.map(\.by), expected: "the same instructions as the build before (edit greeting.txt only)",
                        observed: "the Boxfile's layers changed: \(n.map(\.by).joined(separator: " | "))",
                        tryThis: "undo your changes to the Boxfile and build again")
            let k = try require(n.firstIndex { $0.by.contains(" COPY ") }, expected: "a COPY step", observed: "none in bl-app",
                                tryThis: "lab reset build-layers")
            let copied = Files.readIfPresent(ctx.layerDirectory(n[k].layer) + "/diff/app/greeting.txt") ?? ""
            try require(copied.contains("again from the \(word)"), expected: "the new greeting in bl-app's COPY layer",
                        observed: "the COPY layer holds the old greeting", tryThis: "build again after editing greeting.txt")
            let kept = zip(o, n).prefix(k).allSatisfy { $0.layer == $1.layer }
            let renewed = zip(o, n).dropFirst(k).allSatisfy { $0.layer != $1.layer }
            try require(kept && renewed, expected: "the layers below the COPY reused, the COPY's and those above it new",
                        observed: "\(kept ? "" : "a layer below the COPY was rebuilt")\(!kept && !renewed ? "; " : "")\(renewed ? "" : "a layer from the COPY on was reused")",
                        tryThis: "change greeting.txt only, and build without --no-cache")
            return .pass("\(k) layer(s) reused from the cache; the COPY's and the \(n.count - k - 1) above it are new (image \(new.shortID))")
        }
        Hint("Append with `>>` and build with the same command as before; `Using cache` should stop at the COPY step.")
        Solution("echo \"and hello again from the {{word}}\" >> {{workdir}}/app/greeting.txt",
                 "box build -t bl-app {{workdir}}/app",
                 "box run --rm bl-app")
    }

    Step("bust-instruction", "Change an instruction: every step after it is rebuilt") {
        Instructions("""
        For RUN, the cache compares the instruction's **text** (never what the command would do). Change the \
        first RUN of {{workdir}}/app/Boxfile (with an editor: `vi`, `nano`...) to:
        ```
        RUN mkdir -p /app && echo {{word}} > /app/owner && date > /app/built
        ```
        and build again:
        ```
        sudo box build -t bl-app {{workdir}}/app
        ```
        The LABEL step still comes from the cache; this RUN and **every step after it** are rebuilt, the COPY \
        too, although greeting.txt did not change: its parent image did. Only busybox's layer is shared with \
        the builds before.
        """)
        Check { ctx in
            let word = ctx.value("word")
            let (old, new) = try rebuilt(ctx)
            let o = layerSteps(old), n = layerSteps(new)
            let first = try require(n.firstIndex { $0.by.contains("/app") }, expected: "the Boxfile's layers",
                                    observed: "bl-app has none", tryThis: "lab reset build-layers")
            try require(n[first].by.contains("echo \(word) > /app/owner") && n[first].by != (o.count > first ? o[first].by : ""),
                        expected: "the first RUN changed to: RUN mkdir -p /app && echo \(word) > /app/owner && date > /app/built",
                        observed: "bl-app's first RUN is: \(n[first].by)",
                        tryThis: "edit the first RUN line of \(ctx.workDirectory)/app/Boxfile, then build again")
            let shared = zip(o, n).prefix { $0.layer == $1.layer }.count
            try require(shared == first, expected: "only the layers below the changed RUN shared with the build before",
                        observed: "\(shared) layer(s) shared, and busybox has \(first)",
                        tryThis: "change the first RUN (not a later line), and build without --no-cache")
            return .pass("the RUN and the \(n.count - first - 1) layer(s) above it are new (image \(new.shortID)); only busybox's \(first) layer(s) are shared")
        }
        Hint("Change the line in place; `Using cache` then stops at step 3 of 6.")
        Solution("sed -i 's|^RUN mkdir -p /app && date|RUN mkdir -p /app \\&\\& echo {{word}} > /app/owner \\&\\& date|' {{workdir}}/app/Boxfile",
                 "box build -t bl-app {{workdir}}/app")
    }

    Step("tree", "box images --tree") {
        Instructions("""
        Seed 004's debug command, `docker images --tree`, draws the layers of every image as a tree: an image \
        sits on the layers below it, and images that share layers share a branch.
        ```
        sudo box images --tree
        ```
        Your builds of bl-app are there (the older ones as `<none>` images now that the name has moved on): \
        the builds of steps 1 and 4 share busybox's layer and their first RUN, then part; the build of step 5 \
        parts from them right above busybox. Every other image of this machine is in the tree too. This is why layers are cheap: a shared layer is stored and unpacked once, and every \
        container of every image above it mounts it as a lowerdir.
        """)
        Ask("Which layers in the tree have more than one branch growing from them? (the first 12 hex digits of each)", answer: "LAYER...")
        Check { ctx in
            let forks = branchingLayers(ctx.images())
            let labs = forks.filter { $0.depth > 1 }
            try require(!labs.isEmpty, expected: "bl-app's builds parting above busybox's layer (steps 4 and 5)",
                        observed: "no layer above a base image has two branches", tryThis: "do steps 4 and 5 first")
            let answer = try require(ctx.answer, expected: "the layers with more than one branch: lab answer LAYER...",
                                     observed: "no answer yet", tryThis: "sudo box images --tree, and look where lines fork (├─)")
            let unmatched = answer.filter { a in !forks.contains { sameLayer(a, $0.layer) } }
            let missed = forks.filter { f in !answer.contains { sameLayer($0, f.layer) } }
            try require(unmatched.isEmpty && missed.isEmpty && answer.count == forks.count,
                        expected: "every layer with more than one branch under it, once each (\(forks.count) of them)",
                        observed: "you answered \(answer.joined(separator: " "))\(unmatched.isEmpty ? "" : "; \(unmatched.joined(separator: ", ")) has one branch or is no layer")",
                        tryThis: "a layer forks where two or more lines (├─ and └─) start at the same indentation right under it")
            return .pass("\(forks.map { String(Digest.hex($0.layer).prefix(12)) }.joined(separator: " and ")) fork: each is stored once and shared by all the images above it")
        }
        Hint("In the tree, a line's children are the lines just below it indented two more columns. A layer forks if it has two or more.")
        Solution("""
        for i in $(box images -q); do box inspect --format '{{range .RootFS.Layers}}{{println .}}{{end}}' $i | cut -c8-19 | paste -sd' '; done > {{workdir}}/chains
        box images --tree
        lab answer $(awk '{p=""; for (i = 1; i < NF; i++) { p = p "/" $i; if (!((p, $(i+1)) in seen)) { seen[p, $(i+1)] = 1; n[p]++; last[p] = $i } }} END {for (p in n) if (n[p] > 1) print last[p]}' {{workdir}}/chains)
        """)
    }
}

/// `box build -t bl-app` events, oldest first.
private func builds(_ events: [Event]) -> [(time: Timestamp, imageID: String)] {
    events.filter { $0.type == "image" && $0.action == "build" && $0.attributes["ref"] == "bl-app:latest" }
        .compactMap { e -> (time: Timestamp, imageID: String)? in
            guard let id = e.attributes["imageID"] else { return nil }
            return (time: e.time, imageID: id)
        }
}

/// The last build of bl-app before the step began (from the whole journal).
private func previousBuild(_ ctx: Context) -> (time: Timestamp, imageID: String)? {
    builds(ctx.events(since: nil, until: ctx.clock.wall)).last
}

/// The image bl-app was before this step and the one a build during it made: both must exist, and differ.
private func rebuilt(_ ctx: Context) throws -> (old: Image, new: Image) {
    let before = try require(previousBuild(ctx), expected: "bl-app built in an earlier step",
                             observed: "no build of bl-app before this step", tryThis: "do steps 1 to 3 first")
    let built = try require(builds(ctx.events()).last, expected: "bl-app built again during this step",
                            observed: "no `box build -t bl-app` since the step started",
                            tryThis: "sudo box build -t bl-app \(ctx.workDirectory)/app")
    let images = ctx.images()
    let old = try require(images.first { $0.id == before.imageID }, expected: "the image of the build before",
                          observed: "image \(Digest.hex(before.imageID).prefix(12)) was removed", tryThis: "lab reset build-layers, and start again")
    let new = try require(images.first { $0.id == built.imageID }, expected: "the image this build made",
                          observed: "image \(Digest.hex(built.imageID).prefix(12)) was removed", tryThis: "build again")
    try require(old.id != new.id, expected: "a build that made a new image", observed: "every step came from the cache (image \(new.shortID) again)",
                tryThis: "make the change this step asks for, then build again")
    return (old, new)
}

/// An image's layers with the history line that made each (history entries without `empty_layer` are layers,
/// in the order of rootfs.diff_ids).
private func layerSteps(_ image: Image) -> [(by: String, layer: String)] {
    var out: [(by: String, layer: String)] = []
    let layers = image.config.rootfs.diff_ids
    for h in image.config.history ?? [] where h.empty_layer != true && out.count < layers.count {
        out.append((h.created_by ?? "", layers[out.count]))
    }
    return out
}

/// The layers of `box images --tree` with two or more branches under them (the tree is a trie of the images'
/// diff_id lists), with their depth (1: a base image's bottom layer).
private func branchingLayers(_ images: [Image]) -> [(layer: String, depth: Int)] {
    var children: [String: Set<String>] = [:]
    for image in images {
        let layers = image.config.rootfs.diff_ids
        for k in layers.indices.dropLast() {
            children[layers[...k].joined(separator: "/"), default: []].insert(layers[k + 1])
        }
    }
    return children.filter { $0.value.count > 1 }.map { key, _ in
        let path = key.split(separator: "/")
        return (String(path.last ?? ""), path.count)
    }.sorted { $0.depth < $1.depth }
}

/// A layer as a learner types it: at least 12 hex digits of its diff id, with or without "sha256:".
private func sameLayer(_ typed: String, _ diffID: String) -> Bool {
    let t = Digest.hex(typed.trimmed.lowercased())
    return t.count >= 12 && Digest.hex(diffID).hasPrefix(t)
}
