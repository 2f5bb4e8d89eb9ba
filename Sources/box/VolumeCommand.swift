import ArgumentParser
import DockerFormat
import Engine

struct VolumeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "volume",
        abstract: "Manage volumes: directories under BOX_ROOT/volumes that outlive containers",
        discussion: """
        A volume is the directory BOX_ROOT/volumes/NAME/_data (docker's /var/lib/docker/volumes/NAME/_data),
        bind-mounted where a container asks for it, nodev as every box volume. A new empty volume gets the
        image's content at its mount point (docker's copy-up).
          box volume create data
          box run --rm -v data:/data busybox sh -c 'echo hi > /data/f'
          box run --rm -v data:/data busybox cat /data/f
        """,
        subcommands: [VolumeCreate.self, VolumeLs.self, VolumeInspect.self, VolumeRm.self, VolumePrune.self]
    )
}

func volumeStore() throws -> VolumeStore { VolumeStore(root: try engine().root) }

/// `volume inspect` and `network inspect`: NAMES, and -f/--format for a Go template instead of docker's JSON array.
struct InspectArguments: ParsableArguments {
    @Option(name: .shortAndLong, help: "Format the output with a Go template")
    var format: String?
    @Argument(help: "Names")
    var names: [String]

    /// Each value through the template, or all of them as one JSON array (docker escapes no <>&).
    func print(_ values: [JSONValue]) throws {
        guard let format else { return say(JSONValue.array(values).prettyPrinted(escapeHTML: false)) }
        let template = try FormatTemplate(format)
        for v in values { say(try template.render(v)) }
    }
}

/// KEY=VALUE flags (--label, --opt) as a map; a KEY alone has an empty value, as docker's.
func keyValues(_ items: [String]) -> [String: String] {
    Dictionary(items.map { item in
        let kv = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        return (kv[0], kv.count > 1 ? kv[1] : "")
    }) { $1 }
}

extension VolumeRecord {
    /// `docker volume inspect`'s object (CreatedAt in whole seconds, as docker's RFC 3339).
    func inspectValue(_ store: VolumeStore) -> JSONValue {
        var created = CreatedAt.rfc3339
        if let dot = created.firstIndex(of: "."), let zone = created[dot...].firstIndex(where: { $0 == "Z" || $0 == "+" || $0 == "-" }) {
            created.removeSubrange(dot..<zone)
        }
        func map(_ m: [String: String]?) -> JSONValue {
            guard let m, !m.isEmpty else { return .null }
            return .object(m.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) })
        }
        return ["CreatedAt": .string(created), "Driver": .string(Driver), "Labels": map(Labels),
                "Mountpoint": .string(store.dataPath(Name)), "Name": .string(Name), "Options": map(Options), "Scope": "local"]
    }
}
