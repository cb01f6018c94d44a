import Services
import Storage
import Testing
import Timeseries

/// `orzo serve`'s ingest wakes its workers after storing measures
/// (`MetricdService.wake`), instead of leaving them to the next scan.
@Suite("metricd: waking idle workers", .timeLimit(.minutes(5)))
struct MetricdWakeTests {
    @Test("a wake cuts an idle pause short; without it the measures wait", .timeLimit(.minutes(1)))
    func wake() async throws {
        let storage = MemoryStorage(sackCount: 4)
        let indexer = MemoryIndexer()
        try await indexer.installDefaults()
        let record = try await indexer.createMetric(name: "m", archivePolicyName: "low", unit: nil)
        let counters = ServiceCounters()
        // An hour's pause: only a wake can get the workers going again in this test.
        let metricd = MetricdService(
            storage: storage, directory: MetricDirectory(indexer: indexer), counters: counters, workers: 2,
            idlePause: .seconds(3600))
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
}
