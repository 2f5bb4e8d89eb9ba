import Engine

// The engine's types that lab files name: with these, a lab imports LabKit only, and what it may know of the
// engine is this list (its facts come through `Context`, never through box's files and stores).
public typealias Container = Engine.Container
public typealias Event = Engine.Event
public typealias Image = Engine.Image
public typealias Network = Engine.Network
public typealias Mount = Engine.Mount
public typealias NamespaceKind = Engine.NamespaceKind
public typealias Timestamp = Engine.Timestamp
/// File reading and writing without Foundation (for setups and checks).
public typealias Files = Engine.Files
/// sha256 digests and their `sha256:` form.
public typealias Digest = Engine.Digest
/// Tar archives as box reads them: sha256 of a file, gunzip, extract.
public typealias LayerArchive = Engine.LayerArchive
public typealias JSONValue = Engine.JSONValue
public typealias Attachment = Engine.Attachment
public typealias IPv4 = Engine.IPv4
/// Capability names and bits (CapEff decoded).
public typealias Capabilities = Engine.Capabilities
/// The host's cgroup mode: v1, hybrid (v1 with a v2 tree beside it) or unified (v2).
public typealias CgroupMode = Engine.CgroupMode
