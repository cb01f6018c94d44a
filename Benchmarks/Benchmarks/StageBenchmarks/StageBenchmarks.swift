// The stages a measure goes through, timed in isolation: the split codec, the
// processing step (merge, aggregate, encode) and the encoding of a query reply.
// Thresholds in Thresholds/ make a regression visible:
//   swift package benchmark thresholds check
import Benchmark
import Timeseries
import WireProtocol

let second = nanosecondsPerSecond
let epoch2026: Nanoseconds = 1_767_225_600 * second

/// A gauge with two decimals wandering between 0 and 100 (deterministic).
func gauge(_ count: Int, seed: UInt64 = 42) -> [Double] {
    var state = seed
    var level = 50.0
    return (0..<count).map { _ in
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        let uniform = Double(state >> 11) / Double(1 << 53)
        level = min(100, max(0, level + (uniform - 0.5) * 4))
        return (level * 100).rounded() / 100
    }
}

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .mallocCountTotal], maxDuration: .seconds(2), maxIterations: 10_000,
        thresholds: [
            // Wide for p90: this shared 2-core VM moves tails by tens of percent between runs.
            .wallClock: .init(relative: [.p50: 30.0, .p90: 75.0]),
            .mallocCountTotal: .init(relative: [.p50: 10.0]),
        ])

    // The codec: one split of 3600 points at 5 s.
    let key = SplitKey(containing: epoch2026, granularity: 5 * second)
    let points = TimeSeries(
        timestamps: (0..<3600).map { key.start + Int64($0) * key.granularity }, values: gauge(3600))
    let blob = SplitBlob.encode(points, key: key)
    // Names without spaces: the thresholds tool matches files by the raw name.
    Benchmark("codec.encode.split3600") { benchmark in
        for _ in benchmark.scaledIterations { blackHole(SplitBlob.encode(points, key: key)) }
    }
    Benchmark("codec.decode.split3600") { benchmark in
        for _ in benchmark.scaledIterations { blackHole(try SplitBlob.decode(blob, key: key)) }
    }

    // The processing step: 1,000 new measures into a metric whose raw buffer holds
    // the hour before, two granularities x six default methods, everything encoded.
    let policy = try! ArchivePolicy(
        name: "bench",
        definition: [
            ArchivePolicyItem(granularity: 60 * second, points: 1440),
            ArchivePolicyItem(granularity: 3600 * second, points: 720),
        ])
    let values = gauge(1000, seed: 7)
    let measures = (0..<1000).map { Measure(timestamp: epoch2026 + Int64($0) * second, value: values[$0]) }
    let history = TimeSeries(
        timestamps: (1...3600).map { epoch2026 - Int64($0) * second }.reversed(),
        values: [Double](repeating: 50, count: 3600))
    let raw = RawBuffer(series: history, policy: policy)
    Benchmark("processing.batch1000.granularities2.methods6") { benchmark in
        for _ in benchmark.scaledIterations {
            let result = MetricProcessor.process(raw: raw, received: measures, policy: policy)
            blackHole(RawBufferBlob.encode(result.raw.series))
            for update in result.updates {
                for split in update.changedSplits { blackHole(SplitBlob.encode(split.points, key: split.key)) }
            }
        }
    }

    // Query encoding: the JSON rows of a get_measures reply.
    for count in [1440, 86_400] {
        let timestamps = (0..<count).map { epoch2026 + Int64($0) * second }
        let rowValues = gauge(count, seed: 3)
        Benchmark("query.rows\(count)") { benchmark in
            for _ in benchmark.scaledIterations {
                blackHole(JSONWriter.pointRows(timestamps: timestamps, granularity: 1, values: rowValues))
            }
        }
    }

    fileStoreBenchmarks()
}
