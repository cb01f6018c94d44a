import Rados
import Storage
import Timeseries

/// The indexer of a fleet, stored in the same RADOS pool: no server beyond Ceph.
///
///     orzo.index.policies        omap  name → policy (JSON)
///     orzo.index.rules           omap  name → rule (JSON)
///     orzo.index.metrics.<n>     omap  metric name → record (JSON), n = hash(name) mod 16
///     orzo.index.ids.<n>         omap  metric id → name, n = hash(id) mod 16
///     orzo.index.generation      data  8 random bytes, rewritten by every delete
///
/// Creation is one compound write guarded by `omap_cmp(name == "")`: a missing key
/// compares as empty, so exactly one of two racing creators wins (the other gets
/// ECANCELED and reads the winner's record).
public final class RadosIndexer: Indexer {
    public let io: RadosIOContext
    static let shards = 16
    static let policies = "orzo.index.policies"
    static let rules = "orzo.index.rules"
    static let generationObject = "orzo.index.generation"

    public init(io: RadosIOContext) { self.io = io }

    static func metricShard(_ name: String) -> String { "orzo.index.metrics.\(shard(name))" }
    static func idShard(_ id: MetricID) -> String { "orzo.index.ids.\(shard(id.rawValue))" }
    static func shard(_ text: String) -> Int {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash &*= 0x0000_0100_0000_01B3
        }
        return Int(hash % UInt64(shards))
    }

    /// Creates `key` in `object` unless it exists; false if it existed.
    private func createIfAbsent(_ object: String, _ key: String, _ value: [UInt8]) async throws -> Bool {
        var op = RadosWriteOperation()
        op.create(exclusive: false)  // the index object may not exist yet
        op.compareOmap(key, .equal, [])
        op.setOmap([key: value])
        do {
            try await untyped { () async throws(RadosError) in try await self.io.operate(op, on: object) }
            return true
        } catch let error as RadosError where error.kind == .canceled {
            return false
        }
    }

    private func values(_ object: String, _ keys: [String]) async throws -> [String: [UInt8]] {
        do {
            return try await untyped { () async throws(RadosError) in
                try await self.io.omapValues(object, forKeys: keys)
            }
        } catch let error as RadosError where error.kind == .notFound {
            return [:]
        }
    }

    private func entries(_ object: String, prefix: String = "") async throws -> [RadosOmapEntry] {
        do {
            return try await untyped { () async throws(RadosError) in
                try await self.io.omapEntries(object, prefix: prefix, pageSize: 1000)
            }
        } catch let error as RadosError where error.kind == .notFound {
            return []
        }
    }

    private func remove(_ object: String, _ key: String) async throws {
        var op = RadosWriteOperation()
        op.removeOmapKeys([key])
        try await untyped { () async throws(RadosError) in try await self.io.operate(op, on: object) }
    }

    // MARK: Archive policies and rules

    public func createArchivePolicy(_ policy: ArchivePolicy) async throws {
        guard try await createIfAbsent(Self.policies, policy.name, IndexerCoding.encode(policy)) else {
            throw IndexerError.conflict("Archive policy \(policy.name) already exists")
        }
    }

    public func archivePolicy(named name: String) async throws -> ArchivePolicy? {
        try await values(Self.policies, [name])[name].map(IndexerCoding.decodePolicy)
    }

    public func archivePolicies() async throws -> [ArchivePolicy] {
        try await entries(Self.policies).map { try IndexerCoding.decodePolicy($0.value) }
    }

    public func deleteArchivePolicy(named name: String) async throws {
        guard try await archivePolicy(named: name) != nil else {
            throw IndexerError.notFound("Archive policy \(name) does not exist")
        }
        // A scan of every metric: an administrative operation, rare.
        if try await rules().contains(where: { $0.archivePolicyName == name }) {
            throw IndexerError.inUse("Archive policy \(name) is still in use")
        }
        for shard in 0..<Self.shards {
            for entry in try await entries("orzo.index.metrics.\(shard)")
            where try IndexerCoding.decodeMetric(entry.value).archivePolicyName == name {
                throw IndexerError.inUse("Archive policy \(name) is still in use")
            }
        }
        try await bumpGeneration()
        try await remove(Self.policies, name)
        try await bumpGeneration()
    }

    /// Bumps the generation before and after, as a delete does.
    public func updateArchivePolicy(_ policy: ArchivePolicy) async throws {
        guard try await archivePolicy(named: policy.name) != nil else {
            throw IndexerError.notFound("Archive policy \(policy.name) does not exist")
        }
        try await bumpGeneration()
        var op = RadosWriteOperation()
        op.setOmap([policy.name: IndexerCoding.encode(policy)])
        try await untyped { () async throws(RadosError) in try await self.io.operate(op, on: Self.policies) }
        try await bumpGeneration()
    }

    /// The new name is created first: a rename that dies half-way leaves both
    /// names (the same pattern twice), never none.
    public func renameRule(named name: String, to newName: String) async throws -> ArchivePolicyRule {
        guard let bytes = try await values(Self.rules, [name])[name] else {
            throw IndexerError.notFound("Archive policy rule \(name) does not exist")
        }
        let rule = try IndexerCoding.decodeRule(bytes)
        let renamed = try ArchivePolicyRule(
            name: newName, metricPattern: rule.metricPattern, archivePolicyName: rule.archivePolicyName)
        guard try await createIfAbsent(Self.rules, newName, IndexerCoding.encode(renamed)) else {
            throw IndexerError.conflict("Archive policy rule \(newName) already exists")
        }
        try await remove(Self.rules, name)
        return renamed
    }

    public func createRule(_ rule: ArchivePolicyRule) async throws {
        guard try await archivePolicy(named: rule.archivePolicyName) != nil else {
            throw IndexerError.notFound("Archive policy \(rule.archivePolicyName) does not exist")
        }
        guard try await createIfAbsent(Self.rules, rule.name, IndexerCoding.encode(rule)) else {
            throw IndexerError.conflict("Archive policy rule \(rule.name) already exists")
        }
    }

    public func rules() async throws -> [ArchivePolicyRule] {
        try await entries(Self.rules).map { try IndexerCoding.decodeRule($0.value) }
    }

    public func deleteRule(named name: String) async throws {
        guard try await values(Self.rules, [name])[name] != nil else {
            throw IndexerError.notFound("Archive policy rule \(name) does not exist")
        }
        try await remove(Self.rules, name)
    }

    // MARK: Metrics

    public func createMetric(_ record: MetricRecord) async throws {
        guard try await archivePolicy(named: record.archivePolicyName) != nil else {
            throw IndexerError.notFound("Archive policy \(record.archivePolicyName) does not exist")
        }
        let name = record.name
        // The id index first: an id entry without a name entry is ignored by lookups,
        // whereas a name without its id entry would hide the metric from workers.
        var op = RadosWriteOperation()
        op.setOmap([record.id.rawValue: Array(name.utf8)])
        try await untyped { () async throws(RadosError) in try await self.io.operate(op, on: Self.idShard(record.id)) }
        guard try await createIfAbsent(Self.metricShard(name), name, IndexerCoding.encode(record)) else {
            try await remove(Self.idShard(record.id), record.id.rawValue)
            throw IndexerError.conflict("Metric \(name) already exists")
        }
    }

    public func metric(named name: String) async throws -> MetricRecord? {
        try await values(Self.metricShard(name), [name])[name].map(IndexerCoding.decodeMetric)
    }

    public func metric(id: MetricID) async throws -> MetricRecord? {
        guard let name = try await values(Self.idShard(id), [id.rawValue])[id.rawValue] else { return nil }
        let record = try await metric(named: String(decoding: name, as: UTF8.self))
        return record?.id == id ? record : nil
    }

    public func metrics(prefix: String, after marker: String?, limit: Int) async throws -> [MetricRecord] {
        // Each shard is sorted; merge them. Pages of `limit` per shard suffice.
        var all: [MetricRecord] = []
        for shard in 0..<Self.shards {
            var op = RadosReadOperation()
            let page = op.omapValues(startAfter: marker ?? "", prefix: prefix, maxCount: limit)
            let entries: [RadosOmapEntry]
            do {
                entries = try await untyped { () async throws(RadosError) in
                    try await self.io.operate(op, on: "orzo.index.metrics.\(shard)")
                }[page].entries
            } catch let error as RadosError where error.kind == .notFound {
                continue
            }
            all += try entries.map { try IndexerCoding.decodeMetric($0.value) }
        }
        return Array(all.sorted { $0.name < $1.name }.prefix(limit))
    }

    public func deleteMetric(named name: String, id: MetricID?) async throws -> MetricRecord {
        guard let record = try await metric(named: name), id == nil || record.id == id else {
            // A delete that died between its removal and its last bump is repaired
            // by asking again: the caches it should have invalidated are.
            try await bumpGeneration()
            throw IndexerError.notFound("Metric \(id?.uuidString ?? name) does not exist")
        }
        try await bumpGeneration()
        try await remove(Self.metricShard(name), name)
        try await remove(Self.idShard(record.id), record.id.rawValue)
        try await bumpGeneration()
        return record
    }

    // MARK: Generation

    public func generation() async throws -> UInt64 {
        let bytes: [UInt8]
        do {
            bytes = try await untyped { () async throws(RadosError) in try await self.io.read(Self.generationObject) }
        } catch let error as RadosError where error.kind == .notFound {
            return 0
        }
        guard bytes.count == 8 else {
            throw IndexerError.damaged("\(Self.generationObject) holds \(bytes.count) bytes, not 8")
        }
        return bytes.reversed().reduce(0) { $0 << 8 | UInt64($1) }
    }

    /// A fresh random value (RADOS has no counter without an object class). The
    /// delete bumps before and after its removals: the bump after is the one that
    /// invalidates an entry cached from a read made before the removal; the bump
    /// before covers a delete that dies between the two (docs/storage-ceph.md).
    private func bumpGeneration() async throws {
        var value = UInt64.random(in: 1...UInt64.max)
        let bytes = (0..<8).map { _ in
            defer { value >>= 8 }
            return UInt8(truncatingIfNeeded: value)
        }
        try await untyped { () async throws(RadosError) in try await self.io.writeFull(Self.generationObject, bytes) }
    }
}
