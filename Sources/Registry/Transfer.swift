import Engine

/// What a pull or push reports as it goes, per layer (the CLI draws docker's per-layer lines from it; a library
/// prints nothing). Digests are the registry's: a layer's blob digest.
public enum TransferEvent: Sendable {
    /// Pull: the store has the layer ("Already exists"). Push: the registry has it ("Layer already exists").
    case exists(String)
    case started(String, size: Int64)
    case bytes(String, done: Int64, total: Int64)
    /// Pull: verified and unpacked ("Pull complete"). Push: uploaded ("Pushed").
    case done(String)
    /// Push: the registry linked the blob from another of its repositories instead of receiving it again
    /// ("Mounted from other/repo").
    case mounted(String, from: String)
}

public typealias TransferProgress = @Sendable (TransferEvent) -> Void
