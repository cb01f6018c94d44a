/// Nanoseconds since the Unix epoch (UTC). Every timestamp and duration in the
/// engine is an exact integer count of nanoseconds.
public typealias Nanoseconds = Int64

/// One nanosecond-based second.
public let nanosecondsPerSecond: Nanoseconds = 1_000_000_000

/// A measure as agents send it: a timestamp and a value.
public struct Measure: Hashable, Sendable {
    public var timestamp: Nanoseconds
    public var value: Double

    public init(timestamp: Nanoseconds, value: Double) {
        self.timestamp = timestamp
        self.value = value
    }
}

/// A time series stored column-wise: timestamps strictly increasing, one value each.
///
/// Column storage keeps the hot loops (grouping, aggregation, encoding) on
/// contiguous arrays of plain numbers, with no per-point allocation.
public struct TimeSeries: Hashable, Sendable {
    public private(set) var timestamps: [Nanoseconds]
    public private(set) var values: [Double]

    public init() {
        timestamps = []
        values = []
    }

    /// A series from columns that are already sorted, strictly increasing.
    public init(timestamps: [Nanoseconds], values: [Double]) {
        precondition(timestamps.count == values.count, "one value per timestamp")
        self.timestamps = timestamps
        self.values = values
    }

    public init(_ measures: [Measure]) {
        self.init(timestamps: measures.map(\.timestamp), values: measures.map(\.value))
    }

    public var count: Int { timestamps.count }
    public var isEmpty: Bool { timestamps.isEmpty }
    public var first: Nanoseconds? { timestamps.first }
    public var last: Nanoseconds? { timestamps.last }

    public var measures: [Measure] {
        zip(timestamps, values).map { Measure(timestamp: $0, value: $1) }
    }

    public mutating func reserveCapacity(_ capacity: Int) {
        timestamps.reserveCapacity(capacity)
        values.reserveCapacity(capacity)
    }

    /// Appends a point after the last one.
    public mutating func append(_ timestamp: Nanoseconds, _ value: Double) {
        assert(timestamps.last.map { $0 < timestamp } ?? true, "points must be appended in time order")
        timestamps.append(timestamp)
        values.append(value)
    }

    /// The index of the first point at or after `timestamp` (numpy's `searchsorted`, side left).
    public func firstIndex(atOrAfter timestamp: Nanoseconds) -> Int {
        var low = 0
        var high = timestamps.count
        while low < high {
            let mid = (low + high) / 2
            if timestamps[mid] < timestamp { low = mid + 1 } else { high = mid }
        }
        return low
    }

    /// The index of the first point strictly after `timestamp` (`searchsorted`, side right).
    public func firstIndex(after timestamp: Nanoseconds) -> Int {
        var low = 0
        var high = timestamps.count
        while low < high {
            let mid = (low + high) / 2
            if timestamps[mid] <= timestamp { low = mid + 1 } else { high = mid }
        }
        return low
    }

    /// The points with index in `range`.
    public subscript(range: Range<Int>) -> TimeSeries {
        TimeSeries(timestamps: Array(timestamps[range]), values: Array(values[range]))
    }

    /// The points with `from <= timestamp < to`; a `nil` bound is open.
    public func slice(from: Nanoseconds?, to: Nanoseconds?) -> TimeSeries {
        let lower = from.map { firstIndex(atOrAfter: $0) } ?? 0
        let upper = to.map { firstIndex(atOrAfter: $0) } ?? count
        return lower < upper ? self[lower..<upper] : TimeSeries()
    }

    /// Drops the points before `index`.
    public mutating func removeFirst(_ count: Int) {
        guard count > 0 else { return }
        timestamps.removeFirst(count)
        values.removeFirst(count)
    }

    /// This series with `newer` merged in: where both have a timestamp, `newer`'s value wins.
    public func merging(_ newer: TimeSeries) -> TimeSeries {
        if newer.isEmpty { return self }
        if isEmpty { return newer }
        if let last, let newFirst = newer.first, last < newFirst {
            return TimeSeries(timestamps: timestamps + newer.timestamps, values: values + newer.values)
        }
        var merged = TimeSeries()
        merged.reserveCapacity(count + newer.count)
        var i = 0
        var j = 0
        while i < count && j < newer.count {
            let a = timestamps[i]
            let b = newer.timestamps[j]
            if a < b {
                merged.append(a, values[i])
                i += 1
            } else if b < a {
                merged.append(b, newer.values[j])
                j += 1
            } else {
                merged.append(b, newer.values[j])
                i += 1
                j += 1
            }
        }
        while i < count {
            merged.append(timestamps[i], values[i])
            i += 1
        }
        while j < newer.count {
            merged.append(newer.timestamps[j], newer.values[j])
            j += 1
        }
        return merged
    }

    /// Measures in the order they were received, as a series: sorted by time,
    /// and for equal timestamps the one received last wins (Orzo's rule; Gnocchi
    /// keeps the smallest value within one processing pass).
    public static func fromReceived(_ measures: [Measure]) -> TimeSeries {
        if measures.isEmpty { return TimeSeries() }
        var sortedAlready = true
        for index in 1..<measures.count where measures[index - 1].timestamp >= measures[index].timestamp {
            sortedAlready = false
            break
        }
        if sortedAlready { return TimeSeries(measures) }
        // A stable sort keeps receipt order among equal timestamps; then the last of each run wins.
        let order = measures.indices.sorted {
            measures[$0].timestamp != measures[$1].timestamp
                ? measures[$0].timestamp < measures[$1].timestamp : $0 < $1
        }
        var series = TimeSeries()
        series.reserveCapacity(measures.count)
        var index = 0
        while index < order.count {
            var lastOfRun = index
            while lastOfRun + 1 < order.count
                && measures[order[lastOfRun + 1]].timestamp == measures[order[index]].timestamp
            {
                lastOfRun += 1
            }
            let measure = measures[order[lastOfRun]]
            series.append(measure.timestamp, measure.value)
            index = lastOfRun + 1
        }
        return series
    }
}

/// `timestamp` rounded down to a multiple of `granularity` since the epoch, in
/// exact integer arithmetic (Gnocchi divides in floating point; see docs/semantics.md).
@inline(__always)
///
/// Never traps: below `Int64.min + granularity` the floor saturates at `Int64.min`
/// (only a computed bound gets there, such as `last − timespan` for a long
/// timespan near 1970: found by the fuzzer, docs/reliability.md).
public func floorTimestamp(_ timestamp: Nanoseconds, to granularity: Nanoseconds) -> Nanoseconds {
    let remainder = timestamp % granularity
    if remainder >= 0 { return timestamp - remainder }
    let (floor, overflow) = (timestamp - remainder).subtractingReportingOverflow(granularity)
    return overflow ? .min : floor
}
