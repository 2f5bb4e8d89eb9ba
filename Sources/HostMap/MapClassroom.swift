/// The map a learner's `lab` sends when the instructor asks for it: what the lab is about, box's containers,
/// and nothing else of the learner's machine. The whole-host picture names every process in namespaces of its
/// own (browser sandboxes, flatpak apps) and the system's services; those stay on the learner's machine.
extension HostMapModel {
    /// This model with box's containers only: no isolated groups, no services.
    public var containersOnly: HostMapModel {
        var m = self
        m.isolated = []
        m.services = []
        return m
    }
}

extension MapText {
    /// Said at the end of the classroom's map, so the instructor knows why an `unshare` is not in it.
    public static let classroomNote = "sent: box's containers only (processes outside containers are not sent)"

    /// The plain text sent to the classroom: the containers-only picture, and the note.
    public static func classroom(_ model: HostMapModel, changes: MapChanges = .none) throws -> String {
        plain(try MapDocument(model.containersOnly, changes: changes)) + classroomNote + "\n"
    }
}

extension MapSession {
    /// The picture now, as `classroom(_:changes:)` sends it.
    public mutating func classroomText() throws -> String {
        let model = reader.read(facts())
        if changes.baseline == nil { changes.baseline = model }
        return try MapText.classroom(model, changes: changes)
    }
}
