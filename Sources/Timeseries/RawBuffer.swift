/// The raw measures kept for a metric so that late measures can still be
/// aggregated: the current block of the coarsest granularity and `backWindow`
/// blocks before it (Gnocchi's `BoundTimeSerie`).
public struct RawBuffer: Hashable, Sendable {
    public private(set) var series: TimeSeries
    /// The block: the policy's coarsest granularity.
    public let blockSize: Nanoseconds
    /// Blocks kept before the current one (the policy's, plus one with `rate:` methods).
    public let backWindow: Int

    public init(series: TimeSeries = TimeSeries(), blockSize: Nanoseconds, backWindow: Int) {
        precondition(blockSize > 0 && backWindow >= 0)
        self.series = series
        self.blockSize = blockSize
        self.backWindow = backWindow
    }

    public init(series: TimeSeries = TimeSeries(), policy: ArchivePolicy) {
        self.init(series: series, blockSize: policy.blockSize, backWindow: policy.effectiveBackWindow)
    }

    /// The oldest timestamp still accepted; `nil` while the buffer is empty (then
    /// everything is accepted).
    public var firstAllowedTimestamp: Nanoseconds? {
        series.last.map { firstAllowed(last: $0) }
    }

    func firstAllowed(last: Nanoseconds) -> Nanoseconds {
        floorTimestamp(last, to: blockSize) - blockSize * Nanoseconds(backWindow)
    }

    /// Merges `newer` in (its values win), and returns it without the measures
    /// that were too old, and how many those were.
    mutating func merge(_ newer: TimeSeries) -> (accepted: TimeSeries, dropped: Int) {
        var accepted = newer
        var dropped = 0
        if let cut = firstAllowedTimestamp {
            dropped = newer.firstIndex(atOrAfter: cut)
            accepted.removeFirst(dropped)
        }
        series = series.merging(accepted)
        return (accepted, dropped)
    }

    /// Forgets the blocks before the back window, counted from the last point.
    mutating func truncate() {
        guard let last = series.last else { return }
        series.removeFirst(series.firstIndex(atOrAfter: firstAllowed(last: last)))
    }
}
