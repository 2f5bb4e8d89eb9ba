import ArgumentParser
import Engine

/// The mount flags of `box run` and `box create` beyond -v (docker's names): --mount, --tmpfs, --volumes-from,
/// --volume-driver.
struct MountFlags: ParsableArguments {
    @Option(name: .long, help: "Attach a filesystem mount: type=volume|bind|tmpfs,source=…,target=…[,readonly][,volume-nocopy][,volume-label=K=V][,tmpfs-size=64m][,tmpfs-mode=1770] (docker's keys; src/dst/destination/ro too)")
    var mount: [String] = []
    @Option(name: .long, help: "Mount a tmpfs: /PATH[:OPTIONS], OPTIONS size=, mode=, uid=, gid=, ro, exec, dev (default rw,nosuid,nodev,noexec)")
    var tmpfs: [String] = []
    @Option(name: .customLong("volumes-from"), help: "Mount the volumes and binds of another container: CONTAINER[:ro|rw]")
    var volumesFrom: [String] = []

    @Option(name: .customLong("volume-driver"), help: "Driver of the container's volumes: local only (box's volumes are directories under BOX_ROOT/volumes; it has no volume plugins)")
    var volumeDriver: String?

    func validate() throws {
        if let volumeDriver, volumeDriver != "local" {
            throw BoxError(.usage, "--volume-driver \(volumeDriver): box has the local driver only (no volume plugins)", exitCode: 125)
        }
    }

    func fill(_ o: inout CreateOptions) {
        o.mounts = mount
        o.tmpfs = tmpfs
        o.volumesFrom = volumesFrom
    }
}
