#if canImport(Glibc)
import Glibc
#endif
import Engine

/// What a check, a setup or a teardown sees: the learner, when the step started, the learner's answer, the
/// engine's state, and the kernel's. Checks only read; setup and teardown may act (through `box`).
public final class Context {
    public let lab: Lab
    public let step: Step?
    public let learner: Learner
    /// When the step started (for a lab's setup and teardown: now).
    public let clock: StepClock
    /// The learner's last `lab answer` for this step, given after it started.
    public let answer: [String]?
    /// Facts the lab's setup remembered (`remember`).
    public private(set) var data: [String: String]
    /// The namespaces everything is compared with.
    public let host: Proc
    /// The engine's state, read through the calls below: labs know box's facts (containers, images, layers,
    /// events, networks), not its files.
    let engine: ContainerStore
    /// The lab's own directory (`{{workdir}}`): /run/boxlab/LAB (root's work root, checked
    /// by Runner.prepareWorkRoot; the lab's directory is removed before its setup runs), or a fresh one under selftest.
    public let workDirectory: String
    let journal: ProgressJournal
    let boxPath: String
    let environment: [String]
    /// The tracefs instance that records this step's signals (see `TraceSignals`).
    let signalTrace: String

    init(lab: Lab, step: Step?, learner: Learner, clock: StepClock, answer: [String]?, data: [String: String],
         engine: ContainerStore, journal: ProgressJournal, boxPath: String, workDirectory: String, environment: [String],
         signalTrace: String = "") {
        self.lab = lab
        self.step = step
        self.learner = learner
        self.clock = clock
        self.answer = answer
        self.data = data
        self.host = Proc.host()
        self.engine = engine
        self.journal = journal
        self.boxPath = boxPath
        self.workDirectory = workDirectory
        self.environment = environment
        self.signalTrace = signalTrace
    }

    /// Makes the lab's directory (fresh: the runner removed any left from before, inside root's work root)
    /// and, with `learnersOwn`, hands it to the learner: made by root with mkdir, never reached through a
    /// symlink, and chowned through its own descriptor.
    public func makeWorkDirectory(learnersOwn: Bool = false) throws {
        guard mkdir(workDirectory, 0o755) == 0 else { throw BoxError.sys(.store, "mkdir \(workDirectory)") }
        guard learnersOwn else { return }
        let fd = open(workDirectory, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { throw BoxError.sys(.store, "open \(workDirectory)") }
        defer { close(fd) }
        guard fchown(fd, learner.uid, learner.gid) == 0 else { throw BoxError.sys(.store, "chown \(workDirectory)") }
    }

    /// A per-learner value of the lab (or "workdir").
    public func value(_ name: String) -> String {
        if name == "workdir" { return workDirectory }
        return lab.values[name].map { $0(learner) } ?? "{{\(name)}}"
    }

    /// What a teardown removed, one line each, for `lab reset` to show.
    public private(set) var removed: [String] = []
    public func reportRemoved(_ line: String) { removed.append(line) }

    /// Keeps a fact for later steps and for `lab reset` (in the progress journal).
    public func remember(_ key: String, _ value: String) throws {
        var r = ProgressRecord(.data, lab: lab.id)
        r.key = key
        r.value = value
        try journal.append(r)
        data[key] = value
    }

    // MARK: the engine

    /// Every container the engine knows, newest first.
    public func containers() -> [Container] { (try? engine.list()) ?? [] }

    /// The container called `name`, or a failure saying how to make it.
    public func container(_ name: String, tryThis: String) throws -> Container {
        try require(containers().first { $0.name == name || $0.id == name },
                    expected: "a container named \(name)", observed: "no container is called \(name)", tryThis: tryThis)
    }

    /// The running container called `name` and its PID 1 (as the host sees it).
    public func running(_ name: String, tryThis: String) throws -> (Container, Proc) {
        let c = try container(name, tryThis: tryThis)
        let pid1 = c.state.Running ? Proc.read(c.state.Pid) : nil
        let proc = try require(pid1, expected: "container \(name) running",
                               observed: "it is \(c.state.Status.rawValue)", tryThis: tryThis)
        return (c, proc)
    }

    /// Every image, newest first, and the unpacked layer directories of one (its overlay lowerdirs).
    public func images() -> [Image] { (try? engine.images.list()) ?? [] }
    public func layers(of image: Image) -> [String] { (try? engine.images.layerDirectories(image)) ?? [] }
    /// The images of another engine root (a `BOX_ROOT=DIR box pull` into a fresh one), newest first.
    public func images(inEngineRoot path: String) -> [Image] { (try? ImageStore(root: EngineRoot(path: path)).list()) ?? [] }

    /// Engine events since the step started, oldest first.
    public func events() -> [Event] {
        EventJournal(root: engine.root).read(since: clock.wall).events
    }

    /// Engine events in [since, until), oldest first: since the lab started, say, or all before the step.
    public func events(since: Timestamp?, until: Timestamp? = nil) -> [Event] {
        EventJournal(root: engine.root).read(since: since, until: until).events
    }

    /// Where box keeps its state (BOX_ROOT: /var/lib/box unless set), and its layers (`overlay2/`).
    public var storageRoot: String { engine.root.path }
    public var layerStorage: String { engine.root.overlay }
    /// The directory of the image layer `diffID` (its files are in `diff/`).
    public func layerDirectory(_ diffID: String) -> String { engine.root.layerDir(diffID) }
    /// Container `c`'s writable layer: the overlay's upper dir.
    public func upperDirectory(of c: Container) -> String { engine.layerPath(c.id) + "/diff" }
    /// The file box keeps image `image`'s config in.
    public func configFile(of image: Image) -> String { engine.root.imageConfig(image.id) }
    /// What container `c` printed since `since` (default: since the step began), line by line: box keeps a
    /// container's output as docker's json-file lines, one object per chunk with its time.
    public func output(of c: Container, since: Timestamp? = nil) -> [String] {
        struct Line: Decodable { var log: String; var time: String }
        guard let bytes = try? Files.read(engine.logPath(c.id)) else { return [] }
        let from = since ?? clock.wall
        return bytes.split(separator: UInt8(ascii: "\n")).flatMap { raw -> [String] in
            guard let line = try? JSONTree.decode(Line.self, from: Array(raw)),
                  let at = Timestamp.parse(line.time), !(at < from) else { return [] }
            return line.log.split(separator: "\n").map(String.init)
        }
    }
    /// box's networks, and the one container `c` is attached to.
    public func networks() -> [Network] { (try? NetworkStore(root: engine.root).list()) ?? [] }
    public func attachment(of c: Container) -> Attachment? { ContainerNetwork.attachment(engine, c.id) }

    /// Runs `box` with these arguments; its output, or an error with what it printed.
    @discardableResult
    public func box(_ arguments: String...) throws -> String {
        let script = ([boxPath] + arguments).map(Shell.quote).joined(separator: " ")
        let (status, output) = try Shell.run(script, environment: environment, capture: true)
        guard status == 0 else { throw BoxError(.usage, "box \(arguments.joined(separator: " ")) failed: \(output)") }
        return output
    }

    /// Runs a shell command as the lab (for setup and teardown); its output, or an error with it.
    @discardableResult
    public func shell(_ script: String) throws -> String {
        let (status, output) = try Shell.run(script, environment: environment, capture: true)
        guard status == 0 else { throw BoxError(.usage, "\(script) failed (\(status)): \(output)") }
        return output
    }

    // MARK: the kernel

    /// Every process alive now.
    public func processes() -> [Proc] { Proc.all() }

    /// The processes in container `c`'s PID namespace.
    public func processes(in pid1: Proc) -> [Proc] { Namespaces.members(.pid, of: pid1.pid) }

    /// True if `p` runs in one of the engine's containers: shares its PID namespace, or its mount namespace
    /// (as `box exec` does while it enters one).
    public func isInContainer(_ p: Proc) -> Bool {
        let pid = p.namespace(.pid), mnt = p.namespace(.mnt)
        return containers().contains {
            $0.state.Running && (HostProcess.namespace($0.state.Pid, .pid) == pid || HostProcess.namespace($0.state.Pid, .mnt) == mnt)
        }
    }

    /// True if `p` looks like something the learner started by hand: it has a terminal (a shell they typed
    /// into), or it was started by this lab's solution. A service that the host's init starts in a private
    /// namespace during the step does not pass it.
    public func isLearners(_ p: Proc) -> Bool {
        p.terminal != 0 || p.environment.contains { $0.hasPrefix(Runner.markerPrefix(lab.id)) }
    }

    /// True if `p`'s mount namespace is a copy of the host's (what `unshare -m` makes): its `/` is the host's
    /// root filesystem, not a container's overlay.
    public func hasHostRoot(_ p: Proc) -> Bool {
        guard let mine = p.mounts.last(where: { $0.mountPoint == "/" }),
              let host = host.mounts.last(where: { $0.mountPoint == "/" }) else { return false }
        return mine.device == host.device && mine.root == host.root
    }

    /// The learner's answer as numbers, or a failure explaining the form.
    public func numericAnswer(count: Int) throws -> [Int] {
        let form = step?.question?.form ?? ""
        let values = try require(answer, expected: "an answer: lab answer \(form)", observed: "no answer yet",
                                 tryThis: "find the values, then type: lab answer \(form)")
        let numbers = values.compactMap { Int($0) }
        try require(numbers.count == count && values.count == count, expected: "\(count) number(s): lab answer \(form)",
                    observed: "lab answer \(values.joined(separator: " "))", tryThis: "answer with numbers only, e.g. lab answer \(form)")
        return numbers
    }
}
