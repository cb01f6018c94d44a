import Storage
import Timeseries

/// Data shared by the storage tests and the harness process they start, so that
/// both sides agree on the policy and on every measure.
public enum StorageFixtures {
    public static let second = nanosecondsPerSecond
    public static let minute = 60 * second
    public static let t0: Nanoseconds = 1_767_225_600 * second

    /// Two granularities, the default methods and a rate: method (back window 1 + 1).
    public static let policy = try! ArchivePolicy(
        name: "test", backWindow: 1,
        definition: [
            try! ArchivePolicyItem(granularity: minute, points: 120),
            try! ArchivePolicyItem(granularity: 5 * minute, points: 24),
        ],
        aggregationMethods: AggregationMethod.defaults + [AggregationMethod(name: "rate:last")!])

    /// Measures `range` of a regular series, one every `step`.
    public static func measures(
        _ range: Range<Int>, step: Nanoseconds = 10 * second, start: Nanoseconds = t0,
        value: (Int) -> Double = { Double($0 % 17) }
    ) -> [Measure] {
        range.map { Measure(timestamp: start + Nanoseconds($0) * step, value: value($0)) }
    }
}
