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
    @Option(name: .long, help: "Set metadata on the image (KEY=VALUE): a LABEL step after the last instruction")
    var label: [String] = []
    @Option(name: .long, help: "Write the image id to this file")
    var iidfile: String?
    @Flag(name: .long, help: "Remove the intermediate containers after a successful build (box always does)")
    var rm = false
    @Flag(name: .customLong("force-rm"), help: "Remove the intermediate containers even after a failed step (box always does)")
    var forceRm = false
    @OptionGroup(title: refusedTitle) var refused: BuildRefused
    @Argument(help: "The build context: COPY and ADD read from it")
    var context: String

    func run() throws {
        try refused.check()
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
        let id = try Builder(store: store).build(instructions, context: context, tag: reference, useCache: !noCache,
                                                 labels: label) { line in
            if !quiet { say(line) }
        }
        if let iidfile { try Files.writeAtomically(iidfile, id, durable: false) }
        if quiet { say(id) }
    }
}

/// What docker's build does that box's builder does not: one stage, local images, no build-time resources.
struct BuildRefused: RefusedFlags {
    @Option(help: "box build has no ARG instruction, so nothing to set")
    var buildArg: [String] = []
    @Option(help: "box build has one stage (no FROM ... AS NAME to stop at)")
    var target: String?
    @Option(help: "box build's RUN steps use the default network; /etc/hosts entries are not added")
    var addHost: [String] = []
    @Option(help: "box build's RUN steps use the default network")
    var network: String?
    @Flag(help: "box build uses the images in its store: box pull the base image first")
    var pull = false
    @Option(help: "box build's cache is its own store's steps: it imports no cache from images")
    var cacheFrom: [String] = []
    @Flag(help: "box build keeps one layer per step: it does not squash them")
    var squash = false
    @Flag(help: "box build reads the context from the disk: there is no daemon to send it to, compressed or not")
    var compress = false
    @Flag(help: "box verifies no image signatures (no content trust): it has nothing to disable")
    var disableContentTrust = false
    @Option(help: "box builds for the host's platform only")
    var platform: String?
    @Option(help: "box has one isolation, Linux namespaces")
    var isolation: String?
    @Option(help: "box build's RUN steps run in box's own cgroup tree")
    var cgroupParent: String?
    @Option(help: "box build's RUN steps get the default resources: no CPU limits")
    var cpuPeriod: String?
    @Option(help: "box build's RUN steps get the default resources: no CPU limits")
    var cpuQuota: String?
    @Option(name: [.customShort("c"), .long], help: "box build's RUN steps get the default resources: no CPU weight")
    var cpuShares: String?
    @Option(help: "box build's RUN steps get the default resources: no CPU pinning")
    var cpusetCpus: String?
    @Option(help: "box build's RUN steps get the default resources: no memory-node pinning")
    var cpusetMems: String?
    @Option(name: [.customShort("m"), .long], help: "box build's RUN steps get the default resources: no memory limit")
    var memory: String?
    @Option(help: "box build's RUN steps get the default resources: no swap limit")
    var memorySwap: String?
    @Option(help: "box build's RUN steps get the default /dev/shm")
    var shmSize: String?
    @Option(help: "box build's RUN steps get box's default limits")
    var ulimit: [String] = []
    @Option(help: "box build's RUN steps get box's default seccomp filter and capabilities")
    var securityOpt: [String] = []
}
