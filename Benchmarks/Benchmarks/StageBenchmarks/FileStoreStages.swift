// The file store's cost per metric, as a fleet of agents reporting every
// interval makes it: many metrics, one to ten measures each. Each benchmark
// runs 1,000 metrics per invocation with the scaling factor .kilo, so its
// figures read as the cost of one metric.
//
// Both run the steady state: before the timed part, the untimed part brings
// the store where the previous interval left it (measures appended, or
// aggregated), so the timed put restores each metric's consumed incoming file
// and the timed cycles find one batch per metric.
import Benchmark
import Foundation
import Storage
import StorageFiles
import Timeseries

/// A file store in its own directory under /tmp/orzo-stage-bench, emptied first.
func freshFileStore(_ name: String) throws -> FileStorage {
    let root = "/tmp/orzo-stage-bench/\(name)"
    try? FileManager.default.removeItem(atPath: root)
    return try FileStorage(root: root, defaultSackCount: 16)
}

/// The policy of a typical agent metric: a day at 1 min, a month at 1 h, six methods.
let agentPolicy = try! ArchivePolicy(
    name: "agent",
    definition: [
        ArchivePolicyItem(granularity: 60 * second, points: 1440),
        ArchivePolicyItem(granularity: 3600 * second, points: 720),
    ])

/// One interval's put: metric i gets (i % 10) + 1 measures, 10 s apart, after `interval`.
func intervalBatches(_ metrics: [MetricID], interval: Int) -> [MetricID: [Measure]] {
    var batches: [MetricID: [Measure]] = [:]
    let start = epoch2026 + Int64(interval) * 600 * second
    for (index, metric) in metrics.enumerated() {
        batches[metric] = (0...(index % 10)).map {
            Measure(timestamp: start + Int64($0) * 10 * second, value: Double(index % 97) + Double($0))
        }
    }
    return batches
}

/// Runs a cycle of every metric, four at a time, as one metricd worker does
/// (`metricd.cycles_in_flight`).
func processAll(_ metrics: [MetricID], _ cycle: ProcessingCycle) async throws {
    try await withThrowingTaskGroup(of: Void.self) { group in
        var next = metrics.makeIterator()
        for _ in 0..<4 {
            guard let metric = next.next() else { break }
            group.addTask { _ = try await cycle.process(metric, policy: agentPolicy) }
        }
        while try await group.next() != nil {
            if let metric = next.next() { group.addTask { _ = try await cycle.process(metric, policy: agentPolicy) } }
        }
    }
}

/// A store with 1,000 metrics that have been through a first interval.
final class FileStoreStage: @unchecked Sendable {
    let storage: FileStorage
    let metrics = (0..<1000).map { _ in MetricID.random() }
    let cycle: ProcessingCycle
    var interval = 0
    private var primed = false

    init(_ name: String) {
        storage = try! freshFileStore(name)
        cycle = ProcessingCycle(storage: storage)
    }

    func prime() async throws {
        guard !primed else { return }
        primed = true
        try await storage.appendMeasures(intervalBatches(metrics, interval: interval))
        try await processAll(metrics, cycle)
    }

    func append() async throws {
        interval += 1
        try await storage.appendMeasures(intervalBatches(metrics, interval: interval))
    }

    func process() async throws { try await processAll(metrics, cycle) }
}

func fileStoreConfiguration() -> Benchmark.Configuration {
    Benchmark.Configuration(
        metrics: [.wallClock, .mallocCountTotal], scalingFactor: .kilo, maxDuration: .seconds(10), maxIterations: 100,
        thresholds: [
            .wallClock: .init(relative: [.p50: 30.0, .p90: 75.0]),
            .mallocCountTotal: .init(relative: [.p50: 10.0]),
        ])
}

let fileStoreBenchmarks: @Sendable () -> Void = {
    // The ingest: one put of 1,000 metrics (1 to 10 measures each), made durable
    // (frames written, one syncfs) as an acknowledged put is.
    let ingest = FileStoreStage("ingest")
    Benchmark("files.ingest.put1000metrics", configuration: fileStoreConfiguration()) { benchmark async throws in
        try await ingest.prime()
        try await ingest.process()  // untimed: the previous put's measures aggregated
        benchmark.startMeasurement()
        try await ingest.append()
    }
    // A worker: the cycles of 1,000 metrics with 1 to 10 new measures each.
    let worker = FileStoreStage("worker")
    Benchmark("files.worker.cycle1000metrics", configuration: fileStoreConfiguration()) { benchmark async throws in
        try await worker.prime()
        try await worker.append()  // untimed: the interval's put
        benchmark.startMeasurement()
        try await worker.process()
    }
}
