import Foundation
import Services
import Storage
import Timeseries
import WireProtocol

/// `POST /v1/aggregates` over metric ids: Gnocchi's operations (a string or a
/// nested list), evaluated by the engine the ZeroMQ query service uses
/// (``CrossMetricReader``), with Gnocchi's parameters, errors and shapes.
extension GnocchiAPI {
    func aggregates(_ request: APIRequest, _ path: [String], _ user: APIUser) async throws -> APIResponse {
        guard path.isEmpty else { throw APIError.notFound("The resource could not be found.") }
        try allow(request, ["POST"])
        let details = try request.queryValue("details").map { try Self.bool("details", $0) } ?? false
        let neededOverlap = try Self.queryNeededOverlap(request)
        let start = try Self.queryTimestamp(request, "start")
        let stop = try Self.queryTimestamp(request, "stop")
        let granularity = try request.queryValue("granularity").map { try Self.timespan($0, detail: "granularity") }
        let fill = try Self.queryFill(request)
        let body = try SchemaFields(try jsonBody(request), allowed: ["operations", "resource_type", "search"])
        if body.object["resource_type"] != nil || body.object["search"] != nil {
            throw APIError(501, "Aggregates across resources are not supported yet: name metrics by id")
        }
        let operations = try Self.operations(try body.required("operations"))
        // Metric ids as written → records; Gnocchi answers unknown ones all at once.
        var metrics: [String: (record: MetricRecord, policy: ArchivePolicy)] = [:]
        var missing: Set<String> = []
        for reference in operations.references where metrics[reference.metric] == nil {
            guard let id = MetricID(uuid: reference.metric) else {
                throw APIError(
                    400,
                    description: [
                        "cause": "Invalid metric references", "reason": "badly formed hexadecimal UUID string",
                        "detail": .array(operations.references.map { [.string($0.metric), .string($0.aggregation)] }),
                    ])
            }
            guard let record = try await directory.metric(id: id),
                let policy = try await directory.policy(named: record.archivePolicyName)
            else {
                missing.insert(id.uuidString)
                continue
            }
            try user.require(.read, record)
            metrics[reference.metric] = (record, policy)
        }
        guard missing.isEmpty else {
            throw APIError(
                404,
                description: [
                    "cause": "Unknown metrics", "reason": "Provided metrics don't exists",
                    "detail": .array(missing.sorted().map { .string($0) }),
                ])
        }
        try Self.checkAggregations(operations, metrics, granularity: granularity)
        let result: CrossAggregationResult
        do {
            result = try await CrossMetricReader(storage: storage).evaluate(
                operations, metrics: metrics, start: start, stop: stop, granularity: granularity,
                neededOverlap: neededOverlap, fill: fill)
        } catch let error as OperationsError {
            throw Self.apiError(error, operations, metrics)
        }
        var output: [UInt8] = Array(#"{"measures": "#.utf8)
        switch result {
        case .aggregated(let points):
            output += Array(#"{"aggregated": "#.utf8) + Self.rows(points) + [UInt8(ascii: "}")]
        case .perReference(let results):
            var byMetric: [String: [(String, [AggregatePoint])]] = [:]
            for (reference, points) in results {
                let id = metrics[reference.metric]!.record.id.uuidString
                byMetric[id, default: []].append((reference.aggregation, points))
            }
            output.append(UInt8(ascii: "{"))
            for (index, id) in byMetric.keys.sorted().enumerated() {
                if index > 0 { output += Array(", ".utf8) }
                output += JSONValue.string(id).encoded() + Array(": {".utf8)
                for (inner, (method, points)) in byMetric[id]!.sorted(by: { $0.0 < $1.0 }).enumerated() {
                    if inner > 0 { output += Array(", ".utf8) }
                    output += JSONValue.string(method).encoded() + Array(": ".utf8) + Self.rows(points)
                }
                output.append(UInt8(ascii: "}"))
            }
            output.append(UInt8(ascii: "}"))
        }
        if details {
            var documents: [JSONValue] = []
            var seen: Set<MetricID> = []
            for reference in operations.references {
                let record = metrics[reference.metric]!.record
                if seen.insert(record.id).inserted { documents.append(try await document(record, detailed: true)) }
            }
            output += Array(#", "references": "#.utf8) + GnocchiJSON.encode(.array(documents))
        }
        output.append(UInt8(ascii: "}"))
        return APIResponse(status: 200, headers: [("Content-Type", "application/json")], body: output)
    }

    static func rows(_ points: [AggregatePoint]) -> [UInt8] {
        var rows = GnocchiJSON.MeasureRows()
        var start = points.startIndex
        while start < points.endIndex {  // runs of one granularity
            let granularity = points[start].granularity
            var end = start
            while end < points.endIndex && points[end].granularity == granularity { end += 1 }
            rows.append(
                timestamps: points[start..<end].map(\.timestamp), values: points[start..<end].map(\.value),
                granularity: Array(pythonFloat(granularity).utf8))
            start = end
        }
        return rows.finished()
    }

    /// Gnocchi's checks before reading, with its causes and details: methods a
    /// policy lacks (404), a requested granularity some policy lacks, or no
    /// granularity every policy has (400).
    private static func checkAggregations(
        _ operations: Operations, _ metrics: [String: (record: MetricRecord, policy: ArchivePolicy)],
        granularity: Nanoseconds?
    ) throws {
        var unknown: [JSONValue] = []
        for reference in operations.references {
            let (record, policy) = metrics[reference.metric]!
            if !policy.aggregationMethods.contains(where: { $0.name == reference.aggregation }) {
                unknown.append([.string(record.id.uuidString), .string(reference.aggregation)])
            }
        }
        guard unknown.isEmpty else {
            throw APIError(
                404, description: ["cause": "Metrics with unknown aggregation", "detail": .array(unknown)])
        }
        if let granularity {
            var lacking: [JSONValue] = []
            for reference in operations.references {
                let (record, policy) = metrics[reference.metric]!
                if policy.item(granularity: granularity) == nil {
                    lacking.append(
                        [
                            .string(record.id.uuidString), .string(reference.aggregation),
                            .number(Double(granularity) / 1e9),
                        ])
                }
            }
            guard lacking.isEmpty else {
                throw APIError(
                    400,
                    description: [
                        "cause": "Metrics cannot be aggregated", "reason": "Granularities are missing",
                        "detail": .array(lacking),
                    ])
            }
        }
    }

    static func apiError(
        _ error: OperationsError, _ operations: Operations,
        _ metrics: [String: (record: MetricRecord, policy: ArchivePolicy)]
    ) -> APIError {
        let references = JSONValue.array(
            operations.references.map { reference in
                [
                    .string(metrics[reference.metric]?.record.id.uuidString ?? reference.metric),
                    .string(reference.aggregation),
                ]
            })
        switch error {
        case .unaggregable(let message):
            return APIError(
                400,
                description: [
                    "cause": "Metrics cannot be aggregated", "reason": .string(message), "detail": references,
                ])
        case .unknownAggregation:
            return APIError(404, description: ["cause": "Metrics with unknown aggregation", "detail": references])
        case .syntax, .invalid:
            return APIError.invalidInput(
                "\(error) for dictionary value @ data['operations']", path: ["operations"])
        }
    }

    /// The operations: Gnocchi's text form, or its nested-list form written
    /// back as text (words cannot hold spaces or parentheses in either).
    static func operations(_ value: JSONValue) throws -> Operations {
        let text: String
        switch value {
        case .string(let string):
            text = firstExpression(string)
            do { return try Operations(parsing: text) } catch {
                if case .syntax(let message, _) = error {
                    throw APIError(
                        400,
                        description: [
                            "cause": "Invalid operations", "reason": "Fail to parse the operations string",
                            "detail": .string(message),
                        ])
                }
                throw invalidOperation(error, in: text)
            }
        case .array:
            text = try sExpression(value, depth: 0)
        default:
            throw APIError.invalidInput(
                "Expected a tuple/list, got a \(pythonType(value)) for dictionary value @ data['operations']",
                path: ["operations"])
        }
        do { return try Operations(parsing: text) } catch { throw invalidOperation(error, in: text) }
    }

    /// pyparsing reads the first parenthesised expression and ignores what follows.
    private static func firstExpression(_ text: String) -> String {
        let characters = Array(text)
        guard let open = characters.firstIndex(where: { !$0.isWhitespace }), characters[open] == "(" else {
            return text
        }
        var depth = 0
        for index in open..<characters.count {
            if characters[index] == "(" { depth += 1 }
            if characters[index] == ")" {
                depth -= 1
                if depth == 0 { return String(characters[...index]) }
            }
        }
        return text
    }

    /// Gnocchi's voluptuous message for an invalid operation: it names the
    /// operation (the list around the error) rather than what is wrong in it.
    private static func invalidOperation(_ error: OperationsError, in text: String) -> APIError {
        var reason = "\(error)"
        if case .invalid(_, let position) = error {
            let characters = Array(text)
            var starts: [Int] = []
            for index in 0..<min(position + 1, characters.count) {
                if characters[index] == "(" { starts.append(index) }
                if characters[index] == ")" && index < position { _ = starts.popLast() }
            }
            if let start = starts.last {
                var words: [String] = []
                var depth = 0
                var word = ""
                for character in characters[(start + 1)...] {
                    if depth == 0 && (character.isWhitespace || character == "(" || character == ")") {
                        if !word.isEmpty { words.append(word) }
                        word = ""
                        if character == ")" { break }
                        if character == "(" { words.append("(") }
                    } else if depth == 0 {
                        word.append(character)
                    }
                    if character == "(" { depth += 1 }
                    if character == ")" { depth -= 1 }
                }
                if !word.isEmpty { words.append(word) }
                if words.isEmpty {
                    reason = "Operation must not be empty"
                } else if words.count == 1 {
                    reason = "Operation need at least one argument"
                } else {
                    reason = "'\(words[0])' operation invalid"
                }
            }
        }
        return APIError.invalidInput("\(reason) for dictionary value @ data['operations']", path: ["operations"])
    }

    private static func sExpression(_ value: JSONValue, depth: Int) throws -> String {
        let invalid = { (reason: String) in
            APIError.invalidInput("\(reason) for dictionary value @ data['operations']", path: ["operations"])
        }
        guard depth < 64 else { throw invalid("Operations are nested too deeply") }
        switch value {
        case .array(let items):
            guard !items.isEmpty else { throw invalid("Operation must not be empty") }
            if items.count == 1, case .string = items[0] { throw invalid("Operation need at least one argument") }
            return "(" + (try items.map { try sExpression($0, depth: depth + 1) }.joined(separator: " ")) + ")"
        case .string(let word):
            guard !word.isEmpty, !word.contains(where: { $0.isWhitespace || $0 == "(" || $0 == ")" }) else {
                throw invalid("'\(word)' is not a valid word")
            }
            return word
        case .number(let number):
            guard number.isFinite else { throw invalid("numbers must be finite") }
            return number == number.rounded() && abs(number) < 1e15 ? String(Int64(number)) : "\(number)"
        default:
            throw invalid("Expected a tuple/list, got a \(pythonType(value))")
        }
    }

    private static func pythonType(_ value: JSONValue) -> String {
        switch value {
        case .object: "dict"
        case .array: "list"
        case .string: "str"
        case .number: "float"
        case .bool: "bool"
        case .null: "NoneType"
        }
    }
}

/// The deprecated `GET|POST /v1/aggregation/metric?metric=ID&…`: one metric
/// is read as its measures are; several are combined with `reaggregation`
/// (default: the `aggregation` method) into Gnocchi's `aggregated` series.
extension GnocchiAPI {
    func deprecatedAggregation(_ request: APIRequest, _ path: [String], _ user: APIUser) async throws -> APIResponse {
        guard path == ["metric"] else { throw APIError.notFound("The resource could not be found.") }
        try allow(request, ["GET", "POST"])
        var texts: [String]
        if request.method == "GET" {
            texts = request.queryValues("metric")
        } else {
            guard case .array(let items) = try jsonBody(request) else {
                throw APIError.invalidInput("expected a list")
            }
            texts = try items.map { item in
                guard case .string(let text) = item else { throw APIError.invalidInput("expected str") }
                return text
            }
        }
        var records: [MetricRecord] = []
        for text in texts {
            guard let id = MetricID(uuid: text) else {
                throw APIError.badRequest("Invalid input: not a valid value @ data[\(records.count)]")
            }
            guard let record = try await directory.metric(id: id) else {
                throw APIError.notFound("Metric \(id.uuidString) does not exist")
            }
            if !records.contains(where: { $0.id == record.id }) { records.append(record) }
        }
        for record in records { try user.require(.read, record) }
        guard records.count > 1 else {
            guard let record = records.first else { return .json(200, []) }
            return try await readMeasures(request, record)
        }
        let method = request.queryValue("aggregation") ?? "mean"
        let reaggregation = request.queryValue("reaggregation") ?? method
        let granularity = try request.queryValue("granularity").map { try Self.timespan($0, detail: "granularity") }
        var resample: Nanoseconds?
        if let text = request.queryValue("resample"), !text.isEmpty {
            guard granularity != nil else { throw APIError.badRequest("A granularity must be specified to resample") }
            resample = try Self.resamplePeriod(text)
        }
        let neededOverlap = try Self.queryNeededOverlap(request) ?? 100
        let start = try Self.queryTimestamp(request, "start")
        let stop = try Self.queryTimestamp(request, "stop")
        let fill = try Self.queryFill(request)
        var metrics: [String: (record: MetricRecord, policy: ArchivePolicy)] = [:]
        for record in records {
            guard let policy = try await directory.policy(named: record.archivePolicyName) else {
                throw APIError(500, "The archive policy of metric \(record.id.uuidString) is missing")
            }
            if let granularity,
                policy.item(granularity: granularity) == nil
                    || !policy.aggregationMethods.contains(where: { $0.name == method })
            {
                throw APIError.notFound(
                    "Aggregation method '\(method)' at granularity '\(Self.pythonFloat(granularity))' for metric "
                        + "\(record.id.uuidString) does not exist")
            }
            metrics[record.id.uuidString] = (record, policy)
        }
        if let text = request.queryValue("refresh"), try Self.bool("refresh", text) {
            for (record, policy) in metrics.values { try await refresh(record, policy) }
        }
        var inner = "(metric " + records.map { "(\($0.id.uuidString) \(method))" }.joined(separator: " ") + ")"
        if let resample { inner = "(resample \(method) \(Double(resample) / 1e9) \(inner))" }
        let operations = try Self.operations(.string("(aggregate \(reaggregation) \(inner))"))
        let result: CrossAggregationResult
        do {
            result = try await CrossMetricReader(storage: storage).evaluate(
                operations, metrics: metrics, start: start, stop: stop, granularity: granularity,
                neededOverlap: neededOverlap, fill: fill)
        } catch let error as OperationsError {
            throw Self.apiError(error, operations, metrics)
        }
        guard case .aggregated(let points) = result else { throw APIError(500, "expected one aggregated series") }
        return APIResponse(status: 200, headers: [("Content-Type", "application/json")], body: Self.rows(points))
    }
}
