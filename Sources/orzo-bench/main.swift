// Benchmarks of the timeseries engine: blob size per point, encode and decode
// cost per point, and the throughput of the whole processing step.
//
//     swift run -c release orzo-bench
//
// Prints the machine it ran on; figures are the median of several runs.
import Foundation
import OrzoTestSupport
import Timeseries

let second = nanosecondsPerSecond
let epoch2026: Nanoseconds = 1_767_225_600 * second

/// The four series of the issue, 3600 points each.
func series(_ name: String) -> [Double] {
    var rng = SplitMix64(seed: 42)
    switch name {
    case "constant":
        return [Double](repeating: 1, count: 3600)
    case "counter":
        // A request counter at a steady rate: +500 per 5 s, ±10 %.
        var total = 1_000_000.0
        return (0..<3600).map { _ in
            total += Double(450 + rng.next() % 101)
            return total
        }
    case "counter, random":
        // A counter whose increments are uniformly random in 0…999: about 10 bits
        // of entropy per point, so no lossless encoding can go much below 1.25 bytes.
        var total = 1_000_000.0
        return (0..<3600).map { _ in
            total += Double(rng.next() % 1000)
            return total
        }
    case "gauge, 2 decimals":
        // A percentage that wanders between 0.00 and 100.00 (CPU, disk use).
        var level = 50.0
        return (0..<3600).map { _ in
            level = min(100, max(0, level + (rng.uniform() - 0.5) * 4))
            return (level * 100).rounded() / 100
        }
    default:
        return (0..<3600).map { _ in (rng.uniform() - 0.5) * 2e6 }
    }
}

func median(_ samples: [Double]) -> Double { samples.sorted()[samples.count / 2] }

/// Runs `body` `repetitions` times per sample, returns the median seconds per repetition.
func measure(samples: Int = 7, repetitions: Int, _ body: () -> Void) -> Double {
    var results: [Double] = []
    for _ in 0..<samples {
        let start = ContinuousClock.now
        for _ in 0..<repetitions { body() }
        let elapsed = ContinuousClock.now - start
        let (seconds, attoseconds) = elapsed.components
        results.append((Double(seconds) + Double(attoseconds) / 1e18) / Double(repetitions))
    }
    return median(results)
}

func machine() -> String {
    let cpu =
        (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8))?.split(separator: "\n")
        .first { $0.hasPrefix("model name") }?.split(separator: ":").last?.trimmingCharacters(in: .whitespaces)
        ?? "unknown CPU"
    return "\(cpu), \(ProcessInfo.processInfo.activeProcessorCount) cores"
}

print("orzo-bench: timeseries engine on \(machine())")
print("")
print("Split blobs of 3600 points at 5 s (bytes/point; encode and decode ns/point):")
print("series                bytes/pt   encode ns/pt   decode ns/pt")
let key = SplitKey(containing: epoch2026, granularity: 5 * second)
for name in ["constant", "counter", "counter, random", "gauge, 2 decimals", "random doubles"] {
    let points = TimeSeries(
        timestamps: (0..<3600).map { key.start + Int64($0) * key.granularity }, values: series(name))
    let blob = SplitBlob.encode(points, key: key)
    var sink = 0
    let encode = measure(repetitions: 200) { sink &+= SplitBlob.encode(points, key: key).count }
    let decode = measure(repetitions: 200) { sink &+= (try? SplitBlob.decode(blob, key: key).count) ?? 0 }
    precondition(sink > 0)
    print(
        name.padding(toLength: 20, withPad: " ", startingAt: 0),
        String(format: "%8.3f   %12.1f   %12.1f", Double(blob.count) / 3600, encode * 1e9 / 3600, decode * 1e9 / 3600))
}

// The processing step: a metric with a policy of two granularities and the six
// default methods receives a batch; the step merges it into the raw buffer,
// recomputes both granularities, and encodes the raw buffer and every changed split.
print("")
print("Processing step (merge + 2 granularities x 6 default methods + encode):")
let policy = try! ArchivePolicy(
    name: "bench",
    definition: [
        ArchivePolicyItem(granularity: 60 * second, points: 1440),
        ArchivePolicyItem(granularity: 3600 * second, points: 720),
    ])
for batchSize in [1_000, 10_000, 100_000] {
    var rng = SplitMix64(seed: 7)
    var level = 50.0
    let measures = (0..<batchSize).map { index -> Measure in
        level = min(100, max(0, level + (rng.uniform() - 0.5) * 4))
        return Measure(timestamp: epoch2026 + Int64(index) * second, value: (level * 100).rounded() / 100)
    }
    // The raw buffer holds the hour before the batch, as in the steady state.
    let history = TimeSeries(
        timestamps: (1...3600).map { epoch2026 - Int64($0) * second }.reversed(),
        values: [Double](repeating: 50, count: 3600))
    let raw = RawBuffer(series: history, policy: policy)
    var bytes = 0
    let repetitions = max(1, 200_000 / batchSize)
    let perBatch = measure(repetitions: repetitions) {
        let result = MetricProcessor.process(raw: raw, received: measures, policy: policy)
        bytes &+= RawBufferBlob.encode(result.raw.series).count
        for update in result.updates {
            for split in update.changedSplits { bytes &+= SplitBlob.encode(split.points, key: split.key).count }
        }
    }
    precondition(bytes > 0)
    print(
        String(
            format: "batch of %7d measures: %8.1f ns/measure, %6.2f million measures/s", batchSize,
            perBatch * 1e9 / Double(batchSize), Double(batchSize) / perBatch / 1e6))
}
