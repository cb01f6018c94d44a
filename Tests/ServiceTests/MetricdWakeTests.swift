import Foundation
import Rados
import Services
import Storage
import StorageCeph
import StorageFiles
import Testing
import Timeseries

/// `orzo serve`'s ingest wakes its workers after storing measures
/// (`MetricdService.wake`), instead of leaving them to the next scan.
@Suite("metricd: waking idle workers", .timeLimit(.minutes(5)))
struct MetricdWakeTests {
    @Test("a wake cuts an idle pause short; without it the measures wait", .timeLimit(.minutes(1)))
    func wake() async throws {
        let storage = MemoryStorage(sackCount: 4)
        // An hour's pause: only a wake can get the workers going again in this test.
        let (metricd, counters, record) = try await idleWorkers(on: storage)
        let running = Task { try await metricd.run() }
        while metricd.idleWorkers < 2 { try await Task.sleep(for: .milliseconds(10)) }  // both found nothing
        try await storage.appendMeasures([record.id: [Measure(timestamp: 1_767_225_600_000_000_000, value: 1)]])
        try await Task.sleep(for: .milliseconds(300))
        #expect(counters.value(.measuresProcessed) == 0, "not woken: still pausing")
        metricd.wake()
        let deadline = ContinuousClock.now + .seconds(20)
        while counters.value(.measuresProcessed) == 0 && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(10))
        }
        #expect(counters.value(.measuresProcessed) == 1)
        // Cancellation ends the pause too (the time limit catches a worker that would not stop).
        running.cancel()
        _ = try? await running.value
    }

    @Test(
        "on files, measures appended through another handle of the directory wake idle workers (inotify), first and later batches",
        .timeLimit(.minutes(1)))
    func filesWatch() async throws {
        let root = "/tmp/orzo-storage-tests/wake-\(getpid())-\(MetricID.random().rawValue.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: root) }
        let storage = try FileStorage(root: root, defaultSackCount: 4)
        let writer = try FileStorage(root: root, defaultSackCount: 4)  // as an ingest in another process
        try await expectWatchWakes(workersOn: storage, writer: writer)
    }

    @Test(
        "on Ceph, measures stored through another connection wake idle workers (watch/notify on orzo.wakeup)",
        .enabled(if: fleetEnabled), .timeLimit(.minutes(2)))
    func cephWatch() async throws {
        let conf = try #require(cephConf(), "ORZO_TEST_CEPH_CONF is not set")
        let namespace = "wake-\(MetricID.random().rawValue.prefix(12))"
        // Two connections, as the worker and the ingest processes of a fleet have.
        func open() async throws -> CephStorage {
            let cluster = try await RadosCluster.connect(RadosConfiguration(configurationFile: conf))
            try await cluster.ensurePool(named: "orzo-test-services")
            return try await CephStorage.open(
                io: try cluster.ioContext(pool: "orzo-test-services", namespace: namespace), defaultSackCount: 4,
                idleGrace: .zero)
        }
        try await expectWatchWakes(workersOn: try await open(), writer: try await open())
    }

    /// Starts idle workers on `storage` that nothing but its watch can wake, then
    /// stores two batches through `writer`, each while the workers are idle, and
    /// expects each aggregated. Batch 1 creates a pending entry; batch 2 reuses it.
    private func expectWatchWakes(workersOn storage: any MetricStorage, writer: any MetricStorage) async throws {
        // An hour's pause, and nobody calls wake(): only the watch can start the workers.
        let (metricd, counters, record) = try await idleWorkers(on: storage)
        let running = Task { try await metricd.run() }
        defer { running.cancel() }
        let base: Int64 = 1_767_225_600_000_000_000
        for batch in 1...2 {
            while metricd.idleWorkers < 2 { try await Task.sleep(for: .milliseconds(5)) }
            try await writer.appendMeasures([
                record.id: [Measure(timestamp: base + Int64(batch) * 1_000_000_000, value: 1)]
            ])
            let deadline = ContinuousClock.now + .seconds(20)
            while counters.value(.measuresProcessed) < batch && ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(5))
            }
            #expect(counters.value(.measuresProcessed) == batch, "batch \(batch) was aggregated without a rescan")
        }
        running.cancel()
        _ = try? await running.value
    }

    /// Two workers on `storage` whose idle pause is an hour, and a metric "m" they know.
    private func idleWorkers(
        on storage: any MetricStorage
    ) async throws -> (MetricdService, ServiceCounters, MetricRecord) {
        let indexer = MemoryIndexer()
        try await indexer.installDefaults()
        let record = try await indexer.createMetric(name: "m", archivePolicyName: "low", unit: nil)
        let counters = ServiceCounters()
        let metricd = MetricdService(
            storage: storage, directory: MetricDirectory(indexer: indexer), counters: counters, workers: 2,
            idlePause: .seconds(3600))
        return (metricd, counters, record)
    }
}
