import Timeseries

/// What one processing cycle of a metric did.
public enum CycleOutcome: Hashable, Sendable {
    /// Another worker holds the metric's lease.
    case busy
    /// Nothing was pending.
    case idle
    /// Pending measures were aggregated and stored; `more` if batches remain.
    case processed(measures: Int, droppedTooOld: Int, more: Bool)
    /// The metric's processing ended its process (or stalled past its lease) this
    /// many times in a row: it was quarantined instead of being tried again.
    case quarantined(abandonedCycles: Int)
}

/// Carbonara's read-merge-write cycle over a ``MetricStorage``: lease, read the
/// raw buffer, pending measures and latest splits, aggregate, write back the
/// changed splits and the raw buffer while removing exactly the processed
/// batches, and release — three storage round trips in the steady state.
public struct ProcessingCycle: Sendable {
    public let storage: any MetricStorage
    public let leaseDuration: Duration
    /// Pending batches read per cycle; more are left for the next one.
    public let pendingLimit: Int

    /// Abandoned cycles in a row after which a metric is quarantined.
    public static let abandonedCyclesLimit = 2

    public init(storage: any MetricStorage, leaseDuration: Duration = .seconds(30), pendingLimit: Int = 10_000) {
        self.storage = storage
        self.leaseDuration = leaseDuration
        self.pendingLimit = pendingLimit
    }

    public func process(_ metric: MetricID, policy: ArchivePolicy) async throws -> CycleOutcome {
        guard let lease = try await storage.acquireLease(metric, duration: leaseDuration) else { return .busy }
        Failpoint.afterLease.hit()
        return try await renewing(lease) { try await run(metric, policy: policy, lease: lease) }
    }

    /// Runs `body` while renewing `lease` every third of its duration, so that a
    /// long cycle (a large backlog, a slow disk or OSD) keeps its metric, and the
    /// lease can be short: a process that dies or stalls stops renewing, and its
    /// metrics are taken over within one lease. A renewal that finds the lease
    /// lost stops; the cycle's commit is then refused (fencing).
    private func renewing<T: Sendable>(
        _ lease: MetricLease, _ body: () async throws -> T
    ) async throws -> T {
        try await withThrowingTaskGroup(of: Void.self) { group in
            let storage = storage
            let period = leaseDuration / 3
            let duration = leaseDuration
            group.addTask {
                while !Task.isCancelled {
                    do {
                        try await Task.sleep(for: period)
                        if try await !storage.renewLease(lease, duration: duration) { return }
                    } catch is CancellationError {
                        return
                    } catch {
                        continue  // the store is down for now: the next renewal may pass
                    }
                }
            }
            defer { group.cancelAll() }
            return try await body()
        }
    }

    private func run(_ metric: MetricID, policy: ArchivePolicy, lease: MetricLease) async throws -> CycleOutcome {
        do {
            let aggregations = policy.aggregations.map(AggregationKey.init)
            let snapshot = try await storage.load(
                metric, lease: lease, aggregations: aggregations, pendingLimit: pendingLimit)
            if snapshot.pending.isEmpty {
                try await storage.releaseLease(lease)
                return .idle
            }
            // The poison guard: before a third attempt at what ended the last two.
            if snapshot.abandonedCycles >= Self.abandonedCyclesLimit {
                try await storage.quarantine(
                    metric,
                    reason: "its processing ended the worker's process (or outlived its lease) "
                        + "\(snapshot.abandonedCycles) times in a row")
                try await storage.releaseLease(lease)
                return .quarantined(abandonedCycles: snapshot.abandonedCycles)
            }
            try Self.checkRanges(metric, snapshot)
            Failpoint.afterLoad.hit()
            let result = MetricProcessor.process(
                raw: RawBuffer(series: snapshot.raw, policy: policy), received: snapshot.pending.measures,
                policy: policy)
            let (splits, expiry) = try await mergeSplits(metric, result, snapshot)
            var counters = snapshot.counters
            counters.measuresProcessed += Int64(snapshot.pending.measures.count)
            counters.droppedTooOld += Int64(result.droppedTooOld)
            counters.duplicatesReplaced += Int64(result.duplicatesReplaced)
            Failpoint.beforeCommit.hit()
            try await storage.commit(
                metric, lease: lease,
                MetricCommit(
                    raw: result.raw.series, splits: splits, expireBefore: expiry, processed: snapshot.pending.token,
                    counters: counters, releaseLease: true))
            Failpoint.afterCommit.hit()
            return .processed(
                measures: snapshot.pending.measures.count, droppedTooOld: result.droppedTooOld,
                more: snapshot.pending.hasMore)
        } catch {
            try? await storage.releaseLease(lease)
            throw error
        }
    }

    /// Stored values are checked like a client's before any arithmetic: a pending
    /// measure or raw point outside the timestamp range, or a non-finite pending
    /// value, can only come from damage (ingest refuses them), and would overflow
    /// the bucket arithmetic. It is reported as corrupt (the metric is quarantined).
    static func checkRanges(_ metric: MetricID, _ snapshot: MetricSnapshot) throws {
        let range = 0..<Limits.timestampEnd
        for measure in snapshot.pending.measures where !range.contains(measure.timestamp) || !measure.value.isFinite {
            throw StorageError.corrupt(
                metric, "a pending measure (\(measure.timestamp) ns, \(measure.value)) is out of range")
        }
        if let first = snapshot.raw.first, let last = snapshot.raw.last, !range.contains(first) || !range.contains(last)
        {
            throw StorageError.corrupt(metric, "the raw buffer holds timestamps out of range (\(first) … \(last) ns)")
        }
    }

    /// The new content of every changed split: stored points with the recomputed
    /// ones merged over them. The latest split comes with the snapshot; an older
    /// one (touched by a late measure) costs one more read.
    private func mergeSplits(
        _ metric: MetricID, _ result: ProcessingResult, _ snapshot: MetricSnapshot
    ) async throws -> ([AggregationKey: [StoredSplit]], [AggregationKey: SplitKey]) {
        var changed: [AggregationKey: [(key: SplitKey, points: TimeSeries)]] = [:]
        var expiry: [AggregationKey: SplitKey] = [:]
        var toRead: [AggregationKey: [SplitKey]] = [:]
        for update in result.updates {
            let key = AggregationKey(update.aggregation)
            let splits = update.changedSplits
            changed[key] = splits
            if let oldest = update.oldestPointToKeep {
                expiry[key] = SplitKey(containing: oldest, granularity: update.aggregation.granularity)
            }
            let latest = snapshot.latestSplits[key]?.key
            for split in splits where latest.map({ split.key < $0 }) ?? false {
                toRead[key, default: []].append(split.key)
            }
        }
        let older = toRead.isEmpty ? [:] : try await storage.readSplits(metric, toRead)
        var merged: [AggregationKey: [StoredSplit]] = [:]
        for (key, splits) in changed {
            merged[key] = splits.map { split in
                var stored = TimeSeries()
                if let latest = snapshot.latestSplits[key], latest.key == split.key {
                    stored = latest.points
                } else if let old = older[key]?.first(where: { $0.key == split.key }) {
                    stored = old.points
                }
                return StoredSplit(key: split.key, points: stored.merging(split.points))
            }
        }
        return (merged, expiry)
    }
}
