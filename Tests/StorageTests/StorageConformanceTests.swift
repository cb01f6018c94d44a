import OrzoTestSupport
import Storage
import Testing
import Timeseries

@Suite("Storage conformance", .timeLimit(.minutes(5)))
struct StorageConformanceTests {
    @Test("appended batches are pending, indexed in their sack, read in order", arguments: backends)
    func appendAndIndex(backend: Backend) async throws {
        let storage = try await backend.make()
        let a = MetricID.random()
        let b = MetricID.random()
        try await storage.appendMeasures([a: measures(0..<3)])
        try await storage.appendMeasures([a: measures(3..<5), b: measures(0..<2)])
        var listed: [MetricID] = []
        for sack in 0..<storage.sackCount {
            let pending = try await storage.metricsWithPendingMeasures(inSack: sack)
            #expect(pending.allSatisfy { $0.metric.sack(of: storage.sackCount) == sack })
            listed += pending.map(\.metric)
        }
        #expect(Set(listed) == [a, b])
        let lease = try #require(try await storage.acquireLease(a, duration: .seconds(30)))
        let snapshot = try await storage.load(a, lease: lease, aggregations: [], pendingLimit: 100)
        #expect(snapshot.pending.measures == measures(0..<5))
        #expect(!snapshot.pending.hasMore)
        #expect(snapshot.raw.isEmpty)
        try await storage.releaseLease(lease)
    }

    @Test("removing what was read keeps the batches that arrived meanwhile", arguments: backends)
    func removeExactlyWhatWasRead(backend: Backend) async throws {
        let storage = try await backend.make()
        let metric = MetricID.random()
        try await storage.appendMeasures([metric: measures(0..<10)])
        let lease = try #require(try await storage.acquireLease(metric, duration: .seconds(30)))
        let snapshot = try await storage.load(metric, lease: lease, aggregations: [], pendingLimit: 100)
        try await storage.appendMeasures([metric: measures(10..<12)])  // arrives during the cycle
        try await storage.commit(
            metric, lease: lease,
            MetricCommit(
                raw: TimeSeries(snapshot.pending.measures), splits: [:], expireBefore: [:],
                processed: snapshot.pending.token, counters: snapshot.counters, releaseLease: true))
        let next = try #require(try await storage.acquireLease(metric, duration: .seconds(30)))
        let after = try await storage.load(metric, lease: next, aggregations: [], pendingLimit: 100)
        #expect(after.pending.measures == measures(10..<12))
        #expect(after.raw.count == 10)
        try await storage.releaseLease(next)
    }

    @Test(
        "leases that expire unreleased count as abandoned cycles until a commit; quarantine is durable and released",
        arguments: backends)
    func abandonedCyclesAndQuarantine(backend: Backend) async throws {
        let storage = try await backend.make()
        let metric = MetricID.random()
        try await storage.appendMeasures([metric: measures(0..<3)])
        // Short leases, to be left to expire; the one that commits is long enough to do so.
        func take(_ duration: Duration = .milliseconds(300)) async throws -> (MetricLease, MetricSnapshot) {
            let deadline = ContinuousClock.now + .seconds(60)  // generous: the whole suite may be running
            while ContinuousClock.now < deadline {
                if let lease = try await storage.acquireLease(metric, duration: duration) {
                    return (lease, try await storage.load(metric, lease: lease, aggregations: [], pendingLimit: 100))
                }
                try await Task.sleep(for: .milliseconds(20))
            }
            throw StorageError.unavailable("the lease never came free")
        }
        // Released in order: nothing abandoned.
        var (lease, snapshot) = try await take(.seconds(10))
        #expect(snapshot.abandonedCycles == 0)
        try await storage.releaseLease(lease)
        // Two holders vanish without releasing (their processes died).
        (_, snapshot) = try await take()
        #expect(snapshot.abandonedCycles == 0)
        (_, snapshot) = try await take()
        #expect(snapshot.abandonedCycles == 1)
        (lease, snapshot) = try await take(.seconds(10))
        #expect(snapshot.abandonedCycles == 2)
        // A commit starts the count again.
        try await storage.commit(
            metric, lease: lease,
            MetricCommit(
                raw: TimeSeries(), splits: [:], expireBefore: [:], processed: PendingToken(batches: []),
                counters: snapshot.counters, releaseLease: true))
        (lease, snapshot) = try await take(.seconds(10))
        #expect(snapshot.abandonedCycles == 0)
        try await storage.releaseLease(lease)

        #expect(try await storage.quarantinedMetrics().isEmpty)
        try await storage.quarantine(metric, reason: "first")
        try await storage.quarantine(metric, reason: "second")
        #expect(try await storage.quarantinedMetrics() == [metric: "first"])
        // Abandoned again, then released from quarantine: the count is reset too.
        _ = try await take()
        (lease, snapshot) = try await take(.seconds(10))
        #expect(snapshot.abandonedCycles == 1)
        try await storage.releaseLease(lease)
        try await storage.releaseQuarantine(metric)
        #expect(try await storage.quarantinedMetrics().isEmpty)
        (lease, snapshot) = try await take(.seconds(10))
        #expect(snapshot.abandonedCycles == 0)
        try await storage.releaseLease(lease)
    }

    @Test(
        "the sack listing counts pending measures where the backend can (status's backlog.measures)",
        arguments: backends)
    func pendingMeasureCounts(backend: Backend) async throws {
        let storage = try await backend.make()
        let (one, five, twice) = (MetricID.random(), MetricID.random(), MetricID.random())
        try await storage.appendMeasures([one: measures(0..<1)])
        try await storage.appendMeasures([five: measures(0..<5)])
        try await storage.appendMeasures([twice: measures(0..<1)])
        try await storage.appendMeasures([twice: measures(1..<2)])
        var counts: [MetricID: Int?] = [:]
        for sack in 0..<storage.sackCount {
            for entry in try await storage.metricsWithPendingMeasures(inSack: sack) {
                counts[entry.metric] = entry.measures
            }
        }
        switch backend {
        case .memory: #expect(counts == [one: 1, five: 5, twice: 2])
        // One batch per file: exact; a second batch's frame header adds 0.75, rounded down.
        case .files: #expect(counts == [one: 1, five: 5, twice: 2])
        case .ceph: #expect(counts == [one: nil, five: nil, twice: nil])
        }
    }

    @Test("the pending read is limited, and the rest remains", arguments: backends)
    func pendingLimit(backend: Backend) async throws {
        let storage = try await backend.make()
        let metric = MetricID.random()
        for index in 0..<5 { try await storage.appendMeasures([metric: measures(index..<(index + 1))]) }
        let lease = try #require(try await storage.acquireLease(metric, duration: .seconds(30)))
        let snapshot = try await storage.load(metric, lease: lease, aggregations: [], pendingLimit: 3)
        #expect(snapshot.pending.measures == measures(0..<3))
        #expect(snapshot.pending.hasMore)
        try await storage.releaseLease(lease)
    }

    @Test("a lease excludes a second holder, expires, and can be renewed and released", arguments: backends)
    func leases(backend: Backend) async throws {
        let storage = try await backend.make()
        let metric = MetricID.random()
        let firstAt = ContinuousClock.now
        let first = try #require(try await storage.acquireLease(metric, duration: .seconds(30)))
        let early = try await storage.acquireLease(metric, duration: .seconds(30))
        // Excluded while the lease runs: checked unless the machine was so loaded that
        // the lease ran out between the two calls.
        if ContinuousClock.now - firstAt < .seconds(30) {
            #expect(early == nil)
            #expect(try await storage.renewLease(first, duration: .seconds(30)))
        }
        if let early { try await storage.releaseLease(early) }
        try await storage.releaseLease(first)
        let asked = ContinuousClock.now
        let short = try #require(try await storage.acquireLease(metric, duration: .seconds(3)))
        let contender = try await storage.acquireLease(metric, duration: .seconds(30))
        // Excluded while the short lease runs; a machine so loaded that 3 s passed
        // between the two calls proves nothing either way.
        if ContinuousClock.now - asked < .seconds(3) { #expect(contender == nil) }
        if let contender { try await storage.releaseLease(contender) }
        var taken: MetricLease?
        let deadline = ContinuousClock.now + .seconds(20)
        while taken == nil && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(100))
            taken = try await storage.acquireLease(metric, duration: .seconds(30))
        }
        let second = try #require(taken, "the expired lease was never taken over")
        #expect(second.token != short.token, "each acquisition has its own fencing token")
        #expect(try await storage.renewLease(short, duration: .seconds(30)) == false, "the old holder lost it")
        try await storage.releaseLease(short)  // releasing a lost lease changes nothing
        #expect(try await storage.acquireLease(metric, duration: .seconds(30)) == nil)
        try await storage.releaseLease(second)
    }

    @Test("a holder that lost its lease commits nothing", arguments: backends)
    func fencing(backend: Backend) async throws {
        let storage = try await backend.make()
        let metric = MetricID.random()
        try await storage.appendMeasures([metric: measures(0..<10)])
        let stale = try #require(try await storage.acquireLease(metric, duration: .milliseconds(500)))
        let snapshot = try await storage.load(metric, lease: stale, aggregations: [], pendingLimit: 100)
        var newHolder: MetricLease?
        while newHolder == nil {
            try await Task.sleep(for: .milliseconds(100))
            newHolder = try await storage.acquireLease(metric, duration: .seconds(30))
        }
        await #expect(throws: StorageError.leaseLost(metric)) {
            try await storage.commit(
                metric, lease: stale,
                MetricCommit(
                    raw: TimeSeries(snapshot.pending.measures), splits: [:], expireBefore: [:],
                    processed: snapshot.pending.token, counters: MetricCounters(measuresProcessed: 99),
                    releaseLease: true))
        }
        let current = try await storage.load(metric, lease: newHolder!, aggregations: [], pendingLimit: 100)
        #expect(current.raw.isEmpty, "nothing of the stale commit landed")
        #expect(current.pending.measures.count == 10, "the pending batches are still there")
        #expect(current.counters == MetricCounters())
        try await storage.releaseLease(newHolder!)
    }

    @Test(
        "processing cycles give the engine's aggregates, late measures and expiry included", arguments: backends
    )
    func processingCycles(backend: Backend) async throws {
        let storage = try await backend.make()
        let cycle = ProcessingCycle(storage: storage)
        let metric = MetricID.random()
        // In order; then across a split boundary of the 1-minute aggregates; then a
        // late batch inside the back window that touches the older split (read back
        // with an extra round trip); then a batch days ahead that expires the old
        // splits; then a batch too old to accept.
        let boundary = SplitKey(containing: t0 + 86_400 * second, granularity: minute).start
        let groups = [
            measures(0..<400), measures(0..<60, start: boundary - 300 * second),
            measures(0..<5, start: boundary - 200 * second, value: { Double($0) * 100 }),
            measures(0..<200, start: t0 + 6 * 86_400 * second), measures(0..<3),
        ]
        for group in groups {
            try await storage.appendMeasures([metric: group])
            let outcome = try await cycle.process(metric, policy: testPolicy)
            guard case .processed(let count, _, let more) = outcome else {
                Issue.record("unexpected \(outcome)")
                return
            }
            #expect(count == group.count)
            #expect(!more)
        }
        #expect(try await cycle.process(metric, policy: testPolicy) == .idle)
        expectSameAggregates(
            try await storedAggregates(storage, metric, policy: testPolicy),
            expectedAggregates(groups, policy: testPolicy),
            policy: testPolicy)
        let counters = try await storage.counters(metric)
        #expect(counters.measuresProcessed == Int64(groups.map(\.count).reduce(0, +)))
        #expect(counters.droppedTooOld == 3)
        // Splits older than the timespan were deleted whole.
        let keys = try await storage.splitKeys(metric, AggregationKey(method: "mean", granularity: minute))
        #expect(keys.count <= 2)
    }

    @Test(
        "stored measures out of range (damage: ingest refuses them) are reported as corrupt, never computed on",
        arguments: backends)
    func storedValuesOutOfRange(backend: Backend) async throws {
        let storage = try await backend.make()
        for bad in [
            Measure(timestamp: .max, value: 1), Measure(timestamp: -5, value: 1),
            Measure(timestamp: 1_767_225_600_000_000_000, value: .infinity),
        ] {
            let metric = MetricID.random()
            try await storage.appendMeasures([metric: [Measure(timestamp: 1_767_225_600_000_000_000, value: 2), bad]])
            await #expect(throws: StorageError.self) {
                _ = try await ProcessingCycle(storage: storage).process(metric, policy: StorageFixtures.policy)
            }
            // The lease was released: the next cycle gets as far, and reports it again.
            await #expect(throws: StorageError.self) {
                _ = try await ProcessingCycle(storage: storage).process(metric, policy: StorageFixtures.policy)
            }
        }
    }

    @Test("the sack entry of an idle metric is forgotten, unless it was marked again", arguments: backends)
    func sackCleanup(backend: Backend) async throws {
        let storage = try await backend.make()
        let metric = MetricID.random()
        let sack = metric.sack(of: storage.sackCount)
        try await storage.appendMeasures([metric: measures(0..<3)])
        let entry = try #require(
            try await storage.metricsWithPendingMeasures(inSack: sack).first { $0.metric == metric })
        try await storage.forgetIfIdle(entry)
        #expect(
            try await storage.metricsWithPendingMeasures(inSack: sack).contains { $0.metric == metric }, "still pending"
        )
        _ = try await ProcessingCycle(storage: storage).process(metric, policy: testPolicy)
        try await Task.sleep(for: .milliseconds(2))
        try await storage.appendMeasures([metric: measures(3..<4)])  // marked again
        try await storage.forgetIfIdle(entry)
        #expect(try await storage.metricsWithPendingMeasures(inSack: sack).contains { $0.metric == metric })
        _ = try await ProcessingCycle(storage: storage).process(metric, policy: testPolicy)
        // A backend may drop the entry as soon as nothing is pending (files do);
        // if it is still listed, forgetting it must remove it.
        if let fresh = try await storage.metricsWithPendingMeasures(inSack: sack).first(where: { $0.metric == metric })
        {
            try await storage.forgetIfIdle(fresh)
        }
        #expect(!(try await storage.metricsWithPendingMeasures(inSack: sack).contains { $0.metric == metric }))
    }

    @Test("deleting a metric removes its measures, aggregates and index entry", arguments: backends)
    func deleteMetric(backend: Backend) async throws {
        let storage = try await backend.make()
        let metric = MetricID.random()
        try await storage.appendMeasures([metric: measures(0..<50)])
        _ = try await ProcessingCycle(storage: storage).process(metric, policy: testPolicy)
        try await storage.appendMeasures([metric: measures(50..<60)])
        try await storage.deleteMetric(metric)
        #expect(
            try await storage.readAggregate(
                metric, AggregationKey(method: "mean", granularity: minute), from: nil, to: nil
            ).isEmpty)
        #expect(
            !(try await storage.metricsWithPendingMeasures(inSack: metric.sack(of: storage.sackCount)).contains {
                $0.metric == metric
            }))
        #expect(try await ProcessingCycle(storage: storage).process(metric, policy: testPolicy) == .idle)
    }
}
