import Foundation
import GRDB
import Storage
import Timeseries

/// The indexer of the embedded default: one SQLite database (WAL mode), shared
/// safely by the processes of one host. Every write is one IMMEDIATE
/// transaction; a busy timeout makes writers wait for each other instead of
/// failing. The schema is created with IF NOT EXISTS statements inside a write
/// transaction, so two processes opening a new database at once cannot both
/// apply it (GRDB's migrator reads its table outside a transaction).
public final class SQLiteIndexer: Indexer {
    private let pool: DatabasePool

    public init(path: String) throws {
        var configuration = Configuration()
        configuration.busyMode = .timeout(10)
        do {
            pool = try Self.open(path, configuration)
            try pool.write { db in
                try db.execute(
                    sql: """
                        CREATE TABLE IF NOT EXISTS archive_policy (name TEXT PRIMARY KEY, document BLOB NOT NULL);
                        CREATE TABLE IF NOT EXISTS archive_policy_rule (
                            name TEXT PRIMARY KEY, archive_policy_name TEXT NOT NULL, document BLOB NOT NULL);
                        CREATE TABLE IF NOT EXISTS metric (
                            name TEXT PRIMARY KEY, id TEXT NOT NULL UNIQUE, archive_policy_name TEXT NOT NULL,
                            document BLOB NOT NULL);
                        CREATE TABLE IF NOT EXISTS index_generation (
                            id INTEGER PRIMARY KEY CHECK (id = 0), value INTEGER NOT NULL);
                        """)
            }
        } catch {
            throw IndexerError.unavailable("SQLite indexer at \(path): \(error)")
        }
    }

    /// Opens the pool, waiting up to 10 s for other processes opening it at once:
    /// switching a new database to WAL takes an exclusive lock, and SQLite answers
    /// SQLITE_BUSY to a second opener without calling the busy handler. Roles
    /// started together on a new data directory (orzo.target) met this.
    private static func open(_ path: String, _ configuration: Configuration) throws -> DatabasePool {
        let deadline = ContinuousClock.now + .seconds(10)
        while true {
            do {
                return try DatabasePool(path: path, configuration: configuration)
            } catch let error as DatabaseError where error.resultCode == .SQLITE_BUSY && ContinuousClock.now < deadline
            {
                usleep(UInt32.random(in: 10_000...50_000))
            }
        }
    }

    private func write<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        do {
            return try await pool.write(body)
        } catch let error as IndexerError {
            throw error
        } catch {
            throw IndexerError.unavailable("SQLite: \(error)")
        }
    }

    private func read<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        do {
            return try await pool.read(body)
        } catch let error as IndexerError {
            throw error
        } catch {
            throw IndexerError.unavailable("SQLite: \(error)")
        }
    }

    public func createArchivePolicy(_ policy: ArchivePolicy) async throws {
        let document = IndexerCoding.encode(policy)
        try await write { db in
            try db.execute(
                sql: "INSERT INTO archive_policy (name, document) VALUES (?, ?) ON CONFLICT(name) DO NOTHING",
                arguments: [policy.name, Data(document)])
            if db.changesCount == 0 { throw IndexerError.conflict("Archive policy \(policy.name) already exists") }
        }
    }

    public func archivePolicy(named name: String) async throws -> ArchivePolicy? {
        let data = try await read { db in
            try Data.fetchOne(db, sql: "SELECT document FROM archive_policy WHERE name = ?", arguments: [name])
        }
        return try data.map { try IndexerCoding.decodePolicy(Array($0)) }
    }

    public func archivePolicies() async throws -> [ArchivePolicy] {
        let documents = try await read { db in
            try Data.fetchAll(db, sql: "SELECT document FROM archive_policy ORDER BY name")
        }
        return try documents.map { try IndexerCoding.decodePolicy(Array($0)) }
    }

    public func deleteArchivePolicy(named name: String) async throws {
        try await write { db in
            let uses =
                try Int.fetchOne(
                    db, sql: "SELECT count(*) FROM metric WHERE archive_policy_name = ?", arguments: [name])!
                + Int.fetchOne(
                    db, sql: "SELECT count(*) FROM archive_policy_rule WHERE archive_policy_name = ?", arguments: [name]
                )!
            guard uses == 0 else { throw IndexerError.inUse("Archive policy \(name) is still in use") }
            try db.execute(sql: "DELETE FROM archive_policy WHERE name = ?", arguments: [name])
            if db.changesCount == 0 { throw IndexerError.notFound("Archive policy \(name) does not exist") }
            try Self.bumpGeneration(db)
        }
    }

    public func updateArchivePolicy(_ policy: ArchivePolicy) async throws {
        let document = IndexerCoding.encode(policy)
        try await write { db in
            try db.execute(
                sql: "UPDATE archive_policy SET document = ? WHERE name = ?", arguments: [Data(document), policy.name])
            if db.changesCount == 0 { throw IndexerError.notFound("Archive policy \(policy.name) does not exist") }
            try Self.bumpGeneration(db)
        }
    }

    public func renameRule(named name: String, to newName: String) async throws -> ArchivePolicyRule {
        try await write { db in
            guard
                let data = try Data.fetchOne(
                    db, sql: "SELECT document FROM archive_policy_rule WHERE name = ?", arguments: [name])
            else { throw IndexerError.notFound("Archive policy rule \(name) does not exist") }
            guard
                try Bool.fetchOne(db, sql: "SELECT 1 FROM archive_policy_rule WHERE name = ?", arguments: [newName])
                    == nil
            else { throw IndexerError.conflict("Archive policy rule \(newName) already exists") }
            let rule = try IndexerCoding.decodeRule(Array(data))
            let renamed = try ArchivePolicyRule(
                name: newName, metricPattern: rule.metricPattern, archivePolicyName: rule.archivePolicyName)
            try db.execute(
                sql: "UPDATE archive_policy_rule SET name = ?, document = ? WHERE name = ?",
                arguments: [newName, Data(IndexerCoding.encode(renamed)), name])
            return renamed
        }
    }

    public func createRule(_ rule: ArchivePolicyRule) async throws {
        let document = IndexerCoding.encode(rule)
        try await write { db in
            guard
                try Bool.fetchOne(
                    db, sql: "SELECT 1 FROM archive_policy WHERE name = ?", arguments: [rule.archivePolicyName]) != nil
            else { throw IndexerError.notFound("Archive policy \(rule.archivePolicyName) does not exist") }
            try db.execute(
                sql: """
                    INSERT INTO archive_policy_rule (name, archive_policy_name, document) VALUES (?, ?, ?)
                    ON CONFLICT(name) DO NOTHING
                    """,
                arguments: [rule.name, rule.archivePolicyName, Data(document)])
            if db.changesCount == 0 { throw IndexerError.conflict("Archive policy rule \(rule.name) already exists") }
        }
    }

    public func rules() async throws -> [ArchivePolicyRule] {
        let documents = try await read { db in
            try Data.fetchAll(db, sql: "SELECT document FROM archive_policy_rule ORDER BY name")
        }
        return try documents.map { try IndexerCoding.decodeRule(Array($0)) }
    }

    public func deleteRule(named name: String) async throws {
        try await write { db in
            try db.execute(sql: "DELETE FROM archive_policy_rule WHERE name = ?", arguments: [name])
            if db.changesCount == 0 { throw IndexerError.notFound("Archive policy rule \(name) does not exist") }
        }
    }

    public func createMetric(_ record: MetricRecord) async throws {
        let document = IndexerCoding.encode(record)
        try await write { db in
            guard
                try Bool.fetchOne(
                    db, sql: "SELECT 1 FROM archive_policy WHERE name = ?", arguments: [record.archivePolicyName])
                    != nil
            else { throw IndexerError.notFound("Archive policy \(record.archivePolicyName) does not exist") }
            try db.execute(
                sql: """
                    INSERT INTO metric (name, id, archive_policy_name, document) VALUES (?, ?, ?, ?)
                    ON CONFLICT DO NOTHING
                    """,
                arguments: [record.name, record.id.rawValue, record.archivePolicyName, Data(document)])
            if db.changesCount == 0 { throw IndexerError.conflict("Metric \(record.name) already exists") }
        }
    }

    /// Existing names in one read; the missing ones created in one transaction
    /// (one WAL commit for a whole put instead of one per new name).
    public func ensureMetrics(named names: [String]) async throws -> [String: MetricRecord] {
        let unique = Array(Set(names))
        var result = try await existingMetrics(unique)
        let missing = unique.filter { result[$0] == nil }
        guard !missing.isEmpty else { return result }
        let rules = try await rules()
        let planned = missing.compactMap { name in
            ArchivePolicyRule.match(name, in: rules).map {
                MetricRecord(
                    id: .random(), name: name, archivePolicyName: $0.archivePolicyName, unit: nil,
                    createdAt: wallClockNanoseconds())
            }
        }
        guard !planned.isEmpty else { return result }
        let documents = planned.map { ($0, Data(IndexerCoding.encode($0))) }
        let stored = try await write { db -> [Data] in
            var policies: [String: Bool] = [:]
            var stored: [Data] = []
            let insert = try db.cachedStatement(
                sql: """
                    INSERT INTO metric (name, id, archive_policy_name, document) VALUES (?, ?, ?, ?)
                    ON CONFLICT(name) DO NOTHING
                    """)
            for (record, document) in documents {
                let policy = record.archivePolicyName
                if policies[policy] == nil {
                    policies[policy] =
                        try Bool.fetchOne(db, sql: "SELECT 1 FROM archive_policy WHERE name = ?", arguments: [policy])
                        != nil
                }
                guard policies[policy] == true else { continue }  // the rule's policy is gone: as no rule
                try insert.execute(arguments: [record.name, record.id.rawValue, policy, document])
                if db.changesCount == 0 {
                    // Another process created it meanwhile: its metric is the one.
                    if let winner = try Data.fetchOne(
                        db, sql: "SELECT document FROM metric WHERE name = ?", arguments: [record.name])
                    {
                        stored.append(winner)
                    }
                } else {
                    stored.append(document)
                }
            }
            return stored
        }
        for document in stored {
            let record = try IndexerCoding.decodeMetric(Array(document))
            result[record.name] = record
        }
        return result
    }

    /// The metrics of those names that exist, read in chunks of 500 names (under
    /// SQLite's limit of bound parameters).
    private func existingMetrics(_ names: [String]) async throws -> [String: MetricRecord] {
        guard !names.isEmpty else { return [:] }
        let documents = try await read { db -> [Data] in
            var documents: [Data] = []
            for start in stride(from: 0, to: names.count, by: 500) {
                let chunk = Array(names[start..<min(start + 500, names.count)])
                let marks = Array(repeating: "?", count: chunk.count).joined(separator: ",")
                documents += try Data.fetchAll(
                    db, sql: "SELECT document FROM metric WHERE name IN (\(marks))",
                    arguments: StatementArguments(chunk))
            }
            return documents
        }
        var result: [String: MetricRecord] = [:]
        for document in documents {
            let record = try IndexerCoding.decodeMetric(Array(document))
            result[record.name] = record
        }
        return result
    }

    public func metric(named name: String) async throws -> MetricRecord? {
        let data = try await read { db in
            try Data.fetchOne(db, sql: "SELECT document FROM metric WHERE name = ?", arguments: [name])
        }
        return try data.map { try IndexerCoding.decodeMetric(Array($0)) }
    }

    public func metric(id: MetricID) async throws -> MetricRecord? {
        let data = try await read { db in
            try Data.fetchOne(db, sql: "SELECT document FROM metric WHERE id = ?", arguments: [id.rawValue])
        }
        return try data.map { try IndexerCoding.decodeMetric(Array($0)) }
    }

    public func metrics(prefix: String, after marker: String?, limit: Int) async throws -> [MetricRecord] {
        let documents = try await read { db in
            try Data.fetchAll(
                db,
                sql: """
                    SELECT document FROM metric WHERE substr(name, 1, ?) = ? AND name > ? ORDER BY name LIMIT ?
                    """,
                arguments: [prefix.count, prefix, marker ?? "", limit])
        }
        return try documents.map { try IndexerCoding.decodeMetric(Array($0)) }
    }

    /// Gnocchi's listing, its filters evaluated by SQLite (the Gnocchi name and
    /// the creator read from the JSON document). The default order (by id)
    /// pages through the id index with the marker and a LIMIT, so a page costs
    /// its own rows, not the whole table; other orders sort the filtered rows
    /// in memory, as ``Indexer/metrics(matching:)`` does.
    public func metrics(matching query: MetricListQuery) async throws -> [MetricRecord] {
        let markerRecord = try await markerRecord(of: query)
        var conditions: [String] = []
        var arguments: [(any DatabaseValueConvertible)?] = []
        for (attribute, value) in query.filters.sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
            switch attribute {
            case .id:
                // Any form Python's uuid.UUID reads; text that is no UUID matches nothing.
                conditions.append("id = ?")
                arguments.append(MetricID(uuid: value)?.rawValue ?? "")
            case .archivePolicyName:
                conditions.append("archive_policy_name = ?")
                arguments.append(value)
            case .unit:
                conditions.append("json_extract(CAST(document AS TEXT), '$.unit') = ?")
                arguments.append(value)
            case .creator:
                conditions.append("json_extract(CAST(document AS TEXT), '$.creator') = ?")
                arguments.append(value)
            case .name:
                // Records written before gnocchi_name existed are named by their address.
                conditions.append(
                    "(CASE WHEN json_type(CAST(document AS TEXT), '$.gnocchi_name') IS NULL THEN name "
                        + "ELSE json_extract(CAST(document AS TEXT), '$.gnocchi_name') END) = ?")
                arguments.append(value)
            }
        }
        let byID = query.sorts.allSatisfy { $0.attribute == .id && $0.ascending }
        if byID, let markerRecord {
            conditions.append("id > ?")
            arguments.append(markerRecord.id.rawValue)
        }
        var sql = "SELECT document FROM metric"
        if !conditions.isEmpty { sql += " WHERE " + conditions.joined(separator: " AND ") }
        if byID {
            sql += " ORDER BY id LIMIT ?"
            arguments.append(query.limit)
        }
        let statement = sql
        let bound = StatementArguments(arguments)
        let documents = try await read { db in try Data.fetchAll(db, sql: statement, arguments: bound) }
        let records = try documents.map { try IndexerCoding.decodeMetric(Array($0)) }
        return byID ? records : query.page(of: records, marker: markerRecord)
    }

    public func deleteMetric(named name: String, id: MetricID?) async throws -> MetricRecord {
        let data = try await write { db -> Data in
            guard
                let data = try Data.fetchOne(
                    db, sql: "SELECT document FROM metric WHERE name = ? AND (? IS NULL OR id = ?)",
                    arguments: [name, id?.rawValue, id?.rawValue])
            else { throw IndexerError.notFound("Metric \(id?.uuidString ?? name) does not exist") }
            try db.execute(sql: "DELETE FROM metric WHERE name = ?", arguments: [name])
            try Self.bumpGeneration(db)
            return data
        }
        return try IndexerCoding.decodeMetric(Array(data))
    }

    public func generation() async throws -> UInt64 {
        let value = try await read { db in
            try Int64.fetchOne(db, sql: "SELECT value FROM index_generation WHERE id = 0")
        }
        return UInt64(bitPattern: value ?? 0)
    }

    /// In the transaction of the delete: a process that reads the generation sees
    /// the delete with it, or neither.
    private static func bumpGeneration(_ db: Database) throws {
        try db.execute(
            sql: """
                INSERT INTO index_generation (id, value) VALUES (0, 1)
                ON CONFLICT(id) DO UPDATE SET value = (value + 1) % 9223372036854775807
                """)
    }
}
