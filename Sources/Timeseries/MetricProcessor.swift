/// The new aggregates of one aggregation after a processing step.
public struct AggregateUpdate: Sendable {
    public let aggregation: Aggregation
    /// The recomputed buckets, already cut to the timespan. They replace the
    /// stored points with the same timestamps.
    public let points: TimeSeries
    /// Points at or before this are outside the timespan (`nil`: kept forever).
    public let oldestPointToKeep: Nanoseconds?

    /// The recomputed buckets by the split that holds them: the splits that changed.
    public var changedSplits: [(key: SplitKey, points: TimeSeries)] {
        points.splits(granularity: aggregation.granularity)
    }

    /// Of the `existing` splits, those that hold nothing within the timespan any
    /// more and can be deleted whole (a split holding the cut is kept).
    public func expiredSplits(_ existing: [SplitKey]) -> [SplitKey] {
        guard let oldestPointToKeep else { return [] }
        let oldestKey = SplitKey(containing: oldestPointToKeep, granularity: aggregation.granularity)
        return existing.filter { $0 < oldestKey }.sorted()
    }
}

/// What a processing step did.
public struct ProcessingResult: Sendable {
    /// The raw buffer to store.
    public let raw: RawBuffer
    /// One update per aggregation of the policy (finest granularity first).
    public let updates: [AggregateUpdate]
    /// Measures merged into the raw buffer (after deduplication).
    public let accepted: Int
    /// Measures older than the raw buffer's first allowed timestamp: dropped and
    /// counted, never silently.
    public let droppedTooOld: Int
    /// Measures that repeated a timestamp within the batch; the last received won.
    public let duplicatesReplaced: Int
}

/// Gnocchi's processing cycle (Carbonara's read-merge-write) on one metric, with
/// no I/O: merges new measures into the raw buffer, recomputes the buckets they
/// touch at every granularity and method, and cuts each aggregate to its timespan.
public enum MetricProcessor {
    /// Processes `received` (in the order received) against `raw` under `policy`.
    public static func process(
        raw: RawBuffer, received: [Measure], policy: ArchivePolicy
    ) -> ProcessingResult {
        let batch = TimeSeries.fromReceived(received)
        return process(raw: raw, batch: batch, duplicates: received.count - batch.count, policy: policy)
    }

    static func process(raw: RawBuffer, batch: TimeSeries, duplicates: Int, policy: ArchivePolicy) -> ProcessingResult {
        guard let batchFirst = batch.first else {
            return ProcessingResult(
                raw: raw, updates: [], accepted: 0, droppedTooOld: 0, duplicatesReplaced: duplicates)
        }
        var buffer = raw
        let (accepted, dropped) = buffer.merge(batch)
        let merged = buffer.series
        // Recompute from the first bucket a new measure can touch, at each
        // granularity; older buckets are as stored. (Like Gnocchi, the start uses
        // the batch's first measure even if it was dropped: recomputing an
        // untouched bucket gives the stored value again.)
        let recomputeFrom = Swift.max(merged.first!, batchFirst)
        var updates: [AggregateUpdate] = []
        updates.reserveCapacity(policy.definition.count * policy.aggregationMethods.count)
        for item in policy.definition {
            let grouped = GroupedSeries(
                merged, granularity: item.granularity, start: floorTimestamp(recomputeFrom, to: item.granularity))
            let derived = policy.aggregationMethods.contains { $0.isRate } ? grouped.derived() : nil
            for method in policy.aggregationMethods {
                var points = method.isRate ? derived!.aggregate(method.base) : grouped.aggregate(method.base)
                var oldestPointToKeep: Nanoseconds?
                if let timespan = item.timespan, let last = points.last {
                    let oldest = last - timespan
                    points.removeFirst(points.firstIndex(after: oldest))
                    oldestPointToKeep = oldest
                }
                updates.append(
                    AggregateUpdate(
                        aggregation: Aggregation(
                            method: method, granularity: item.granularity, timespan: item.timespan),
                        points: points, oldestPointToKeep: oldestPointToKeep))
            }
        }
        buffer.truncate()
        return ProcessingResult(
            raw: buffer, updates: updates, accepted: accepted.count, droppedTooOld: dropped,
            duplicatesReplaced: duplicates)
    }
}
