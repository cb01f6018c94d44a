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

    public func updateArchivePolicy(_ policy: ArchivePolicy) async throws {
        try state.withLock { state in
            guard state.policies[policy.name] != nil else {
                throw IndexerError.notFound("Archive policy \(policy.name) does not exist")
            }
            state.policies[policy.name] = policy
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

    public func renameRule(named name: String, to newName: String) async throws -> ArchivePolicyRule {
        try state.withLock { state in
            guard let rule = state.rules[name] else {
                throw IndexerError.notFound("Archive policy rule \(name) does not exist")
            }
            guard state.rules[newName] == nil else {
                throw IndexerError.conflict("Archive policy rule \(newName) already exists")
            }
            let renamed = try ArchivePolicyRule(
                name: newName, metricPattern: rule.metricPattern, archivePolicyName: rule.archivePolicyName)
            state.rules[name] = nil
            state.rules[newName] = renamed
            return renamed
        }
    }

    public func createMetric(_ record: MetricRecord) async throws {
        try state.withLock { state in
            guard state.policies[record.archivePolicyName] != nil else {
                throw IndexerError.notFound("Archive policy \(record.archivePolicyName) does not exist")
            }
            guard state.metrics[record.name] == nil else {
                throw IndexerError.conflict("Metric \(record.name) already exists")
            }
            state.metrics[record.name] = record
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

    public func deleteMetric(named name: String, id: MetricID?) async throws -> MetricRecord {
        try state.withLock { state in
            guard let record = state.metrics[name], id == nil || record.id == id else {
                throw IndexerError.notFound("Metric \(id?.uuidString ?? name) does not exist")
            }
            state.metrics[name] = nil
            state.generation += 1
            return record
        }
    }

    public func generation() async throws -> UInt64 { state.withLock { $0.generation } }
}
