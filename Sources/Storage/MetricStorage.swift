import Timeseries

/// A metric with pending measures, as the sack index lists it.
public struct PendingMetric: Hashable, Sendable {
    public let metric: MetricID
    /// When measures were last marked pending (nanoseconds since the epoch):
    /// workers take the oldest first, so a busy metric cannot starve the others.
    public let markedAt: Nanoseconds
    /// How many measures are pending, where the backend knows it without reading
    /// them (docs/protocol.md, `status`): exact in memory, estimated from the file
    /// size on files, nil on Ceph.
    public let measures: Int?

    public init(metric: MetricID, markedAt: Nanoseconds, measures: Int? = nil) {
        self.metric = metric
        self.markedAt = markedAt
        self.measures = measures
    }
}

/// Names exactly the pending batches a read returned, so that removing them
/// leaves the batches that arrived meanwhile.
public struct PendingToken: Hashable, Sendable {
    public let batches: [String]

    public init(batches: [String]) { self.batches = batches }
}

/// The pending measures of a metric, in the order they were received.
public struct PendingMeasures: Sendable {
    public let measures: [Measure]
    public let token: PendingToken
    /// Whether more batches remain beyond the read limit.
    public let hasMore: Bool

    public init(measures: [Measure], token: PendingToken, hasMore: Bool) {
        self.measures = measures
        self.token = token
        self.hasMore = hasMore
    }

    public var isEmpty: Bool { token.batches.isEmpty }
}

/// An exclusive, expiring claim on a metric. `token` is the fencing token:
/// unique per acquisition, checked by every write of the cycle, so a holder
/// that lost the lease (paused past its expiry) writes nothing.
public struct MetricLease: Hashable, Sendable {
    public let metric: MetricID
    public let token: String

    public init(metric: MetricID, token: String) {
        self.metric = metric
        self.token = token
    }
}

/// Counters kept with each metric, updated by the cycle that processes it.
public struct MetricCounters: Hashable, Sendable {
    public var measuresProcessed: Int64 = 0
    public var droppedTooOld: Int64 = 0
    public var duplicatesReplaced: Int64 = 0

    public init(measuresProcessed: Int64 = 0, droppedTooOld: Int64 = 0, duplicatesReplaced: Int64 = 0) {
        self.measuresProcessed = measuresProcessed
        self.droppedTooOld = droppedTooOld
        self.duplicatesReplaced = duplicatesReplaced
    }
}

/// A stored split of an aggregate.
public struct StoredSplit: Sendable {
    public let key: SplitKey
    public let points: TimeSeries

    public init(key: SplitKey, points: TimeSeries) {
        self.key = key
        self.points = points
    }
}

/// What a processing cycle reads before computing, in one go where the backend can.
public struct MetricSnapshot: Sendable {
    public var raw: TimeSeries
    public var pending: PendingMeasures
    /// The latest split of each aggregation, where there is one: in the steady
    /// state the only split new measures touch.
    public var latestSplits: [AggregationKey: StoredSplit]
    public var counters: MetricCounters
    /// Cycles of this metric in a row whose holder went away without finishing
    /// (its process died, or stalled past its lease), counted since the metric's
    /// last commit: the poison guard quarantines a metric at 2 (docs/reliability.md).
    public var abandonedCycles: Int

    public init(
        raw: TimeSeries, pending: PendingMeasures, latestSplits: [AggregationKey: StoredSplit],
        counters: MetricCounters, abandonedCycles: Int = 0
    ) {
        self.raw = raw
        self.pending = pending
        self.latestSplits = latestSplits
        self.counters = counters
        self.abandonedCycles = abandonedCycles
    }
}

/// What a processing cycle writes, atomically where the backend can, and fenced
/// by the lease everywhere.
public struct MetricCommit: Sendable {
    public var raw: TimeSeries
    /// The full new content of every split that changed.
    public var splits: [AggregationKey: [StoredSplit]]
    /// Per aggregation, splits before this key are deleted.
    public var expireBefore: [AggregationKey: SplitKey]
    /// The pending batches that were processed, to remove.
    public var processed: PendingToken
    public var counters: MetricCounters
    /// Release the lease with the commit (one round trip less).
    public var releaseLease: Bool

    public init(
        raw: TimeSeries, splits: [AggregationKey: [StoredSplit]], expireBefore: [AggregationKey: SplitKey],
        processed: PendingToken, counters: MetricCounters, releaseLease: Bool
    ) {
        self.raw = raw
        self.splits = splits
        self.expireBefore = expireBefore
        self.processed = processed
        self.counters = counters
        self.releaseLease = releaseLease
    }
}

/// Why a storage operation failed.
public enum StorageError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The lease expired or was taken over: nothing of the write was applied.
    case leaseLost(MetricID)
    /// A stored blob is corrupt; the metric should be quarantined.
    case corrupt(MetricID, String)
    /// The backend failed (I/O error, cluster unreachable); retry later.
    case unavailable(String)

    public var description: String {
        switch self {
        case .leaseLost(let metric): "lease on metric \(metric) lost: nothing written"
        case .corrupt(let metric, let reason): "metric \(metric) has corrupt data: \(reason)"
        case .unavailable(let reason): "storage unavailable: \(reason)"
        }
    }
}

/// Where a backend keeps measures that arrived, raw buffers and aggregates, and
/// how workers claim metrics. One conformance suite checks every implementation.
public protocol MetricStorage: Sendable {
    /// How many sacks index the metrics with pending measures.
    var sackCount: Int { get }

    /// Appends each metric's batch durably and atomically; when this returns,
    /// every batch is stored and indexed in its metric's sack.
    func appendMeasures(_ batches: [MetricID: [Measure]]) async throws

    /// The metrics with pending measures in one sack, oldest mark first.
    func metricsWithPendingMeasures(inSack sack: Int) async throws -> [PendingMetric]

    /// Takes the metric's lease for `duration`, or returns `nil` if another holder has it.
    func acquireLease(_ metric: MetricID, duration: Duration) async throws -> MetricLease?

    /// Extends a held lease; `false` if it was lost.
    func renewLease(_ lease: MetricLease, duration: Duration) async throws -> Bool

    /// Releases a held lease; releasing a lost one is not an error.
    func releaseLease(_ lease: MetricLease) async throws

    /// Reads the raw buffer, up to `pendingLimit` pending batches, the latest split of
    /// each of `aggregations` and the counters.
    func load(
        _ metric: MetricID, lease: MetricLease, aggregations: [AggregationKey], pendingLimit: Int
    ) async throws -> MetricSnapshot

    /// Reads particular splits (those a late measure touches, older than the latest).
    func readSplits(
        _ metric: MetricID, _ keys: [AggregationKey: [SplitKey]]
    ) async throws -> [AggregationKey: [StoredSplit]]

    /// Writes a cycle's result, removes the processed batches, and (if asked)
    /// releases the lease: all or nothing where the backend allows, and never after
    /// the lease was lost (throws ``StorageError/leaseLost(_:)``).
    func commit(_ metric: MetricID, lease: MetricLease, _ commit: MetricCommit) async throws

    /// The stored points of an aggregate in the splits `from...to` (nil: open). No lease.
    func readAggregate(
        _ metric: MetricID, _ aggregation: AggregationKey, from: SplitKey?, to: SplitKey?
    ) async throws
        -> TimeSeries

    /// The keys of the stored splits of an aggregate.
    func splitKeys(_ metric: MetricID, _ aggregation: AggregationKey) async throws -> [SplitKey]

    /// The counters of a metric.
    func counters(_ metric: MetricID) async throws -> MetricCounters

    /// Removes a metric's sack entry if it has no pending measures and was not
    /// marked again since `entry` was listed.
    func forgetIfIdle(_ entry: PendingMetric) async throws

    /// Deletes everything stored for a metric.
    func deleteMetric(_ metric: MetricID) async throws

    /// Sets a metric aside, durably and for every process: workers leave it (and
    /// its pending measures, which are kept) until ``releaseQuarantine(_:)``.
    /// A metric already quarantined keeps its first reason.
    func quarantine(_ metric: MetricID, reason: String) async throws

    /// The quarantined metrics and why.
    func quarantinedMetrics() async throws -> [MetricID: String]

    /// Lets workers process the metric again, with its count of abandoned cycles reset.
    func releaseQuarantine(_ metric: MetricID) async throws

    /// Reads everything in the store: which metrics have data, which of them are
    /// damaged, and what crashes left behind. With `repair`, leftovers that are
    /// safe to remove are removed (damaged data never is). Slow, for `orzo check`.
    func inspect(repair: Bool) async throws -> StoreInspection

    /// Calls `onPending` soon after measures are stored in any process sharing
    /// the store, so that idle workers need not rescan to find them. Nil when
    /// the store cannot tell (workers then rescan after every idle pause, 50 ms).
    /// Calls may be spurious, or several for one append; none is lost while
    /// the watch runs.
    func watchIncoming(_ onPending: @escaping @Sendable () -> Void) throws -> (any IncomingWatch)?
}

/// A running ``MetricStorage/watchIncoming(_:)``.
public protocol IncomingWatch: Sendable {
    /// Stops the watch; no call of its handler starts after this returns.
    func stop()

    /// How often idle workers should still rescan, only to catch what the
    /// watch could miss (on files, a process on another host sharing the
    /// directory over a network filesystem, which inotify does not see).
    var rescanInterval: Duration { get }
}

extension MetricStorage {
    public func watchIncoming(_ onPending: @escaping @Sendable () -> Void) throws -> (any IncomingWatch)? { nil }
}
