/// Aggregates are stored in splits of this many buckets (Gnocchi's `POINTS_PER_SPLIT`).
public let pointsPerSplit: Nanoseconds = 3600

/// Names one split of an aggregate: its first possible timestamp, a multiple of
/// `granularity × 3600` since the epoch.
public struct SplitKey: Hashable, Sendable, Comparable, CustomStringConvertible {
    public let start: Nanoseconds
    public let granularity: Nanoseconds

    public init(start: Nanoseconds, granularity: Nanoseconds) {
        self.start = start
        self.granularity = granularity
    }

    /// The split holding `timestamp` at `granularity`.
    public init(containing timestamp: Nanoseconds, granularity: Nanoseconds) {
        self.init(start: floorTimestamp(timestamp, to: Self.span(granularity)), granularity: granularity)
    }

    /// The time a split covers: `granularity × 3,600`, saturated at `Int64.max` (only a
    /// granularity beyond ``Limits/maxGranularity``, which no valid policy has, saturates).
    @inline(__always)
    static func span(_ granularity: Nanoseconds) -> Nanoseconds {
        let (span, overflow) = granularity.multipliedReportingOverflow(by: pointsPerSplit)
        return overflow ? .max : span
    }

    /// The first timestamp after this split, saturated at `Int64.max`: the last
    /// split before 2262 may end past what `Int64` nanoseconds can say.
    public var end: Nanoseconds {
        let (end, overflow) = start.addingReportingOverflow(Self.span(granularity))
        return overflow ? .max : end
    }

    /// The split after this one (the last split before 2262 has none: its end saturates).
    public var next: SplitKey { SplitKey(start: end, granularity: granularity) }

    public static func < (lhs: SplitKey, rhs: SplitKey) -> Bool {
        precondition(lhs.granularity == rhs.granularity, "split keys of different granularities do not compare")
        return lhs.start < rhs.start
    }

    public var description: String { "\(seconds(start))@\(seconds(granularity))" }
}

extension TimeSeries {
    /// The points grouped by the split that holds them, in time order.
    public func splits(granularity: Nanoseconds) -> [(key: SplitKey, points: TimeSeries)] {
        var result: [(key: SplitKey, points: TimeSeries)] = []
        var lower = 0
        while lower < count {
            let key = SplitKey(containing: timestamps[lower], granularity: granularity)
            let upper = firstIndex(atOrAfter: key.end)
            result.append((key, self[lower..<upper]))
            lower = upper
        }
        return result
    }
}
