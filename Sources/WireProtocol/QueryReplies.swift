import Storage
import Timeseries

// The reply bodies of the protocol, typed: the query service and the ingest
// service write them with `json`/`encoded()`, OrzoClient reads them with
// `init(json:)`. Reading is strict about the types of the fields it knows and
// ignores fields it does not (a newer server may add optional ones).

/// One aggregate: the start of its period, the granularity in seconds, and the
/// value (nil where the server sent null: a NaN, e.g. from `fill: "null"`).
public struct MeasurePoint: Sendable, Hashable {
    public var timestamp: Nanoseconds
    /// Seconds; 0 for a point resampled by calendar period.
    public var granularity: Double
    public var value: Double?
    /// The calendar period of a calendar-resampled point (written as its letter).
    public var period: CalendarPeriod?

    public init(timestamp: Nanoseconds, granularity: Double, value: Double?, period: CalendarPeriod? = nil) {
        self.timestamp = timestamp
        self.granularity = granularity
        self.value = value
        self.period = period
    }

    init(json row: JSONValue) throws(ProtocolError) {
        guard let cells = row.arrayValue, cells.count == 3, let text = cells[0].stringValue,
            let timestamp = Timestamps.parseISO8601(text),
            cells[1].doubleValue != nil || cells[1].stringValue.flatMap(CalendarPeriod.init(rawValue:)) != nil,
            cells[2] == .null || cells[2].doubleValue != nil
        else { throw .badReply("an aggregate is [timestamp, granularity, value]") }
        self.init(
            timestamp: timestamp, granularity: cells[1].doubleValue ?? 0, value: cells[2].doubleValue,
            period: cells[1].stringValue.flatMap(CalendarPeriod.init(rawValue:)))
    }

    static func rows(_ value: JSONValue?) throws(ProtocolError) -> [MeasurePoint] {
        guard let rows = value?.arrayValue else { throw .badReply("expected a list of aggregates") }
        var points: [MeasurePoint] = []
        for row in rows { points.append(try MeasurePoint(json: row)) }
        return points
    }
}

extension ProtocolError {
    /// A reply that does not follow the protocol (client side).
    static func badReply(_ message: String) -> ProtocolError { ProtocolError(.internal, "bad reply: \(message)") }
}

/// `error` bodies: `{"code": …, "message": …}`.
public struct ErrorReply: Sendable, Hashable {
    public var code: String
    public var message: String

    public init(code: String, message: String) {
        self.code = code
        self.message = message
    }

    public init(_ error: ProtocolError) { self.init(code: error.code.rawValue, message: error.message) }

    public var json: JSONValue { ["code": .string(code), "message": .string(message)] }
    public func encoded() -> [UInt8] { json.encoded() }

    public init(json: JSONValue) throws(ProtocolError) {
        guard let code = json["code"]?.stringValue, let message = json["message"]?.stringValue else {
            throw .badReply("an error body has a code and a message")
        }
        self.init(code: code, message: message)
    }
}

/// The acknowledgement of a put.
public struct PutReply: Sendable, Hashable {
    public struct Rejection: Sendable, Hashable {
        public var metric: String
        public var index: Int
        public var reason: String

        public init(metric: String, index: Int, reason: String) {
            self.metric = metric
            self.index = index
            self.reason = reason
        }
    }
    public var accepted: Int
    public var rejected: Int
    /// At most ``maxListed``.
    public var rejections: [Rejection]
    public static let maxListed = 100

    public init(accepted: Int, rejected: Int, rejections: [Rejection]) {
        self.accepted = accepted
        self.rejected = rejected
        self.rejections = rejections
    }

    /// The reply to a validated message: every rejection counted, the first 100 listed.
    public init(_ message: PutMessage) {
        var rejections: [Rejection] = []
        for entry in message.entries {
            for rejection in entry.rejections where rejections.count < Self.maxListed {
                rejections.append(.init(metric: entry.name, index: rejection.index, reason: rejection.reason.rawValue))
            }
        }
        self.init(accepted: message.acceptedCount, rejected: message.rejectedCount, rejections: rejections)
    }

    public var json: JSONValue {
        [
            "accepted": .number(Double(accepted)), "rejected": .number(Double(rejected)),
            "rejections": .array(
                rejections.map {
                    ["metric": .string($0.metric), "index": .number(Double($0.index)), "reason": .string($0.reason)]
                }),
        ]
    }
    public func encoded() -> [UInt8] { json.encoded() }

    public init(json: JSONValue) throws(ProtocolError) {
        guard let accepted = json["accepted"]?.intValue, let rejected = json["rejected"]?.intValue,
            let list = json["rejections"]?.arrayValue
        else { throw .badReply("a put reply has accepted, rejected and rejections") }
        var rejections: [Rejection] = []
        for item in list {
            guard let metric = item["metric"]?.stringValue, let index = item["index"]?.intValue,
                let reason = item["reason"]?.stringValue
            else { throw .badReply("a rejection has a metric, an index and a reason") }
            rejections.append(Rejection(metric: metric, index: index, reason: reason))
        }
        self.init(accepted: accepted, rejected: rejected, rejections: rejections)
    }
}

public struct CapabilitiesReply: Sendable, Hashable {
    public var aggregationMethods: [String]
    public var version: String

    public init(aggregationMethods: [String], version: String) {
        self.aggregationMethods = aggregationMethods
        self.version = version
    }

    public var json: JSONValue {
        ["aggregation_methods": .array(aggregationMethods.map(JSONValue.string)), "version": .string(version)]
    }

    public init(json: JSONValue) throws(ProtocolError) {
        guard let methods = json["aggregation_methods"]?.arrayValue?.compactMap(\.stringValue),
            let version = json["version"]?.stringValue
        else { throw .badReply("capabilities have aggregation_methods and a version") }
        self.init(aggregationMethods: methods, version: version)
    }
}

public struct StatusReply: Sendable, Hashable {
    public struct Workers: Sendable, Hashable {
        public var role: String
        public var workers: Int

        public init(role: String, workers: Int) {
            self.role = role
            self.workers = workers
        }
    }
    public struct Quarantined: Sendable, Hashable {
        public var metric: String
        public var reason: String

        public init(metric: String, reason: String) {
            self.metric = metric
            self.reason = reason
        }
    }
    /// Metrics with pending measures.
    public var backlogMetrics: Int
    /// Pending measures; nil where the backend cannot count them cheaply (Ceph).
    /// docs/protocol.md says how each backend counts them.
    public var backlogMeasures: Int?
    public var workers: [Workers]
    public var counters: [String: Int]
    public var quarantined: [Quarantined]

    public init(
        backlogMetrics: Int, backlogMeasures: Int?, workers: [Workers], counters: [String: Int],
        quarantined: [Quarantined]
    ) {
        self.backlogMetrics = backlogMetrics
        self.backlogMeasures = backlogMeasures
        self.workers = workers
        self.counters = counters
        self.quarantined = quarantined
    }

    public var json: JSONValue {
        [
            "backlog": [
                "metrics": .number(Double(backlogMetrics)),
                "measures": backlogMeasures.map { .number(Double($0)) } ?? .null,
            ],
            "workers": .array(workers.map { ["role": .string($0.role), "workers": .number(Double($0.workers))] }),
            "counters": .object(counters.mapValues { .number(Double($0)) }),
            "quarantined": .array(quarantined.map { ["metric": .string($0.metric), "reason": .string($0.reason)] }),
        ]
    }

    public init(json: JSONValue) throws(ProtocolError) {
        guard let metrics = json["backlog"]?["metrics"]?.intValue, let workers = json["workers"]?.arrayValue,
            let counters = json["counters"]?.objectValue
        else { throw .badReply("status has a backlog, workers and counters") }
        self.init(
            backlogMetrics: metrics, backlogMeasures: json["backlog"]?["measures"]?.intValue,
            workers: workers.compactMap { item in
                guard let role = item["role"]?.stringValue, let count = item["workers"]?.intValue else { return nil }
                return Workers(role: role, workers: count)
            },
            counters: counters.compactMapValues(\.intValue),
            quarantined: (json["quarantined"]?.arrayValue ?? []).compactMap { item in
                guard let metric = item["metric"]?.stringValue, let reason = item["reason"]?.stringValue else {
                    return nil
                }
                return Quarantined(metric: metric, reason: reason)
            })
    }
}

/// An archive policy as replies show it: durations in seconds.
public struct ArchivePolicyReply: Sendable, Hashable {
    public struct Item: Sendable, Hashable {
        public var granularity: Double
        public var points: Int?
        public var timespan: Double?

        public init(granularity: Double, points: Int?, timespan: Double?) {
            self.granularity = granularity
            self.points = points
            self.timespan = timespan
        }
    }
    public var name: String
    public var backWindow: Int
    public var aggregationMethods: [String]
    public var definition: [Item]

    public init(name: String, backWindow: Int, aggregationMethods: [String], definition: [Item]) {
        self.name = name
        self.backWindow = backWindow
        self.aggregationMethods = aggregationMethods
        self.definition = definition
    }

    public init(_ policy: ArchivePolicy) {
        self.init(
            name: policy.name, backWindow: policy.backWindow, aggregationMethods: policy.aggregationMethods.map(\.name),
            definition: policy.definition.map {
                Item(
                    granularity: Double($0.granularity) / 1e9, points: $0.points,
                    timespan: $0.timespan.map { Double($0) / 1e9 })
            })
    }

    public var json: JSONValue {
        [
            "name": .string(name), "back_window": .number(Double(backWindow)),
            "aggregation_methods": .array(aggregationMethods.map(JSONValue.string)),
            "definition": .array(
                definition.map {
                    [
                        "granularity": .number($0.granularity),
                        "points": $0.points.map { .number(Double($0)) } ?? .null,
                        "timespan": $0.timespan.map(JSONValue.number) ?? .null,
                    ]
                }),
        ]
    }

    public init(json: JSONValue) throws(ProtocolError) {
        guard let name = json["name"]?.stringValue, let backWindow = json["back_window"]?.intValue,
            let methods = json["aggregation_methods"]?.arrayValue?.compactMap(\.stringValue),
            let definition = json["definition"]?.arrayValue
        else { throw .badReply("an archive policy has a name, back_window, aggregation_methods and a definition") }
        var items: [Item] = []
        for entry in definition {
            guard let granularity = entry["granularity"]?.doubleValue else {
                throw .badReply("an archive policy item has a granularity")
            }
            items.append(
                Item(
                    granularity: granularity, points: entry["points"]?.intValue,
                    timespan: entry["timespan"]?.doubleValue))
        }
        self.init(name: name, backWindow: backWindow, aggregationMethods: methods, definition: items)
    }

}

/// A reply read from one JSON value; lists of them read by ``list(_:)``.
public protocol JSONReadable {
    init(json: JSONValue) throws(ProtocolError)
}

extension JSONReadable {
    /// A list reply (`list_archive_policies`, `list_archive_policy_rules`).
    public static func list(_ json: JSONValue) throws(ProtocolError) -> [Self] {
        guard let items = json.arrayValue else { throw .badReply("expected a list") }
        var result: [Self] = []
        for item in items { result.append(try Self(json: item)) }
        return result
    }
}

extension ArchivePolicyReply: JSONReadable {}
extension RuleReply: JSONReadable {}

public struct RuleReply: Sendable, Hashable {
    public var name: String
    public var metricPattern: String
    public var archivePolicyName: String

    public init(name: String, metricPattern: String, archivePolicyName: String) {
        self.name = name
        self.metricPattern = metricPattern
        self.archivePolicyName = archivePolicyName
    }

    public init(_ rule: ArchivePolicyRule) {
        self.init(name: rule.name, metricPattern: rule.metricPattern, archivePolicyName: rule.archivePolicyName)
    }

    public var json: JSONValue {
        [
            "name": .string(name), "metric_pattern": .string(metricPattern),
            "archive_policy_name": .string(archivePolicyName),
        ]
    }

    public init(json: JSONValue) throws(ProtocolError) {
        guard let name = json["name"]?.stringValue, let pattern = json["metric_pattern"]?.stringValue,
            let policy = json["archive_policy_name"]?.stringValue
        else { throw .badReply("a rule has a name, a metric_pattern and an archive_policy_name") }
        self.init(name: name, metricPattern: pattern, archivePolicyName: policy)
    }
}

public struct MetricReply: Sendable, Hashable {
    public var name: String
    public var id: String
    public var archivePolicyName: String
    public var unit: String?
    public var counters: MetricCounters
    public var archivePolicy: ArchivePolicyReply?

    public init(
        name: String, id: String, archivePolicyName: String, unit: String?, counters: MetricCounters,
        archivePolicy: ArchivePolicyReply?
    ) {
        self.name = name
        self.id = id
        self.archivePolicyName = archivePolicyName
        self.unit = unit
        self.counters = counters
        self.archivePolicy = archivePolicy
    }

    public var json: JSONValue {
        var object: [String: JSONValue] = [
            "name": .string(name), "id": .string(id), "archive_policy_name": .string(archivePolicyName),
            "unit": unit.map(JSONValue.string) ?? .null,
            "counters": [
                "measures_processed": .number(Double(counters.measuresProcessed)),
                "measures_dropped_too_old": .number(Double(counters.droppedTooOld)),
                "duplicates_replaced": .number(Double(counters.duplicatesReplaced)),
            ],
        ]
        if let archivePolicy { object["archive_policy"] = archivePolicy.json }
        return .object(object)
    }

    public init(json: JSONValue) throws(ProtocolError) {
        guard let name = json["name"]?.stringValue, let id = json["id"]?.stringValue,
            let policy = json["archive_policy_name"]?.stringValue, let counters = json["counters"]
        else { throw .badReply("a metric has a name, an id, an archive_policy_name and counters") }
        var metricCounters = MetricCounters()
        metricCounters.measuresProcessed = Int64(counters["measures_processed"]?.intValue ?? 0)
        metricCounters.droppedTooOld = Int64(counters["measures_dropped_too_old"]?.intValue ?? 0)
        metricCounters.duplicatesReplaced = Int64(counters["duplicates_replaced"]?.intValue ?? 0)
        self.init(
            name: name, id: id, archivePolicyName: policy, unit: json["unit"]?.stringValue, counters: metricCounters,
            archivePolicy: try json["archive_policy"].map { (policy) throws(ProtocolError) in
                try ArchivePolicyReply(json: policy)
            })
    }
}

/// One page of `list_metrics`.
public struct MetricsPage: Sendable, Hashable {
    public struct Entry: Sendable, Hashable {
        public var name: String
        public var archivePolicyName: String

        public init(name: String, archivePolicyName: String) {
            self.name = name
            self.archivePolicyName = archivePolicyName
        }
    }
    public var metrics: [Entry]
    /// Pass back as `marker` for the next page; nil at the end.
    public var nextMarker: String?

    public init(metrics: [Entry], nextMarker: String?) {
        self.metrics = metrics
        self.nextMarker = nextMarker
    }

    public var json: JSONValue {
        [
            "metrics": .array(
                metrics.map { ["name": .string($0.name), "archive_policy_name": .string($0.archivePolicyName)] }),
            "next_marker": nextMarker.map(JSONValue.string) ?? .null,
        ]
    }

    public init(json: JSONValue) throws(ProtocolError) {
        guard let list = json["metrics"]?.arrayValue else { throw .badReply("a page of metrics has metrics") }
        var entries: [Entry] = []
        for item in list {
            guard let name = item["name"]?.stringValue, let policy = item["archive_policy_name"]?.stringValue else {
                throw .badReply("a metric entry has a name and an archive_policy_name")
            }
            entries.append(Entry(name: name, archivePolicyName: policy))
        }
        self.init(metrics: entries, nextMarker: json["next_marker"]?.stringValue)
    }
}

/// `get_measures`: `{"measures": [[ts, granularity, value], …]}`.
public enum MeasuresReply {
    /// Written straight into bytes: the hot path of large replies.
    public static func encode(_ segments: [JSONWriter.PointSegment]) -> [UInt8] {
        JSONWriter.encode(["measures": JSONWriter.pointRows(segments)])
    }

    public static func decode(_ body: [UInt8]) throws(ProtocolError) -> [MeasurePoint] {
        if let points = PointRowsParser.parse(body, key: "measures") { return points }
        return try MeasurePoint.rows(try decodeJSON(body)["measures"])
    }
}

/// `aggregates`: one series when the operations combine metrics, else one per
/// metric and aggregation method.
public enum AggregatesReply: Sendable, Hashable {
    case aggregated([MeasurePoint])
    case perMetric([String: [String: [MeasurePoint]]])

    public static func encodeAggregated(_ rows: JSONFragment) -> [UInt8] {
        JSONWriter.encode(["aggregated": rows])
    }

    public static func encodePerMetric(_ rows: [String: [String: JSONFragment]]) -> [UInt8] {
        JSONWriter.encode(rows)
    }

    public static func decode(_ body: [UInt8]) throws(ProtocolError) -> AggregatesReply {
        let json = try decodeJSON(body)
        if let aggregated = json["aggregated"] { return .aggregated(try MeasurePoint.rows(aggregated)) }
        guard let metrics = json.objectValue else { throw .badReply("aggregates are an object") }
        var result: [String: [String: [MeasurePoint]]] = [:]
        for (metric, methods) in metrics {
            guard let methods = methods.objectValue else { throw .badReply("aggregates of \(metric) are an object") }
            for (method, rows) in methods { result[metric, default: [:]][method] = try MeasurePoint.rows(rows) }
        }
        return .perMetric(result)
    }
}

/// Parses a reply body, as a protocol error when it is not JSON.
public func decodeJSON(_ body: [UInt8]) throws(ProtocolError) -> JSONValue {
    do { return try JSONValue.decode(body) } catch { throw .badReply("not JSON") }
}
