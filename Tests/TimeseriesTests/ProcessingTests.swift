import Testing

@testable import Timeseries

private let second = nanosecondsPerSecond
private let minute = 60 * second
private let t0: Nanoseconds = 1_767_225_600 * second

@Suite("Processing semantics", .timeLimit(.minutes(5)))
struct ProcessingTests {
    let policy = try! ArchivePolicy(
        name: "p", backWindow: 0,
        definition: [
            try! ArchivePolicyItem(granularity: minute, points: 100),
            try! ArchivePolicyItem(granularity: 5 * minute, points: 10),
        ],
        aggregationMethods: [.mean, .count, .last, .sum])

    func measure(_ offset: Nanoseconds, _ value: Double) -> Measure { Measure(timestamp: t0 + offset, value: value) }

    func aggregate(_ result: ProcessingResult, _ method: AggregationMethod, _ granularity: Nanoseconds) -> TimeSeries {
        result.updates.first { $0.aggregation.method == method && $0.aggregation.granularity == granularity }!.points
    }

    @Test("duplicate timestamps in one batch: the last received wins (Orzo's rule)")
    func duplicatesLastWins() {
        let result = MetricProcessor.process(
            raw: RawBuffer(policy: policy),
            received: [measure(0, 9), measure(0, 7), measure(0, 8), measure(second, 1)],
            policy: policy)
        #expect(result.duplicatesReplaced == 2)
        #expect(result.raw.series.values == [8, 1])
        #expect(aggregate(result, .count, minute).values == [2])
        #expect(aggregate(result, .sum, minute).values == [9])
        // Across batches too: a later batch replaces an earlier value.
        let next = MetricProcessor.process(raw: result.raw, received: [measure(0, 100)], policy: policy)
        #expect(next.raw.series.values == [100, 1])
        #expect(aggregate(next, .sum, minute).values == [101])
    }

    @Test("bucket boundaries are exact to the nanosecond (Gnocchi rounds in floating point)")
    func exactBoundaries() {
        let justBefore = 5 * minute - 1  // 12:04:59.999999999
        let result = MetricProcessor.process(
            raw: RawBuffer(policy: policy), received: [measure(justBefore, 1), measure(5 * minute, 2)], policy: policy)
        #expect(aggregate(result, .count, 5 * minute).timestamps == [t0, t0 + 5 * minute])
        #expect(aggregate(result, .last, minute).timestamps == [t0 + 4 * minute, t0 + 5 * minute])
        #expect(floorTimestamp(-1, to: minute) == -minute, "floor, not truncation, before the epoch")
    }

    @Test("measures older than the back window are dropped and counted")
    func tooOldDropped() {
        var raw = RawBuffer(policy: policy)
        let first = MetricProcessor.process(raw: raw, received: [measure(12 * minute, 1)], policy: policy)
        raw = first.raw
        #expect(raw.firstAllowedTimestamp == t0 + 10 * minute, "the current 5-minute block")
        let late = MetricProcessor.process(
            raw: raw, received: [measure(9 * minute, 5), measure(11 * minute, 6), measure(13 * minute, 7)],
            policy: policy)
        #expect(late.droppedTooOld == 1)
        #expect(late.accepted == 2)
        #expect(late.raw.series.timestamps == [t0 + 11 * minute, t0 + 12 * minute, t0 + 13 * minute])
        #expect(aggregate(late, .count, 5 * minute).values == [3])
        // A brand-new metric accepts everything in its first batch.
        let fresh = MetricProcessor.process(
            raw: RawBuffer(policy: policy), received: [measure(0, 1), measure(60 * minute, 2)], policy: policy)
        #expect(fresh.droppedTooOld == 0)
    }

    @Test("back_window keeps earlier blocks in the raw buffer")
    func backWindowBlocks() throws {
        let wide = try ArchivePolicy(
            name: "w", backWindow: 2, definition: [try ArchivePolicyItem(granularity: 5 * minute, points: 10)],
            aggregationMethods: [.count])
        let raw = RawBuffer(series: TimeSeries([measure(20 * minute + 30 * second, 1)]), policy: wide)
        #expect(raw.firstAllowedTimestamp == t0 + 10 * minute)
        let rate = try ArchivePolicy(
            name: "r", backWindow: 2, definition: [try ArchivePolicyItem(granularity: 5 * minute, points: 10)],
            aggregationMethods: [AggregationMethod(name: "rate:mean")!])
        #expect(RawBuffer(series: raw.series, policy: rate).firstAllowedTimestamp == t0 + 5 * minute)
    }

    @Test("only touched buckets are recomputed, and splits report what changed and expired")
    func changedAndExpiredSplits() throws {
        let fine = try ArchivePolicy(
            name: "f", definition: [try ArchivePolicyItem(granularity: second, points: 5000)],
            aggregationMethods: [.mean])
        let measures = (0..<8000).map { Measure(timestamp: t0 + Nanoseconds($0) * second, value: Double($0)) }
        let result = MetricProcessor.process(raw: RawBuffer(policy: fine), received: measures, policy: fine)
        let update = result.updates[0]
        #expect(update.points.count == 5000, "cut to the timespan")
        #expect(update.oldestPointToKeep == t0 + 7999 * second - 5000 * second)
        let keys = update.changedSplits.map(\.key)
        #expect(keys.allSatisfy { $0.granularity == second })
        #expect(keys.map(\.start) == keys.map(\.start).sorted())
        #expect(update.changedSplits.map(\.points.count).reduce(0, +) == 5000)
        let old = SplitKey(containing: t0 - 2 * 3600 * second, granularity: second)
        let kept = SplitKey(containing: update.oldestPointToKeep!, granularity: second)
        #expect(update.expiredSplits([old, kept, kept.next]) == [old])

        let raw = result.raw
        let next = MetricProcessor.process(
            raw: raw, received: [Measure(timestamp: t0 + 8000 * second, value: 1)], policy: fine)
        #expect(next.updates[0].points.count == 1, "one new bucket, nothing else recomputed")
    }

    @Test("split keys: 3600 points per split, Gnocchi's examples")
    func splitKeys() {
        // "2015-01-01T15:03" at 3600 s → 2014-10-07; next → 2015-03-06.
        let key = SplitKey(containing: 1_420_124_580 * second, granularity: 3600 * second)
        #expect(key.start == 1_412_640_000 * second)
        #expect(key.next.start == 1_425_600_000 * second)
        // "2015-01-01 15:03:58" at 58 s → 2014-12-31 18:00.
        #expect(SplitKey(containing: 1_420_124_638 * second, granularity: 58 * second).start == 1_420_048_800 * second)
    }

    @Test("reading: start floored and inclusive, stop exclusive, resample, truncation")
    func reading() {
        let aggregation = Aggregation(method: .mean, granularity: minute, timespan: 3 * minute)
        let stored = TimeSeries(timestamps: (0..<6).map { t0 + $0 * minute }, values: [1, 2, 3, 4, 5, 6])
        #expect(AggregateReader.read(stored, aggregation: aggregation).values == [4, 5, 6])
        #expect(
            AggregateReader.read(stored, aggregation: aggregation, start: t0 + 4 * minute + 30 * second).values == [
                5, 6,
            ])
        #expect(AggregateReader.read(stored, aggregation: aggregation, stop: t0 + 5 * minute).values == [4, 5])
        let unbounded = Aggregation(method: .mean, granularity: minute, timespan: nil)
        #expect(AggregateReader.read(stored, aggregation: unbounded, resample: 2 * minute).values == [1.5, 3.5, 5.5])
    }

    @Test("method definitions on small buckets", arguments: methodCases)
    func methods(_ testCase: MethodCase) throws {
        let (name, values, expected) = testCase
        let method = try #require(AggregationMethod(name: name))
        let series = TimeSeries(timestamps: values.indices.map { t0 + Nanoseconds($0) * second }, values: values)
        let result = GroupedSeries(series, granularity: minute).aggregate(method)
        #expect(result.values.count == 1)
        #expect(abs(result.values[0] - expected) <= 1e-12 * abs(expected), "\(name): \(result.values[0])")
    }

    @Test("std has no point for a one-point bucket; NaN handling as Gnocchi")
    func edgeCases() {
        let one = TimeSeries(timestamps: [t0], values: [5])
        #expect(GroupedSeries(one, granularity: minute).aggregate(BaseAggregationMethod.std).isEmpty)
        let withNaN = TimeSeries(timestamps: [t0, t0 + second, t0 + 2 * second], values: [1, .nan, 3])
        let grouped = GroupedSeries(withNaN, granularity: minute)
        #expect(grouped.aggregate(BaseAggregationMethod.mean).values[0].isNaN)
        #expect(grouped.aggregate(BaseAggregationMethod.max).values[0].isNaN)
        #expect(grouped.aggregate(BaseAggregationMethod.min).values == [1])
        #expect(grouped.aggregate(BaseAggregationMethod.median).values == [3])
        #expect(grouped.aggregate(BaseAggregationMethod.count).values == [3])
        // rate: the difference goes to the later point's bucket.
        let counter = TimeSeries(timestamps: [t0 + 50 * second, t0 + 70 * second], values: [10, 25])
        let rate = GroupedSeries(counter, granularity: minute).aggregate(AggregationMethod(name: "rate:sum")!)
        #expect(rate.timestamps == [t0 + minute])
        #expect(rate.values == [15])
    }
}

typealias MethodCase = (String, [Double], Double)

let methodCases: [MethodCase] = [
    ("mean", [1, 2, 4], 7.0 / 3), ("sum", [1, 2, 4], 7), ("min", [3, 1, 2], 1), ("max", [3, 1, 2], 3),
    ("first", [3, 1, 2], 3), ("last", [3, 1, 2], 2), ("count", [5, 5, 5], 3), ("median", [4, 1, 3, 2], 2.5),
    ("median", [9, 1, 5], 5), ("std", [2, 4, 4, 4, 5, 5, 7, 9], 2.138089935299395),
    ("99pct", [8, 9, 10, 11, 22, 42], 40.999999999999986), ("50pct", [4, 1, 3, 2], 2.5),
    ("1pct", [10, 20], 10.1),
]
