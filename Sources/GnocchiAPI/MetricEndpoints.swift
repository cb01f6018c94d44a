import Foundation
import Services
import Storage
import Timeseries
import WireProtocol

/// `/v1/metric` and `/v1/metric/{id}[/measures]`, as Gnocchi 4.7.1 answers
/// them. Metrics are addressed by their UUID; the mapping onto Orzo's unique
/// names is in docs/http-api.md, "Metric identity".
extension GnocchiAPI {
    func metrics(_ request: APIRequest, _ path: [String], _ user: APIUser) async throws -> APIResponse {
        if path.isEmpty {
            try allow(request, ["GET", "POST"])
            return request.method == "GET"
                ? try await listMetrics(request, user) : try await createMetric(request, user)
        }
        // Gnocchi answers 404 for an id that is not a UUID, as for an unknown one.
        guard let id = MetricID(uuid: path[0]), let record = try await directory.metric(id: id) else {
            throw APIError.notFound("Metric \(path[0]) does not exist")
        }
        switch path.count {
        case 1:
            try allow(request, ["GET", "DELETE"])
            if request.method == "GET" {
                try user.require(.read, record)
                return .json(200, try await document(record, detailed: true))
            }
            try user.require(.delete, record)
            let deleted: MetricRecord
            do { deleted = try await indexer.deleteMetric(named: record.name, id: record.id) } catch IndexerError
                .notFound
            {
                throw APIError.notFound("Metric \(path[0]) does not exist")
            }
            directory.forget(deleted)
            try await storage.deleteMetric(deleted.id)
            return APIResponse(status: 204)
        case 2 where path[1] == "measures":
            try allow(request, ["GET", "POST"])
            if request.method == "POST" {
                try user.require(.write, record)
                let measures = try counted { try Self.measures(from: try jsonBody(request)) }
                try await append([record.id: measures])
                return APIResponse(status: 202)
            }
            try user.require(.read, record)
            return try await readMeasures(request, record)
        default:
            throw APIError.notFound("The resource could not be found.")
        }
    }

    // MARK: Creation and listing

    private func createMetric(_ request: APIRequest, _ user: APIUser) async throws -> APIResponse {
        let fields = try SchemaFields(
            try jsonBody(request), allowed: ["archive_policy_name", "resource_id", "name", "unit"])
        let name = try fields.optionalString("name")
        let unit = try fields.optionalString("unit")
        if let unit, unit.count > 31 {
            throw APIError.invalidInput(
                "length of value must be at most 31 for dictionary value @ data['unit']", path: ["unit"])
        }
        var policyName = try fields.optionalString("archive_policy_name")
        if fields.object["resource_id"] != nil {
            throw APIError(501, "Resources are not supported yet: a metric cannot be attached to one")
        }
        if let name, name.contains("/") { throw APIError.badRequest("'/' is not supported in metric name") }
        if let name {
            // A name may become the metric's ZeroMQ address: the protocol's rules
            // (1 to 255 bytes, no control characters) apply to it.
            do { _ = try PutParser.metricName(Array(name.utf8)) } catch {
                throw APIError.invalidInput("\(error.message) for dictionary value @ data['name']", path: ["name"])
            }
        }
        if policyName == nil {
            guard let name, let rule = ArchivePolicyRule.match(name, in: try await indexer.rules()) else {
                throw APIError.badRequest(
                    "No archive policy name specified and no archive policy rule found matching the metric name "
                        + (name ?? "None"))
            }
            policyName = rule.archivePolicyName
        }
        guard let policyName, try await directory.policy(named: policyName) != nil else {
            throw APIError.badRequest("Archive policy \(policyName ?? "None") does not exist")
        }
        // The address: the name itself when free, else the id (docs/http-api.md).
        var record: MetricRecord?
        if let name {
            do {
                record = try await indexer.createMetric(
                    name: name, archivePolicyName: policyName, unit: unit, creator: user.name)
            } catch IndexerError.conflict {}
        }
        if record == nil {
            let id = MetricID.random()
            let created = MetricRecord(
                id: id, name: id.uuidString, archivePolicyName: policyName, unit: unit,
                createdAt: wallClockNanoseconds(), gnocchiName: .some(name), creator: user.name)
            try await indexer.createMetric(created)
            record = created
        }
        let created = record!
        return .json(
            201, try await document(created, detailed: false, nestPolicy: false),
            headers: [("Location", "\(request.base)/v1/metric/\(created.id.uuidString)")])
    }

    private func listMetrics(_ request: APIRequest, _ user: APIUser) async throws -> APIResponse {
        var query = MetricListQuery(limit: configuration.maxLimit)
        if let text = request.queryValue("limit") {
            guard let limit = Int(text.trimmingCharacters(in: .whitespaces)), limit >= 1 else {
                throw APIError(
                    400,
                    description: [
                        "cause": "Argument value error",
                        "reason": .string(
                            Int(text) == nil
                                ? "expected int for dictionary value @ data['limit']"
                                : "value must be at least 1 for dictionary value @ data['limit']"),
                    ])
            }
            query.limit = min(limit, configuration.maxLimit)
        }
        let sortTexts = request.queryValues("sort").isEmpty ? ["id:asc"] : request.queryValues("sort")
        for text in sortTexts {
            let parts = text.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
            let key = parts[0].trimmingCharacters(in: .whitespaces)
            let direction = parts.count > 1 ? String(parts[1]) : "asc"
            guard let attribute = MetricListQuery.Attribute(rawValue: key) else {
                throw APIError.badRequest("Invalid pagination: `Sort key supplied is invalid: \(key)'")
            }
            guard
                ["asc", "desc", "asc-nullsfirst", "asc-nullslast", "desc-nullsfirst", "desc-nullslast"]
                    .contains(direction)
            else {
                throw APIError.badRequest(
                    "Invalid pagination: `Unknown sort direction, must be one of: asc-nullsfirst, asc-nullslast, "
                        + "desc-nullsfirst, desc-nullslast'")
            }
            if attribute != .id || query.sorts.allSatisfy({ $0.attribute != .id }) {
                query.sorts.append((attribute, direction.hasPrefix("asc")))
            }
        }
        if let marker = request.queryValue("marker") {
            guard let id = MetricID(uuid: marker) else {
                throw APIError.badRequest("Invalid pagination: `Invalid marker: `\(marker)''")
            }
            query.marker = id
        }
        for attribute in [MetricListQuery.Attribute.id, .name, .unit, .archivePolicyName] {
            if let value = request.queryValue(attribute.rawValue) { query.filters[attribute] = value }
        }
        // Gnocchi's compatibility filters: user_id and project_id make a creator.
        let userID = request.queryValue("user_id")
        let projectID = request.queryValue("project_id")
        if userID != nil || projectID != nil {
            query.filters[.creator] = (userID ?? "") + ":" + (projectID ?? "")
        } else if let creator = request.queryValue("creator") {
            query.filters[.creator] = creator
        }
        if let status = request.queryValue("status") {
            guard status == "active" || status == "delete" else {
                throw APIError.badRequest(
                    "Invalid input: not a valid value for dictionary value @ data['status']")
            }
            // Orzo deletes at once: no metric is ever in the "delete" state.
            if status == "delete" { return .json(200, []) }
        }
        let records: [MetricRecord]
        do { records = try await indexer.metrics(matching: query) } catch IndexerError.invalid(let message) {
            throw APIError.badRequest(message)
        }
        var documents: [JSONValue] = []
        for record in records { documents.append(try await document(record, detailed: false)) }
        var headers: [(name: String, value: String)] = []
        if records.count >= query.limit, let last = records.last {
            headers.append(("Link", nextLink(request, marker: last.id.uuidString)))
        }
        return .json(200, .array(documents), headers: headers)
    }

    /// Gnocchi's `Link: <url?…>; rel="next"`: the request's parameters, the
    /// marker replaced, sorted by name, form-encoded.
    private func nextLink(_ request: APIRequest, marker: String) -> String {
        var parameters = request.query.filter { $0.name != "marker" }
        if !parameters.contains(where: { $0.name == "limit" }) {
            parameters.append(("limit", String(configuration.maxLimit)))
        }
        if !parameters.contains(where: { $0.name == "sort" }) { parameters.append(("sort", "id:asc")) }
        parameters.append(("marker", marker))
        let encoded = parameters.enumerated().sorted { ($0.element.name, $0.offset) < ($1.element.name, $1.offset) }
            .map { Self.formEncoded($0.element.name) + "=" + Self.formEncoded($0.element.value) }
            .joined(separator: "&")
        return "<\(request.base)\(request.path)?\(encoded)>; rel=\"next\""
    }

    /// Python's `urlencode` (`quote_plus`): unreserved characters kept, spaces as `+`.
    static func formEncoded(_ text: String) -> String {
        var output = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
                UInt8(ascii: "~"):
                output.unicodeScalars.append(Unicode.Scalar(byte))
            case UInt8(ascii: " "): output += "+"
            default: output += String(format: "%%%02X", byte)
            }
        }
        return output
    }

    /// Gnocchi's metric document: `archive_policy` nested (or only its name, in
    /// a creation's reply); `resource` null when `detailed` (a metric read
    /// alone), else `resource_id`.
    func document(_ record: MetricRecord, detailed: Bool, nestPolicy: Bool = true) async throws -> JSONValue {
        var document: [String: JSONValue] = [
            "id": .string(record.id.uuidString),
            "creator": record.creator.map { .string($0) } ?? .null,
            "name": record.gnocchiName.map { .string($0) } ?? .null,
            "unit": record.unit.map { .string($0) } ?? .null,
        ]
        if detailed { document["resource"] = .null } else { document["resource_id"] = .null }
        if nestPolicy, let policy = try await directory.policy(named: record.archivePolicyName) {
            document["archive_policy"] = Self.document(policy)
        } else {
            document["archive_policy_name"] = .string(record.archivePolicyName)
        }
        if let creator = record.creator {
            let parts = creator.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
            document["created_by_user_id"] = .string(String(parts[0]))
            document["created_by_project_id"] = .string(parts.count > 1 ? String(parts[1]) : "")
        } else {
            document["created_by_user_id"] = .null
            document["created_by_project_id"] = .null
        }
        return .object(document)
    }

    // MARK: Measures

    /// A refused list of measures: Gnocchi's error, and the counter its
    /// measures are counted under (a refusal refuses the whole list).
    struct MeasuresRefusal: Error {
        let error: APIError
        let counter: ServiceCounters.Name
        let measures: Int
    }

    /// Parses measures, counting those a refusal rejects (docs/operations.md's
    /// `orzo_ingest_measures_rejected_total`, as over ZeroMQ).
    func counted<T>(_ body: () throws -> T) throws -> T {
        do { return try body() } catch let refusal as MeasuresRefusal {
            counters.add(refusal.counter, max(refusal.measures, 1))
            throw refusal.error
        }
    }

    /// Gnocchi's `MeasuresListSchema`: `[{"timestamp": …, "value": …}, …]`.
    static func measures(from body: JSONValue) throws(MeasuresRefusal) -> [Measure] {
        guard case .array(let entries) = body else {
            throw MeasuresRefusal(
                error: .invalidInput("unexpected measures format"), counter: .messagesMalformed, measures: 1)
        }
        var timestamps: [JSONValue] = []
        var values: [JSONValue] = []
        timestamps.reserveCapacity(entries.count)
        values.reserveCapacity(entries.count)
        for entry in entries {
            guard case .object(let object) = entry, let timestamp = object["timestamp"] else {
                throw MeasuresRefusal(
                    error: .invalidInput("unexpected measures format"), counter: .messagesMalformed, measures: 1)
            }
            timestamps.append(timestamp)
            values.append(object["value"] ?? .null)
        }
        let times: [Nanoseconds]
        do { times = try GnocchiTimestamps.parse(timestamps) } catch {
            throw MeasuresRefusal(
                error: .invalidInput("unexpected timestamp '\(error.message)'"), counter: .measuresRejectedTimestamp,
                measures: entries.count)
        }
        var measures: [Measure] = []
        measures.reserveCapacity(entries.count)
        for (time, value) in zip(times, values) {
            let number: Double?
            switch value {
            case .number(let double): number = double
            case .bool(let flag): number = flag ? 1 : 0
            case .string(let text): number = Double(text.trimmingCharacters(in: .whitespaces))
            default: number = nil
            }
            // Orzo stores finite values only (docs/http-api.md, deliberate differences).
            guard let number, number.isFinite else {
                throw MeasuresRefusal(
                    error: .invalidInput("unexpected measures value"), counter: .measuresRejectedNonFinite,
                    measures: entries.count)
            }
            measures.append(Measure(timestamp: time, value: number))
        }
        return measures
    }

    /// Appends measures to metrics known by id. The index generation is read
    /// before and after: if a metric was deleted meanwhile, its measures may
    /// have landed under the deleted id (workers remove them), and the put is
    /// refused for it as Gnocchi would have.
    func append(_ batches: [MetricID: [Measure]]) async throws {
        let ticket = try await directory.ticket()
        try await storage.appendMeasures(batches.filter { !$0.value.isEmpty })
        counters.add(.measuresAccepted, batches.values.reduce(0) { $0 + $1.count })
        metricd?.wake()  // orzo serve: no need to wait for the next scan
        if try await directory.isCurrent(ticket) { return }
        try await directory.refresh()
        for id in batches.keys where try await directory.metric(id: id) == nil {
            throw APIError.notFound("Metric \(id.uuidString) does not exist")
        }
    }

    func readMeasures(_ request: APIRequest, _ record: MetricRecord) async throws -> APIResponse {
        guard let policy = try await directory.policy(named: record.archivePolicyName) else {
            throw APIError(500, "The archive policy of metric \(record.id.uuidString) is missing")
        }
        let method = request.queryValue("aggregation") ?? "mean"
        var resample: Nanoseconds?
        var calendar: CalendarPeriod?
        if let text = request.queryValue("resample"), !text.isEmpty {
            guard request.queryValue("granularity") != nil else {
                throw APIError.badRequest("A granularity must be specified to resample")
            }
            calendar = CalendarPeriod(rawValue: text)
            if calendar == nil { resample = try Self.resamplePeriod(text) }
        }
        let start = try Self.queryTimestamp(request, "start")
        let stop = try Self.queryTimestamp(request, "stop")
        var granularities = policy.definition.map(\.granularity)
        if let text = request.queryValue("granularity") {
            granularities = [try Self.timespan(text, detail: "granularity")]
        }
        guard let aggregationMethod = policy.aggregationMethods.first(where: { $0.name == method }) else {
            throw APIError(
                404,
                description: [
                    "cause": "Aggregation method does not exist for this metric",
                    "detail": ["metric": .string(record.id.uuidString), "aggregation_method": .string(method)],
                ])
        }
        if calendar != nil && aggregationMethod.isRate {
            // Gnocchi fails with a 500 here (carbonara's TypeError); Orzo refuses the request.
            throw APIError.badRequest("Cannot derive aggregates on calendar granularities.")
        }
        var items: [ArchivePolicyItem] = []
        for granularity in granularities.sorted(by: >) {
            guard let item = policy.item(granularity: granularity) else {
                throw APIError.notFound(
                    "Aggregation method '\(method)' at granularity '\(Self.pythonFloat(granularity))' for metric "
                        + "\(record.id.uuidString) does not exist")
            }
            items.append(item)
        }
        if let text = request.queryValue("refresh"), try Self.bool("refresh", text) {
            try await refresh(record, policy)
        }
        var rows = GnocchiJSON.MeasureRows()
        for item in items {
            let aggregation = Aggregation(
                method: aggregationMethod, granularity: item.granularity, timespan: item.timespan)
            let stored = try await storage.readAggregate(
                record.id, AggregationKey(aggregation),
                from: start.map { SplitKey(containing: $0, granularity: item.granularity) },
                to: stop.map { SplitKey(containing: $0, granularity: item.granularity) })
            let points = AggregateReader.read(
                stored, aggregation: aggregation, start: start, stop: stop, resample: resample, calendar: calendar)
            // A calendar period is written as its letter, in quotes, as Gnocchi writes it.
            let granularity = Array(
                (calendar.map { "\"\($0.rawValue)\"" }
                    ?? GnocchiJSON.pythonFloat(Double(resample ?? item.granularity) / 1e9)).utf8)
            rows.append(timestamps: points.timestamps, values: points.values, granularity: granularity)
        }
        return APIResponse(status: 200, headers: [("Content-Type", "application/json")], body: rows.finished())
    }

    func refresh(_ record: MetricRecord, _ policy: ArchivePolicy) async throws {
        let refresher = MetricRefresher(
            storage: storage, counters: counters, metricd: metricd,
            leaseWait: configuration.refreshLeaseWait)
        do { try await refresher.refresh(record.id, policy) } catch let error as RefreshError {
            switch error {
            case .locked:
                throw APIError(
                    503, "Unable to refresh metric: \(record.id.uuidString). Metric is locked. Please try again.")
            case .quarantined(let reason):
                throw APIError(500, "Unable to refresh metric \(record.id.uuidString): it is quarantined (\(reason))")
            case .quarantinedNow:
                throw APIError(
                    500, "Unable to refresh metric \(record.id.uuidString): its processing failed and it is quarantined"
                )
            }
        }
    }

    // MARK: Query parameters

    /// Gnocchi's `to_timespan` on a query parameter: 400 with `detail` when given.
    static func timespan(_ text: String, detail: String?) throws -> Nanoseconds {
        do { return try GnocchiDurations.timespan(.text(text)) } catch {
            throw detail.map { argumentError($0, error.reason) } ?? APIError.badRequest(error.reason)
        }
    }

    /// A `resample` period in seconds: a timespan the engine can group by
    /// (1 ns to 28 days, as the ZeroMQ protocol allows: a bucket's end is its
    /// start plus the period, which must stay inside `Int64` nanoseconds).
    static func resamplePeriod(_ text: String) throws -> Nanoseconds {
        let period = try timespan(text, detail: nil)
        guard period <= Limits.maxGranularity else {
            throw APIError.badRequest("A resample period lies from \(Limits.granularityRangeText)")
        }
        return period
    }

    static func queryTimestamp(_ request: APIRequest, _ name: String) throws -> Nanoseconds? {
        guard let text = request.queryValue(name) else { return nil }
        do { return try GnocchiTimestamps.parse(text) } catch {
            throw argumentError(name, "Must be a datetime or a timestamp")
        }
    }

    static func argumentError(_ detail: String, _ reason: String) -> APIError {
        APIError(
            400, description: ["cause": "Argument value error", "detail": .string(detail), "reason": .string(reason)])
    }

    /// `needed_overlap`: a percentage; nil when absent.
    static func queryNeededOverlap(_ request: APIRequest) throws -> Double? {
        guard let text = request.queryValue("needed_overlap") else { return nil }
        guard let value = Double(text.trimmingCharacters(in: .whitespaces)), value.isFinite else {
            throw argumentError("needed_overlap", "Must be a number")
        }
        return value
    }

    /// `fill`: a number, `null`, `dropna` or a fill method; nil when absent.
    static func queryFill(_ request: APIRequest) throws -> Fill? {
        guard let text = request.queryValue("fill") else { return nil }
        guard let fill = Fill(text) else {
            throw argumentError(
                "fill", "Must be a float, 'dropna', 'null', 'ffill', 'bfill', 'full_ffill' or 'full_bfill'")
        }
        return fill
    }

    /// oslo's `bool_from_string(strict=True)`.
    static func bool(_ name: String, _ text: String) throws -> Bool {
        switch text.trimmingCharacters(in: .whitespaces).lowercased() {
        case "1", "t", "true", "on", "y", "yes": return true
        case "0", "f", "false", "off", "n", "no": return false
        default:
            throw APIError.badRequest(
                "Unable to parse `\(name)': Unrecognized value '\(text)', acceptable values are: '0', '1', 'f', "
                    + "'false', 'n', 'no', 'off', 'on', 't', 'true', 'y', 'yes'")
        }
    }

    /// Seconds as Python prints a float: `42.0`, `0.5`.
    static func pythonFloat(_ nanoseconds: Nanoseconds) -> String {
        GnocchiJSON.pythonFloat(Double(nanoseconds) / 1e9)
    }
}

/// What a user may do to a metric, by Gnocchi's policy table in basic mode:
/// admins anything, creators their metrics. Metrics made over ZeroMQ have no
/// creator: any user may read them and write their measures, as any ZeroMQ
/// client may; only admins delete them (docs/http-api.md).
enum MetricAction { case read, write, delete }

extension APIUser {
    func require(_ action: MetricAction, _ record: MetricRecord) throws {
        if isAdmin { return }
        guard let creator = record.creator else {
            if action == .delete { throw APIError.forbidden }
            return
        }
        let creatorUser = creator.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)[0]
        if creatorUser != name { throw APIError.forbidden }
    }
}

extension SchemaFields {
    func optionalString(_ key: String) throws -> String? {
        guard let value = object[key], value != .null else { return nil }
        guard case .string(let text) = value else {
            throw APIError.invalidInput(
                "expected str for dictionary value\(Self.location(path + [key]))", path: path + [key])
        }
        return text
    }
}
