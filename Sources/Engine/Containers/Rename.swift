extension ContainerStore {
    /// `box rename`: gives a container a new name, with the daemon's checks in its order (moby daemon/rename.go):
    /// the container, then a name other than its own, then a valid name no other container has. Records a
    /// `rename` event whose `oldName` attribute is the name before, as docker's.
    public func renameContainer(_ text: String, to newName: String) throws {
        guard !text.isEmpty && !newName.isEmpty else {
            throw BoxError(.usage, "Neither old nor new names may be empty", exitCode: 1)
        }
        let wanted = newName.hasPrefix("/") ? String(newName.dropFirst()) : newName
        try root.locked {
            var c = try resolve(text)
            let old = c.name
            guard wanted != old else {
                throw BoxError(.usage, "Renaming a container with the same name as its current name", exitCode: 1)
            }
            guard Names.isValid(wanted) else {
                throw BoxError(.usage, "Error when allocating new name: Invalid container name (/\(wanted)), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed", exitCode: 1)
            }
            for id in try Files.list(root.containers) where id != c.id && specName(id) == wanted {
                throw BoxError(.state, "Error when allocating new name: " + Self.nameConflict(wanted, owner: id), exitCode: 1)
            }
            c.spec.Name = wanted
            try saveSpec(c.spec)
            journal.record(Event(action: "rename", id: c.id, name: wanted, image: c.spec.Config.Image,
                                 attributes: ["oldName": "/" + old]))
        }
    }

    /// docker's words for a name another container has (create, run, rename).
    public static func nameConflict(_ name: String, owner id: String) -> String {
        "Conflict. The container name \"/\(name)\" is already in use by container \"\(id)\". You have to remove (or rename) that container to be able to reuse that name."
    }
}
