import Foundation
import Storage
import Synchronization
import Timeseries
import WireProtocol
import ZeroMQ

/// The query service: one JSON request, one JSON reply, over a ROUTER socket
/// (REQ or DEALER clients). Reads take no lease; `refresh` processes the
/// metric's pending measures under its lease first. A failing request changes nothing.
public struct QueryService: Sendable {
    public let context: ZMQContext
    public let storage: any MetricStorage
    public let directory: MetricDirectory
    public let counters: ServiceCounters
    public let metricd: MetricdService?
    public var maxMessageSize: Int64 = 1 << 20
    public static let version = "0.1.0-dev"

    public init(
        context: ZMQContext, storage: any MetricStorage, directory: MetricDirectory, counters: ServiceCounters,
        metricd: MetricdService? = nil
    ) {
        self.context = context
        self.storage = storage
        self.directory = directory
        self.counters = counters
        self.metricd = metricd
    }

    public func run(endpoint: String, ready: @Sendable () -> Void = {}) async throws {
        let socket = try ZMQSocket(context, type: .router)
        try socket.set(.maxMessageSize(maxMessageSize))
        try socket.bind(endpoint)
        ready()
        defer { socket.close() }
        while !Task.isCancelled {
            guard let frames = try await receive(socket), frames.count >= 2 else { continue }
            let isRequest = frames[1].isEmpty
            let envelope = Array(frames.prefix(isRequest ? 2 : 1))
            let payload = Array(frames.dropFirst(envelope.count))
            let (verb, body) = await handle(payload)
            _ = try await socket.send(envelope + [Array(verb.utf8), body], timeout: .seconds(5))
        }
    }

    /// Answers one request (verb frame, JSON frame).
    public func handle(_ payload: [[UInt8]]) async -> (String, [UInt8]) {
        counters.add(.queries)
        do {
            guard let verb = payload.first, verb == Array(Verb.query.utf8) else {
                throw ProtocolError(
                    .unknownVerb, "unknown verb '\(String(decoding: payload.first ?? [], as: UTF8.self))'")
            }
            guard payload.count == 2,
                let request = try? JSONSerialization.jsonObject(with: Data(payload[1])) as? [String: Any]
            else { throw ProtocolError(.badRequest, "a query is one frame holding a JSON object") }
            guard let op = request["op"] as? String else {
                throw ProtocolError(.badRequest, "the request has no \"op\"")
            }
            return (Verb.ok, json(try await answer(op, Request(request))))
        } catch let error as ProtocolError {
            counters.add(.queryErrors)
            return (Verb.error, errorBody(error.code, error.message))
        } catch let error as IndexerError {
            counters.add(.queryErrors)
            return (Verb.error, errorBody(code(error), error.description))
        } catch let error as ArchivePolicyError {
            counters.add(.queryErrors)
            return (Verb.error, errorBody(.badRequest, error.description))
        } catch let error as OperationsError {
            counters.add(.queryErrors)
            if case .unknownAggregation = error { return (Verb.error, errorBody(.notFound, error.description)) }
            return (Verb.error, errorBody(.badRequest, error.description))
        } catch let error as StorageError {
            counters.add(.queryErrors)
            switch error {
            case .corrupt: return (Verb.error, errorBody(.internal, error.description))  // not retryable
            case .leaseLost, .unavailable: return (Verb.error, errorBody(.unavailable, error.description))
            }
        } catch {
            counters.add(.queryErrors)
            return (Verb.error, errorBody(.unavailable, "\(error)"))
        }
    }

    private func code(_ error: IndexerError) -> ErrorCode {
        switch error {
        case .notFound: .notFound
        case .conflict: .conflict
        case .inUse, .invalid: .badRequest
        case .unavailable: .unavailable
        }
    }

    private func answer(_ op: String, _ request: Request) async throws -> Any {
        let indexer = directory.indexer
        switch op {
        case "capabilities":
            return ["aggregation_methods": AggregationMethod.all.map(\.name), "version": Self.version]
        case "status":
            var metrics = 0
            for sack in 0..<storage.sackCount {
                metrics += try await storage.metricsWithPendingMeasures(inSack: sack).count
            }
            let quarantined = metricd?.quarantine.withLock { $0 } ?? [:]
            return [
                "backlog": ["metrics": metrics],
                "workers": metricd.map { [["role": "metricd", "workers": $0.workers]] } ?? [],
                "counters": counters.snapshot,
                "quarantined": quarantined.map { ["metric": $0.key.rawValue, "reason": $0.value] },
            ]
        case "create_archive_policy":
            let policy = try makePolicy(request)
            try await indexer.createArchivePolicy(policy)
            return describe(policy)
        case "get_archive_policy":
            guard let policy = try await indexer.archivePolicy(named: try request.string("name")) else {
                throw ProtocolError(.notFound, "Archive policy \(try request.string("name")) does not exist")
            }
            return describe(policy)
        case "list_archive_policies":
            return try await indexer.archivePolicies().map(describe)
        case "delete_archive_policy":
            try await indexer.deleteArchivePolicy(named: try request.string("name"))
            directory.forgetPolicy(try request.string("name"))
            return [String: Any]()
        case "create_archive_policy_rule":
            let rule = try ArchivePolicyRule(
                name: try request.string("name"), metricPattern: try request.string("metric_pattern"),
                archivePolicyName: try request.string("archive_policy_name"))
            try await indexer.createRule(rule)
            return describe(rule)
        case "list_archive_policy_rules":
            return try await indexer.rules().map(describe)
        case "delete_archive_policy_rule":
            try await indexer.deleteRule(named: try request.string("name"))
            return [String: Any]()
        case "create_metric":
            let name = try request.string("name")
            _ = try PutParser.metricName(Array(name.utf8))
            let record: MetricRecord
            if let policy = request.optionalString("archive_policy_name") {
                record = try await indexer.createMetric(
                    name: name, archivePolicyName: policy, unit: request.optionalString("unit"))
            } else {
                guard let rule = ArchivePolicyRule.match(name, in: try await indexer.rules()) else {
                    throw ProtocolError(.badRequest, "No archive policy name specified and no rule matches \(name)")
                }
                record = try await indexer.createMetric(
                    name: name, archivePolicyName: rule.archivePolicyName, unit: request.optionalString("unit"))
            }
            return try await describe(record)
        case "get_metric":
            return try await describe(try await requireMetric(try request.string("name")))
        case "delete_metric":
            let record = try await indexer.deleteMetric(named: try request.string("name"))
            directory.forget(record)
            try await storage.deleteMetric(record.id)
            return [String: Any]()
        case "list_metrics":
            let limit = min(max(request.optionalInt("limit") ?? 1000, 1), 10_000)
            let records = try await indexer.metrics(
                prefix: request.optionalString("prefix") ?? "", after: request.optionalString("marker"), limit: limit)
            return [
                "metrics": records.map { ["name": $0.name, "archive_policy_name": $0.archivePolicyName] },
                "next_marker": records.count == limit ? (records.last?.name as Any) : NSNull(),
            ]
        case "get_measures":
            return ["measures": try await measures(request)]
        case "aggregates":
            return try await aggregates(request)
        default:
            throw ProtocolError(.badRequest, "unknown op '\(op)'")
        }
    }

    private func requireMetric(_ name: String) async throws -> MetricRecord {
        guard let record = try await directory.metric(named: name) else {
            throw ProtocolError(.notFound, "Metric \(name) does not exist")
        }
        return record
    }

    private func measures(_ request: Request) async throws -> JSONFragment {
        let record = try await requireMetric(try request.string("metric"))
        guard let policy = try await directory.policy(named: record.archivePolicyName) else {
            throw ProtocolError(.internal, "the policy of \(record.name) is missing")
        }
        let methodName = request.optionalString("aggregation") ?? "mean"
        guard let method = policy.aggregationMethods.first(where: { $0.name == methodName }) else {
            throw ProtocolError(
                .notFound, "Aggregation method '\(methodName)' does not exist for metric \(record.name)")
        }
        let start = try request.timestamp("start")
        let stop = try request.timestamp("stop")
        var items = policy.definition
        if let granularity = try request.duration("granularity") {
            guard let item = policy.item(granularity: granularity) else {
                throw ProtocolError(
                    .notFound,
                    "Aggregation method '\(methodName)' at granularity \(granularity) does not exist for \(record.name)"
                )
            }
            items = [item]
        }
        let resample = try request.duration("resample")
        if resample != nil && request.raw["granularity"] == nil {
            throw ProtocolError(.badRequest, "A granularity must be specified to resample")
        }
        if request.optionalBool("refresh") == true { try await refresh(record.id, policy) }
        var segments: [JSONWriter.PointSegment] = []
        for item in items.sorted(by: { $0.granularity > $1.granularity }) {
            let aggregation = Aggregation(method: method, granularity: item.granularity, timespan: item.timespan)
            let key = AggregationKey(aggregation)
            let from = start.map { SplitKey(containing: $0, granularity: item.granularity) }
            let to = stop.map { SplitKey(containing: $0, granularity: item.granularity) }
            let stored = try await storage.readAggregate(record.id, key, from: from, to: to)
            let points = AggregateReader.read(
                stored, aggregation: aggregation, start: start, stop: stop, resample: resample)
            segments.append(
                JSONWriter.PointSegment(
                    timestamps: points.timestamps, granularity: Double(resample ?? item.granularity) / 1e9,
                    values: points.values))
        }
        return JSONWriter.pointRows(segments)
    }

    /// Gnocchi's cross-metric aggregation over the operations language.
    private func aggregates(_ request: Request) async throws -> Any {
        let operations = try Operations(parsing: try request.string("operations"))
        var records: [String: MetricRecord] = [:]
        var policies: [String: ArchivePolicy] = [:]
        for reference in operations.references where records[reference.metric] == nil {
            let record = try await requireMetric(reference.metric)
            records[reference.metric] = record
            policies[reference.metric] = try await directory.policy(named: record.archivePolicyName)
        }
        let start = try request.timestamp("start")
        let stop = try request.timestamp("stop")
        let granularities = try CrossAggregation.granularities(
            for: operations, policies: policies, requested: try request.duration("granularity"))
        // As Gnocchi's POST /v1/aggregates: with neither fill nor needed_overlap, dropna.
        var fill: Fill?
        if let text = request.raw["fill"] {
            let string = (text as? String) ?? (text as? NSNumber)?.stringValue ?? ""
            guard let parsed = Fill(string) else {
                throw ProtocolError(
                    .badRequest,
                    "fill must be a number, 'dropna', 'null', 'ffill', 'bfill', 'full_ffill' or 'full_bfill'")
            }
            fill = parsed
        }
        let neededOverlap = (request.raw["needed_overlap"] as? NSNumber).map { Double(truncating: $0) }
        if fill == nil && neededOverlap == nil { fill = .dropna }
        var series: [Nanoseconds: [TimeSeries]] = [:]
        for granularity in granularities {
            var columns: [TimeSeries] = []
            for reference in operations.references {
                let record = records[reference.metric]!
                let policy = policies[reference.metric]!
                let item = policy.item(granularity: granularity)!
                let method = policy.aggregationMethods.first { $0.name == reference.aggregation }!
                let aggregation = Aggregation(method: method, granularity: granularity, timespan: item.timespan)
                let stored = try await storage.readAggregate(
                    record.id, AggregationKey(aggregation),
                    from: start.map { SplitKey(containing: $0, granularity: granularity) },
                    to: stop.map { SplitKey(containing: $0, granularity: granularity) })
                columns.append(AggregateReader.read(stored, aggregation: aggregation, start: start, stop: stop))
            }
            series[granularity] = columns
        }
        func rows(_ points: [AggregatePoint]) -> JSONFragment {
            // One granularity per series point; group runs of equal granularity.
            var segments: [JSONWriter.PointSegment] = []
            var start = points.startIndex
            while start < points.endIndex {
                let granularity = points[start].granularity
                var end = start
                while end < points.endIndex && points[end].granularity == granularity { end += 1 }
                segments.append(
                    JSONWriter.PointSegment(
                        timestamps: points[start..<end].map(\.timestamp), granularity: Double(granularity) / 1e9,
                        values: points[start..<end].map(\.value)))
                start = end
            }
            return JSONWriter.pointRows(segments)
        }
        switch try CrossAggregation.evaluate(
            operations, series: series, start: start, stop: stop, neededOverlap: neededOverlap ?? 100, fill: fill)
        {
        case .aggregated(let points):
            return ["aggregated": rows(points)]
        case .perReference(let results):
            var output: [String: [String: Any]] = [:]
            for (reference, points) in results {
                output[reference.metric, default: [:]][reference.aggregation] = rows(points)
            }
            return output
        }
    }

    /// Processes the metric's pending measures under its lease, waiting up to 10 s for it.
    private func refresh(_ metric: MetricID, _ policy: ArchivePolicy) async throws {
        let cycle = ProcessingCycle(storage: storage)
        let instruments = CycleInstruments(counters: counters)
        let deadline = ContinuousClock.now + .seconds(10)
        while true {
            let started = ContinuousClock.now
            switch try await cycle.process(metric, policy: policy) {
            case .idle: return
            case .processed(let measures, let dropped, let more):
                instruments.processed(measures: measures, droppedTooOld: dropped, since: started)
                if !more { return }
            case .busy:
                guard ContinuousClock.now < deadline else {
                    throw ProtocolError(.unavailable, "Unable to refresh metric: it is locked. Please try again.")
                }
                try await Task.sleep(for: .milliseconds(50))
            }
        }
    }

    private func makePolicy(_ request: Request) throws -> ArchivePolicy {
        guard let definition = request.raw["definition"] as? [[String: Any]], !definition.isEmpty else {
            throw ProtocolError(.badRequest, "definition: a list of {granularity, points} or {granularity, timespan}")
        }
        let items = try definition.map { entry in
            let item = Request(entry)
            return try ArchivePolicyItem(
                granularity: try item.duration("granularity"), points: item.optionalInt("points"),
                timespan: try item.duration("timespan"))
        }
        var methods = AggregationMethod.defaults
        if let names = request.raw["aggregation_methods"] as? [String] {
            methods = try ArchivePolicy.resolveAggregationMethods(names)
        }
        return try ArchivePolicy(
            name: try request.string("name"), backWindow: request.optionalInt("back_window") ?? 0, definition: items,
            aggregationMethods: methods)
    }

    private func describe(_ policy: ArchivePolicy) -> [String: Any] {
        [
            "name": policy.name, "back_window": policy.backWindow,
            "aggregation_methods": policy.aggregationMethods.map(\.name),
            "definition": policy.definition.map { item -> [String: Any] in
                [
                    "granularity": Double(item.granularity) / 1e9, "points": item.points as Any? ?? NSNull(),
                    "timespan": item.timespan.map { Double($0) / 1e9 } as Any? ?? NSNull(),
                ]
            },
        ]
    }

    private func describe(_ rule: ArchivePolicyRule) -> [String: Any] {
        ["name": rule.name, "metric_pattern": rule.metricPattern, "archive_policy_name": rule.archivePolicyName]
    }

    private func describe(_ record: MetricRecord) async throws -> [String: Any] {
        let counters = try await storage.counters(record.id)
        var result: [String: Any] = [
            "name": record.name, "id": record.id.rawValue, "archive_policy_name": record.archivePolicyName,
            "counters": [
                "measures_processed": counters.measuresProcessed, "measures_dropped_too_old": counters.droppedTooOld,
                "duplicates_replaced": counters.duplicatesReplaced,
            ],
        ]
        if let policy = try await directory.policy(named: record.archivePolicyName) {
            result["archive_policy"] = describe(policy)
        }
        result["unit"] = record.unit ?? NSNull()
        return result
    }
}

/// Typed access to a JSON request's fields, with the protocol's errors.
struct Request {
    let raw: [String: Any]
    init(_ raw: [String: Any]) { self.raw = raw }

    func string(_ key: String) throws -> String {
        guard let value = raw[key] as? String, !value.isEmpty else {
            throw ProtocolError(.badRequest, "\"\(key)\" must be a non-empty string")
        }
        return value
    }

    func optionalString(_ key: String) -> String? { raw[key] as? String }
    func optionalBool(_ key: String) -> Bool? { raw[key] as? Bool }

    func optionalInt(_ key: String) -> Int? {
        (raw[key] as? NSNumber).flatMap {
            Double(truncating: $0) == Double(Int(truncating: $0)) ? Int(truncating: $0) : nil
        }
    }

    /// A timestamp: ISO 8601 with a zone, or seconds since the epoch.
    func timestamp(_ key: String) throws -> Nanoseconds? {
        guard let value = raw[key], !(value is NSNull) else { return nil }
        if let text = value as? String, let parsed = Timestamps.parseISO8601(text) { return parsed }
        if let number = value as? NSNumber, !isBoolean(number) {
            let seconds = Double(truncating: number)
            if seconds.isFinite, seconds >= 0, seconds < 9.2e9 { return Nanoseconds((seconds * 1e9).rounded()) }
        }
        throw ProtocolError(
            .badRequest, "\"\(key)\" must be an ISO 8601 timestamp with a zone, or seconds since the epoch")
    }

    /// A duration in seconds.
    func duration(_ key: String) throws -> Nanoseconds? {
        guard let value = raw[key], !(value is NSNull) else { return nil }
        guard let number = value as? NSNumber, !isBoolean(number) else {
            throw ProtocolError(.badRequest, "\"\(key)\" must be a number of seconds")
        }
        let seconds = Double(truncating: number)
        guard seconds.isFinite, seconds > 0, seconds < 1e10 else {
            throw ProtocolError(.badRequest, "\"\(key)\" must be a positive number of seconds")
        }
        return Nanoseconds(seconds * 1e9)
    }
}

/// Whether a number from JSONSerialization was `true` or `false` in the text:
/// on Linux a JSON 1 also bridges to Bool, so ask for the stored type instead.
func isBoolean(_ number: NSNumber) -> Bool {
    String(cString: number.objCType) == "c"
}
