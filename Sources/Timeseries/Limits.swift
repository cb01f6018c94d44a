/// The ranges every number the engine computes with must lie in, chosen so that
/// no sum, product or conversion below can overflow `Int64` nanoseconds (Swift
/// traps on overflow, and a trap ends the process for every client). Values from
/// clients are checked against these where they enter (docs/reliability.md);
/// values read back from storage are checked again and reported as damage.
///
/// The arithmetic they protect:
/// - a split spans `granularity × 3,600` (`pointsPerSplit`): at most 28 days ×
///   3,600 = 8.7e18 ns, inside `Int64.max` (9.22e18); a split's end near 2262
///   saturates (``SplitKey/end``);
/// - a bucket's end is `bucket + granularity`: at most 2262 + 28 days, inside `Int64`;
/// - a timespan is `granularity × points`, and the raw buffer keeps
///   `(back_window + 1) × coarsest granularity`: both at most the whole timestamp
///   range, so `last − timespan` stays inside `Int64`.
public enum Limits {
    /// Timestamps lie in `0 ..< timestampEnd`: 1970-01-01 up to 2262-01-01T00:00:00Z
    /// (the protocol's bound, inside `Int64` nanoseconds).
    public static let timestampEnd: Nanoseconds = 9_214_646_400 * nanosecondsPerSecond
    /// The coarsest granularity (and resample period): 28 days.
    public static let maxGranularity: Nanoseconds = 28 * 86_400 * nanosecondsPerSecond
    /// The finest granularity: one nanosecond.
    public static let minGranularity: Nanoseconds = 1
    /// The longest timespan, and the longest back window in time: the timestamp range.
    public static let maxTimespan: Nanoseconds = timestampEnd
    /// The operations language: at most this many nested parentheses…
    public static let operationsMaxDepth = 32
    /// …and this many bytes of text.
    public static let operationsMaxLength = 64 * 1024
    /// `(rolling METHOD WINDOW …)`: at most this many points in a window.
    public static let rollingMaxWindow = 1_000_000

    /// Seconds as whole nanoseconds (rounded to the nearest), or nil when not
    /// finite or outside `Int64` nanoseconds. Never traps.
    public static func nanoseconds(fromSeconds seconds: Double) -> Nanoseconds? {
        guard seconds.isFinite else { return nil }
        let nanoseconds = (seconds * 1e9).rounded()
        // 2^63 is exactly representable; every double below it converts without trapping.
        guard nanoseconds > -9.223_372_036_854_775_808e18, nanoseconds < 9.223_372_036_854_775_808e18 else {
            return nil
        }
        return Nanoseconds(nanoseconds)
    }

    /// A granularity or resample period in seconds, if it lies within
    /// `minGranularity … maxGranularity` once rounded to nanoseconds.
    public static func granularity(fromSeconds seconds: Double) -> Nanoseconds? {
        guard let value = nanoseconds(fromSeconds: seconds), (minGranularity...maxGranularity).contains(value) else {
            return nil
        }
        return value
    }

    /// A timespan in seconds, if it lies within 1 ns … `maxTimespan`.
    public static func timespan(fromSeconds seconds: Double) -> Nanoseconds? {
        guard let value = nanoseconds(fromSeconds: seconds), (1...maxTimespan).contains(value) else { return nil }
        return value
    }

    /// `timestamp` moved into `0 ... timestampEnd`: for query bounds, where every
    /// stored point lies inside that range, so the answer is the same.
    public static func clampTimestamp(_ timestamp: Nanoseconds) -> Nanoseconds {
        Swift.min(Swift.max(timestamp, 0), timestampEnd)
    }

    /// The allowed range of a granularity, in seconds, for messages.
    public static let granularityRangeText = "0.000000001 to 2419200 seconds (1 ns to 28 days)"

    /// The allowed range of a timespan, in seconds, for messages.
    public static let timespanRangeText = "0.000000001 to 9214646400 seconds (1 ns to the year 2262)"
}
