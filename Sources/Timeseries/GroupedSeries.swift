/// The points of a series from `start` on, grouped into buckets of one granularity:
/// Gnocchi's `GroupedTimeSeries`, computed to give the same numbers.
///
/// Buckets are runs of consecutive points (the series is sorted), described by
/// their bounds; nothing is copied per point.
public struct GroupedSeries: Sendable {
    public let granularity: Nanoseconds
    /// Calendar buckets (`granularity` is then a nominal 1 ns, unused).
    public let calendar: CalendarPeriod?
    /// The series the buckets index into.
    let series: TimeSeries
    /// Where grouping started (`nil`: at the first point); `rate:` methods also
    /// look at the point just before it.
    let start: Nanoseconds?
    /// Index in `series` of the first grouped point.
    let offset: Int
    /// The timestamp of each bucket.
    public let bucketTimestamps: [Nanoseconds]
    /// `bucketTimestamps.count + 1` indices into `series`: bucket `i` holds
    /// points `bounds[i] ..< bounds[i + 1]`.
    let bounds: [Int]

    /// Groups the points of `series` at or after `start` into buckets of `granularity`.
    public init(_ series: TimeSeries, granularity: Nanoseconds, start: Nanoseconds? = nil) {
        precondition(granularity > 0, "granularity must be positive")
        self.init(series, granularity: granularity, calendar: nil, start: start)
    }

    /// Groups the points of `series` at or after `start` by calendar period.
    public init(_ series: TimeSeries, calendar: CalendarPeriod, start: Nanoseconds? = nil) {
        self.init(series, granularity: 1, calendar: calendar, start: start)
    }

    private init(_ series: TimeSeries, granularity: Nanoseconds, calendar: CalendarPeriod?, start: Nanoseconds?) {
        self.granularity = granularity
        self.calendar = calendar
        self.series = series
        self.start = start
        let offset = start.map { series.firstIndex(atOrAfter: $0) } ?? 0
        self.offset = offset
        var bucketTimestamps: [Nanoseconds] = []
        var bounds: [Int] = []
        let timestamps = series.timestamps
        var index = offset
        while index < timestamps.count {
            let bucket =
                calendar.map { $0.start(of: timestamps[index]) } ?? floorTimestamp(timestamps[index], to: granularity)
            let next = calendar.map { $0.next(after: bucket) } ?? bucket + granularity
            bucketTimestamps.append(bucket)
            bounds.append(index)
            index += 1
            while index < timestamps.count && timestamps[index] < next { index += 1 }
        }
        bounds.append(timestamps.count)
        self.bucketTimestamps = bucketTimestamps
        self.bounds = bounds
    }

    public var isEmpty: Bool { bucketTimestamps.isEmpty }

    /// The differences between consecutive points, each stamped with the later
    /// point, grouped from the same start. The point just before `start - granularity`
    /// … `start` is included so the first bucket's first difference exists
    /// (Gnocchi's `derived`).
    public func derived() -> GroupedSeries {
        let from = start.map { series.firstIndex(atOrAfter: $0 - granularity) } ?? 0
        let count = series.count - from
        guard count > 1 else {
            return GroupedSeries(TimeSeries(), granularity: granularity, calendar: calendar, start: start)
        }
        var differences = TimeSeries()
        differences.reserveCapacity(count - 1)
        let timestamps = series.timestamps
        let values = series.values
        for index in (from + 1)..<series.count {
            differences.append(timestamps[index], values[index] - values[index - 1])
        }
        return GroupedSeries(differences, granularity: granularity, calendar: calendar, start: start)
    }

    /// One aggregate per bucket (none for a one-point bucket under `std`).
    public func aggregate(_ method: AggregationMethod) -> TimeSeries {
        method.isRate ? derived().aggregate(method.base) : aggregate(method.base)
    }

    /// One aggregate per bucket with a base method.
    public func aggregate(_ method: BaseAggregationMethod) -> TimeSeries {
        var output = TimeSeries()
        output.reserveCapacity(bucketTimestamps.count)
        series.values.withUnsafeBufferPointer { values in
            var scratch: [Double] = []
            for bucket in bucketTimestamps.indices {
                let lower = bounds[bucket]
                let upper = bounds[bucket + 1]
                let timestamp = bucketTimestamps[bucket]
                switch method {
                case .mean:
                    output.append(timestamp, sequentialSum(values, lower, upper) / Double(upper - lower))
                case .sum:
                    output.append(timestamp, sequentialSum(values, lower, upper))
                case .count:
                    output.append(timestamp, Double(upper - lower))
                case .first:
                    output.append(timestamp, values[lower])
                case .last:
                    output.append(timestamp, values[upper - 1])
                case .min:
                    output.append(timestamp, minimum(values, lower, upper))
                case .max:
                    output.append(timestamp, maximum(values, lower, upper))
                case .std:
                    let count = upper - lower
                    guard count > 1 else { continue }  // Gnocchi emits no point for a one-point bucket
                    let mean = sequentialSum(values, lower, upper) / Double(count)
                    var squares = 0.0
                    for index in lower..<upper {
                        let difference = values[index] - mean
                        squares += difference * difference
                    }
                    output.append(timestamp, (squares / Double(count - 1)).squareRoot())
                case .median:
                    sortedValues(values, lower, upper, into: &scratch)
                    let count = upper - lower
                    let floorIndex = count - 1 - count / 2
                    let ceilIndex = floorIndex + (count % 2 == 0 ? 1 : 0)
                    output.append(timestamp, (scratch[floorIndex] + scratch[ceilIndex]) / 2.0)
                case .percentile(let n):
                    sortedValues(values, lower, upper, into: &scratch)
                    output.append(timestamp, percentile(scratch, n: n, bucketStart: lower - offset))
                }
            }
        }
        return output
    }
}

/// Left-to-right sum starting from +0.0, as numpy's `bincount(weights=)` adds
/// (so results match Gnocchi's bit for bit, including -0.0 + 0.0 = 0.0).
@inline(__always)
private func sequentialSum(_ values: UnsafeBufferPointer<Double>, _ lower: Int, _ upper: Int) -> Double {
    var sum = 0.0
    for index in lower..<upper { sum += values[index] }
    return sum
}

/// The smallest value, ignoring NaN unless every value is NaN (numpy's argsort
/// puts NaN last and Gnocchi takes the first of each bucket).
@inline(__always)
private func minimum(_ values: UnsafeBufferPointer<Double>, _ lower: Int, _ upper: Int) -> Double {
    var result = Double.nan
    for index in lower..<upper {
        let value = values[index]
        if result.isNaN || value < result { result = value.isNaN ? result : value }
    }
    return result
}

/// The largest value, or NaN if any value is NaN (NaN sorts last, and Gnocchi
/// takes the last of each bucket).
@inline(__always)
private func maximum(_ values: UnsafeBufferPointer<Double>, _ lower: Int, _ upper: Int) -> Double {
    var result = -Double.infinity
    for index in lower..<upper {
        let value = values[index]
        if value.isNaN { return .nan }
        if value >= result { result = value }
    }
    return result
}

/// The bucket's values sorted ascending, NaN last, equal values in time order.
private func sortedValues(
    _ values: UnsafeBufferPointer<Double>, _ lower: Int, _ upper: Int, into scratch: inout [Double]
) {
    scratch.removeAll(keepingCapacity: true)
    scratch.append(contentsOf: values[lower..<upper])
    scratch.sort { a, b in a < b || (b.isNaN && !a.isNaN) }
}

/// Gnocchi's `quantile`: the position (n − 1)·q/100 past the bucket's first
/// index, linear interpolation between its floor and ceiling. The position is
/// computed from the bucket's index in the grouped series, as numpy does, so
/// that the rounding matches.
private func percentile(_ sorted: [Double], n: Int, bucketStart: Int) -> Double {
    let count = sorted.count
    let real = Double(bucketStart) + Double(count - 1) * (Double(n) / 100)
    let floorPosition = real.rounded(.down)
    let ceilPosition = real.rounded(.up)
    let floorIndex = Int(floorPosition) - bucketStart
    let ceilIndex = Int(ceilPosition) - bucketStart
    if floorIndex == ceilIndex { return sorted[floorIndex] }
    return sorted[floorIndex] * (ceilPosition - real) + sorted[ceilIndex] * (real - floorPosition)
}
