import Glibc
import Synchronization
import Timeseries

/// Everything in the process's memory: for fast unit tests of the code above
/// storage, and for anything that needs no durability. Same semantics as the
/// other backends, leases and fencing included (checked by the conformance suite).
public final class MemoryStorage: MetricStorage {
    private struct Metric {
        var pending: [(id: String, measures: [Measure])] = []
        var raw = TimeSeries()
        var splits: [AggregationKey: [SplitKey: TimeSeries]] = [:]
        var counters = MetricCounters()
        var lease: (token: String, expires: ContinuousClock.Instant)?
        /// Leases that expired unreleased since the last commit (the poison guard).
        var abandonedCycles = 0
    }

    private struct State {
        var metrics: [MetricID: Metric] = [:]
        var quarantined: [MetricID: String] = [:]
        var sacks: [[MetricID: Nanoseconds]]
        var sequence: UInt64 = 0
    }

    public let sackCount: Int
    private let state: Mutex<State>
    private let clock: @Sendable () -> Nanoseconds

    /// - Parameter clock: wall-clock nanoseconds, used to mark pending metrics.
    public init(sackCount: Int = 8, clock: @escaping @Sendable () -> Nanoseconds = wallClockNanoseconds) {
        precondition(sackCount > 0)
        self.sackCount = sackCount
        self.clock = clock
        self.state = Mutex(State(sacks: Array(repeating: [:], count: sackCount)))
    }

    public func appendMeasures(_ batches: [MetricID: [Measure]]) async throws {
        let now = clock()
        state.withLock { state in
            for (metric, measures) in batches where !measures.isEmpty {
                state.sequence += 1
                state.sacks[metric.sack(of: sackCount)][metric] = now
                state.metrics[metric, default: Metric()].pending.append((batchName(now, state.sequence), measures))
            }
        }
    }

    public func metricsWithPendingMeasures(inSack sack: Int) async throws -> [PendingMetric] {
        state.withLock { state in
            state.sacks[sack].map { metric, mark in
                PendingMetric(
                    metric: metric, markedAt: mark,
                    measures: state.metrics[metric]?.pending.reduce(0) { $0 + $1.measures.count } ?? 0)
            }
            .sorted { ($0.markedAt, $0.metric) < ($1.markedAt, $1.metric) }
        }
    }

    public func acquireLease(_ metric: MetricID, duration: Duration) async throws -> MetricLease? {
        let now = ContinuousClock.now
        return state.withLock { state in
            if let lease = state.metrics[metric]?.lease {
                if lease.expires > now { return nil }
                state.metrics[metric]!.abandonedCycles += 1  // its holder never released it
            }
            let token = MetricID.random().rawValue
            state.metrics[metric, default: Metric()].lease = (token, now + duration)
            return MetricLease(metric: metric, token: token)
        }
    }

    public func renewLease(_ lease: MetricLease, duration: Duration) async throws -> Bool {
        let now = ContinuousClock.now
        return state.withLock { state in
            guard holds(lease, in: state, at: now) else { return false }
            state.metrics[lease.metric]!.lease = (lease.token, now + duration)
            return true
        }
    }

    public func releaseLease(_ lease: MetricLease) async throws {
        state.withLock { state in
            if state.metrics[lease.metric]?.lease?.token == lease.token { state.metrics[lease.metric]?.lease = nil }
        }
    }

    private func holds(_ lease: MetricLease, in state: State, at now: ContinuousClock.Instant) -> Bool {
        guard let held = state.metrics[lease.metric]?.lease else { return false }
        return held.token == lease.token && held.expires > now
    }

    public func load(
        _ metric: MetricID, lease: MetricLease, aggregations: [AggregationKey], pendingLimit: Int
    ) async throws -> MetricSnapshot {
        try state.withLock { state in
            guard holds(lease, in: state, at: .now) else { throw StorageError.leaseLost(metric) }
            let stored = state.metrics[metric] ?? Metric()
            let batches = stored.pending.prefix(pendingLimit)
            var latest: [AggregationKey: StoredSplit] = [:]
            for aggregation in aggregations {
                if let (key, points) = stored.splits[aggregation]?.max(by: { $0.key < $1.key }) {
                    latest[aggregation] = StoredSplit(key: key, points: points)
                }
            }
            return MetricSnapshot(
                raw: stored.raw,
                pending: PendingMeasures(
                    measures: batches.flatMap(\.measures), token: PendingToken(batches: batches.map(\.id)),
                    hasMore: stored.pending.count > batches.count),
                latestSplits: latest, counters: stored.counters, abandonedCycles: stored.abandonedCycles)
        }
    }

    public func readSplits(
        _ metric: MetricID, _ keys: [AggregationKey: [SplitKey]]
    ) async throws
        -> [AggregationKey: [StoredSplit]]
    {
        state.withLock { state in
            var result: [AggregationKey: [StoredSplit]] = [:]
            for (aggregation, splitKeys) in keys {
                let stored = state.metrics[metric]?.splits[aggregation] ?? [:]
                result[aggregation] = splitKeys.compactMap { key in
                    stored[key].map { StoredSplit(key: key, points: $0) }
                }
            }
            return result
        }
    }

    public func commit(_ metric: MetricID, lease: MetricLease, _ commit: MetricCommit) async throws {
        try state.withLock { state in
            guard holds(lease, in: state, at: .now) else { throw StorageError.leaseLost(metric) }
            var stored = state.metrics[metric]!
            stored.raw = commit.raw
            for (aggregation, oldest) in commit.expireBefore {
                stored.splits[aggregation] = stored.splits[aggregation]?.filter { !($0.key < oldest) }
            }
            for (aggregation, splits) in commit.splits {
                for split in splits { stored.splits[aggregation, default: [:]][split.key] = split.points }
            }
            let processed = Set(commit.processed.batches)
            stored.pending.removeAll { processed.contains($0.id) }
            stored.counters = commit.counters
            if commit.releaseLease { stored.lease = nil }
            stored.abandonedCycles = 0
            state.metrics[metric] = stored
        }
    }

    public func readAggregate(
        _ metric: MetricID, _ aggregation: AggregationKey, from: SplitKey?, to: SplitKey?
    )
        async throws -> TimeSeries
    {
        state.withLock { state in
            let splits = (state.metrics[metric]?.splits[aggregation] ?? [:]).filter { key, _ in
                (from.map { !(key < $0) } ?? true) && (to.map { !($0 < key) } ?? true)
            }
            return splits.sorted { $0.key < $1.key }.reduce(TimeSeries()) { $0.merging($1.value) }
        }
    }

    public func splitKeys(_ metric: MetricID, _ aggregation: AggregationKey) async throws -> [SplitKey] {
        state.withLock { state in (state.metrics[metric]?.splits[aggregation]?.keys).map { $0.sorted() } ?? [] }
    }

    public func counters(_ metric: MetricID) async throws -> MetricCounters {
        state.withLock { $0.metrics[metric]?.counters ?? MetricCounters() }
    }

    public func forgetIfIdle(_ entry: PendingMetric) async throws {
        state.withLock { state in
            let sack = entry.metric.sack(of: sackCount)
            guard state.sacks[sack][entry.metric] == entry.markedAt,
                state.metrics[entry.metric]?.pending.isEmpty ?? true
            else { return }
            state.sacks[sack][entry.metric] = nil
        }
    }

    public func deleteMetric(_ metric: MetricID) async throws {
        state.withLock { state in
            state.metrics[metric] = nil
            state.sacks[metric.sack(of: sackCount)][metric] = nil
            state.quarantined[metric] = nil
        }
    }

    public func quarantine(_ metric: MetricID, reason: String) async throws {
        state.withLock { state in
            if state.quarantined[metric] == nil { state.quarantined[metric] = reason }
        }
    }

    public func quarantinedMetrics() async throws -> [MetricID: String] { state.withLock { $0.quarantined } }

    public func releaseQuarantine(_ metric: MetricID) async throws {
        state.withLock { state in
            state.quarantined[metric] = nil
            state.metrics[metric]?.abandonedCycles = 0
        }
    }

    /// Memory holds nothing a crash can leave half done: only the list of metrics.
    public func inspect(repair: Bool) async throws -> StoreInspection {
        var inspection = StoreInspection()
        inspection.metrics = state.withLock { Set($0.metrics.keys) }
        return inspection
    }
}

/// A pending batch's name: its mark time and a sequence number, so names sort by arrival.
func batchName(_ now: Nanoseconds, _ sequence: UInt64) -> String {
    let time = String(now)
    return "in." + String(repeating: "0", count: max(0, 19 - time.count)) + time + "." + hex(sequence)
}

/// Nanoseconds since the epoch, from the system's real-time clock.
@Sendable public func wallClockNanoseconds() -> Nanoseconds {
    var time = timespec()
    clock_gettime(CLOCK_REALTIME, &time)
    return Nanoseconds(time.tv_sec) * nanosecondsPerSecond + Nanoseconds(time.tv_nsec)
}
