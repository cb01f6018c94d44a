import Foundation
import Rados
import Storage
import StorageCeph
import StorageFiles
import Synchronization
import Testing
import Timeseries

/// The indexers the suite runs on.
enum IndexerBackend: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case memory, sqlite, rados
    var testDescription: String { rawValue }

    /// A fresh indexer, and how a harness process reaches it ("dir:<path>" or a namespace).
    func make() async throws -> (any Indexer, String?) {
        switch self {
        case .memory: return (MemoryIndexer(), nil)
        case .sqlite:
            let directory = temporaryDirectory()
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            return (try SQLiteIndexer(path: directory + "/index.sqlite"), "dir:" + directory)
        case .rados:
            let (storage, namespace) = try await CephTestPool.storageAndNamespace()
            return (RadosIndexer(io: storage.io), namespace)
        }
    }
}

extension IndexerBackend {
    /// Another client of the same index, opened as another process would open it
    /// (its own SQLite connections, its own RADOS client); nil in memory.
    func secondClient(at location: String?) async throws -> (any Indexer)? {
        switch self {
        case .memory: return nil
        case .sqlite: return try SQLiteIndexer(path: String(location!.dropFirst(4)) + "/index.sqlite")
        case .rados:
            let conf = CephTestPool.environment("ORZO_TEST_CEPH_CONF")!
            let cluster = try await RadosCluster.connect(RadosConfiguration(configurationFile: conf))
            return RadosIndexer(io: try cluster.ioContext(pool: CephTestPool.pool, namespace: location!))
        }
    }
}

let indexerBackends: [IndexerBackend] = CephTestPool.skipped ? [.memory, .sqlite] : IndexerBackend.allCases

@Suite("Indexer conformance", .timeLimit(.minutes(5)))
struct IndexerTests {
    @Test("archive policies: create, conflict, read back, delete unless in use", arguments: indexerBackends)
    func policies(backend: IndexerBackend) async throws {
        let (indexer, _) = try await backend.make()
        try await indexer.installDefaults()
        #expect(try await indexer.archivePolicies().map(\.name) == ["bool", "high", "low", "medium"])
        #expect(
            try await indexer.archivePolicy(named: "medium") == ArchivePolicy.defaults.first { $0.name == "medium" })
        await #expect(throws: IndexerError.self) { try await indexer.createArchivePolicy(ArchivePolicy.defaults[0]) }
        await #expect(throws: IndexerError.inUse("Archive policy low is still in use")) {
            try await indexer.deleteArchivePolicy(named: "low")  // the default rule uses it
        }
        try await indexer.deleteArchivePolicy(named: "bool")
        #expect(try await indexer.archivePolicy(named: "bool") == nil)
        await #expect(throws: IndexerError.self) { try await indexer.deleteArchivePolicy(named: "bool") }
    }

    @Test("rules: create, list, match, delete", arguments: indexerBackends)
    func rules(backend: IndexerBackend) async throws {
        let (indexer, _) = try await backend.make()
        try await indexer.installDefaults()
        try await indexer.createRule(
            try ArchivePolicyRule(name: "disk", metricPattern: "disk.*", archivePolicyName: "medium"))
        await #expect(throws: IndexerError.self) {
            try await indexer.createRule(
                try ArchivePolicyRule(name: "x", metricPattern: "x*", archivePolicyName: "nope"))
        }
        #expect(try await indexer.rules().map(\.name) == ["default", "disk"])
        #expect(try await indexer.ensureMetric(named: "disk.used").archivePolicyName == "medium")
        #expect(try await indexer.ensureMetric(named: "cpu").archivePolicyName == "low")
        try await indexer.deleteRule(named: "disk")
        #expect(try await indexer.rules().map(\.name) == ["default"])
    }

    @Test(
        "ensureMetrics: existing names found, new ones created by the rules in one call, unmatched ones left out; racing clients agree",
        arguments: indexerBackends)
    func ensureMany(backend: IndexerBackend) async throws {
        let (indexer, location) = try await backend.make()
        try await indexer.installDefaults()
        try await indexer.deleteRule(named: "default")
        try await indexer.createRule(
            try ArchivePolicyRule(name: "disk", metricPattern: "disk.*", archivePolicyName: "medium"))
        let existing = try await indexer.createMetric(name: "disk.0", archivePolicyName: "high", unit: "B")
        let names = (0..<1_200).map { "disk.\($0)" } + ["cpu", "disk.7"]
        let found = try await indexer.ensureMetrics(named: names)
        #expect(found.count == 1_200, "every disk.* name, once; cpu matches no rule")
        #expect(found["cpu"] == nil)
        #expect(found["disk.0"] == existing, "an existing metric is returned as it is")
        #expect(found["disk.1"]?.archivePolicyName == "medium")
        #expect(Set(found.values.map(\.id)).count == 1_200)
        for name in ["disk.1", "disk.600", "disk.1199"] {
            #expect(try await indexer.metric(named: name) == found[name], "\(name) is stored as returned")
        }
        // Another client (another process) ensuring overlapping names gets the same ids.
        let other = try await backend.secondClient(at: location) ?? indexer
        let names2 = (1_100..<1_300).map { "disk.\($0)" }
        async let first = indexer.ensureMetrics(named: names2)
        async let second = other.ensureMetrics(named: names2)
        let (a, b) = try await (first, second)
        #expect(a == b, "racing creations agree on every metric")
        #expect(a["disk.1150"] == found["disk.1150"])
        #expect(try await indexer.metrics(prefix: "disk.", after: nil, limit: 2_000).count == 1_300)
    }

    @Test(
        "metrics: create, conflict, look up by name and id, list by prefix with paging, delete",
        arguments: indexerBackends)
    func metrics(backend: IndexerBackend) async throws {
        let (indexer, _) = try await backend.make()
        try await indexer.installDefaults()
        var created: [MetricRecord] = []
        for index in 0..<25 {
            created.append(
                try await indexer.createMetric(
                    name: "web-\(index < 10 ? "0" : "")\(index).cpu", archivePolicyName: "low", unit: "%"))
        }
        _ = try await indexer.createMetric(name: "db.cpu", archivePolicyName: "high", unit: nil)
        await #expect(throws: IndexerError.conflict("Metric db.cpu already exists")) {
            _ = try await indexer.createMetric(name: "db.cpu", archivePolicyName: "low", unit: nil)
        }
        await #expect(throws: IndexerError.self) {
            _ = try await indexer.createMetric(name: "x", archivePolicyName: "missing", unit: nil)
        }
        #expect(try await indexer.metric(named: "web-03.cpu") == created[3])
        #expect(try await indexer.metric(id: created[7].id) == created[7])
        let first = try await indexer.metrics(prefix: "web-", after: nil, limit: 10)
        #expect(first.map(\.name) == created.prefix(10).map(\.name))
        let second = try await indexer.metrics(prefix: "web-", after: first.last!.name, limit: 10)
        #expect(second.map(\.name) == created[10..<20].map(\.name))
        #expect(try await indexer.metrics(prefix: "", after: nil, limit: 100).count == 26)
        #expect(try await indexer.deleteMetric(named: "db.cpu").archivePolicyName == "high")
        #expect(try await indexer.metric(named: "db.cpu") == nil)
        await #expect(throws: IndexerError.self) { _ = try await indexer.deleteMetric(named: "db.cpu") }
    }

    @Test(
        "the generation changes with every delete of a metric or a policy, and only then; a second client sees it",
        arguments: indexerBackends)
    func generation(backend: IndexerBackend) async throws {
        let (indexer, location) = try await backend.make()
        try await indexer.installDefaults()
        let start = try await indexer.generation()
        let record = try await indexer.createMetric(name: "g.cpu", archivePolicyName: "low", unit: nil)
        try await indexer.createArchivePolicy(
            try ArchivePolicy(name: "g-policy", definition: [.init(granularity: nanosecondsPerSecond, points: 10)]))
        try await indexer.createRule(
            try ArchivePolicyRule(name: "g-rule", metricPattern: "g.*", archivePolicyName: "g-policy"))
        _ = try await indexer.ensureMetric(named: "g.mem")
        #expect(try await indexer.generation() == start, "creations leave it")
        try await indexer.deleteRule(named: "g-rule")
        #expect(try await indexer.generation() == start, "rules are read fresh: their deletes leave it")

        _ = try await indexer.deleteMetric(named: "g.cpu")
        let afterMetric = try await indexer.generation()
        #expect(afterMetric != start)
        let again = try await indexer.createMetric(name: "g.cpu", archivePolicyName: "low", unit: nil)
        #expect(again.id != record.id, "a re-created metric is a new id")
        #expect(try await indexer.generation() == afterMetric)

        _ = try await indexer.deleteMetric(named: "g.mem")
        try await indexer.deleteArchivePolicy(named: "g-policy")
        let afterPolicy = try await indexer.generation()
        #expect(afterPolicy != afterMetric)
        // A refused delete changes nothing that a cache holds.
        await #expect(throws: IndexerError.self) { try await indexer.deleteArchivePolicy(named: "low") }
        if backend == .sqlite {
            #expect(try await indexer.generation() == afterPolicy)
        }
        if let second = try await backend.secondClient(at: location) {
            #expect(try await second.generation() == afterPolicy)
            _ = try await second.deleteMetric(named: "g.cpu")
            #expect(try await indexer.generation() != afterPolicy)
        }
    }

    @Test("connections opening a new SQLite database at once all open it")
    func concurrentOpen() throws {
        // Separate pools in one process lock each other as processes do (SQLite's unix
        // VFS shares one lock table per file); threads, so that the opens overlap.
        for _ in 0..<20 {
            let directory = temporaryDirectory()
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let failures = Mutex<[String]>([])
            DispatchQueue.concurrentPerform(iterations: 6) { _ in
                do {
                    _ = try SQLiteIndexer(path: directory + "/index.sqlite")
                } catch {
                    failures.withLock { $0.append("\(error)") }
                }
            }
            #expect(failures.withLock { $0 }.isEmpty, "\(failures.withLock { $0 })")
        }
    }

    @Test(
        "two processes creating the same metric: exactly one wins, the other sees it",
        arguments: indexerBackends.filter { $0 != .memory })
    func concurrentCreation(backend: IndexerBackend) async throws {
        let (indexer, location) = try await backend.make()
        try await indexer.installDefaults()
        for round in 0..<5 {
            let name = "race-\(round)"
            let processes = try (0..<2).map { _ in
                try Harness.startCapturing(["create-metric", name], namespace: location!)
            }
            var outputs: [String] = []
            for (process, pipe) in processes {
                _ = await Harness.wait(process)
                outputs.append(String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self))
            }
            let winners = outputs.filter { $0.hasPrefix("created ") }
            #expect(winners.count == 1, "round \(round): \(outputs)")
            #expect(outputs.filter { $0.hasPrefix("conflict") }.count == 1, "round \(round): \(outputs)")
            let stored = try #require(try await indexer.metric(named: name))
            #expect(winners.first?.contains(stored.id.rawValue) == true)
            #expect(try await indexer.metric(id: stored.id) == stored)
        }
    }
}
