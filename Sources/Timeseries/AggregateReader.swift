/// Reads a stored aggregate the way Gnocchi's `get_aggregated_measures` does.
public enum AggregateReader {
    /// The points of `stored` (every stored split of `aggregation`, concatenated,
    /// in time order) that a query asks for:
    ///
    /// 1. only the splits from the one holding `start` to the one holding `stop` are read;
    /// 2. what was read is cut to the timespan, counted back from its last point
    ///    (stored splits may still hold older points);
    /// 3. with `resample`, the aggregates are re-aggregated at that granularity with
    ///    the same method (a `rate:` method differentiates again), as Gnocchi does;
    ///    with `calendar`, by calendar period instead;
    /// 4. points from `start` floored to the (resampled) granularity, inclusive, to
    ///    `stop`, exclusive, are returned.
    public static func read(
        _ stored: TimeSeries, aggregation: Aggregation, start: Nanoseconds? = nil, stop: Nanoseconds? = nil,
        resample: Nanoseconds? = nil, calendar: CalendarPeriod? = nil
    ) -> TimeSeries {
        var series = stored
        if start != nil || stop != nil {
            let lower = start.map { SplitKey(containing: $0, granularity: aggregation.granularity).start }
            let upper = stop.map { SplitKey(containing: $0, granularity: aggregation.granularity).end }
            series = series.slice(from: lower, to: upper)
        }
        if let timespan = aggregation.timespan, let last = series.last {
            series.removeFirst(series.firstIndex(after: last - timespan))
        }
        var granularity = aggregation.granularity
        if let resample {
            series = GroupedSeries(series, granularity: resample).aggregate(aggregation.method)
            granularity = resample
        }
        if let calendar {
            series = GroupedSeries(series, calendar: calendar).aggregate(aggregation.method)
            return series.slice(from: start.map { calendar.start(of: $0) }, to: stop)
        }
        return series.slice(from: start.map { floorTimestamp($0, to: granularity) }, to: stop)
    }
}
