// Service benchmarks on the embedded default (files + SQLite), all in this
// process but over real ipc:// sockets:
//   - time from acknowledgement to queryable, at low load (one measure at a time);
//   - acknowledged ingest rate (messages of 100 metrics × 10 measures, 4 clients);
//   - query rate (get_measures of one metric, 4 clients).
//
//     swift run -c release orzo-service-bench [--data-dir DIR]
import Foundation
import Services
import Storage
import StorageFiles
import Timeseries
import WireProtocol
import ZeroMQ

let directoryPath =
    CommandLine.arguments.firstIndex(of: "--data-dir").map { CommandLine.arguments[$0 + 1] }
    ?? "/tmp/orzo-service-bench-\(getpid())"
let storage = try FileStorage(root: directoryPath)
let indexer = try SQLiteIndexer(path: "\(directoryPath)/index.sqlite")
try await indexer.installDefaults()
let context = try ZMQContext()
let counters = ServiceCounters()
let directory = MetricDirectory(indexer: indexer)
let metricd = MetricdService(storage: storage, directory: directory, counters: counters, workers: 2)
var ingestService = IngestService(context: context, storage: storage, directory: directory, counters: counters)
ingestService.onStored = { metricd.wake() }  // as orzo serve does
let ingest = ingestService
let query = QueryService(context: context, storage: storage, directory: directory, counters: counters, metricd: metricd)
let base = "ipc:///tmp/orzo-service-bench-\(getpid())"
let services = Task {
    try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await ingest.runPush(endpoint: base + "-push") }
        group.addTask { try await ingest.runAcknowledged(endpoint: base + "-ack") }
        group.addTask { try await query.run(endpoint: base + "-query") }
        group.addTask { try await metricd.run() }
        try await group.waitForAll()
    }
}
try await Task.sleep(for: .milliseconds(300))

func seconds(_ duration: Duration) -> Double {
    let (whole, fraction) = duration.components
    return Double(whole) + Double(fraction) / 1e18
}

func put(_ dealer: ZMQSocket, _ frames: [[UInt8]]) async throws {
    _ = try await dealer.send(frames, timeout: .seconds(30))
    guard let reply = try await dealer.receive(timeout: .seconds(30)), reply[0] == Array(Verb.ok.utf8) else {
        fatalError("put failed")
    }
}

func ask(_ socket: ZMQSocket, _ request: QueryRequest) async throws -> [UInt8] {
    _ = try await socket.send([Array(Verb.query.utf8), request.encoded()], timeout: .seconds(30))
    guard let reply = try await socket.receive(timeout: .seconds(30)) else { fatalError("no reply") }
    return reply[1]
}

let cpu =
    (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8))?.split(separator: "\n")
    .first { $0.hasPrefix("model name") }?.split(separator: ":").last?.trimmingCharacters(in: .whitespaces) ?? "?"
print("orzo-service-bench on files in \(directoryPath): \(cpu), \(ProcessInfo.processInfo.activeProcessorCount) cores")

// 1. Acknowledgement to queryable, at low load: one measure, then poll without refresh.
let dealer = try ZMQSocket(context, type: .dealer)
try dealer.connect(base + "-ack")
let querier = try ZMQSocket(context, type: .req)
try querier.connect(base + "-query")
var latencies: [Double] = []
let now = wallClockNanoseconds() / nanosecondsPerSecond * nanosecondsPerSecond
for index in 0..<30 {
    let timestamp = now + Int64(index) * 300 * nanosecondsPerSecond
    try await put(
        dealer,
        [
            Array(Verb.put.utf8), Array("r".utf8), Array("latency.probe".utf8),
            MeasureRecords.encode([Measure(timestamp: timestamp, value: Double(index))]),
        ])
    let acknowledged = ContinuousClock.now
    let expected = Array("\(Double(index))".utf8)
    while true {
        let body = try await ask(querier, .getMeasures(.init(metric: "latency.probe", aggregation: "count")))
        if String(decoding: body, as: UTF8.self).contains(
            Timestamps.format(timestamp / (300 * nanosecondsPerSecond) * 300 * nanosecondsPerSecond))
        {
            break
        }
        _ = expected
        try await Task.sleep(for: .milliseconds(2))
    }
    latencies.append(seconds(ContinuousClock.now - acknowledged) * 1000)
}
latencies.sort()
print(
    String(
        format: "acknowledged → queryable (low load, 30 probes): median %.0f ms, max %.0f ms", latencies[15],
        latencies.last!))

// 2. Acknowledged ingest: 4 clients, messages of 100 metrics × 10 measures.
let messages = 200
let start = ContinuousClock.now
try await withThrowingTaskGroup(of: Void.self) { group in
    for client in 0..<4 {
        group.addTask {
            let socket = try ZMQSocket(context, type: .dealer)
            try socket.connect(base + "-ack")
            for message in 0..<(messages / 4) {
                var frames: [[UInt8]] = [Array(Verb.put.utf8), Array("c\(client)-\(message)".utf8)]
                for metric in 0..<100 {
                    let measures = (0..<10).map {
                        Measure(timestamp: now + Int64(message * 10 + $0) * nanosecondsPerSecond, value: Double($0))
                    }
                    frames += [Array("bench.c\(client).m\(metric)".utf8), MeasureRecords.encode(measures)]
                }
                try await put(socket, frames)
            }
        }
    }
    try await group.waitForAll()
}
let ingestSeconds = seconds(ContinuousClock.now - start)
print(
    String(
        format: "acknowledged ingest: %.0f measures/s (%d messages of 1,000 measures in %.2f s)",
        Double(messages * 1000) / ingestSeconds, messages, ingestSeconds))

// 3. Queries: get_measures of one metric, 4 clients.
let queries = 2000
let queryStart = ContinuousClock.now
try await withThrowingTaskGroup(of: Void.self) { group in
    for _ in 0..<4 {
        group.addTask {
            let socket = try ZMQSocket(context, type: .req)
            try socket.connect(base + "-query")
            for _ in 0..<(queries / 4) {
                _ = try await ask(socket, .getMeasures(.init(metric: "latency.probe", aggregation: "count")))
            }
        }
    }
    try await group.waitForAll()
}
print(String(format: "queries: %.0f get_measures/s", Double(queries) / seconds(ContinuousClock.now - queryStart)))
services.cancel()
_ = try? FileManager.default.removeItem(atPath: directoryPath)
exit(0)
