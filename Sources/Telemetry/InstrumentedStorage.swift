import Metrics
import Storage
import Timeseries

/// Wraps a backend to time every operation and count its failures, by
/// operation: `orzo_storage_operation_duration_seconds{op}` and
/// `orzo_storage_operation_errors_total{op}`. The operations are a fixed set.
public struct InstrumentedStorage: MetricStorage {
    public let base: any MetricStorage
    private let timers: [Operation: Metrics.Timer]
    private let errors: [Operation: Counter]

    enum Operation: String, CaseIterable {
        case append, listPending = "list_pending", acquireLease = "acquire_lease", renewLease = "renew_lease"
        case releaseLease = "release_lease", load, readSplits = "read_splits", commit
        case readAggregate = "read_aggregate", splitKeys = "split_keys", counters
        case forgetIfIdle = "forget_if_idle", deleteMetric = "delete_metric"
        case quarantine, quarantined, releaseQuarantine = "release_quarantine"
    }

    public init(_ base: any MetricStorage) {
        self.base = base
        timers = Dictionary(
            uniqueKeysWithValues: Operation.allCases.map {
                ($0, Metrics.Timer(label: "orzo_storage_operation_duration_seconds", dimensions: [("op", $0.rawValue)]))
            })
        errors = Dictionary(
            uniqueKeysWithValues: Operation.allCases.map {
                ($0, Counter(label: "orzo_storage_operation_errors_total", dimensions: [("op", $0.rawValue)]))
            })
    }

    private func measure<T>(_ operation: Operation, _ body: () async throws -> T) async throws -> T {
        let started = ContinuousClock.now
        defer { timers[operation]!.record(duration: started.duration(to: .now)) }
        do {
            return try await body()
        } catch StorageError.leaseLost(let metric) {
            throw StorageError.leaseLost(metric)  // fencing at work, not a storage failure
        } catch {
            errors[operation]!.increment()
            throw error
        }
    }

    public var sackCount: Int { base.sackCount }

    public func appendMeasures(_ batches: [MetricID: [Measure]]) async throws {
        try await measure(.append) { try await base.appendMeasures(batches) }
    }

    public func metricsWithPendingMeasures(inSack sack: Int) async throws -> [PendingMetric] {
        try await measure(.listPending) { try await base.metricsWithPendingMeasures(inSack: sack) }
    }

    public func acquireLease(_ metric: MetricID, duration: Duration) async throws -> MetricLease? {
        try await measure(.acquireLease) { try await base.acquireLease(metric, duration: duration) }
    }

    public func renewLease(_ lease: MetricLease, duration: Duration) async throws -> Bool {
        try await measure(.renewLease) { try await base.renewLease(lease, duration: duration) }
    }

    public func releaseLease(_ lease: MetricLease) async throws {
        try await measure(.releaseLease) { try await base.releaseLease(lease) }
    }

    public func load(
        _ metric: MetricID, lease: MetricLease, aggregations: [AggregationKey], pendingLimit: Int
    ) async throws -> MetricSnapshot {
        try await measure(.load) {
            try await base.load(metric, lease: lease, aggregations: aggregations, pendingLimit: pendingLimit)
        }
    }

    public func readSplits(
        _ metric: MetricID, _ keys: [AggregationKey: [SplitKey]]
    ) async throws -> [AggregationKey: [StoredSplit]] {
        try await measure(.readSplits) { try await base.readSplits(metric, keys) }
    }

    public func commit(_ metric: MetricID, lease: MetricLease, _ commit: MetricCommit) async throws {
        try await measure(.commit) { try await base.commit(metric, lease: lease, commit) }
    }

    public func readAggregate(
        _ metric: MetricID, _ aggregation: AggregationKey, from: SplitKey?, to: SplitKey?
    ) async throws -> TimeSeries {
        try await measure(.readAggregate) { try await base.readAggregate(metric, aggregation, from: from, to: to) }
    }

    public func splitKeys(_ metric: MetricID, _ aggregation: AggregationKey) async throws -> [SplitKey] {
        try await measure(.splitKeys) { try await base.splitKeys(metric, aggregation) }
    }

    public func counters(_ metric: MetricID) async throws -> MetricCounters {
        try await measure(.counters) { try await base.counters(metric) }
    }

    public func forgetIfIdle(_ entry: PendingMetric) async throws {
        try await measure(.forgetIfIdle) { try await base.forgetIfIdle(entry) }
    }

    public func deleteMetric(_ metric: MetricID) async throws {
        try await measure(.deleteMetric) { try await base.deleteMetric(metric) }
    }

    public func quarantine(_ metric: MetricID, reason: String) async throws {
        try await measure(.quarantine) { try await base.quarantine(metric, reason: reason) }
    }

    public func quarantinedMetrics() async throws -> [MetricID: String] {
        try await measure(.quarantined) { try await base.quarantinedMetrics() }
    }

    public func releaseQuarantine(_ metric: MetricID) async throws {
        try await measure(.releaseQuarantine) { try await base.releaseQuarantine(metric) }
    }

    public func inspect(repair: Bool) async throws -> StoreInspection { try await base.inspect(repair: repair) }

    public func watchIncoming(_ onPending: @escaping @Sendable () -> Void) throws -> (any IncomingWatch)? {
        try base.watchIncoming(onPending)
    }
}
