import Timeseries
import WireProtocol

/// One aggregate: the start of its period, the granularity in seconds, and
/// the value (nil where the server sent null: a NaN, e.g. from `fill: "null"`).
extension OrzoClient {
    public struct Point: Sendable, Hashable {
        public var timestamp: Nanoseconds
        public var granularity: Double
        public var value: Double?

        public init(timestamp: Nanoseconds, granularity: Double, value: Double?) {
            self.timestamp = timestamp
            self.granularity = granularity
            self.value = value
        }

        init(_ row: JSONValue) throws(OrzoClientError) {
            guard let cells = row.arrayValue, cells.count == 3, let text = cells[0].stringValue,
                let timestamp = Timestamps.parseISO8601(text), let granularity = cells[1].doubleValue
            else { throw OrzoClientError.badReply("an aggregate is [timestamp, granularity, value]") }
            self.init(timestamp: timestamp, granularity: granularity, value: cells[2].doubleValue)
        }
    }
}

/// What `aggregates` returns: one series when the operations combine
/// metrics, else a series per metric and aggregation method.
public enum AggregatesResult: Sendable, Hashable {
    case aggregated([OrzoClient.Point])
    case perMetric([String: [String: [OrzoClient.Point]]])
}

/// A granularity and how many points of it an archive policy keeps.
public struct ArchivePolicyItem: Sendable, Hashable {
    public var granularity: Double
    public var points: Int

    public init(granularity: Double, points: Int) {
        self.granularity = granularity
        self.points = points
    }
}

extension OrzoClient {
    /// Aggregates of one metric (`get_measures`), by granularity descending
    /// then time. `start` is floored to the granularity; `stop` is exclusive.
    public func measures(
        of metric: String, aggregation: String = "mean", granularity: Double? = nil, start: Nanoseconds? = nil,
        stop: Nanoseconds? = nil, resample: Double? = nil, refresh: Bool = false
    ) async throws -> [OrzoClient.Point] {
        var body: [String: JSONValue] = [
            "op": "get_measures", "metric": .string(metric), "aggregation": .string(aggregation),
        ]
        if let granularity { body["granularity"] = .number(granularity) }
        if let start { body["start"] = .string(Timestamps.format(start)) }
        if let stop { body["stop"] = .string(Timestamps.format(stop)) }
        if let resample { body["resample"] = .number(resample) }
        if refresh { body["refresh"] = true }
        let reply = try await requestBytes(body)
        if let points = PointRowsParser.parse(reply, key: "measures") { return points }
        return try (JSONValue.decode(reply)["measures"]?.arrayValue ?? []).map(OrzoClient.Point.init)
    }

    /// Cross-metric aggregation with Gnocchi's operations language, e.g.
    /// `(aggregate mean (metric (a mean) (b mean)))`. `fill` is a number,
    /// "null", "dropna", "ffill", "bfill", "full_ffill" or "full_bfill".
    public func aggregates(
        _ operations: String, start: Nanoseconds? = nil, stop: Nanoseconds? = nil, granularity: Double? = nil,
        neededOverlap: Double? = nil, fill: JSONValue? = nil
    ) async throws -> AggregatesResult {
        var body: [String: JSONValue] = ["op": "aggregates", "operations": .string(operations)]
        if let start { body["start"] = .string(Timestamps.format(start)) }
        if let stop { body["stop"] = .string(Timestamps.format(stop)) }
        if let granularity { body["granularity"] = .number(granularity) }
        if let neededOverlap { body["needed_overlap"] = .number(neededOverlap) }
        if let fill { body["fill"] = fill }
        let reply = try await request(body)
        if let aggregated = reply["aggregated"]?.arrayValue {
            return .aggregated(try aggregated.map(OrzoClient.Point.init))
        }
        var result: [String: [String: [OrzoClient.Point]]] = [:]
        for (metric, methods) in reply.objectValue ?? [:] {
            for (method, series) in methods.objectValue ?? [:] {
                result[metric, default: [:]][method] = try (series.arrayValue ?? []).map(OrzoClient.Point.init)
            }
        }
        return .perMetric(result)
    }

    public func capabilities() async throws -> JSONValue { try await request(["op": "capabilities"]) }

    /// Backlog, workers and counters.
    public func status() async throws -> JSONValue { try await request(["op": "status"]) }

    // MARK: Archive policies and rules

    @discardableResult
    public func createArchivePolicy(
        name: String, definition: [ArchivePolicyItem], backWindow: Int = 0, aggregationMethods: [String]? = nil
    ) async throws -> JSONValue {
        var body: [String: JSONValue] = [
            "op": "create_archive_policy", "name": .string(name), "back_window": .number(Double(backWindow)),
            "definition": .array(
                definition.map { ["granularity": .number($0.granularity), "points": .number(Double($0.points))] }),
        ]
        if let aggregationMethods { body["aggregation_methods"] = .array(aggregationMethods.map(JSONValue.string)) }
        return try await request(body)
    }

    public func archivePolicy(_ name: String) async throws -> JSONValue {
        try await request(["op": "get_archive_policy", "name": .string(name)])
    }

    public func archivePolicies() async throws -> [JSONValue] {
        try await request(["op": "list_archive_policies"]).arrayValue ?? []
    }

    public func deleteArchivePolicy(_ name: String) async throws {
        _ = try await request(["op": "delete_archive_policy", "name": .string(name)])
    }

    @discardableResult
    public func createArchivePolicyRule(
        name: String, metricPattern: String, archivePolicy: String
    ) async throws
        -> JSONValue
    {
        try await request([
            "op": "create_archive_policy_rule", "name": .string(name), "metric_pattern": .string(metricPattern),
            "archive_policy_name": .string(archivePolicy),
        ])
    }

    public func archivePolicyRules() async throws -> [JSONValue] {
        try await request(["op": "list_archive_policy_rules"]).arrayValue ?? []
    }

    public func deleteArchivePolicyRule(_ name: String) async throws {
        _ = try await request(["op": "delete_archive_policy_rule", "name": .string(name)])
    }

    // MARK: Metrics

    /// Creates a metric; without a policy, the archive-policy rules choose one.
    @discardableResult
    public func createMetric(name: String, archivePolicy: String? = nil, unit: String? = nil) async throws -> JSONValue
    {
        var body: [String: JSONValue] = ["op": "create_metric", "name": .string(name)]
        if let archivePolicy { body["archive_policy_name"] = .string(archivePolicy) }
        if let unit { body["unit"] = .string(unit) }
        return try await request(body)
    }

    /// A metric with its policy and counters.
    public func metric(_ name: String) async throws -> JSONValue {
        try await request(["op": "get_metric", "name": .string(name)])
    }

    public func deleteMetric(_ name: String) async throws {
        _ = try await request(["op": "delete_metric", "name": .string(name)])
    }

    /// One page of metric names; pass `next` back as `marker` for the next page (nil at the end).
    public func metrics(
        prefix: String? = nil, limit: Int = 1000, marker: String? = nil
    ) async throws -> (
        metrics: [JSONValue], next: String?
    ) {
        var body: [String: JSONValue] = ["op": "list_metrics", "limit": .number(Double(limit))]
        if let prefix { body["prefix"] = .string(prefix) }
        if let marker { body["marker"] = .string(marker) }
        let reply = try await request(body)
        return (reply["metrics"]?.arrayValue ?? [], reply["next_marker"]?.stringValue)
    }
}
