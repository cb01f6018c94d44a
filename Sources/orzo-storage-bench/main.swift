// Storage benchmarks: incoming appends per second and metric updates per
// second, with 1,000 and 10,000 metrics, on local files and on Ceph.
//
//     swift run -c release orzo-storage-bench --data-dir /tmp/orzo-bench-files
//     swift run -c release orzo-storage-bench --ceph-conf /tmp/orzo-ceph/ceph.conf
//
// An append is one batch of 10 measures for one metric, sent in messages of 100
// metrics (as an ingest front worker groups them), 16 messages in flight. An
// update is one processing cycle of a metric that has one pending batch (the
// policy of the storage tests: 2 granularities, 7 methods), 16 cycles in flight.
import Foundation
import OrzoTestSupport
import Rados
import Storage
import StorageCeph
import StorageFiles
import Timeseries

var arguments = Array(CommandLine.arguments.dropFirst())
@MainActor func option(_ name: String) -> String? {
    guard let index = arguments.firstIndex(of: name), index + 1 < arguments.count else { return nil }
    defer { arguments.removeSubrange(index...(index + 1)) }
    return arguments[index + 1]
}
let dataDirectory = option("--data-dir")
let cephConf = option("--ceph-conf")
// --metrics N runs one size instead of 1,000 and 10,000; --rounds R more rounds (for profiles).
let sizes = option("--metrics").flatMap(Int.init).map { [max(1, $0)] } ?? [1_000, 10_000]
let rounds = max(1, option("--rounds").flatMap(Int.init) ?? 3)
let concurrency = 16

func makeStorage(_ run: String) async throws -> any MetricStorage {
    if let dataDirectory {
        return try FileStorage(root: "\(dataDirectory)/\(run)", defaultSackCount: 16)
    }
    guard let cephConf else { fatalError("give --data-dir or --ceph-conf") }
    let cluster = try await RadosCluster.connect(RadosConfiguration(configurationFile: cephConf))
    try await cluster.ensurePool(named: "orzo-bench")
    let io = try cluster.ioContext(pool: "orzo-bench", namespace: run)
    return try await CephStorage.open(io: io, defaultSackCount: 16, idleGrace: .seconds(120))
}

func seconds(_ duration: Duration) -> Double {
    let (whole, fraction) = duration.components
    return Double(whole) + Double(fraction) / 1e18
}

/// Runs `work` for every item, `concurrency` at a time.
func inParallel<T: Sendable>(_ items: [T], _ work: @escaping @Sendable (T) async throws -> Void) async throws {
    try await withThrowingTaskGroup(of: Void.self) { group in
        var iterator = items.makeIterator()
        for _ in 0..<concurrency {
            guard let item = iterator.next() else { break }
            group.addTask { try await work(item) }
        }
        while try await group.next() != nil {
            if let item = iterator.next() { group.addTask { try await work(item) } }
        }
    }
}

let cpu =
    (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8))?.split(separator: "\n")
    .first { $0.hasPrefix("model name") }?.split(separator: ":").last?.trimmingCharacters(in: .whitespaces) ?? "?"
print(
    "orzo-storage-bench on \(dataDirectory != nil ? "files in \(dataDirectory!)" : "Ceph (\(cephConf ?? "?"))"): \(cpu), \(ProcessInfo.processInfo.activeProcessorCount) cores"
)
for metricCount in sizes {
    let run = "run-\(metricCount)-\(UInt32.random(in: 0..<UInt32.max))"
    let storage = try await makeStorage(run)
    let metrics = (0..<metricCount).map { _ in MetricID.random() }
    let messages = stride(from: 0, to: metrics.count, by: 100).map { Array(metrics[$0..<min($0 + 100, metrics.count)]) }

    let cycle = ProcessingCycle(storage: storage)
    // Round 1 on new metrics (their first state is created), the later ones on
    // existing ones: the steady state of a fleet reporting every interval.
    for round in 1...rounds {
        let batch = StorageFixtures.measures(((round - 1) * 10)..<(round * 10))
        var start = ContinuousClock.now
        try await inParallel(messages) { message in
            try await storage.appendMeasures(Dictionary(uniqueKeysWithValues: message.map { ($0, batch) }))
        }
        let appendTime = seconds(ContinuousClock.now - start)
        start = ContinuousClock.now
        try await inParallel(metrics) { metric in
            _ = try await cycle.process(metric, policy: StorageFixtures.policy)
        }
        let updateTime = seconds(ContinuousClock.now - start)
        var disk = ""
        if let dataDirectory, round == rounds {
            disk = String(
                format: ", %.1f KB on disk per metric",
                Double(diskUsage("\(dataDirectory)/\(run)")) / Double(metricCount) / 1024)
        }
        print(
            String(
                format:
                    "%6d metrics, round %d: %8.0f appends/s (%5.1f µs each), %8.0f metric updates/s (%6.1f µs each)",
                metricCount, round, Double(metricCount) / appendTime, appendTime * 1e6 / Double(metricCount),
                Double(metricCount) / updateTime, updateTime * 1e6 / Double(metricCount)) + disk)
    }
}

/// Bytes allocated on disk under `path` (files and directories), as du counts them.
func diskUsage(_ path: String) -> Int {
    guard let enumerator = FileManager.default.enumerator(atPath: path) else { return 0 }
    var total = 0
    for case let name as String in enumerator {
        var info = stat()
        if lstat("\(path)/\(name)", &info) == 0 { total += Int(info.st_blocks) * 512 }
    }
    return total
}
