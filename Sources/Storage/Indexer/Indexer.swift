import Foundation
import Timeseries

/// A metric as the indexer knows it (docs/http-api.md, "Metric identity").
public struct MetricRecord: Hashable, Sendable, Codable {
    /// Immutable, unique: names the metric's storage.
    public let id: MetricID
    /// The metric's address: unique. The ZeroMQ protocol names metrics by it.
    public let name: String
    public let archivePolicyName: String
    public let unit: String?
    /// Nanoseconds since the epoch.
    public let createdAt: Int64
    /// The name Gnocchi's REST API shows, which Gnocchi lets be absent or shared:
    /// `name` for metrics created over ZeroMQ or over HTTP with a free name; nil
    /// for a metric created over HTTP without one; for one created over HTTP with
    /// a name another metric holds, that name (its address is then its id).
    public let gnocchiName: String?
    /// Who created the metric over HTTP (Gnocchi's `creator`); nil over ZeroMQ.
    public let creator: String?

    public init(
        id: MetricID, name: String, archivePolicyName: String, unit: String?, createdAt: Int64,
        gnocchiName: String?? = .none, creator: String? = nil
    ) {
        self.id = id
        self.name = name
        self.archivePolicyName = archivePolicyName
        self.unit = unit
        self.createdAt = createdAt
        self.gnocchiName = gnocchiName ?? name
        self.creator = creator
    }

    enum CodingKeys: String, CodingKey {
        case id, name, archivePolicyName, unit, createdAt, gnocchiName, creator
    }

    /// Records stored before these fields existed decode with `gnocchiName`
    /// equal to `name`; a stored null is a nameless metric.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        id = try container.decode(MetricID.self, forKey: .id)
        name = try container.decode(String.self, forKey: .name)
        archivePolicyName = try container.decode(String.self, forKey: .archivePolicyName)
        unit = try container.decodeIfPresent(String.self, forKey: .unit)
        createdAt = try container.decode(Int64.self, forKey: .createdAt)
        if container.contains(.gnocchiName) {
            gnocchiName = try container.decodeIfPresent(String.self, forKey: .gnocchiName)
        } else {
            gnocchiName = name
        }
        creator = try container.decodeIfPresent(String.self, forKey: .creator)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(name, forKey: .name)
        try container.encode(archivePolicyName, forKey: .archivePolicyName)
        try container.encodeIfPresent(unit, forKey: .unit)
        try container.encode(createdAt, forKey: .createdAt)
        try container.encode(gnocchiName, forKey: .gnocchiName)  // null kept: it means nameless
        try container.encodeIfPresent(creator, forKey: .creator)
    }
}

/// A metric listing as Gnocchi's `GET /v1/metric` asks for it: equality
/// filters, sort keys (the id always last, as Gnocchi adds it), a marker id
/// (the listing continues after that metric in this order) and a limit.
public struct MetricListQuery: Sendable {
    public enum Attribute: String, Sendable, Hashable, CaseIterable {
        case id, name, unit, creator
        case archivePolicyName = "archive_policy_name"
    }

    public var filters: [Attribute: String] = [:]
    public var sorts: [(attribute: Attribute, ascending: Bool)] = []
    public var marker: MetricID?
    public var limit: Int

    public init(
        filters: [Attribute: String] = [:], sorts: [(attribute: Attribute, ascending: Bool)] = [],
        marker: MetricID? = nil, limit: Int
    ) {
        self.filters = filters
        self.sorts = sorts
        self.marker = marker
        self.limit = limit
    }

    static func value(_ record: MetricRecord, _ attribute: Attribute) -> String? {
        switch attribute {
        case .id: record.id.rawValue
        case .name: record.gnocchiName
        case .unit: record.unit
        case .creator: record.creator
        case .archivePolicyName: record.archivePolicyName
        }
    }

    func matches(_ record: MetricRecord) -> Bool {
        filters.allSatisfy { attribute, value in
            attribute == .id ? MetricID(uuid: value) == record.id : Self.value(record, attribute) == value
        }
    }

    /// Whether `lhs` comes before `rhs` in this order: each sort key in turn
    /// (absent values first when ascending, as SQLite and MySQL sort NULL),
    /// then the id.
    func precedes(_ lhs: MetricRecord, _ rhs: MetricRecord) -> Bool {
        for (attribute, ascending) in sorts + [(.id, true)] {
            let (left, right) = (Self.value(lhs, attribute), Self.value(rhs, attribute))
            if left == right { continue }
            let less: Bool =
                switch (left, right) {
                case (nil, _): true
                case (_, nil): false
                case (let left?, let right?): left < right
                }
            return less == ascending
        }
        return false
    }

    /// The page: matching records in order, after the marker's record.
    public func page(of records: some Sequence<MetricRecord>, marker markerRecord: MetricRecord?) -> [MetricRecord] {
        var selected = records.filter(matches)
        if let markerRecord { selected = selected.filter { precedes(markerRecord, $0) } }
        selected.sort(by: precedes)
        return Array(selected.prefix(limit))
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

    /// Replaces a policy's definition and back window (Gnocchi's PATCH: the
    /// same granularities, other points or timespans). Changes the generation:
    /// caches of the old definition must not outlive it.
    func updateArchivePolicy(_ policy: ArchivePolicy) async throws

    func createRule(_ rule: ArchivePolicyRule) async throws
    func rules() async throws -> [ArchivePolicyRule]
    func deleteRule(named name: String) async throws
    /// Renames a rule; ``IndexerError/conflict(_:)`` if the new name is taken.
    func renameRule(named name: String, to newName: String) async throws -> ArchivePolicyRule

    /// Stores a new metric record; fails with ``IndexerError/conflict(_:)`` if
    /// its name exists, ``IndexerError/notFound(_:)`` if its policy does not.
    func createMetric(_ record: MetricRecord) async throws
    func metric(named name: String) async throws -> MetricRecord?
    func metric(id: MetricID) async throws -> MetricRecord?
    /// Metrics in name order after `marker`, whose names start with `prefix`.
    func metrics(prefix: String, after marker: String?, limit: Int) async throws -> [MetricRecord]
    /// Deletes the metric of that name; with `id`, only if it is still that
    /// metric (a name deleted and re-created elsewhere is another metric).
    func deleteMetric(named name: String, id: MetricID?) async throws -> MetricRecord

    /// A listing in Gnocchi's terms (``MetricListQuery``); ``IndexerError/invalid(_:)``
    /// if the marker is no metric.
    func metrics(matching query: MetricListQuery) async throws -> [MetricRecord]

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
    /// Creates a metric with a new id.
    public func createMetric(
        name: String, archivePolicyName: String, unit: String?, gnocchiName: String?? = .none,
        creator: String? = nil
    ) async throws -> MetricRecord {
        let record = MetricRecord(
            id: .random(), name: name, archivePolicyName: archivePolicyName, unit: unit,
            createdAt: wallClockNanoseconds(), gnocchiName: gnocchiName, creator: creator)
        try await createMetric(record)
        return record
    }

    public func deleteMetric(named name: String) async throws -> MetricRecord {
        try await deleteMetric(named: name, id: nil)
    }

    public func deleteMetric(id: MetricID) async throws -> MetricRecord {
        guard let record = try await metric(id: id) else {
            throw IndexerError.notFound("Metric \(id.uuidString) does not exist")
        }
        return try await deleteMetric(named: record.name, id: id)
    }

    /// The metric a listing's marker names; ``IndexerError/invalid(_:)`` if none.
    public func markerRecord(of query: MetricListQuery) async throws -> MetricRecord? {
        guard let marker = query.marker else { return nil }
        guard let record = try await metric(id: marker) else {
            throw IndexerError.invalid("Invalid pagination: `Invalid marker: `\(marker.uuidString)''")
        }
        return record
    }

    /// By a walk over every metric, a page of 10,000 at a time: indexers whose
    /// store can filter and sort (SQLite) answer it themselves.
    public func metrics(matching query: MetricListQuery) async throws -> [MetricRecord] {
        let markerRecord = try await markerRecord(of: query)
        var all: [MetricRecord] = []
        var after: String?
        while true {
            let page = try await metrics(prefix: "", after: after, limit: 10_000)
            all += page.filter(query.matches)
            guard page.count == 10_000, let last = page.last else { break }
            after = last.name
        }
        return query.page(of: all, marker: markerRecord)
    }

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
