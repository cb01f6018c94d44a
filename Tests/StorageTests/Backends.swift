import Storage
import Testing
import Timeseries

/// The backends the conformance suite runs on. Each test gets a fresh, empty store.
enum Backend: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case memory

    var testDescription: String { rawValue }

    func make(sackCount: Int = 4) async throws -> any MetricStorage {
        switch self {
        case .memory: MemoryStorage(sackCount: sackCount)
        }
    }
}

let second = nanosecondsPerSecond
let minute = 60 * second
let t0: Nanoseconds = 1_767_225_600 * second

let testPolicy = try! ArchivePolicy(
    name: "test", backWindow: 1,
    definition: [
        try! ArchivePolicyItem(granularity: minute, points: 120),
        try! ArchivePolicyItem(granularity: 5 * minute, points: 24),
    ],
    aggregationMethods: AggregationMethod.defaults + [AggregationMethod(name: "rate:last")!])

func measures(
    _ range: Range<Int>, step: Nanoseconds = 10 * second, start: Nanoseconds = t0,
    value: (Int) -> Double = { Double($0 % 17) }
)
    -> [Measure]
{
    range.map { Measure(timestamp: start + Nanoseconds($0) * step, value: value($0)) }
}

/// The aggregates an uninterrupted, in-memory run of the engine gives for the
/// same batches, processed one cycle per group.
func expectedAggregates(_ groups: [[Measure]], policy: ArchivePolicy) -> [AggregationKey: TimeSeries] {
    var raw = RawBuffer(policy: policy)
    var stored: [AggregationKey: TimeSeries] = [:]
    for group in groups {
        let result = MetricProcessor.process(raw: raw, received: group, policy: policy)
        raw = result.raw
        for update in result.updates {
            let key = AggregationKey(update.aggregation)
            var series = (stored[key] ?? TimeSeries()).merging(update.points)
            if let oldest = update.oldestPointToKeep {
                let cut = SplitKey(containing: oldest, granularity: update.aggregation.granularity)
                series.removeFirst(series.firstIndex(atOrAfter: cut.start))
            }
            stored[key] = series
        }
    }
    return stored
}

/// Reads every aggregate of a metric back from storage, as a query would.
func storedAggregates(
    _ storage: any MetricStorage, _ metric: MetricID, policy: ArchivePolicy
) async throws
    -> [AggregationKey: TimeSeries]
{
    var result: [AggregationKey: TimeSeries] = [:]
    for aggregation in policy.aggregations {
        let key = AggregationKey(aggregation)
        result[key] = try await storage.readAggregate(metric, key, from: nil, to: nil)
    }
    return result
}

/// Compares after the read-time cut to the timespan, which is what queries see.
func expectSameAggregates(
    _ actual: [AggregationKey: TimeSeries], _ expected: [AggregationKey: TimeSeries], policy: ArchivePolicy,
    sourceLocation: SourceLocation = #_sourceLocation
) {
    for aggregation in policy.aggregations {
        let key = AggregationKey(aggregation)
        let a = AggregateReader.read(actual[key] ?? TimeSeries(), aggregation: aggregation)
        let e = AggregateReader.read(expected[key] ?? TimeSeries(), aggregation: aggregation)
        #expect(a.timestamps == e.timestamps, "\(key): timestamps", sourceLocation: sourceLocation)
        #expect(
            a.values.map(\.bitPattern) == e.values.map(\.bitPattern), "\(key): values", sourceLocation: sourceLocation)
    }
}
