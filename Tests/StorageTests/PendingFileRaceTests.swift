import Glibc
import Storage
import Testing
import Timeseries

@testable import StorageFiles

/// Found by the system benchmark: an append found a metric's pending file
/// present, a worker removed it as empty, and the append's open failed with
/// ENOENT (an `unavailable` reply to an acknowledged put). The hook removes
/// the file at exactly that moment.
@Suite("file storage: an append racing with the removal of an empty pending file", .serialized)
struct PendingFileRaceTests {
    @Test("the append creates the file afresh and loses nothing")
    func appendAfterRemoval() async throws {
        let storage = try FileStorage(root: temporaryDirectory(), defaultSackCount: 4)
        let metric = MetricID.random()
        let sack = metric.sack(of: storage.sackCount)
        try await storage.appendMeasures([metric: [Measure(timestamp: 0, value: 1)]])

        // The next append finds the file present; at that moment a worker commits the
        // pending measure and removes the file (simulated by removing it: the first
        // measure counts as processed elsewhere).
        var removed = 0
        PendingFile.betweenOpens = { path in
            guard removed == 0 else { return }
            removed += 1
            unlink(path)
        }
        defer { PendingFile.betweenOpens = nil }
        try await storage.appendMeasures([metric: [Measure(timestamp: 1_000_000_000, value: 2)]])
        #expect(removed == 1)
        #expect(try await storage.metricsWithPendingMeasures(inSack: sack).contains { $0.metric == metric })
        _ = try await ProcessingCycle(storage: storage).process(metric, policy: testPolicy)
        #expect(try await storage.counters(metric).measuresProcessed == 1)
    }
}
