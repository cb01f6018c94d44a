import Synchronization

/// A per-second rate of a growing count, between two readings: for the
/// `STATUS=` lines systemd shows ("1,200 measures/s").
final class RateMeter: Sendable {
    private let last = Mutex<(count: Int, at: ContinuousClock.Instant)?>(nil)

    /// The rate since the previous call (0 on the first).
    func rate(_ count: Int) -> Int {
        let now = ContinuousClock.now
        return last.withLock { last in
            defer { last = (count, now) }
            guard let previous = last else { return 0 }
            let (seconds, attoseconds) = previous.at.duration(to: now).components
            let elapsed = Double(seconds) + Double(attoseconds) / 1e18
            return elapsed > 0 ? Int((Double(count - previous.count) / elapsed).rounded()) : 0
        }
    }
}
