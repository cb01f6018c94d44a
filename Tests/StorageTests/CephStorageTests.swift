import Storage
import StorageCeph
import Testing
import Timeseries

@Suite("Ceph storage (real Ceph)", .enabled(if: !CephTestPool.skipped))
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

    @Test("the sack count is kept in the pool's config object")
    func sackCountPersists() async throws {
        let first = try await CephTestPool.storage(sackCount: 7)
        #expect(first.sackCount == 7)
        let again = try await CephStorage.open(io: first.io, defaultSackCount: 99, idleGrace: .zero)
        #expect(again.sackCount == 7, "an existing pool keeps its sack count")
    }
}
