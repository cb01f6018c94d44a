import AccessControl
import Logging
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
    /// Requests answered at once; one more is refused with `unavailable` (busy)
    /// rather than queued behind slow ones.
    public var maxConcurrentRequests = 64
    /// The longest a request may take before it is answered `unavailable`.
    public var requestDeadline: Duration = .seconds(15)
    /// CURVE and client roles on the socket (docs/security.md); nil: an open socket.
    public var security: ServerSecurity?
    /// How long `refresh` waits for a metric's lease held elsewhere.
    public var refreshLeaseWait: Duration = .seconds(10)
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

    /// Serves until cancelled. The socket's owner (this task) only receives and
    /// sends; each request is answered in a task of its own, so a slow one (a
    /// `refresh` waiting on a lease) never delays the others. Answers come back
    /// through a queue and a wakeup of the owner.
    public func run(endpoint: String, ready: @Sendable () -> Void = {}) async throws {
        let socket = try ZMQSocket(context, type: .router)
        try socket.set(.maxMessageSize(maxMessageSize))
        try security?.configure(socket)
        try socket.bind(endpoint)
        ready()
        defer { socket.close() }
        let wakeup = try ZMQWakeup()
        let outbox = Outbox()
        try await withThrowingDiscardingTaskGroup { group in
            defer { group.cancelAll() }
            while !Task.isCancelled {
                for reply in outbox.take() {
                    // ROUTER drops, never blocks, for a peer that is gone or full.
                    _ = try await socket.send(reply, timeout: .seconds(1))
                }
                guard let message = try await socket.receiveMessage(timeout: .milliseconds(250), wakeup: wakeup),
                    message.parts.count >= 2
                else { continue }
                let frames = message.parts
                let access = Access(userID: message.userID, authenticated: security != nil)
                let isRequest = frames[1].isEmpty
                let envelope = Array(frames.prefix(isRequest ? 2 : 1))
                let payload = Array(frames.dropFirst(envelope.count))
                if outbox.inFlight.load(ordering: .relaxed) >= maxConcurrentRequests {
                    counters.add(.queriesBusy)
                    let busy = ProtocolError(
                        .unavailable, "the query service is answering \(maxConcurrentRequests) requests; retry")
                    _ = try await socket.send(
                        envelope + [Array(Verb.error.utf8), ErrorReply(busy).encoded()], timeout: .seconds(1))
                    continue
                }
                outbox.inFlight.add(1, ordering: .relaxed)
                group.addTask {
                    let (verb, body) = await self.handle(payload, deadline: self.requestDeadline, access: access)
                    outbox.put(envelope + [Array(verb.utf8), body])
                    wakeup.ring()
                }
            }
        }
    }

    /// Answers one request within `deadline` (then `unavailable`, and the work is cancelled).
    public func handle(_ payload: [[UInt8]], deadline: Duration, access: Access = .open) async -> (String, [UInt8]) {
        await withTaskGroup(of: (String, [UInt8])?.self) { group in
            group.addTask { await self.handle(payload, access: access) }
            group.addTask {
                try? await Task.sleep(for: deadline)
                return Task.isCancelled ? nil : (Verb.error, [])
            }
            var answer: (String, [UInt8])?
            while answer == nil, let next = await group.next() { answer = next }
            group.cancelAll()
            guard let answer, !(answer.0 == Verb.error && answer.1.isEmpty) else {
                counters.add(.queriesTimedOut)
                let late = ProtocolError(.unavailable, "the request took longer than its deadline of \(deadline)")
                return (Verb.error, ErrorReply(late).encoded())
            }
            return answer
        }
    }

    /// Answers one request (verb frame, JSON frame).
    public func handle(_ payload: [[UInt8]], access: Access = .open) async -> (String, [UInt8]) {
        counters.add(.queries)
        do {
            guard let verb = payload.first, verb == Array(Verb.query.utf8) else {
                throw ProtocolError(
                    .unknownVerb, "unknown verb '\(PutParser.printable(payload.first ?? []))'")
            }
            guard payload.count == 2 else {
                throw ProtocolError(.badRequest, "a query is one frame holding a JSON object")
            }
            let request = try QueryRequest.decode(payload[1])
            guard access.mayQuery(changing: request.changesState) else {
                counters.add(.requestsForbidden)
                throw ProtocolError(
                    .forbidden,
                    "the role \(access.roleName) may not \(request.changesState ? "change anything" : "query")")
            }
            return (Verb.ok, try await answer(request))
        } catch let error as ProtocolError {
            counters.add(.queryErrors)
            return (Verb.error, ErrorReply(error).encoded())
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
        } catch is CancellationError {
            return (Verb.error, errorBody(.unavailable, "cancelled"))
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
        case .damaged: .internal
        }
    }

    /// Answers; a request answered from cached metrics and policies is confirmed
    /// against the index generation afterwards, and answered again if a delete in
    /// any process may have made what it used stale (``MetricDirectory``).
    private func answer(_ request: QueryRequest) async throws -> [UInt8] {
        switch request {
        case .status, .getMetric, .getMeasures, .aggregates, .releaseQuarantine: break
        default: return try await answerOnce(request)
        }
        for _ in 0..<3 {
            let ticket = try await directory.ticket()
            let reply: Result<[UInt8], any Error>
            do { reply = .success(try await answerOnce(request)) } catch { reply = .failure(error) }
            if try await directory.isCurrent(ticket) { return try reply.get() }
        }
        throw ProtocolError(.unavailable, "metrics were deleted in another process while this was answered; retry")
    }

    private func answerOnce(_ request: QueryRequest) async throws -> [UInt8] {
        let indexer = directory.indexer
        switch request {
        case .capabilities:
            return CapabilitiesReply(aggregationMethods: AggregationMethod.all.map(\.name), version: Self.version).json
                .encoded()
        case .status:
            var metrics = 0
            var measures: Int? = 0
            for sack in 0..<storage.sackCount {
                let pending = try await storage.metricsWithPendingMeasures(inSack: sack)
                metrics += pending.count
                for entry in pending { measures = measures.flatMap { total in entry.measures.map { total + $0 } } }
            }
            var quarantined: [StatusReply.Quarantined] = []
            for (metric, reason) in try await storage.quarantinedMetrics().sorted(by: { $0.key < $1.key }) {
                let name = try await directory.metric(id: metric)?.name ?? metric.rawValue
                quarantined.append(StatusReply.Quarantined(metric: name, reason: reason))
            }
            return StatusReply(
                backlogMetrics: metrics, backlogMeasures: measures,
                workers: metricd.map { [StatusReply.Workers(role: "metricd", workers: $0.workers)] } ?? [],
                counters: counters.snapshot,
                quarantined: quarantined
            ).json.encoded()
        case .createArchivePolicy(let spec):
            let policy = try spec.policy()
            try await indexer.createArchivePolicy(policy)
            return ArchivePolicyReply(policy).json.encoded()
        case .getArchivePolicy(let name):
            guard let policy = try await indexer.archivePolicy(named: name) else {
                throw ProtocolError(.notFound, "Archive policy \(name) does not exist")
            }
            return ArchivePolicyReply(policy).json.encoded()
        case .listArchivePolicies:
            return JSONValue.array(try await indexer.archivePolicies().map { ArchivePolicyReply($0).json }).encoded()
        case .deleteArchivePolicy(let name):
            try await indexer.deleteArchivePolicy(named: name)
            directory.forgetPolicy(name)
            return JSONValue.object([:]).encoded()
        case .createArchivePolicyRule(let spec):
            let rule = try ArchivePolicyRule(
                name: spec.name, metricPattern: spec.metricPattern, archivePolicyName: spec.archivePolicyName)
            try await indexer.createRule(rule)
            return RuleReply(rule).json.encoded()
        case .listArchivePolicyRules:
            return JSONValue.array(try await indexer.rules().map { RuleReply($0).json }).encoded()
        case .deleteArchivePolicyRule(let name):
            try await indexer.deleteRule(named: name)
            return JSONValue.object([:]).encoded()
        case .createMetric(let spec):
            let record: MetricRecord
            if let policy = spec.archivePolicyName {
                record = try await indexer.createMetric(name: spec.name, archivePolicyName: policy, unit: spec.unit)
            } else {
                guard let rule = ArchivePolicyRule.match(spec.name, in: try await indexer.rules()) else {
                    throw ProtocolError(
                        .badRequest, "No archive policy name specified and no rule matches \(spec.name)")
                }
                record = try await indexer.createMetric(
                    name: spec.name, archivePolicyName: rule.archivePolicyName, unit: spec.unit)
            }
            return try await describe(record).json.encoded()
        case .getMetric(let name):
            return try await describe(try await requireMetric(name)).json.encoded()
        case .deleteMetric(let name):
            let record = try await indexer.deleteMetric(named: name)
            directory.forget(record)
            try await storage.deleteMetric(record.id)
            return JSONValue.object([:]).encoded()
        case .listMetrics(let list):
            let limit = list.limit ?? 1000
            let records = try await indexer.metrics(prefix: list.prefix ?? "", after: list.marker, limit: limit)
            return MetricsPage(
                metrics: records.map { MetricsPage.Entry(name: $0.name, archivePolicyName: $0.archivePolicyName) },
                nextMarker: records.count == limit ? records.last?.name : nil
            ).json.encoded()
        case .getMeasures(let query):
            return MeasuresReply.encode(try await measures(query))
        case .aggregates(let query):
            return try await aggregates(query)
        case .releaseQuarantine(let name):
            let record = try await requireMetric(name)
            try await storage.releaseQuarantine(record.id)
            metricd?.quarantine.withLock { $0[record.id] = nil }
            metricd?.wake()
            return JSONValue.object([:]).encoded()
        }
    }

    private func requireMetric(_ name: String) async throws -> MetricRecord {
        guard let record = try await directory.metric(named: name) else {
            throw ProtocolError(.notFound, "Metric \(name) does not exist")
        }
        return record
    }

    private func measures(_ query: QueryRequest.GetMeasures) async throws -> [JSONWriter.PointSegment] {
        let record = try await requireMetric(query.metric)
        guard let policy = try await directory.policy(named: record.archivePolicyName) else {
            throw ProtocolError(.internal, "the policy of \(record.name) is missing")
        }
        let methodName = query.aggregation ?? "mean"
        guard let method = policy.aggregationMethods.first(where: { $0.name == methodName }) else {
            throw ProtocolError(
                .notFound,
                "Aggregation method '\(ProtocolError.printable(methodName))' does not exist for metric \(record.name)")
        }
        var items = policy.definition
        if let granularity = query.granularity {
            guard let item = policy.item(granularity: granularity) else {
                throw ProtocolError(
                    .notFound,
                    "Aggregation method '\(methodName)' at granularity \(Double(granularity) / 1e9) does not exist for "
                        + "\(record.name)")
            }
            items = [item]
        }
        if query.calendar != nil && method.isRate {
            throw ProtocolError(.badRequest, "Cannot derive aggregates on calendar granularities")
        }
        if (query.resample != nil || query.calendar != nil) && query.granularity == nil {
            throw ProtocolError(.badRequest, "A granularity must be specified to resample")
        }
        if query.refresh == true { try await refresh(record.id, policy) }
        var segments: [JSONWriter.PointSegment] = []
        for item in items.sorted(by: { $0.granularity > $1.granularity }) {
            let aggregation = Aggregation(method: method, granularity: item.granularity, timespan: item.timespan)
            let key = AggregationKey(aggregation)
            let from = query.start.map { SplitKey(containing: $0, granularity: item.granularity) }
            let to = query.stop.map { SplitKey(containing: $0, granularity: item.granularity) }
            let stored = try await storage.readAggregate(record.id, key, from: from, to: to)
            let points = AggregateReader.read(
                stored, aggregation: aggregation, start: query.start, stop: query.stop, resample: query.resample,
                calendar: query.calendar)
            segments.append(
                JSONWriter.PointSegment(
                    timestamps: points.timestamps,
                    granularity: query.calendar == nil ? Double(query.resample ?? item.granularity) / 1e9 : 0,
                    values: points.values, period: query.calendar))
        }
        return segments
    }

    /// Gnocchi's cross-metric aggregation over the operations language.
    private func aggregates(_ query: QueryRequest.Aggregates) async throws -> [UInt8] {
        let operations = try Operations(parsing: query.operations)
        var metrics: [String: (record: MetricRecord, policy: ArchivePolicy)] = [:]
        for reference in operations.references where metrics[reference.metric] == nil {
            let record = try await requireMetric(reference.metric)
            guard let policy = try await directory.policy(named: record.archivePolicyName) else {
                throw ProtocolError(.internal, "the policy of \(record.name) is missing")
            }
            metrics[reference.metric] = (record, policy)
        }
        let result = try await CrossMetricReader(storage: storage).evaluate(
            operations, metrics: metrics, start: query.start, stop: query.stop, granularity: query.granularity,
            neededOverlap: query.neededOverlap, fill: query.fill)
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
        switch result {
        case .aggregated(let points):
            return AggregatesReply.encodeAggregated(rows(points))
        case .perReference(let results):
            var output: [String: [String: JSONFragment]] = [:]
            for (reference, points) in results {
                output[reference.metric, default: [:]][reference.aggregation] = rows(points)
            }
            return AggregatesReply.encodePerMetric(output)
        }
    }

    /// Processes the metric's pending measures first (``MetricRefresher``).
    private func refresh(_ metric: MetricID, _ policy: ArchivePolicy) async throws {
        let refresher = MetricRefresher(
            storage: storage, counters: counters, metricd: metricd, leaseWait: refreshLeaseWait)
        do { try await refresher.refresh(metric, policy) } catch let error as RefreshError {
            switch error {
            case .quarantined(let reason):
                throw ProtocolError(.internal, "Unable to refresh metric: it is quarantined (\(reason))")
            case .quarantinedNow(let abandoned):
                throw ProtocolError(
                    .internal,
                    "Unable to refresh metric: it was quarantined, its processing having ended its process "
                        + "\(abandoned) times in a row")
            case .locked:
                throw ProtocolError(.unavailable, "Unable to refresh metric: it is locked. Please try again.")
            }
        }
    }

    private func describe(_ record: MetricRecord) async throws -> MetricReply {
        let counters = try await storage.counters(record.id)
        let policy = try await directory.policy(named: record.archivePolicyName)
        return MetricReply(
            name: record.name, id: record.id.rawValue, archivePolicyName: record.archivePolicyName, unit: record.unit,
            counters: counters, archivePolicy: policy.map(ArchivePolicyReply.init))
    }
}

/// Answers waiting for the socket's owner to send them, and how many requests are being answered.
private final class Outbox: Sendable {
    private let queue = Mutex<[[[UInt8]]]>([])
    let inFlight = Atomic<Int>(0)

    func put(_ reply: [[UInt8]]) {
        queue.withLock { $0.append(reply) }
        inFlight.subtract(1, ordering: .relaxed)
    }

    func take() -> [[[UInt8]]] {
        queue.withLock { queue in
            defer { queue = [] }
            return queue
        }
    }
}
