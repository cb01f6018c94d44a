import Services
import Storage
import Synchronization
import Testing
import Timeseries
import WireProtocol
import ZeroMQ

/// Memory storage whose appends for one metric wait until the test lets them
/// go: a put stuck on slow storage, without slowing the others.
final class StallingStorage: MetricStorage, Sendable {
    let base = MemoryStorage(sackCount: 4)
    let stalled: MetricID
    private let gate = Mutex<(open: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    init(stalling metric: MetricID) { stalled = metric }

    func open() {
        for waiter in gate.withLock({ gate in
            gate.open = true
            defer { gate.waiters = [] }
            return gate.waiters
        }) { waiter.resume() }
    }

    var sackCount: Int { base.sackCount }
    func appendMeasures(_ batches: [MetricID: [Measure]]) async throws {
        if batches[stalled] != nil {
            await withCheckedContinuation { continuation in
                let now = gate.withLock { gate -> Bool in
                    if gate.open { return true }
                    gate.waiters.append(continuation)
                    return false
                }
                if now { continuation.resume() }
            }
        }
        try await base.appendMeasures(batches)
    }
    func metricsWithPendingMeasures(inSack sack: Int) async throws -> [PendingMetric] {
        try await base.metricsWithPendingMeasures(inSack: sack)
    }
    func acquireLease(_ metric: MetricID, duration: Duration) async throws -> MetricLease? {
        try await base.acquireLease(metric, duration: duration)
    }
    func renewLease(_ lease: MetricLease, duration: Duration) async throws -> Bool {
        try await base.renewLease(lease, duration: duration)
    }
    func releaseLease(_ lease: MetricLease) async throws { try await base.releaseLease(lease) }
    func load(
        _ metric: MetricID, lease: MetricLease, aggregations: [AggregationKey], pendingLimit: Int
    ) async throws -> MetricSnapshot {
        try await base.load(metric, lease: lease, aggregations: aggregations, pendingLimit: pendingLimit)
    }
    func readSplits(
        _ metric: MetricID, _ keys: [AggregationKey: [SplitKey]]
    ) async throws -> [AggregationKey: [StoredSplit]] { try await base.readSplits(metric, keys) }
    func commit(_ metric: MetricID, lease: MetricLease, _ commit: MetricCommit) async throws {
        try await base.commit(metric, lease: lease, commit)
    }
    func readAggregate(
        _ metric: MetricID, _ aggregation: AggregationKey, from: SplitKey?, to: SplitKey?
    ) async throws -> TimeSeries { try await base.readAggregate(metric, aggregation, from: from, to: to) }
    func splitKeys(_ metric: MetricID, _ aggregation: AggregationKey) async throws -> [SplitKey] {
        try await base.splitKeys(metric, aggregation)
    }
    func counters(_ metric: MetricID) async throws -> MetricCounters { try await base.counters(metric) }
    func forgetIfIdle(_ entry: PendingMetric) async throws { try await base.forgetIfIdle(entry) }
    func deleteMetric(_ metric: MetricID) async throws { try await base.deleteMetric(metric) }
    func quarantine(_ metric: MetricID, reason: String) async throws {
        try await base.quarantine(metric, reason: reason)
    }
    func quarantinedMetrics() async throws -> [MetricID: String] { try await base.quarantinedMetrics() }
    func releaseQuarantine(_ metric: MetricID) async throws { try await base.releaseQuarantine(metric) }
    func inspect(repair: Bool) async throws -> StoreInspection { try await base.inspect(repair: repair) }
}

@Suite("acknowledged ingest: no head-of-line blocking", .timeLimit(.minutes(3)))
struct IngestConcurrencyTests {
    @Test("a put stuck on storage does not hold back the answers to other clients; one client's puts stay in order")
    func stuckPutDoesNotBlockOthers() async throws {
        let indexer = MemoryIndexer()
        try await indexer.installDefaults()
        let slow = try await indexer.createMetric(name: "slow", archivePolicyName: "low", unit: nil)
        let storage = StallingStorage(stalling: slow.id)
        let context = try ZMQContext()
        let counters = ServiceCounters()
        let ingest = IngestService(
            context: context, storage: storage, directory: MetricDirectory(indexer: indexer), counters: counters)
        let endpoint = "inproc://ingest-concurrency-\(UInt64.random(in: 0..<UInt64.max))"
        let bound = Mutex(false)
        let running = Task {
            try await ingest.runAcknowledged(endpoint: endpoint, ready: { bound.withLock { $0 = true } })
        }
        while !bound.withLock({ $0 }) { try await Task.sleep(for: .milliseconds(5)) }
        let t0: Nanoseconds = 1_767_225_600 * nanosecondsPerSecond
        func put(_ socket: ZMQSocket, _ id: String, _ metric: String, _ value: Double) async throws {
            #expect(
                try await socket.send(
                    [
                        Array(Verb.put.utf8), Array(id.utf8), Array(metric.utf8),
                        MeasureRecords.encode([Measure(timestamp: t0, value: value)]),
                    ], timeout: .seconds(5)))
        }
        let stuck = try ZMQSocket(context, type: .dealer)
        try stuck.connect(endpoint)
        try await put(stuck, "s1", "slow", 1)
        // The same client's next put, to another metric, waits behind its first: order per peer.
        try await put(stuck, "s2", "fast", 7)
        let other = try ZMQSocket(context, type: .dealer)
        try other.connect(endpoint)
        var latencies: [Duration] = []
        for index in 0..<20 {
            let started = ContinuousClock.now
            try await put(other, "o\(index)", "fast", Double(index))
            // Answered while the stuck put still waits (the gate is closed): the timeout is only generous.
            let reply = try #require(try await other.receive(timeout: .seconds(30)))
            #expect(String(decoding: reply[0], as: UTF8.self) == Verb.ok)
            #expect(reply[1] == Array("o\(index)".utf8))
            latencies.append(ContinuousClock.now - started)
        }
        print("acknowledged put latency while another client's put is stuck: max \(latencies.max()!)")
        #expect(try await stuck.receive(timeout: .milliseconds(200)) == nil, "the stuck put is not answered yet")
        storage.open()
        let first = try #require(try await stuck.receive(timeout: .seconds(30)))
        let second = try #require(try await stuck.receive(timeout: .seconds(30)))
        #expect(first[1] == Array("s1".utf8))
        #expect(second[1] == Array("s2".utf8))
        running.cancel()
        _ = try? await running.value
    }
}
