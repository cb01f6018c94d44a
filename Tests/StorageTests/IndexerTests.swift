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

@Suite("Indexer conformance: what Gnocchi's REST API needs", .timeLimit(.minutes(5)))
struct IndexerGnocchiTests {
    @Test("new ids are version 4 UUIDs, read back from any form Python's uuid.UUID reads")
    func uuids() {
        for _ in 0..<100 {
            let id = MetricID.random()
            let digits = Array(id.rawValue)
            #expect(digits[12] == "4")
            #expect("89ab".contains(digits[16]))
            #expect(MetricID(uuid: id.uuidString) == id)
            #expect(MetricID(uuid: "{urn:uuid:\(id.uuidString.uppercased())}") == id)
            #expect(MetricID(uuid: "urn:uuid:\(id.uuidString.uppercased())") == id)
            #expect(MetricID(uuid: "{\(id.rawValue)}") == id)
        }
        #expect(
            MetricID(uuid: "cee6ef1f-52cc-4a16-bbb5-648aedfd1c37")?.uuidString == "cee6ef1f-52cc-4a16-bbb5-648aedfd1c37"
        )
        #expect(MetricID(uuid: "foobar") == nil)
        #expect(MetricID(uuid: "cee6ef1f-52cc-4a16-bbb5-648aedfd1c3") == nil)
    }

    @Test("records keep a Gnocchi name (absent, or shared) and a creator; older records read as named by their address")
    func recordCoding() throws {
        let id = MetricID.random()
        let nameless = MetricRecord(
            id: id, name: id.uuidString, archivePolicyName: "low", unit: nil, createdAt: 1, gnocchiName: .some(nil),
            creator: "foobar")
        #expect(try IndexerCoding.decodeMetric(IndexerCoding.encode(nameless)) == nameless)
        #expect(try IndexerCoding.decodeMetric(IndexerCoding.encode(nameless)).gnocchiName == nil)
        let old = #"{"archive_policy_name":"low","created_at":1,"id":{"raw_value":"\#(id.rawValue)"},"name":"cpu"}"#
        let decoded = try IndexerCoding.decodeMetric(Array(old.utf8))
        #expect(decoded.gnocchiName == "cpu")
        #expect(decoded.creator == nil)
    }

    @Test("a policy's definition is replaced, and the generation changes", arguments: indexerBackends)
    func updatePolicy(backend: IndexerBackend) async throws {
        let (indexer, _) = try await backend.make()
        try await indexer.installDefaults()
        let before = try await indexer.generation()
        let low = try #require(try await indexer.archivePolicy(named: "low"))
        let changed = try ArchivePolicy(
            name: "low", backWindow: low.backWindow,
            definition: low.definition.map { try ArchivePolicyItem(granularity: $0.granularity, points: 7) },
            aggregationMethods: low.aggregationMethods)
        try await indexer.updateArchivePolicy(changed)
        #expect(try await indexer.archivePolicy(named: "low") == changed)
        #expect(try await indexer.generation() != before)
        await #expect(throws: IndexerError.self) {
            try await indexer.updateArchivePolicy(
                try ArchivePolicy(name: "nope", backWindow: 0, definition: changed.definition))
        }
    }

    @Test("a rule is renamed; a taken or missing name is refused", arguments: indexerBackends)
    func renameRule(backend: IndexerBackend) async throws {
        let (indexer, _) = try await backend.make()
        try await indexer.installDefaults()
        try await indexer.createRule(
            try ArchivePolicyRule(name: "disk", metricPattern: "disk.*", archivePolicyName: "medium"))
        let renamed = try await indexer.renameRule(named: "disk", to: "disks")
        #expect(renamed.metricPattern == "disk.*")
        #expect(try await indexer.rules().map(\.name) == ["default", "disks"])
        await #expect(throws: IndexerError.conflict("Archive policy rule default already exists")) {
            try await indexer.renameRule(named: "disks", to: "default")
        }
        await #expect(throws: IndexerError.notFound("Archive policy rule disk does not exist")) {
            try await indexer.renameRule(named: "disk", to: "x")
        }
        #expect(try await indexer.ensureMetric(named: "disk.sda").archivePolicyName == "medium")
    }

    @Test("a metric is deleted by id only while its name is still that metric", arguments: indexerBackends)
    func deleteByID(backend: IndexerBackend) async throws {
        let (indexer, _) = try await backend.make()
        try await indexer.installDefaults()
        let first = try await indexer.createMetric(name: "cpu", archivePolicyName: "low", unit: nil)
        _ = try await indexer.deleteMetric(id: first.id)
        let second = try await indexer.createMetric(name: "cpu", archivePolicyName: "low", unit: nil)
        await #expect(throws: IndexerError.self) { try await indexer.deleteMetric(named: "cpu", id: first.id) }
        #expect(try await indexer.metric(named: "cpu") == second)
        #expect(try await indexer.deleteMetric(named: "cpu", id: second.id) == second)
        #expect(try await indexer.metric(id: second.id) == nil)
    }

    @Test(
        "Gnocchi listings: filters on the Gnocchi name, unit, creator, policy and id; sorts with the id last; markers",
        arguments: indexerBackends)
    func listing(backend: IndexerBackend) async throws {
        let (indexer, _) = try await backend.make()
        try await indexer.installDefaults()
        var records: [MetricRecord] = []
        for (index, (name, creator)) in [("disk", "a"), ("disk", "b"), (nil, "a"), ("cpu", "c"), ("disk", "a")]
            .enumerated()
        {
            let id = MetricID.random()
            let address = index == 0 || name == "cpu" ? name! : id.uuidString
            records.append(
                try await indexer.createMetric(
                    name: address, archivePolicyName: index == 3 ? "high" : "low", unit: index == 1 ? "B" : nil,
                    gnocchiName: .some(name), creator: creator))
        }
        func ids(_ query: MetricListQuery) async throws -> [MetricID] {
            try await indexer.metrics(matching: query).map(\.id)
        }
        let byID = records.map(\.id).sorted()
        #expect(try await ids(MetricListQuery(limit: 100)) == byID)
        #expect(try await ids(MetricListQuery(limit: 2)) == Array(byID.prefix(2)))
        #expect(try await ids(MetricListQuery(marker: byID[1], limit: 2)) == Array(byID[2..<4]))
        let disks = [records[0], records[1], records[4]].map(\.id).sorted()
        #expect(try await ids(MetricListQuery(filters: [.name: "disk"], limit: 100)) == disks)
        #expect(try await ids(MetricListQuery(filters: [.name: "disk", .creator: "a"], limit: 100)).count == 2)
        #expect(try await ids(MetricListQuery(filters: [.unit: "B"], limit: 100)) == [records[1].id])
        #expect(try await ids(MetricListQuery(filters: [.archivePolicyName: "high"], limit: 100)) == [records[3].id])
        #expect(try await ids(MetricListQuery(filters: [.id: records[2].id.uuidString], limit: 100)) == [records[2].id])
        // By name descending: the disks (by id), then cpu, then the nameless one (absent sorts first ascending).
        let sorted = try await ids(MetricListQuery(sorts: [(.name, false)], limit: 100))
        #expect(sorted == disks + [records[3].id, records[2].id])
        let page2 = try await ids(MetricListQuery(sorts: [(.name, false)], marker: sorted[2], limit: 100))
        #expect(page2 == [records[3].id, records[2].id])
        await #expect(throws: IndexerError.self) {
            try await indexer.metrics(matching: MetricListQuery(marker: .random(), limit: 1))
        }
    }

    @Test(
        "Gnocchi listings agree with the reference order for random filters, sorts and markers, paged to the end",
        arguments: indexerBackends)
    func listingAgainstReference(backend: IndexerBackend) async throws {
        let (indexer, _) = try await backend.make()
        try await indexer.installDefaults()
        var random = SystemRandomNumberGenerator()
        var records: [MetricRecord] = []
        for index in 0..<60 {
            let name: String? = index % 7 == 0 ? nil : ["cpu", "disk", "net"][Int.random(in: 0..<3, using: &random)]
            let id = MetricID.random()
            let address = index < 3 && name != nil ? "\(name!)-\(index)" : id.uuidString
            records.append(
                try await indexer.createMetric(
                    name: address, archivePolicyName: ["low", "high"][index % 2],
                    unit: index % 3 == 0 ? nil : ["B", "%"][index % 2], gnocchiName: .some(name),
                    creator: ["a", "b", nil][index % 3]))
        }
        let queries: [MetricListQuery] = [
            MetricListQuery(limit: 7),
            MetricListQuery(filters: [.name: "disk"], limit: 4),
            MetricListQuery(filters: [.archivePolicyName: "high", .unit: "%"], limit: 3),
            MetricListQuery(filters: [.creator: "a"], sorts: [(.name, false)], limit: 5),
            MetricListQuery(sorts: [(.unit, true), (.name, false)], limit: 8),
            MetricListQuery(filters: [.id: records[5].id.uuidString.uppercased()], limit: 2),
        ]
        for query in queries {
            let reference = query.page(of: records, marker: nil)
            var all = query
            all.limit = 1000
            let expected = all.page(of: records, marker: nil)
            // Page to the end with markers, as a client following Link headers does.
            var listed: [MetricRecord] = []
            var page = query
            while true {
                let next = try await indexer.metrics(matching: page)
                listed += next
                guard next.count == query.limit, let last = next.last else { break }
                page.marker = last.id
            }
            #expect(listed.map(\.id) == expected.map(\.id), "\(query.filters) \(query.sorts.map(\.attribute))")
            #expect(Array(listed.prefix(query.limit)).map(\.id) == reference.map(\.id))
        }
    }
}
