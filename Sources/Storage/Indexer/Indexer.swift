import Foundation
import Timeseries

/// A metric as the indexer knows it.
public struct MetricRecord: Hashable, Sendable, Codable {
    public let id: MetricID
    public let name: String
    public let archivePolicyName: String
    public let unit: String?
    /// Nanoseconds since the epoch.
    public let createdAt: Int64

    public init(id: MetricID, name: String, archivePolicyName: String, unit: String?, createdAt: Int64) {
        self.id = id
        self.name = name
        self.archivePolicyName = archivePolicyName
        self.unit = unit
        self.createdAt = createdAt
    }
}

/// Why the indexer refused a request.
public enum IndexerError: Error, Hashable, Sendable, CustomStringConvertible {
    case notFound(String)
    case conflict(String)
    case inUse(String)
    case invalid(String)
    case unavailable(String)
    /// A stored document that does not decode, or fails the engine's checks
    /// (written by an earlier version, or damaged): reported, never trusted.
    case damaged(String)

    public var description: String {
        switch self {
        case .notFound(let message), .conflict(let message), .inUse(let message), .invalid(let message),
            .unavailable(let message), .damaged(let message):
            message
        }
    }
}

/// The metadata of metrics, archive policies and rules. Backends: memory (tests),
/// SQLite (the embedded default), RADOS (fleets: no server beyond Ceph).
/// Metric counters live with the metric's data (`MetricStorage.counters`), where
/// the cycle that changes them commits them atomically with the aggregates.
public protocol Indexer: Sendable {
    func createArchivePolicy(_ policy: ArchivePolicy) async throws
    func archivePolicy(named name: String) async throws -> ArchivePolicy?
    func archivePolicies() async throws -> [ArchivePolicy]
    /// Fails with ``IndexerError/inUse(_:)`` while a metric or rule uses it.
    func deleteArchivePolicy(named name: String) async throws

    func createRule(_ rule: ArchivePolicyRule) async throws
    func rules() async throws -> [ArchivePolicyRule]
    func deleteRule(named name: String) async throws

    /// Creates a metric; fails with ``IndexerError/conflict(_:)`` if the name exists.
    func createMetric(name: String, archivePolicyName: String, unit: String?) async throws -> MetricRecord
    func metric(named name: String) async throws -> MetricRecord?
    func metric(id: MetricID) async throws -> MetricRecord?
    /// Metrics in name order after `marker`, whose names start with `prefix`.
    func metrics(prefix: String, after marker: String?, limit: Int) async throws -> [MetricRecord]
    func deleteMetric(named name: String) async throws -> MetricRecord

    /// The index generation: it changes whenever a metric or an archive policy is
    /// deleted, the only changes that can make what another process cached wrong
    /// (a name's id, an id's metric, a policy's definition; creation only adds).
    /// Caches compare it after using what they hold (``MetricDirectory`` in
    /// Services; docs/storage-files.md and docs/storage-ceph.md, "Metric identity").
    /// Equal values mean nothing was deleted in between; the values are opaque.
    func generation() async throws -> UInt64

    /// The metrics of `names`, each created on first use with the policy of the
    /// first matching rule, as ``ensureMetric(named:)`` does one by one. A name
    /// that no rule matches (or whose rule's policy is gone) is absent from the
    /// result. Indexers that can create many metrics in one transaction do so: a
    /// wide put (1,000 new names) made 1,000 commits otherwise.
    func ensureMetrics(named names: [String]) async throws -> [String: MetricRecord]
}

extension Indexer {
    /// The metric of that name, created on first use with the policy of the first
    /// matching rule. Two processes racing on one name get the same metric: exactly
    /// one creation wins, the other sees it.
    public func ensureMetric(named name: String) async throws -> MetricRecord {
        if let existing = try await metric(named: name) { return existing }
        guard let rule = ArchivePolicyRule.match(name, in: try await rules()) else {
            throw IndexerError.notFound("No archive policy rule matches the metric name \(name)")
        }
        do {
            return try await createMetric(name: name, archivePolicyName: rule.archivePolicyName, unit: nil)
        } catch IndexerError.conflict {
            guard let winner = try await metric(named: name) else {
                throw IndexerError.unavailable("metric \(name) vanished")
            }
            return winner
        }
    }

    /// One by one: the default for indexers without a batched creation.
    public func ensureMetrics(named names: [String]) async throws -> [String: MetricRecord] {
        var result: [String: MetricRecord] = [:]
        for name in names where result[name] == nil {
            do { result[name] = try await ensureMetric(named: name) } catch IndexerError.notFound {}
        }
        return result
    }

    /// Creates the default policies and rule if there is no policy and no rule yet.
    public func installDefaults() async throws {
        guard try await archivePolicies().isEmpty, try await rules().isEmpty else { return }
        for policy in ArchivePolicy.defaults {
            do { try await createArchivePolicy(policy) } catch IndexerError.conflict {}
        }
        do { try await createRule(.default) } catch IndexerError.conflict {}
    }
}

/// Archive policies and rules as stored by indexers: JSON with granularities in
/// nanoseconds and methods by name.
public enum IndexerCoding {
    struct PolicyDocument: Codable {
        struct Item: Codable {
            let granularity: Int64
            let points: Int?
        }
        let name: String
        let backWindow: Int
        let definition: [Item]
        let aggregationMethods: [String]
    }

    struct RuleDocument: Codable {
        let name: String
        let metricPattern: String
        let archivePolicyName: String
    }

    public static func encode(_ policy: ArchivePolicy) -> [UInt8] {
        let document = PolicyDocument(
            name: policy.name, backWindow: policy.backWindow,
            definition: policy.definition.map { .init(granularity: $0.granularity, points: $0.points) },
            aggregationMethods: policy.aggregationMethods.map(\.name))
        return Array(try! JSONCoding.encoder.encode(document))
    }

    /// Decodes a stored policy, checking it as a new one is checked (docs/reliability.md):
    /// one the engine could not process is ``IndexerError/damaged(_:)``, not a policy.
    public static func decodePolicy(_ bytes: [UInt8]) throws -> ArchivePolicy {
        do { return try decodeCheckedPolicy(bytes) } catch let error as IndexerError { throw error } catch {
            let name = (try? JSONCoding.decoder.decode(NamedDocument.self, from: bytes))?.name ?? "?"
            throw IndexerError.damaged("the stored archive policy \(name) is damaged or out of range: \(error)")
        }
    }

    private struct NamedDocument: Codable { let name: String }

    private static func decodeCheckedPolicy(_ bytes: [UInt8]) throws -> ArchivePolicy {
        let document = try JSONCoding.decoder.decode(PolicyDocument.self, from: bytes)
        return try ArchivePolicy(
            name: document.name, backWindow: document.backWindow,
            definition: document.definition.map {
                try ArchivePolicyItem(granularity: $0.granularity, points: $0.points)
            },
            aggregationMethods: document.aggregationMethods.map { name in
                guard let method = AggregationMethod(name: name) else { throw IndexerError.invalid("method \(name)") }
                return method
            })
    }

    public static func encode(_ rule: ArchivePolicyRule) -> [UInt8] {
        Array(
            try! JSONCoding.encoder.encode(
                RuleDocument(
                    name: rule.name, metricPattern: rule.metricPattern, archivePolicyName: rule.archivePolicyName)))
    }

    public static func decodeRule(_ bytes: [UInt8]) throws -> ArchivePolicyRule {
        let document = try JSONCoding.decoder.decode(RuleDocument.self, from: bytes)
        return try ArchivePolicyRule(
            name: document.name, metricPattern: document.metricPattern, archivePolicyName: document.archivePolicyName)
    }

    public static func encode(_ metric: MetricRecord) -> [UInt8] { Array(try! JSONCoding.encoder.encode(metric)) }

    public static func decodeMetric(_ bytes: [UInt8]) throws -> MetricRecord {
        try JSONCoding.decoder.decode(MetricRecord.self, from: bytes)
    }
}
