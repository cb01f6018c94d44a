import Glibc
import Storage
import Synchronization
import Testing
import Timeseries

@testable import StorageFiles

/// Found by the system benchmark: an append found a metric's pending file
/// present, a worker removed it meanwhile, and the append failed (an
/// `unavailable` reply to an acknowledged put). The hook acts between the
/// appender's open and its lock: removing the file, or moving it to `idle/` as a
/// worker does with a consumed file it keeps.
@Suite(
    "file storage: an append racing with a worker taking the pending file away", .serialized, .timeLimit(.minutes(5)))
struct PendingFileRaceTests {
    enum Away: CaseIterable { case removed, movedToIdle }

    @Test("the append reopens (creating or reviving the file) and loses nothing", arguments: Away.allCases)
    func appendAfterRemoval(away: Away) async throws {
        let storage = try FileStorage(root: temporaryDirectory(), defaultSackCount: 4)
        let metric = MetricID.random()
        let sack = metric.sack(of: storage.sackCount)
        try await storage.appendMeasures([metric: [Measure(timestamp: 0, value: 1)]])

        // The next append opens the file; at that moment a worker commits the pending
        // measure and takes the file away (simulated here: the first measure counts as
        // processed elsewhere, so a moved file's frame is already consumed).
        let acted = Atomic<Int>(0)
        storage.testHooks.afterPendingOpen.withLock {
            $0 = { path in
                guard acted.add(1, ordering: .relaxed).oldValue == 0 else { return }
                switch away {
                case .removed: unlink(path)
                case .movedToIdle: rename(path, PendingFile.idlePath(path))
                }
            }
        }
        try await storage.appendMeasures([metric: [Measure(timestamp: 1_000_000_000, value: 2)]])
        #expect(acted.load(ordering: .relaxed) == 1, "the hook ran once, for this store's file")
        #expect(try await storage.metricsWithPendingMeasures(inSack: sack).contains { $0.metric == metric })
        _ = try await ProcessingCycle(storage: storage).process(metric, policy: testPolicy)
        // Removed: only the second measure was left. Moved: the revived file holds both
        // (nothing recorded the first as consumed), and both are processed.
        #expect(try await storage.counters(metric).measuresProcessed == (away == .removed ? 1 : 2))
    }
}
