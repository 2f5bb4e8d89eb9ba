#if canImport(Glibc)
import Glibc
#endif
import Engine

/// What `box map` and `lab map` both do once their arguments are parsed: read, draw, and either write the SVG,
/// print one picture, or redraw live. The verbs differ only in the moment they highlight changes from.
public struct MapSession {
    public var reader: MapReader
    public var facts: () -> EngineFacts
    public var changes: MapChanges
    public var focus: String?

    public init(reader: MapReader = MapReader(), facts: @escaping () -> EngineFacts, changes: MapChanges, focus: String?) {
        self.reader = reader
        self.facts = facts
        self.changes = changes
        self.focus = focus
    }

    /// The picture now. The first one read is the baseline later ones are compared with.
    public mutating func document() throws -> MapDocument {
        let model = reader.read(facts())
        if changes.baseline == nil { changes.baseline = model }
        return try MapDocument(model, changes: changes, focus: focus)
    }

    public enum Output: Equatable, Sendable {
        /// Redrawn every `interval` seconds on a terminal; printed once elsewhere.
        case terminal(interval: Double)
        /// Printed once as plain text.
        case plain
        case once
        /// Written to the file.
        case svg(String)
    }

    public mutating func run(_ output: Output) throws {
        let terminal = isatty(1) == 1
        switch output {
        case .svg(let path):
            try Files.writeAtomically(path, MapSVG.render(try document()), durable: false)
        case .plain:
            _ = writeFully(1, Array(MapText.plain(try document()).utf8))
        case .once:
            _ = writeFully(1, Array(MapText.render(try document(), width: LiveMap.columns() ?? 100, colour: terminal).utf8))
        case .terminal(let interval):
            guard terminal else { return try run(.once) }
            try LiveMap.run(interval: interval) { columns in
                // A focus on a container not there (yet, or any more) says so and waits for it.
                do {
                    return MapText.render(try self.document(), width: columns, colour: true)
                } catch {
                    return "\(error)\nThe map keeps looking every \(MapDocument.decimal(interval)) s; Ctrl-C ends it.\n"
                }
            }
        }
    }
}
