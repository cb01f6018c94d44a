import Rados
import Storage
import StorageCeph
import Testing
import Timeseries

@Suite("Ceph storage (real Ceph)", .enabled(if: !CephTestPool.skipped), .timeLimit(.minutes(5)))
struct CephStorageTests {
    @Test("a steady-state metric update takes at most 3 RADOS round trips")
    func roundTripsPerUpdate() async throws {
        let storage = try await CephTestPool.storage(sackCount: 4)
        let cycle = ProcessingCycle(storage: storage)
        let metric = MetricID.random()
        var counts: [Int] = []
        for index in 0..<20 {
            try await storage.appendMeasures([metric: measures((index * 30)..<((index + 1) * 30))])
            let before = storage.roundTrips
            let outcome = try await cycle.process(metric, policy: testPolicy)
            counts.append(storage.roundTrips - before)
            guard case .processed = outcome else {
                Issue.record("cycle \(index): \(outcome)")
                return
            }
        }
        // Lease, one compound read, one fenced compound write that also unlocks.
        #expect(counts.allSatisfy { $0 <= 3 }, "round trips per update: \(counts)")
        #expect(counts.dropFirst().allSatisfy { $0 == 3 })
    }

    @Test("changing the sack count moves every pending metric to its new sack")
    func changeSackCount() async throws {
        let storage = try await CephTestPool.storage(sackCount: 3)
        let metrics = (0..<40).map { _ in MetricID.random() }
        try await storage.appendMeasures(Dictionary(uniqueKeysWithValues: metrics.map { ($0, measures(0..<2)) }))
        let resized = try await storage.changeSackCount(to: 8)
        #expect(resized.sackCount == 8)
        var found: [MetricID] = []
        for sack in 0..<8 {
            let entries = try await resized.metricsWithPendingMeasures(inSack: sack)
            #expect(entries.allSatisfy { $0.metric.sack(of: 8) == sack })
            found += entries.map(\.metric)
        }
        #expect(Set(found) == Set(metrics))
        #expect(found.count == metrics.count)
        let reopened = try await CephStorage.open(io: storage.io, defaultSackCount: 3, idleGrace: .zero)
        #expect(reopened.sackCount == 8)
        #expect(try await ProcessingCycle(storage: reopened).process(metrics[0], policy: testPolicy) != .idle)
    }

    @Test("a RADOS failure reaches callers as StorageError.unavailable, naming the call", .timeLimit(.minutes(2)))
    func radosErrorsMapped() async throws {
        // A connection of its own with a short operation timeout: on a loaded machine,
        // while other tests create and delete pools, an append that races the delete can
        // wait for an OSD until the timeout (it took 68 s with the default 30 s on CI).
        // A timeout is a RADOS failure too, and must be mapped the same way.
        guard let conf = CephTestPool.environment("ORZO_TEST_CEPH_CONF") else { throw CephTestPool.Missing() }
        let cluster = try await RadosCluster.connect(
            RadosConfiguration(configurationFile: conf, operationTimeout: .seconds(8)))
        let pool = "orzo-test-gone-\(MetricID.random().rawValue.prefix(8))"
        try await cluster.createPool(named: pool)
        let storage = try await CephStorage.open(
            io: try cluster.ioContext(pool: pool), defaultSackCount: 2, idleGrace: .zero)
        try await cluster.deletePool(named: pool)  // every operation on it fails from now on
        await #expect {
            try await storage.appendMeasures([MetricID.random(): measures(0..<3)])
        } throws: { error in
            guard case StorageError.unavailable(let reason) = error else { return false }
            return reason.hasPrefix("RADOS: ")
        }
    }

    @Test("the sack count is kept in the pool's config object")
    func sackCountPersists() async throws {
        let first = try await CephTestPool.storage(sackCount: 7)
        #expect(first.sackCount == 7)
        let again = try await CephStorage.open(io: first.io, defaultSackCount: 99, idleGrace: .zero)
        #expect(again.sackCount == 7, "an existing pool keeps its sack count")
    }
}
