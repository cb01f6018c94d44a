import Storage
import Synchronization
import Timeseries

/// Names to metrics and metrics to policies, cached: names and policies of a
/// metric never change (a metric's policy is fixed at creation, as in Gnocchi),
/// so a cache entry is only dropped when the metric is deleted.
public final class MetricDirectory: Sendable {
    public let indexer: any Indexer
    private struct Cache {
        var byName: [String: MetricRecord] = [:]
        var byID: [MetricID: MetricRecord] = [:]
        var policies: [String: ArchivePolicy] = [:]
    }
    private let cache = Mutex(Cache())

    public init(indexer: any Indexer) { self.indexer = indexer }

    /// The metric, created through the rules on first use; nil if no rule matches.
    public func metricCreatingIfNeeded(_ name: String) async throws -> MetricRecord? {
        if let record = cache.withLock({ $0.byName[name] }) { return record }
        do {
            let record = try await indexer.ensureMetric(named: name)
            remember(record)
            return record
        } catch IndexerError.notFound {
            return nil
        }
    }

    public func metric(named name: String) async throws -> MetricRecord? {
        if let record = cache.withLock({ $0.byName[name] }) { return record }
        let record = try await indexer.metric(named: name)
        if let record { remember(record) }
        return record
    }

    public func metric(id: MetricID) async throws -> MetricRecord? {
        if let record = cache.withLock({ $0.byID[id] }) { return record }
        let record = try await indexer.metric(id: id)
        if let record { remember(record) }
        return record
    }

    public func policy(named name: String) async throws -> ArchivePolicy? {
        if let policy = cache.withLock({ $0.policies[name] }) { return policy }
        let policy = try await indexer.archivePolicy(named: name)
        if let policy { cache.withLock { $0.policies[name] = policy } }
        return policy
    }

    public func forget(_ record: MetricRecord) {
        cache.withLock { cache in
            cache.byName[record.name] = nil
            cache.byID[record.id] = nil
        }
    }

    public func forgetPolicy(_ name: String) { cache.withLock { $0.policies[name] = nil } }

    private func remember(_ record: MetricRecord) {
        cache.withLock { cache in
            cache.byName[record.name] = record
            cache.byID[record.id] = record
        }
    }
}
