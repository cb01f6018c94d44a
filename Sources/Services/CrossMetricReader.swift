import Storage
import Timeseries

/// Gnocchi's cross-metric aggregation over stored aggregates: reads each
/// referenced series at the granularities the operations need and evaluates
/// them (``CrossAggregation``). Shared by the ZeroMQ query service and the
/// HTTP API, which differ only in how they name metrics and write the result.
public struct CrossMetricReader: Sendable {
    public let storage: any MetricStorage

    public init(storage: any MetricStorage) { self.storage = storage }

    /// `metrics` maps each reference's metric text to its record and policy.
    /// With neither `fill` nor `neededOverlap`, missing points are dropped
    /// (`dropna`), as Gnocchi's `POST /v1/aggregates` does.
    public func evaluate(
        _ operations: Operations, metrics: [String: (record: MetricRecord, policy: ArchivePolicy)],
        start: Nanoseconds?, stop: Nanoseconds?, granularity: Nanoseconds?, neededOverlap: Double?, fill: Fill?
    ) async throws -> CrossAggregationResult {
        let granularities = try CrossAggregation.granularities(
            for: operations, policies: metrics.mapValues(\.policy), requested: granularity)
        var fill = fill
        if fill == nil && neededOverlap == nil { fill = .dropna }
        var series: [Nanoseconds: [TimeSeries]] = [:]
        for granularity in granularities {
            var columns: [TimeSeries] = []
            for reference in operations.references {
                guard let (record, policy) = metrics[reference.metric],
                    let item = policy.item(granularity: granularity),
                    let method = policy.aggregationMethods.first(where: { $0.name == reference.aggregation })
                else {
                    throw OperationsError.unknownAggregation(metric: reference.metric, method: reference.aggregation)
                }
                let aggregation = Aggregation(method: method, granularity: granularity, timespan: item.timespan)
                let stored = try await storage.readAggregate(
                    record.id, AggregationKey(aggregation),
                    from: start.map { SplitKey(containing: $0, granularity: granularity) },
                    to: stop.map { SplitKey(containing: $0, granularity: granularity) })
                columns.append(AggregateReader.read(stored, aggregation: aggregation, start: start, stop: stop))
            }
            series[granularity] = columns
        }
        return try CrossAggregation.evaluate(
            operations, series: series, start: start, stop: stop, neededOverlap: neededOverlap ?? 100, fill: fill)
    }
}
