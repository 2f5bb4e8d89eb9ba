import ArgumentParser

/// The flags `box map` and `lab map` share (each verb's own file says what its picture marks).
public struct MapOptions: ParsableArguments {
    @Option(help: "Draw only this container (name or id prefix), or one group of isolated processes")
    public var focus: String?

    @Flag(help: "Plain text, no line drawing, no colours, printed once: for a screen reader or a log")
    public var plain = false

    @Option(help: ArgumentHelp("Write the picture as SVG to this file instead", valueName: "file"))
    public var svg: String?

    @Flag(help: "Print one picture and exit (what happens anyway when the output is not a terminal)")
    public var once = false

    @Option(help: "Seconds between redraws")
    public var interval: Double = 1

    public init() {}

    public func validate() throws {
        if [plain, svg != nil, once].filter({ $0 }).count > 1 { throw ValidationError("choose one of --plain, --svg and --once") }
        if !(interval >= 0.2 && interval <= 60) { throw ValidationError("--interval must be between 0.2 and 60 seconds") }
    }

    public var output: MapSession.Output {
        if let svg { return .svg(svg) }
        return plain ? .plain : (once ? .once : .terminal(interval: interval))
    }
}
