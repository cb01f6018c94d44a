import Foundation
import OrzoConfig
import Statsd
import Storage
import StorageFiles
import Timeseries
import WireProtocol

/// Orzo's fuzz targets: every parser that reads bytes from a client, a file or
/// the store. Each must never trap, never hang and never allocate without bound,
/// whatever the input; a Swift trap counts as a crash for libFuzzer.
/// docs/reliability.md has the record of each run.
enum FuzzTarget: String, CaseIterable {
    /// Put frames, both forms (`PutParser`).
    case put
    /// Query requests, every op (`QueryRequest.decode`), then what the engine does
    /// with a request that decodes: a policy is built and run over extreme
    /// measures; measures are read back with the request's bounds and resample;
    /// operations are parsed and evaluated on a fixed dataset.
    case query
    /// The operations language on its own: parse and evaluate on a fixed dataset.
    case operations
    /// The blob decoders (raw buffer, aggregate split), with a checksum that holds.
    case blobs
    /// The file store's state slot decoder, with a checksum that holds.
    case state
    /// statsd datagrams through the aggregator, then a flush.
    case statsd
    /// Configuration files, YAML and JSON.
    case config

    func run(_ bytes: [UInt8]) {
        switch self {
        case .put: fuzzPut(bytes)
        case .query: fuzzQuery(bytes)
        case .operations: fuzzOperations(String(decoding: bytes, as: UTF8.self))
        case .blobs: fuzzBlobs(bytes)
        case .state: fuzzState(bytes)
        case .statsd: fuzzStatsd(bytes)
        case .config: fuzzConfig(bytes)
        }
    }
}

/// Frames from bytes: each a 1-byte length (0–254) then that many bytes; 255 takes
/// the rest of the input as one frame (for measures frames and long names).
func frames(_ bytes: [UInt8]) -> [[UInt8]] {
    var frames: [[UInt8]] = []
    var index = 0
    while index < bytes.count {
        let length = Int(bytes[index])
        index += 1
        if length == 255 {
            frames.append(Array(bytes[index...]))
            break
        }
        let end = min(bytes.count, index + length)
        frames.append(Array(bytes[index..<end]))
        index = end
    }
    return frames
}

func fuzzPut(_ bytes: [UInt8]) {
    let parts = frames(bytes)
    if let message = try? PutParser.parsePush([Array(Verb.put.utf8)] + parts) {
        _ = PutReply(message).encoded()
    }
    _ = try? PutParser.parsePush(parts)
    _ = try? PutParser.parseAcknowledged(ArraySlice(parts))
}

/// A fixed series: a day of points every 7 s near the start of 2026, NaN-free.
let fixedSeries: TimeSeries = {
    var series = TimeSeries()
    let start: Nanoseconds = 1_767_225_600 * nanosecondsPerSecond
    for index in 0..<2000 { series.append(start + Nanoseconds(index) * 7 * nanosecondsPerSecond, Double(index % 97)) }
    return series
}()

/// Measures at the edges of the timestamp range, and ordinary ones.
let extremeMeasures: [Measure] = [
    Measure(timestamp: 0, value: 1), Measure(timestamp: Limits.timestampEnd - 1, value: -1),
    Measure(timestamp: 1_767_225_600 * nanosecondsPerSecond, value: 2.5),
    Measure(timestamp: Limits.timestampEnd / 2, value: 1e308),
]

let fixedPolicy = try! ArchivePolicy(
    name: "fixed", definition: [try! ArchivePolicyItem(granularity: 60 * nanosecondsPerSecond, points: 1440)],
    aggregationMethods: AggregationMethod.all)

func fuzzQuery(_ bytes: [UInt8]) {
    guard let request = try? QueryRequest.decode(bytes) else { return }
    _ = request.encoded()
    switch request {
    case .createArchivePolicy(let spec):
        guard let policy = try? spec.policy() else { return }
        _ = ArchivePolicyReply(policy).json.encoded()
        // A policy that could be created must be one the engine can run, at both ends of time.
        var raw = RawBuffer(policy: policy)
        for batch in [Array(extremeMeasures.prefix(1)), Array(extremeMeasures.dropFirst())] {
            let result = MetricProcessor.process(raw: raw, received: batch, policy: policy)
            for update in result.updates {
                _ = update.changedSplits
                _ = update.expiredSplits([SplitKey(containing: 0, granularity: update.aggregation.granularity)])
            }
            raw = result.raw
        }
    case .getMeasures(let query):
        let aggregation = Aggregation(
            method: .mean, granularity: query.granularity ?? 60 * nanosecondsPerSecond,
            timespan: 86_400 * nanosecondsPerSecond)
        _ = AggregateReader.read(
            fixedSeries, aggregation: aggregation, start: query.start, stop: query.stop, resample: query.resample)
        if let start = query.start, let stop = query.stop {
            _ = SplitKey(containing: start, granularity: aggregation.granularity)
            _ = SplitKey(containing: stop, granularity: aggregation.granularity).end
        }
    case .aggregates(let query):
        evaluate(
            query.operations, start: query.start, stop: query.stop, granularity: query.granularity, fill: query.fill,
            neededOverlap: query.neededOverlap)
    default:
        break
    }
}

func fuzzOperations(_ text: String) {
    evaluate(text, start: nil, stop: nil, granularity: nil, fill: .dropna, neededOverlap: nil)
    evaluate(text, start: nil, stop: nil, granularity: 60 * nanosecondsPerSecond, fill: .null, neededOverlap: 50)
}

/// Parses `text` and evaluates it over the fixed series, every metric it names
/// having the fixed policy (as the query service does).
func evaluate(
    _ text: String, start: Nanoseconds?, stop: Nanoseconds?, granularity: Nanoseconds?, fill: Fill?,
    neededOverlap: Double?
) {
    guard let operations = try? Operations(parsing: text) else { return }
    var policies: [String: ArchivePolicy] = [:]
    for reference in operations.references { policies[reference.metric] = fixedPolicy }
    guard
        let granularities = try? CrossAggregation.granularities(
            for: operations, policies: policies, requested: granularity)
    else { return }
    var series: [Nanoseconds: [TimeSeries]] = [:]
    for step in granularities {
        series[step] = operations.references.map { reference in
            let method = AggregationMethod(name: reference.aggregation) ?? .mean
            let aggregation = Aggregation(method: method, granularity: step, timespan: nil)
            return AggregateReader.read(
                GroupedSeries(fixedSeries, granularity: step).aggregate(method), aggregation: aggregation, start: start,
                stop: stop)
        }
    }
    _ = try? CrossAggregation.evaluate(
        operations, series: series, start: start, stop: stop, neededOverlap: neededOverlap ?? 100, fill: fill)
}

func fuzzBlobs(_ bytes: [UInt8]) {
    guard let kind = bytes.first else { return }
    // A few bytes may legitimately declare 16 Mi regular points (256 MiB decoded, the
    // decoders' bound, tested in BlobFormatTests); inputs declaring more than 65,536
    // are skipped so that the fuzzer spends its time on the decoding logic.
    var declared: UInt64 = 0
    for (index, byte) in bytes.dropFirst().prefix(10).enumerated() {
        declared |= UInt64(byte & 0x7F) << UInt64(7 * index)
        if byte & 0x80 == 0 { break }
    }
    guard declared <= 65_536 else { return }
    // Past the checksum: "OZ", version 1, the kind, the rest of the input, a CRC that holds.
    var blob: [UInt8] = [0x4F, 0x5A, 1, kind % 2 == 0 ? 1 : 2] + bytes.dropFirst()
    let crc = CRC32C.checksum(blob)
    for shift in stride(from: 0, to: 32, by: 8) { blob.append(UInt8(truncatingIfNeeded: crc >> UInt32(shift))) }
    for candidate in [blob, Array(bytes)] {
        if let series = try? RawBufferBlob.decode(candidate) { _ = RawBufferBlob.encode(series) }
        if let split = try? SplitBlob.decode(candidate) { _ = SplitBlob.encode(split.points, key: split.key) }
        _ = try? SplitBlob.decode(candidate, key: SplitKey(start: 0, granularity: 60 * nanosecondsPerSecond))
    }
}

func fuzzState(_ bytes: [UInt8]) {
    _ = StateSlotFormat.decode(bytes)
    _ = StateSlotFormat.decode(StateSlotFormat.wrap(bytes, generation: 7))
}

func fuzzStatsd(_ bytes: [UInt8]) {
    let aggregator = StatsdAggregator(prefix: "p.", maximumTimerSamples: 1000)
    aggregator.record(datagram: Substring(String(decoding: bytes, as: UTF8.self)))
    _ = aggregator.flush(at: 1_767_225_600 * nanosecondsPerSecond)
}

/// Orzo's reading of configuration files: every input through the structure
/// check (YAML or JSON parsed by Yams, unknown keys, non-scalar values); one in
/// 32 (by a checksum of the input, so that mutations spread over both) also
/// through the whole load from a scratch file, YAML or JSON by the first byte's
/// parity (swift-configuration's file provider and every value's check), which
/// is 100 times slower.
func fuzzConfig(_ bytes: [UInt8]) {
    _ = try? OrzoConfiguration.checkStructure(text: String(decoding: bytes.dropFirst(), as: UTF8.self))
    guard CRC32C.checksum(bytes) % 32 == 0 else { return }
    let path = scratchDirectory + (bytes.first.map { $0 % 2 == 0 } ?? true ? "/orzo.yaml" : "/orzo.json")
    _ = FileManager.default.createFile(atPath: path, contents: Data(bytes.dropFirst()))
    let done = DispatchSemaphore(value: 0)
    Task {
        _ = try? await OrzoConfiguration.load(file: path, flags: [:], environment: [:])
        done.signal()
    }
    done.wait()
}

let scratchDirectory: String = {
    let path = NSTemporaryDirectory() + "orzo-fuzz-\(getpid())"
    try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}()
