import Testing

@testable import Timeseries

/// The engine's arithmetic limits (docs/reliability.md): what a policy may ask
/// for, and that the largest allowed values run without a trap at both ends of time.
@Suite("limits: checked arithmetic at the engine's boundaries", .timeLimit(.minutes(5)))
struct LimitsTests {
    let day = 86_400 * nanosecondsPerSecond

    @Test("seconds convert to nanoseconds only when they fit")
    func conversions() {
        #expect(Limits.nanoseconds(fromSeconds: 1.5) == 1_500_000_000)
        #expect(Limits.nanoseconds(fromSeconds: 9.5e9) == nil)
        #expect(Limits.nanoseconds(fromSeconds: -9.5e9) == nil)
        #expect(Limits.nanoseconds(fromSeconds: .nan) == nil)
        #expect(Limits.nanoseconds(fromSeconds: .infinity) == nil)
        #expect(Limits.granularity(fromSeconds: 1e-12) == nil)  // rounds to 0 ns
        #expect(Limits.granularity(fromSeconds: 4e-10) == nil)
        #expect(Limits.granularity(fromSeconds: 1e-9) == 1)
        #expect(Limits.granularity(fromSeconds: 2_419_200) == Limits.maxGranularity)
        #expect(Limits.granularity(fromSeconds: 2_419_200.000001) == nil)
        #expect(Limits.timespan(fromSeconds: 9_214_646_400) == Limits.maxTimespan)
        #expect(Limits.timespan(fromSeconds: 9_214_646_401) == nil)
    }

    @Test("policies the engine could not run are refused, naming the limit")
    func refusedPolicies() {
        #expect(throws: ArchivePolicyError.self) { try ArchivePolicyItem(granularity: 30 * day, points: 10) }
        #expect(throws: ArchivePolicyError.self) {
            try ArchivePolicyItem(granularity: 3600 * nanosecondsPerSecond, points: 9_000_000_000_000_000)
        }
        #expect(throws: ArchivePolicyError.self) { try ArchivePolicyItem(points: 1, timespan: 30 * day) }
        #expect(throws: ArchivePolicyError.self) {
            try ArchivePolicy(
                name: "w", backWindow: Int(Int32.max), definition: [try ArchivePolicyItem(granularity: day, points: 1)])
        }
        do {
            _ = try ArchivePolicyItem(granularity: 3600 * nanosecondsPerSecond, points: .max)
            Issue.record("accepted")
        } catch {
            #expect(error.description.contains("points × granularity"))
        }
    }

    @Test("floors never trap, even for bounds far before 1970")
    func floors() {
        #expect(floorTimestamp(-1, to: 10) == -10)
        #expect(floorTimestamp(.min + 5, to: 10) == .min)
        #expect(floorTimestamp(.min, to: Limits.maxGranularity * pointsPerSplit) == .min)
        #expect(SplitKey(containing: Limits.timestampEnd - 1, granularity: Limits.maxGranularity).end == .max)
        #expect(SplitKey(containing: -Limits.maxTimespan, granularity: Limits.maxGranularity).start < 0)
    }

    @Test(
        "the largest policies process measures at both ends of time without a trap",
        arguments: [(28, 3615, 1000), (28, 1, 0), (1, 106_651, 0), (0, 1, 106_650)])
    func extremes(days: Int64, points: Int, backWindow: Int) throws {
        // (0 days: one nanosecond.) Found by the fuzzer: 28 days × 3,615 points put
        // `last − timespan` 7.3e18 ns before 1970, whose split floor overflowed.
        let granularity = days == 0 ? Limits.minGranularity : days * day
        let policy = try ArchivePolicy(
            name: "x", backWindow: backWindow,
            definition: [try ArchivePolicyItem(granularity: granularity, points: points)],
            aggregationMethods: AggregationMethod.all)
        var raw = RawBuffer(policy: policy)
        for batch in [
            [Measure(timestamp: 0, value: 1)], [Measure(timestamp: Limits.timestampEnd - 1, value: 2)],
            [Measure(timestamp: Limits.timestampEnd / 2, value: 3)],
        ] {
            let result = MetricProcessor.process(raw: raw, received: batch, policy: policy)
            for update in result.updates {
                _ = update.changedSplits
                _ = update.expiredSplits([SplitKey(containing: 0, granularity: granularity)])
            }
            raw = result.raw
        }
    }
}
