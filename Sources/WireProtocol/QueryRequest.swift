import Timeseries

/// A request on the query socket, one case per operation (docs/protocol.md).
/// The only way requests are read (the query service) and written (OrzoClient,
/// and through it the CLI): ``decode(_:)`` is strict, so a missing required
/// field, a wrong type, an unknown field or a value out of range is
/// `bad_request` naming the field, and nothing is defaulted silently.
public enum QueryRequest: Sendable, Hashable {
    case capabilities
    case status
    case createArchivePolicy(ArchivePolicySpec)
    case getArchivePolicy(name: String)
    case listArchivePolicies
    case deleteArchivePolicy(name: String)
    case createArchivePolicyRule(RuleSpec)
    case listArchivePolicyRules
    case deleteArchivePolicyRule(name: String)
    case createMetric(MetricSpec)
    case getMetric(name: String)
    case deleteMetric(name: String)
    case listMetrics(ListMetrics)
    case getMeasures(GetMeasures)
    case aggregates(Aggregates)
    /// Lets workers process a quarantined metric again (an admin action, after a fix).
    case releaseQuarantine(metric: String)

    /// The longest request body the query socket takes (its `ZMQ_MAXMSGSIZE` default).
    public static let maxBodyBytes = 1 << 20

    /// Archive policy as a client asks for it: items in seconds, as on the wire.
    public struct ArchivePolicySpec: Sendable, Hashable {
        public struct Item: Sendable, Hashable {
            public var granularity: Nanoseconds?
            public var points: Int?
            public var timespan: Nanoseconds?

            public init(granularity: Nanoseconds? = nil, points: Int? = nil, timespan: Nanoseconds? = nil) {
                self.granularity = granularity
                self.points = points
                self.timespan = timespan
            }
        }
        public var name: String
        public var backWindow: Int?
        /// Gnocchi's forms: names, `+x`/`-x`, `*`. Nil: the defaults.
        public var aggregationMethods: [String]?
        public var definition: [Item]

        public init(name: String, backWindow: Int? = nil, aggregationMethods: [String]? = nil, definition: [Item]) {
            self.name = name
            self.backWindow = backWindow
            self.aggregationMethods = aggregationMethods
            self.definition = definition
        }

        /// The policy the engine will run, or the reason it cannot: every
        /// arithmetic limit (docs/reliability.md) is checked here, before anything is stored.
        public func policy() throws(ArchivePolicyError) -> ArchivePolicy {
            var items: [ArchivePolicyItem] = []
            for item in definition {
                items.append(
                    try ArchivePolicyItem(granularity: item.granularity, points: item.points, timespan: item.timespan))
            }
            var methods = AggregationMethod.defaults
            if let aggregationMethods { methods = try ArchivePolicy.resolveAggregationMethods(aggregationMethods) }
            return try ArchivePolicy(
                name: name, backWindow: backWindow ?? 0, definition: items, aggregationMethods: methods)
        }
    }

    /// A rule is the same on the wire in a request and in a reply.
    public typealias RuleSpec = RuleReply

    public struct MetricSpec: Sendable, Hashable {
        public var name: String
        /// Nil: the archive-policy rules choose.
        public var archivePolicyName: String?
        public var unit: String?

        public init(name: String, archivePolicyName: String? = nil, unit: String? = nil) {
            self.name = name
            self.archivePolicyName = archivePolicyName
            self.unit = unit
        }
    }

    public struct ListMetrics: Sendable, Hashable {
        public static let limits = 1...10_000
        public var prefix: String?
        public var limit: Int?
        public var marker: String?

        public init(prefix: String? = nil, limit: Int? = nil, marker: String? = nil) {
            self.prefix = prefix
            self.limit = limit
            self.marker = marker
        }
    }

    public struct GetMeasures: Sendable, Hashable {
        public var metric: String
        public var aggregation: String?
        public var granularity: Nanoseconds?
        public var start: Nanoseconds?
        public var stop: Nanoseconds?
        public var resample: Nanoseconds?
        /// Calendar resampling (`"resample": "Y"|"H"|"Q"|"M"|"W"`), in place of `resample`.
        public var calendar: CalendarPeriod?
        public var refresh: Bool?

        public init(
            metric: String, aggregation: String? = nil, granularity: Nanoseconds? = nil, start: Nanoseconds? = nil,
            stop: Nanoseconds? = nil, resample: Nanoseconds? = nil, calendar: CalendarPeriod? = nil,
            refresh: Bool? = nil
        ) {
            self.calendar = calendar
            self.metric = metric
            self.aggregation = aggregation
            self.granularity = granularity
            self.start = start
            self.stop = stop
            self.resample = resample
            self.refresh = refresh
        }
    }

    public struct Aggregates: Sendable, Hashable {
        public var operations: String
        public var start: Nanoseconds?
        public var stop: Nanoseconds?
        public var granularity: Nanoseconds?
        /// Percent, 0 to 100.
        public var neededOverlap: Double?
        public var fill: Fill?

        public init(
            operations: String, start: Nanoseconds? = nil, stop: Nanoseconds? = nil, granularity: Nanoseconds? = nil,
            neededOverlap: Double? = nil, fill: Fill? = nil
        ) {
            self.operations = operations
            self.start = start
            self.stop = stop
            self.granularity = granularity
            self.neededOverlap = neededOverlap
            self.fill = fill
        }
    }

    /// The operation's name on the wire.
    public var op: String {
        switch self {
        case .capabilities: "capabilities"
        case .status: "status"
        case .createArchivePolicy: "create_archive_policy"
        case .getArchivePolicy: "get_archive_policy"
        case .listArchivePolicies: "list_archive_policies"
        case .deleteArchivePolicy: "delete_archive_policy"
        case .createArchivePolicyRule: "create_archive_policy_rule"
        case .listArchivePolicyRules: "list_archive_policy_rules"
        case .deleteArchivePolicyRule: "delete_archive_policy_rule"
        case .createMetric: "create_metric"
        case .getMetric: "get_metric"
        case .deleteMetric: "delete_metric"
        case .listMetrics: "list_metrics"
        case .getMeasures: "get_measures"
        case .aggregates: "aggregates"
        case .releaseQuarantine: "release_quarantine"
        }
    }

    /// Every operation's name, for documentation and tests.
    public static let operations = [
        "capabilities", "status", "create_archive_policy", "get_archive_policy", "list_archive_policies",
        "delete_archive_policy", "create_archive_policy_rule", "list_archive_policy_rules",
        "delete_archive_policy_rule", "create_metric", "get_metric", "delete_metric", "list_metrics", "get_measures",
        "aggregates", "release_quarantine",
    ]

    /// Whether the operation changes nothing (the `reader` role may send it).
    public var isReadOnly: Bool {
        switch self {
        case .capabilities, .status, .getArchivePolicy, .listArchivePolicies, .listArchivePolicyRules, .getMetric,
            .listMetrics, .aggregates:
            true
        // `refresh` only aggregates what is already accepted: the answer is the same later.
        case .getMeasures: true
        default: false
        }
    }

    // MARK: Decoding

    /// Reads a request body strictly.
    public static func decode(_ body: [UInt8]) throws(ProtocolError) -> QueryRequest {
        guard body.count <= maxBodyBytes else {
            throw ProtocolError(.badRequest, "a query is at most \(maxBodyBytes) bytes")
        }
        let json: JSONValue
        do { json = try JSONValue.decode(body) } catch {
            throw ProtocolError(.badRequest, "a query is one frame holding a JSON object")
        }
        return try decode(json)
    }

    public static func decode(_ json: JSONValue) throws(ProtocolError) -> QueryRequest {
        var fields = try JSONFields(json, what: "a query")
        let op = try fields.string("op", maxBytes: 64)
        let request: QueryRequest
        switch op {
        case "capabilities": request = .capabilities
        case "status": request = .status
        case "create_archive_policy":
            let name = try fields.string("name")
            let backWindow = try fields.optionalInt("back_window", in: 0...Int(Int32.max))
            let methods = try fields.optionalStringList("aggregation_methods", maxCount: 1024)
            let definition = try fields.objectList("definition", maxCount: 64) {
                (item) throws(ProtocolError) -> ArchivePolicySpec.Item in
                ArchivePolicySpec.Item(
                    granularity: try item.optionalGranularity("granularity"),
                    points: try item.optionalInt("points", in: 1...Int(Int64.max >> 1)),
                    timespan: try item.optionalTimespan("timespan"))
            }
            request = .createArchivePolicy(
                ArchivePolicySpec(
                    name: name, backWindow: backWindow, aggregationMethods: methods, definition: definition))
        case "get_archive_policy": request = .getArchivePolicy(name: try fields.string("name"))
        case "list_archive_policies": request = .listArchivePolicies
        case "delete_archive_policy": request = .deleteArchivePolicy(name: try fields.string("name"))
        case "create_archive_policy_rule":
            request = .createArchivePolicyRule(
                RuleSpec(
                    name: try fields.string("name"), metricPattern: try fields.string("metric_pattern"),
                    archivePolicyName: try fields.string("archive_policy_name")))
        case "list_archive_policy_rules": request = .listArchivePolicyRules
        case "delete_archive_policy_rule": request = .deleteArchivePolicyRule(name: try fields.string("name"))
        case "create_metric":
            request = .createMetric(
                MetricSpec(
                    name: try fields.metricName("name"),
                    archivePolicyName: try fields.optionalString("archive_policy_name"),
                    unit: try fields.optionalString("unit")))
        case "get_metric": request = .getMetric(name: try fields.metricName("name"))
        case "delete_metric": request = .deleteMetric(name: try fields.metricName("name"))
        case "list_metrics":
            request = .listMetrics(
                ListMetrics(
                    prefix: try fields.optionalString("prefix"),
                    limit: try fields.optionalInt("limit", in: ListMetrics.limits),
                    marker: try fields.optionalString("marker")))
        case "get_measures":
            request = .getMeasures(
                GetMeasures(
                    metric: try fields.metricName("metric"),
                    aggregation: try fields.optionalString("aggregation", maxBytes: 64),
                    granularity: try fields.optionalGranularity("granularity"),
                    start: try fields.optionalTimestamp("start"), stop: try fields.optionalTimestamp("stop"),
                    resample: fields.isString("resample") ? nil : try fields.optionalGranularity("resample"),
                    calendar: try fields.optionalCalendarPeriod("resample"),
                    refresh: try fields.optionalBool("refresh")))
        case "release_quarantine": request = .releaseQuarantine(metric: try fields.metricName("metric"))
        case "aggregates":
            let operations = try fields.string("operations", maxBytes: Limits.operationsMaxLength)
            let start = try fields.optionalTimestamp("start")
            let stop = try fields.optionalTimestamp("stop")
            let granularity = try fields.optionalGranularity("granularity")
            let neededOverlap = try fields.optionalNumber("needed_overlap", in: 0...100)
            var fill: Fill?
            switch fields.optionalRaw("fill") {
            case nil: break
            case .number(let value)?: fill = .value(value)
            case .string(let text)? where text.utf8.count <= 32 && Fill(text)?.isFiniteOrNamed == true:
                fill = Fill(text)
            default:
                throw ProtocolError(
                    .badRequest,
                    "\"fill\" must be a number, \"null\", \"dropna\", \"ffill\", \"bfill\", \"full_ffill\" or "
                        + "\"full_bfill\"")
            }
            request = .aggregates(
                Aggregates(
                    operations: operations, start: start, stop: stop, granularity: granularity,
                    neededOverlap: neededOverlap, fill: fill))
        default:
            throw ProtocolError(.badRequest, "unknown op '\(ProtocolError.printable(op))'")
        }
        try fields.finish()
        return request
    }

    // MARK: Encoding

    /// The request body, for the wire.
    public func encoded() -> [UInt8] { json.encoded() }

    public var json: JSONValue {
        var body: [String: JSONValue] = ["op": .string(op)]
        func seconds(_ value: Nanoseconds) -> JSONValue { .number(Double(value) / 1e9) }
        func timestamp(_ value: Nanoseconds) -> JSONValue { .string(Timestamps.format(value)) }
        switch self {
        case .capabilities, .status, .listArchivePolicies, .listArchivePolicyRules: break
        case .getArchivePolicy(let name), .deleteArchivePolicy(let name), .deleteArchivePolicyRule(let name),
            .getMetric(let name), .deleteMetric(let name):
            body["name"] = .string(name)
        case .createArchivePolicy(let spec):
            body["name"] = .string(spec.name)
            if let backWindow = spec.backWindow { body["back_window"] = .number(Double(backWindow)) }
            if let methods = spec.aggregationMethods {
                body["aggregation_methods"] = .array(methods.map(JSONValue.string))
            }
            body["definition"] = .array(
                spec.definition.map { item in
                    var entry: [String: JSONValue] = [:]
                    if let granularity = item.granularity { entry["granularity"] = seconds(granularity) }
                    if let points = item.points { entry["points"] = .number(Double(points)) }
                    if let timespan = item.timespan { entry["timespan"] = seconds(timespan) }
                    return .object(entry)
                })
        case .createArchivePolicyRule(let rule):
            body["name"] = .string(rule.name)
            body["metric_pattern"] = .string(rule.metricPattern)
            body["archive_policy_name"] = .string(rule.archivePolicyName)
        case .createMetric(let metric):
            body["name"] = .string(metric.name)
            if let policy = metric.archivePolicyName { body["archive_policy_name"] = .string(policy) }
            if let unit = metric.unit { body["unit"] = .string(unit) }
        case .listMetrics(let list):
            if let prefix = list.prefix { body["prefix"] = .string(prefix) }
            if let limit = list.limit { body["limit"] = .number(Double(limit)) }
            if let marker = list.marker { body["marker"] = .string(marker) }
        case .releaseQuarantine(let metric):
            body["metric"] = .string(metric)
        case .getMeasures(let query):
            body["metric"] = .string(query.metric)
            if let aggregation = query.aggregation { body["aggregation"] = .string(aggregation) }
            if let granularity = query.granularity { body["granularity"] = seconds(granularity) }
            if let start = query.start { body["start"] = timestamp(start) }
            if let stop = query.stop { body["stop"] = timestamp(stop) }
            if let resample = query.resample { body["resample"] = seconds(resample) }
            if let calendar = query.calendar { body["resample"] = .string(calendar.rawValue) }
            if let refresh = query.refresh { body["refresh"] = .bool(refresh) }
        case .aggregates(let query):
            body["operations"] = .string(query.operations)
            if let start = query.start { body["start"] = timestamp(start) }
            if let stop = query.stop { body["stop"] = timestamp(stop) }
            if let granularity = query.granularity { body["granularity"] = seconds(granularity) }
            if let overlap = query.neededOverlap { body["needed_overlap"] = .number(overlap) }
            switch query.fill {
            case nil: break
            case .value(let value)?: body["fill"] = .number(value)
            case let fill?: body["fill"] = .string(fill.wireName)
            }
        }
        return .object(body)
    }
}

extension Fill {
    /// The wire form of a named fill ("ffill", …); a value's number as text.
    public var wireName: String {
        switch self {
        case .value(let value): String(value)
        case .null: "null"
        case .dropna: "dropna"
        case .forwardFill: "ffill"
        case .backwardFill: "bfill"
        case .fullForwardFill: "full_ffill"
        case .fullBackwardFill: "full_bfill"
        }
    }

    /// A named fill, or a finite value ("nan" and "inf" parse as numbers but are refused).
    var isFiniteOrNamed: Bool {
        if case .value(let value) = self { return value.isFinite }
        return true
    }
}

extension QueryRequest {
    /// Whether the request changes what is stored or configured: such requests
    /// need the `admin` role on an authenticated socket (docs/security.md). A
    /// `refresh` only processes measures already accepted, so readers may ask it.
    public var changesState: Bool {
        switch self {
        case .capabilities, .status, .getArchivePolicy, .listArchivePolicies, .listArchivePolicyRules, .getMetric,
            .listMetrics, .getMeasures, .aggregates:
            false
        case .createArchivePolicy, .deleteArchivePolicy, .createArchivePolicyRule, .deleteArchivePolicyRule,
            .createMetric, .deleteMetric, .releaseQuarantine:
            true
        }
    }
}
