/// Everything `box create` / `box run` accept, before validation. The front end fills it from flags; the
/// engine turns it into a ContainerSpec in exactly one place (`ContainerStore.create`).
public struct CreateOptions: Sendable {
    public var image: String
    public var command: [String] = []
    public var name: String?
    public var hostname: String?
    public var env: [String] = []
    public var workdir: String?
    public var volumes: [String] = []
    public var user: String?
    public var entrypoint: String?
    public var labels: [String] = []
    public var network: String = "none"
    public var capAdd: [String] = []
    public var capDrop: [String] = []
    public var tty = false
    public var interactive = false
    public var autoRemove = false

    public init(image: String) { self.image = image }
}
