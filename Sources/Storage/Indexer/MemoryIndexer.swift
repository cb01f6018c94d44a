import Synchronization
import Timeseries

/// The indexer in memory, for tests.
public final class MemoryIndexer: Indexer {
    private struct State {
        var policies: [String: ArchivePolicy] = [:]
        var rules: [String: ArchivePolicyRule] = [:]
        var metrics: [String: MetricRecord] = [:]
        var generation: UInt64 = 0
    }
    private let state = Mutex(State())

    public init() {}

    public func createArchivePolicy(_ policy: ArchivePolicy) async throws {
        try state.withLock { state in
            guard state.policies[policy.name] == nil else {
                throw IndexerError.conflict("Archive policy \(policy.name) already exists")
            }
            state.policies[policy.name] = policy
        }
    }

    public func archivePolicy(named name: String) async throws -> ArchivePolicy? {
        state.withLock { $0.policies[name] }
    }

    public func archivePolicies() async throws -> [ArchivePolicy] {
        state.withLock { $0.policies.values.sorted { $0.name < $1.name } }
    }

    public func deleteArchivePolicy(named name: String) async throws {
        try state.withLock { state in
            guard state.policies[name] != nil else {
                throw IndexerError.notFound("Archive policy \(name) does not exist")
            }
            if state.metrics.values.contains(where: { $0.archivePolicyName == name })
                || state.rules.values.contains(where: { $0.archivePolicyName == name })
            {
                throw IndexerError.inUse("Archive policy \(name) is still in use")
            }
            state.policies[name] = nil
            state.generation += 1
        }
    }

    public func createRule(_ rule: ArchivePolicyRule) async throws {
        try state.withLock { state in
            guard state.policies[rule.archivePolicyName] != nil else {
                throw IndexerError.notFound("Archive policy \(rule.archivePolicyName) does not exist")
            }
            guard state.rules[rule.name] == nil else {
                throw IndexerError.conflict("Archive policy rule \(rule.name) already exists")
            }
            state.rules[rule.name] = rule
        }
    }

    public func rules() async throws -> [ArchivePolicyRule] {
        state.withLock { $0.rules.values.sorted { $0.name < $1.name } }
    }

    public func deleteRule(named name: String) async throws {
        try state.withLock { state in
            guard state.rules.removeValue(forKey: name) != nil else {
                throw IndexerError.notFound("Archive policy rule \(name) does not exist")
            }
        }
    }

    public func createMetric(name: String, archivePolicyName: String, unit: String?) async throws -> MetricRecord {
        try state.withLock { state in
            guard state.policies[archivePolicyName] != nil else {
                throw IndexerError.notFound("Archive policy \(archivePolicyName) does not exist")
            }
            guard state.metrics[name] == nil else { throw IndexerError.conflict("Metric \(name) already exists") }
            let record = MetricRecord(
                id: .random(), name: name, archivePolicyName: archivePolicyName, unit: unit,
                createdAt: wallClockNanoseconds())
            state.metrics[name] = record
            return record
        }
    }

    public func metric(named name: String) async throws -> MetricRecord? { state.withLock { $0.metrics[name] } }

    public func metric(id: MetricID) async throws -> MetricRecord? {
        state.withLock { $0.metrics.values.first { $0.id == id } }
    }

    public func metrics(prefix: String, after marker: String?, limit: Int) async throws -> [MetricRecord] {
        state.withLock { state in
            Array(
                state.metrics.values.filter { record in
                    record.name.hasPrefix(prefix) && (marker.map { record.name > $0 } ?? true)
                }
                .sorted { $0.name < $1.name }.prefix(limit))
        }
    }

    public func deleteMetric(named name: String) async throws -> MetricRecord {
        try state.withLock { state in
            guard let record = state.metrics.removeValue(forKey: name) else {
                throw IndexerError.notFound("Metric \(name) does not exist")
            }
            state.generation += 1
            return record
        }
    }

    public func generation() async throws -> UInt64 { state.withLock { $0.generation } }
}
