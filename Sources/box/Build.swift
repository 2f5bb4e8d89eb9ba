import ArgumentParser
import Engine

struct Build: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "build",
        abstract: "Build an image from a Boxfile (or Dockerfile)",
        discussion: """
        Reads DIR/Boxfile (else DIR/Dockerfile, or -f FILE) and runs its instructions in order: FROM, RUN, COPY,
        ADD (local files; local tar archives are unpacked), ENV, WORKDIR, CMD, ENTRYPOINT, LABEL, USER. Each RUN,
        COPY and ADD makes one layer (see box history); the others change only the config. A step whose parent
        image, instruction and copied files are unchanged is taken from the cache ("Using cache").
          box build -t hello DIR
          box history hello
        """)

    @Option(name: [.short, .long], help: "Name and optionally a tag (NAME[:TAG]) for the image")
    var tag: String?
    @Option(name: [.short, .long], help: "The Boxfile (default: DIR/Boxfile, else DIR/Dockerfile)")
    var file: String?
    @Flag(name: .customLong("no-cache"), help: "Do not use the cache")
    var noCache = false
    @Flag(name: [.short, .long], help: "Print only the image id")
    var quiet = false
    @Argument(help: "The build context: COPY and ADD read from it")
    var context: String

    func run() throws {
        let store = try engine()
        let reference = try tag.map(ImageReference.init(parsing:))
        guard Files.isDirectory(context) else {
            throw BoxError(.usage, "unable to prepare context: path \"\(context)\" not found", exitCode: 1)
        }
        let path = file ?? ["Boxfile", "Dockerfile"].map { context + "/" + $0 }.first(where: Files.exists) ?? context + "/Boxfile"
        guard let text = Files.readIfPresent(path) else {
            throw BoxError(.usage, "cannot read \(path): put a Boxfile (or Dockerfile) in \(context), or give -f FILE", exitCode: 1)
        }
        let instructions = try Builder.parse(text)
        let id = try Builder(store: store).build(instructions, context: context, tag: reference, useCache: !noCache) { line in
            if !quiet { say(line) }
        }
        if quiet { say(id) }
    }
}
