import Timeseries
import WireProtocol

/// A granularity and how many points of it an archive policy keeps.
public struct ArchivePolicyItem: Sendable, Hashable {
    public var granularity: Double
    public var points: Int

    public init(granularity: Double, points: Int) {
        self.granularity = granularity
        self.points = points
    }
}

/// What `aggregates` returns: one series when the operations combine
/// metrics, else a series per metric and aggregation method.
public typealias AggregatesResult = AggregatesReply

// Every query goes through the typed requests and replies of the WireProtocol
// module: what the client writes is exactly what the server reads.
extension OrzoClient {
    /// One aggregate: period start, granularity in seconds, value (nil for null).
    public typealias Point = MeasurePoint

    /// Aggregates of one metric (`get_measures`), by granularity descending
    /// then time. `start` is floored to the granularity; `stop` is exclusive.
    public func measures(
        of metric: String, aggregation: String = "mean", granularity: Double? = nil, start: Nanoseconds? = nil,
        stop: Nanoseconds? = nil, resample: Double? = nil, calendar: CalendarPeriod? = nil, refresh: Bool = false
    ) async throws -> [Point] {
        let query = QueryRequest.GetMeasures(
            metric: metric, aggregation: aggregation, granularity: try granularity.map(Self.granularity),
            start: start, stop: stop, resample: try resample.map(Self.granularity), calendar: calendar,
            refresh: refresh ? true : nil)
        return try MeasuresReply.decode(try await send(.getMeasures(query)))
    }

    /// Cross-metric aggregation with Gnocchi's operations language, e.g.
    /// `(aggregate mean (metric (a mean) (b mean)))`.
    public func aggregates(
        _ operations: String, start: Nanoseconds? = nil, stop: Nanoseconds? = nil, granularity: Double? = nil,
        neededOverlap: Double? = nil, fill: Fill? = nil
    ) async throws -> AggregatesResult {
        let query = QueryRequest.Aggregates(
            operations: operations, start: start, stop: stop, granularity: try granularity.map(Self.granularity),
            neededOverlap: neededOverlap, fill: fill)
        return try AggregatesReply.decode(try await send(.aggregates(query)))
    }

    public func capabilities() async throws -> CapabilitiesReply {
        try CapabilitiesReply(json: try decodeJSON(try await send(.capabilities)))
    }

    /// Backlog, workers, counters and quarantined metrics.
    public func status() async throws -> StatusReply {
        try StatusReply(json: try decodeJSON(try await send(.status)))
    }

    // MARK: Archive policies and rules

    @discardableResult
    public func createArchivePolicy(
        name: String, definition: [ArchivePolicyItem], backWindow: Int = 0, aggregationMethods: [String]? = nil
    ) async throws -> ArchivePolicyReply {
        let items = try definition.map {
            QueryRequest.ArchivePolicySpec.Item(granularity: try Self.granularity($0.granularity), points: $0.points)
        }
        return try await createArchivePolicy(
            QueryRequest.ArchivePolicySpec(
                name: name, backWindow: backWindow, aggregationMethods: aggregationMethods, definition: items))
    }

    @discardableResult
    public func createArchivePolicy(_ spec: QueryRequest.ArchivePolicySpec) async throws -> ArchivePolicyReply {
        try ArchivePolicyReply(json: try decodeJSON(try await send(.createArchivePolicy(spec))))
    }

    public func archivePolicy(_ name: String) async throws -> ArchivePolicyReply {
        try ArchivePolicyReply(json: try decodeJSON(try await send(.getArchivePolicy(name: name))))
    }

    public func archivePolicies() async throws -> [ArchivePolicyReply] {
        try ArchivePolicyReply.list(try decodeJSON(try await send(.listArchivePolicies)))
    }

    public func deleteArchivePolicy(_ name: String) async throws {
        _ = try await send(.deleteArchivePolicy(name: name))
    }

    @discardableResult
    public func createArchivePolicyRule(
        name: String, metricPattern: String, archivePolicy: String
    ) async throws -> RuleReply {
        let spec = QueryRequest.RuleSpec(name: name, metricPattern: metricPattern, archivePolicyName: archivePolicy)
        return try RuleReply(json: try decodeJSON(try await send(.createArchivePolicyRule(spec))))
    }

    public func archivePolicyRules() async throws -> [RuleReply] {
        try RuleReply.list(try decodeJSON(try await send(.listArchivePolicyRules)))
    }

    public func deleteArchivePolicyRule(_ name: String) async throws {
        _ = try await send(.deleteArchivePolicyRule(name: name))
    }

    // MARK: Metrics

    /// Creates a metric; without a policy, the archive-policy rules choose one.
    @discardableResult
    public func createMetric(
        name: String, archivePolicy: String? = nil, unit: String? = nil
    ) async throws
        -> MetricReply
    {
        let spec = QueryRequest.MetricSpec(name: name, archivePolicyName: archivePolicy, unit: unit)
        return try MetricReply(json: try decodeJSON(try await send(.createMetric(spec))))
    }

    /// A metric with its policy and counters.
    public func metric(_ name: String) async throws -> MetricReply {
        try MetricReply(json: try decodeJSON(try await send(.getMetric(name: name))))
    }

    public func deleteMetric(_ name: String) async throws {
        _ = try await send(.deleteMetric(name: name))
    }

    /// One page of metrics; pass `nextMarker` back as `marker` for the next page (nil at the end).
    public func metrics(prefix: String? = nil, limit: Int? = nil, marker: String? = nil) async throws -> MetricsPage {
        let list = QueryRequest.ListMetrics(prefix: prefix, limit: limit, marker: marker)
        return try MetricsPage(json: try decodeJSON(try await send(.listMetrics(list))))
    }

    /// Lets workers process a quarantined metric again (after a fix).
    public func releaseQuarantine(_ name: String) async throws {
        _ = try await send(.releaseQuarantine(metric: name))
    }

    /// Seconds as a granularity, checked here as the server would check it.
    static func granularity(_ seconds: Double) throws -> Nanoseconds {
        guard let value = Limits.granularity(fromSeconds: seconds) else {
            throw OrzoClientError.invalidArgument(
                "a granularity must be \(Limits.granularityRangeText), not \(seconds)")
        }
        return value
    }
}
