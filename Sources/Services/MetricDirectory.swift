import Storage
import Synchronization
import Timeseries

/// Names to metrics and metrics to policies, cached, and kept right across
/// processes by the index generation (``Indexer/generation()``).
///
/// A name's metric, a metric's record and a policy's definition change only
/// through a delete (a re-created metric is a new id; a re-created policy can
/// only follow the delete of the old one), and every delete changes the
/// generation. So a user of cached entries takes a ``Ticket`` first, uses the
/// entries, and then asks ``isCurrent(_:)``: the generation is read after the
/// use, and if it is the one the entries were read under, nothing they say was
/// deleted before the use, which is therefore ordered before any delete. If it
/// moved, the cache is emptied and the caller resolves again
/// (docs/storage-files.md, "Metric identity").
public final class MetricDirectory: Sendable {
    public let indexer: any Indexer

    /// A point in the cache's history: entries used under one ticket were read
    /// from the index after the generation the ticket belongs to was read.
    public struct Ticket: Sendable, Hashable {
        fileprivate let epoch: UInt64
    }

    private struct Cache {
        var byName: [String: MetricRecord] = [:]
        var byID: [MetricID: MetricRecord] = [:]
        var policies: [String: ArchivePolicy] = [:]
        /// The index generation every entry was read under; nil before the first read.
        var generation: UInt64?
        /// Counts emptyings: an entry read before one is not stored after it.
        var epoch: UInt64 = 0

        mutating func adopt(_ generation: UInt64) {
            guard self.generation != generation else { return }
            byName = [:]
            byID = [:]
            policies = [:]
            self.generation = generation
            epoch += 1
        }
    }
    private let cache = Mutex(Cache())

    public init(indexer: any Indexer) { self.indexer = indexer }

    /// The ticket to take before resolving names whose use ``isCurrent(_:)`` will confirm.
    public func ticket() async throws -> Ticket {
        if let epoch = cache.withLock({ $0.generation == nil ? nil : $0.epoch }) { return Ticket(epoch: epoch) }
        let generation = try await indexer.generation()
        return cache.withLock { cache in
            if cache.generation == nil { cache.adopt(generation) }
            return Ticket(epoch: cache.epoch)
        }
    }

    /// Reads the generation: true if no delete happened since the entries used
    /// under `ticket` were read. When false, the cache is empty again.
    public func isCurrent(_ ticket: Ticket) async throws -> Bool {
        let generation = try await indexer.generation()
        return cache.withLock { cache in
            cache.adopt(generation)
            return cache.epoch == ticket.epoch
        }
    }

    /// Empties the cache if anything was deleted since it was filled (workers call
    /// it at the start of each pass over their sacks).
    public func refresh() async throws {
        let generation = try await indexer.generation()
        cache.withLock { $0.adopt(generation) }
    }

    /// The metrics of `names`, those not cached resolved (and created through the
    /// rules) in one call to the indexer; a name without a metric or a rule is absent.
    public func metricsCreatingIfNeeded(_ names: [String]) async throws -> [String: MetricRecord] {
        var result: [String: MetricRecord] = [:]
        var missing: [String] = []
        cache.withLock { cache in
            for name in names {
                if let record = cache.byName[name] { result[name] = record } else { missing.append(name) }
            }
        }
        guard !missing.isEmpty else { return result }
        let epoch = try await ticket().epoch
        for (name, record) in try await indexer.ensureMetrics(named: missing) {
            remember(record, readIn: epoch)
            result[name] = record
        }
        return result
    }

    public func metric(named name: String) async throws -> MetricRecord? {
        if let record = cache.withLock({ $0.byName[name] }) { return record }
        let epoch = try await ticket().epoch
        let record = try await indexer.metric(named: name)
        if let record { remember(record, readIn: epoch) }
        return record
    }

    public func metric(id: MetricID) async throws -> MetricRecord? {
        if let record = cache.withLock({ $0.byID[id] }) { return record }
        let epoch = try await ticket().epoch
        let record = try await indexer.metric(id: id)
        if let record { remember(record, readIn: epoch) }
        return record
    }

    public func policy(named name: String) async throws -> ArchivePolicy? {
        if let policy = cache.withLock({ $0.policies[name] }) { return policy }
        let epoch = try await ticket().epoch
        let policy = try await indexer.archivePolicy(named: name)
        if let policy {
            cache.withLock { cache in
                if cache.epoch == epoch { cache.policies[name] = policy }
            }
        }
        return policy
    }

    /// The metric of `id` and its policy, both as of one generation: a policy
    /// deleted and created again under its name since the cache read it is not
    /// taken for the new one. Nil if the metric does not exist (its id was deleted:
    /// ids are never reused). A metric whose policy is missing is damage: a policy
    /// in use cannot be deleted.
    public func metricAndPolicy(id: MetricID) async throws -> (MetricRecord, ArchivePolicy)? {
        for _ in 0..<4 {
            let ticket = try await ticket()
            let (cachedRecord, cachedPolicy) = cache.withLock { cache in
                let record = cache.byID[id]
                return (record, record.flatMap { cache.policies[$0.archivePolicyName] })
            }
            if let cachedRecord, let cachedPolicy { return (cachedRecord, cachedPolicy) }
            // Something was read from the index: confirm it against the generation.
            let record = try await metric(id: id)
            let policy = try await record.asyncMap { try await self.policy(named: $0.archivePolicyName) }
            guard try await isCurrent(ticket) else { continue }
            guard let record else { return nil }
            guard let policy = policy ?? nil else {
                throw IndexerError.damaged(
                    "metric \(record.name) (\(id)) names the archive policy \(record.archivePolicyName), "
                        + "which does not exist")
            }
            return (record, policy)
        }
        throw IndexerError.unavailable("the index kept changing while metric \(id) was read")
    }

    public func forget(_ record: MetricRecord) {
        cache.withLock { cache in
            cache.byName[record.name] = nil
            cache.byID[record.id] = nil
        }
    }

    public func forgetPolicy(_ name: String) { cache.withLock { $0.policies[name] = nil } }

    private func remember(_ record: MetricRecord, readIn epoch: UInt64) {
        cache.withLock { cache in
            guard cache.epoch == epoch else { return }
            cache.byName[record.name] = record
            cache.byID[record.id] = record
        }
    }
}

extension Optional {
    fileprivate func asyncMap<T>(_ transform: (Wrapped) async throws -> T) async rethrows -> T? {
        guard let self else { return nil }
        return try await transform(self)
    }
}
