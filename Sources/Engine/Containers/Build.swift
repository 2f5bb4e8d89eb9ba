#if canImport(Glibc)
import Glibc
#endif
import FoundationEssentials

/// `box build`: a Boxfile (or Dockerfile) run step by step, as docker's classic builder does. Each RUN runs in
/// a container of the image so far and is committed as a layer; each COPY/ADD copies from the build context
/// into a container and is committed as a layer; ENV, WORKDIR, CMD, ENTRYPOINT, LABEL and USER only change
/// the config (an `empty_layer` history entry). Every step's result is an image, found again by a cache key
/// made of the parent image, the instruction and, for COPY/ADD, the content of what is copied.
///
/// Intermediate images stay in the store as the cache (untagged; `box image prune` removes them). A build that
/// fails removes its container and tags nothing.
public struct Builder {
    public struct Instruction: Sendable, Equatable {
        public var keyword: String
        public var arguments: String
        public var line: Int
        public var text: String { "\(keyword) \(arguments)" }
    }

    public let store: ContainerStore
    public init(store: ContainerStore) { self.store = store }

    /// Parses a Boxfile: `#` comments, blank lines, `\` continuations; the first instruction must be FROM.
    public static func parse(_ text: String) throws -> [Instruction] {
        var out: [Instruction] = []
        var pending = "", start = 0
        for (n, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = String(raw).trimmed
            if pending.isEmpty && (line.isEmpty || line.hasPrefix("#")) { continue }
            if pending.isEmpty { start = n + 1 }
            if line.hasSuffix("\\") {
                pending += line.dropLast() + " "
                continue
            }
            let full = (pending + line).trimmed
            pending = ""
            let keyword = full.prefix { !$0.isWhitespace }.uppercased()
            let arguments = String(full.dropFirst(keyword.count)).trimmed
            let known = ["FROM", "RUN", "COPY", "ADD", "ENV", "WORKDIR", "CMD", "ENTRYPOINT", "LABEL", "USER"]
            guard known.contains(keyword) else {
                throw BoxError(.usage, "line \(start): unknown instruction \(keyword) (box build knows \(known.joined(separator: ", ")))")
            }
            guard !arguments.isEmpty else { throw BoxError(.usage, "line \(start): \(keyword) needs an argument") }
            out.append(Instruction(keyword: keyword, arguments: arguments, line: start))
        }
        guard let first = out.first else { throw BoxError(.usage, "the Boxfile has no instructions") }
        guard first.keyword == "FROM" else {
            throw BoxError(.usage, "line \(first.line): the first instruction must be FROM, not \(first.keyword)")
        }
        if out.dropFirst().contains(where: { $0.keyword == "FROM" }) {
            throw BoxError(.usage, "box build has one stage: a second FROM is not supported")
        }
        return out
    }

    /// Builds the instructions with `context` as the build context; `log` hears docker's lines. Returns the
    /// image id. `labels` (KEY=VALUE, docker build --label) become LABEL steps after the last instruction, as
    /// docker's classic builder adds them.
    public func build(_ instructions: [Instruction], context: String, tag: ImageReference?, useCache: Bool = true,
                      labels: [String] = [], log: (String) -> Void) throws -> String {
        guard let root = Builder.realpath(context) else { throw BoxError(.usage, "build context \(context): no such directory", exitCode: 1) }
        let instructions = instructions + labels.map {
            Instruction(keyword: "LABEL", arguments: $0.contains("=") ? $0 : $0 + "=", line: 0)
        }
        var image = ""
        for (i, step) in instructions.enumerated() {
            log("Step \(i + 1)/\(instructions.count) : \(step.text)")
            if step.keyword == "FROM" {
                if DefaultImage.isNamed(by: step.arguments) { _ = try DefaultImage.ensure(store.images) }
                image = try store.images.resolve(step.arguments).id
                log(" ---> \(Digest.hex(image).prefix(12))")
                continue
            }
            let content = ["COPY", "ADD"].contains(step.keyword) ? try contentHash(step, context: root) : ""
            let key = LayerArchive.sha256(Array("\(image)\n\(step.text)\n\(content)".utf8))
            if useCache, let cached = try cache()[key], (try? store.images.config(cached)) != nil {
                log(" ---> Using cache")
                log(" ---> \(Digest.hex(cached).prefix(12))")
                image = cached
                continue
            }
            switch step.keyword {
            case "RUN": image = try run(step, on: image, log: log)
            case "COPY", "ADD": image = try copy(step, on: image, context: root)
            default: image = try configure(step, on: image)
            }
            try remember(key, image)
            log(" ---> \(Digest.hex(image).prefix(12))")
        }
        log("Successfully built \(Digest.hex(image).prefix(12))")
        if let tag {
            try store.root.locked { try store.images.tag(image, as: tag) }
            log("Successfully tagged \(tag)")
        }
        var attributes: [String: String] = ["imageID": image]
        attributes["ref"] = tag?.description
        store.journal.record(Event(type: "image", action: "build", id: image, attributes: attributes))
        return image
    }

    // MARK: steps

    /// ENV, WORKDIR, CMD, ENTRYPOINT, LABEL, USER: a new config, no layer.
    func configure(_ step: Instruction, on image: String) throws -> String {
        var config = try store.images.config(image)
        var change = step.text
        // `ENV KEY VALUE` (the old form) is `ENV KEY=VALUE`.
        if ["ENV", "LABEL"].contains(step.keyword), !step.arguments.contains("=") {
            let key = step.arguments.prefix { !$0.isWhitespace }
            change = "\(step.keyword) \(key)=\(String(step.arguments.dropFirst(key.count)).trimmed)"
        }
        if step.keyword == "WORKDIR", !step.arguments.hasPrefix("/") {
            change = "WORKDIR " + Builder.join(config.config.WorkingDir ?? "/", step.arguments)
        }
        try config.config.apply(change)
        let now = Timestamp.now().rfc3339
        config.created = now
        config.history = (config.history ?? []) + [
            ImageConfig.History(created: now, created_by: "/bin/sh -c #(nop)  \(step.text)", comment: nil, empty_layer: true),
        ]
        return try store.images.addConfig(config)
    }

    /// RUN: the command in a container of `image`, committed if it exits 0.
    func run(_ step: Instruction, on image: String, log: (String) -> Void) throws -> String {
        var argv = ["/bin/sh", "-c", step.arguments]
        // The JSON form, if it is one (`RUN [ -d /app ]` is the shell form, as docker reads it).
        if step.arguments.hasPrefix("["), case .array(let items)? = try? JSONValue.parse(step.arguments) {
            argv = try Builder.strings(items, step)
        }
        var options = CreateOptions(image: image)
        options.command = argv
        options.entrypoint = ""
        let c = try store.create(options)
        defer { try? store.remove(c, force: true) }
        log(" ---> Running in \(c.spec.shortID)")
        let life = Lifecycle(store: store)
        let socket = try life.start(c)
        defer { close(socket) }
        _ = try life.waitStarted(socket)
        let done = try life.waitForExit(c)
        for line in output(c) { log(line) }
        guard done.state.ExitCode == 0 else {
            throw BoxError(.create, "The command '\(argv.joined(separator: " "))' returned a non-zero code: \(done.state.ExitCode)",
                           exitCode: 1)
        }
        return try Commit(store: store).run(done, reference: nil, createdBy: argv.joined(separator: " "), event: false)
    }

    /// COPY/ADD: files of the context into a container of `image`, committed. ADD unpacks local tar archives.
    func copy(_ step: Instruction, on image: String, context: String) throws -> String {
        let (sources, dest) = try paths(step, context: context)
        var options = CreateOptions(image: image)
        options.command = ["true"]
        options.network = "none"
        let c = try store.create(options)
        defer { try? store.remove(c, force: true) }
        let config = try store.images.config(image)
        let absolute = dest.hasPrefix("/") ? dest : Builder.join(config.config.WorkingDir ?? "/", dest)
        let files = ContainerFiles(store: store)
        let intoDirectory = dest.hasSuffix("/") || sources.count > 1 || sources.contains { Files.isDirectory($0) }
            || (step.keyword == "ADD" && sources.contains(where: Builder.isArchive))
        // The destination directory (or the file's parent) is made inside the container's root first.
        let directory = intoDirectory ? absolute : ContainerFiles.parent(absolute)
        try files.withRootfs(c) { merged in
            try Files.mkdirs(try ScopedPath.resolve(directory, in: merged))
        }
        for source in sources {
            if step.keyword == "ADD" && Builder.isArchive(source) {
                let fd = open(source, O_RDONLY | O_CLOEXEC)
                guard fd >= 0 else { throw BoxError.sys(.usage, "open \(source)") }
                defer { close(fd) }
                try files.copyIn(c, from: nil, to: absolute, tarFD: fd)
            } else if Files.isDirectory(source) {
                try files.copyIn(c, from: source + "/.", to: absolute)
            } else {
                try files.copyIn(c, from: source, to: absolute)
            }
        }
        let shown = sources.map { String($0.dropFirst(context.count + 1)) }.joined(separator: " ")
        return try Commit(store: store).run(c, reference: nil,
                                            createdBy: "/bin/sh -c #(nop) \(step.keyword) \(shown) in \(dest)", event: false)
    }

    static func strings(_ items: [JSONValue], _ step: Instruction) throws -> [String] {
        try items.map {
            guard case .string(let s) = $0 else { throw BoxError(.usage, "line \(step.line): \(step.keyword): the JSON form takes strings only") }
            return s
        }
    }

    static func isArchive(_ path: String) -> Bool {
        [".tar", ".tar.gz", ".tgz", ".tar.xz", ".txz", ".tar.bz2"].contains { path.hasSuffix($0) }
    }

    /// The sources of a COPY/ADD, resolved inside the context (a `..` or a symlink out of it is refused),
    /// and the destination.
    func paths(_ step: Instruction, context: String) throws -> ([String], String) {
        var words = step.arguments.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        if step.arguments.hasPrefix("["), case .array(let items)? = try? JSONValue.parse(step.arguments) {
            words = try Builder.strings(items, step)
        }
        guard words.count >= 2, let dest = words.last else {
            throw BoxError(.usage, "line \(step.line): \(step.keyword) needs a source and a destination")
        }
        let sources = try words.dropLast().map { word -> String in
            if word.contains("://") { throw BoxError(.usage, "line \(step.line): \(step.keyword) from a URL: box builds offline") }
            guard let real = Builder.realpath(context + "/" + word) else {
                throw BoxError(.usage, "line \(step.line): \(step.keyword) \(word): no such file in the build context", exitCode: 1)
            }
            guard real == context || real.hasPrefix(context + "/") else {
                throw BoxError(.usage, "line \(step.line): \(step.keyword) \(word): outside the build context (\(context))", exitCode: 1)
            }
            return real
        }
        return (sources, dest)
    }

    /// sha256 over the names, modes and contents of everything a COPY/ADD copies: an edited file busts the cache.
    func contentHash(_ step: Instruction, context: String) throws -> String {
        var parts: [String] = []
        func walk(_ path: String) throws {
            var st = stat()
            guard lstat(path, &st) == 0 else { return }
            let name = String(path.dropFirst(context.count))
            switch st.st_mode & S_IFMT {
            case S_IFDIR:
                parts.append("d \(name) \(st.st_mode & 0o7777)")
                for child in try Files.list(path).sorted() { try walk(path + "/" + child) }
            case S_IFREG: parts.append("f \(name) \(st.st_mode & 0o7777) \(try LayerArchive.sha256(file: path))")
            case S_IFLNK: parts.append("l \(name) \(Files.readLink(path) ?? "")")
            default: parts.append("o \(name)")
            }
        }
        for source in try paths(step, context: context).0 { try walk(source) }
        return LayerArchive.sha256(Array(parts.joined(separator: "\n").utf8))
    }

    /// What a RUN container printed (its json-file log).
    func output(_ c: Container) -> [String] {
        guard let text = Files.readIfPresent(store.logPath(c.id)) else { return [] }
        return text.split(separator: "\n").compactMap { line in
            guard let v = try? JSONValue.parse(String(line)), case .string(let s)? = v["log"] else { return nil }
            return s.hasSuffix("\n") ? String(s.dropLast()) : s
        }
    }

    // MARK: cache

    var cachePath: String { store.root.path + "/build-cache.json" }

    func cache() throws -> [String: String] {
        guard Files.exists(cachePath) else { return [:] }
        return (try? Files.decode([String: String].self, from: cachePath)) ?? [:]
    }

    func remember(_ key: String, _ image: String) throws {
        try store.root.locked {
            var c = try cache()
            c[key] = image
            try Files.writeAtomically(cachePath, try Files.encode(c), durable: false)
        }
    }

    static func realpath(_ path: String) -> String? {
        guard let p = Glibc.realpath(path, nil) else { return nil }
        defer { free(p) }
        return String(cString: p)
    }

    /// Joins container paths: "/app" and "sub" give "/app/sub".
    static func join(_ base: String, _ relative: String) -> String {
        (base.hasSuffix("/") ? base : base + "/") + relative
    }
}
