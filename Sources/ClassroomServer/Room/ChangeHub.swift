import Engine
import ServiceLifecycle
import Synchronization

/// Tells the dashboard's streams that the room changed. Each subscriber holds at most one pending signal, so a burst
/// of changes is one wake-up; the stream itself spaces its events (500 ms). A Service of the application: on
/// graceful shutdown it ends every stream, so an open dashboard does not hold the server up.
public final class ChangeHub: Sendable, Service {
    public enum Signal: Sendable { case changed, tick }

    private struct State {
        var version = 0
        var next = 0
        var subscribers: [Int: AsyncStream<Signal>.Continuation] = [:]
        var closed = false
    }

    private let state = Mutex(State())
    /// How often streams are woken with nothing changed: a keep-alive, and `stuck` follows the clock.
    let tickInterval: Duration

    public init(tickInterval: Duration = .seconds(10)) {
        self.tickInterval = tickInterval
    }

    public var version: Int { state.withLock { $0.version } }

    public func notify() { broadcast(.changed) }

    private func broadcast(_ signal: Signal) {
        let subscribers = state.withLock { s in
            if signal == .changed { s.version += 1 }
            return Array(s.subscribers.values)
        }
        for c in subscribers { c.yield(signal) }
    }

    public func subscribe() -> AsyncStream<Signal> {
        let (stream, continuation) = AsyncStream.makeStream(of: Signal.self, bufferingPolicy: .bufferingNewest(1))
        let id: Int? = state.withLock { s in
            if s.closed { return nil }
            s.next += 1
            s.subscribers[s.next] = continuation
            return s.next
        }
        guard let id else { continuation.finish(); return stream }
        continuation.onTermination = { [weak self] _ in
            _ = self?.state.withLock { $0.subscribers.removeValue(forKey: id) }
        }
        return stream
    }

    public var subscriberCount: Int { state.withLock { $0.subscribers.count } }

    public func run() async throws {
        // Ticks until the graceful shutdown, then ends every stream.
        while !Task.isCancelled, !Task.isShuttingDownGracefully {
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: self.tickInterval) }
            broadcast(.tick)
        }
        let subscribers = state.withLock { s in
            s.closed = true
            return Array(s.subscribers.values)
        }
        for c in subscribers { c.finish() }
    }
}

/// Wakes this server's streams for what other servers sharing its store changed (PostgreSQL's LISTEN/NOTIFY):
/// a Service of the application, ended by the graceful shutdown.
struct StoreWatcher: Service {
    let store: any ClassroomStore
    let changes: ChangeHub

    func run() async throws {
        let changes = self.changes
        do {
            try await cancelWhenGracefulShutdown { try await store.watch { changes.notify() } }
        } catch is CancellationError {}
    }
}

/// A token bucket per key: `perSecond` requests a second, bursts up to `burst`.
final class RateLimiter: Sendable {
    private struct Bucket { var tokens: Double; var at: ContinuousClock.Instant }
    private let buckets = Mutex([String: Bucket]())
    let perSecond: Double
    let burst: Double

    init(perSecond: Double, burst: Double) {
        self.perSecond = perSecond
        self.burst = burst
    }

    /// Takes a token for `key`; false when there is none left.
    func allow(_ key: String) -> Bool {
        let now = ContinuousClock.now
        return buckets.withLock { b in
            var bucket = b[key] ?? Bucket(tokens: burst, at: now)
            let elapsed = bucket.at.duration(to: now)
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            bucket.tokens = min(burst, bucket.tokens + seconds * perSecond)
            bucket.at = now
            guard bucket.tokens >= 1 else { b[key] = bucket; return false }
            bucket.tokens -= 1
            b[key] = bucket
            if b.count > 10_000 { b = b.filter { $0.value.at.duration(to: now) < .seconds(60) } }
            return true
        }
    }
}
