import Foundation
import Services
import Storage
import Timeseries
import WireProtocol

/// `/v1/archive_policy` and `/v1/archive_policy_rule`: documents, validation
/// and messages as Gnocchi 4.7.1's (its voluptuous schemas).
extension GnocchiAPI {
    func archivePolicies(_ request: APIRequest, _ path: [String], _ user: APIUser) async throws -> APIResponse {
        switch path.count {
        case 0:
            try allow(request, ["GET", "POST"])
            if request.method == "GET" {
                return .json(200, .array(try await indexer.archivePolicies().map(Self.document)))
            }
            try user.requireAdmin()
            let policy = try Self.policy(from: try jsonBody(request))
            do {
                try await indexer.createArchivePolicy(policy)
            } catch IndexerError.conflict {
                throw APIError.conflict("Archive policy \(policy.name) already exists")
            }
            return .json(
                201, Self.document(policy),
                headers: [("Location", "\(request.base)/v1/archive_policy/\(Self.pathEncoded(policy.name))")])
        case 1:
            let name = path[0]
            try allow(request, ["GET", "DELETE", "PATCH"])
            switch request.method {
            case "GET":
                guard let policy = try await indexer.archivePolicy(named: name) else {
                    throw APIError.notFound("Archive policy \(name) does not exist")
                }
                return .json(200, Self.document(policy))
            case "DELETE":
                try user.requireAdmin()
                guard try await indexer.archivePolicy(named: name) != nil else {
                    throw APIError.notFound("Archive policy \(name) does not exist")
                }
                do {
                    try await indexer.deleteArchivePolicy(named: name)
                } catch IndexerError.inUse {
                    throw APIError.badRequest("Archive policy \(name) is still in use")
                }
                directory.forgetPolicy(name)
                return APIResponse(status: 204)
            default:
                guard let current = try await indexer.archivePolicy(named: name) else {
                    throw APIError.notFound("Archive policy \(name) does not exist")
                }
                try user.requireAdmin()
                let changed = try Self.changedPolicy(current, from: try jsonBody(request))
                try await indexer.updateArchivePolicy(changed)
                directory.forgetPolicy(name)
                return .json(200, Self.document(changed))
            }
        default:
            throw APIError.notFound("The resource could not be found.")
        }
    }

    func rules(_ request: APIRequest, _ path: [String], _ user: APIUser) async throws -> APIResponse {
        switch path.count {
        case 0:
            try allow(request, ["GET", "POST"])
            if request.method == "GET" {
                // Gnocchi's order, the one rules are matched in: patterns descending.
                let rules = try await indexer.rules().sorted { $0.metricPattern > $1.metricPattern }
                return .json(200, .array(rules.map(Self.document)))
            }
            try user.requireAdmin()
            let body = try jsonBody(request)
            let fields = try SchemaFields(body, allowed: ["name", "metric_pattern", "archive_policy_name"])
            let name = try fields.requiredString("name")
            let pattern = try fields.requiredString("metric_pattern")
            let policyName = try fields.requiredString("archive_policy_name")
            let rule = try ArchivePolicyRule(name: name, metricPattern: pattern, archivePolicyName: policyName)
            guard try await indexer.archivePolicy(named: policyName) != nil else {
                throw APIError(
                    400,
                    description: ["cause": "Archive policy does not exist", "detail": .string(policyName)])
            }
            do {
                try await indexer.createRule(rule)
            } catch IndexerError.conflict {
                throw APIError.conflict("Archive policy rule \(name) already exists")
            }
            return .json(
                201, Self.document(rule),
                headers: [("Location", "\(request.base)/v1/archive_policy_rule/\(Self.pathEncoded(name))")])
        case 1:
            let name = path[0]
            try allow(request, ["GET", "DELETE", "PATCH"])
            switch request.method {
            case "GET":
                guard let rule = try await indexer.rules().first(where: { $0.name == name }) else {
                    throw APIError.notFound("Archive policy rule \(name) does not exist")
                }
                return .json(200, Self.document(rule))
            case "DELETE":
                try user.requireAdmin()
                guard try await indexer.rules().contains(where: { $0.name == name }) else {
                    throw APIError.notFound("Archive policy rule \(name) does not exist")
                }
                try await indexer.deleteRule(named: name)
                return APIResponse(status: 204)
            default:
                let fields = try SchemaFields(try jsonBody(request), allowed: ["name"])
                let newName = try fields.requiredString("name")
                try user.requireAdmin()
                do {
                    return .json(200, Self.document(try await indexer.renameRule(named: name, to: newName)))
                } catch IndexerError.conflict {
                    throw APIError.badRequest(
                        "Archive policy rule \(name) does not support change: Archive policy rule \(newName) "
                            + "already exists.")
                }
            }
        default:
            throw APIError.notFound("The resource could not be found.")
        }
    }

    // MARK: Documents

    static func document(_ policy: ArchivePolicy) -> JSONValue {
        [
            "name": .string(policy.name),
            "back_window": .number(Double(policy.backWindow)),
            "aggregation_methods": .array(policy.aggregationMethods.map { .string($0.name) }),
            "definition": .array(
                policy.definition.map { item in
                    [
                        "granularity": .string(GnocchiDurations.format(item.granularity)),
                        "points": item.points.map { .number(Double($0)) } ?? .null,
                        "timespan": item.timespan.map { .string(GnocchiDurations.format($0)) } ?? .null,
                    ]
                }),
        ]
    }

    static func document(_ rule: ArchivePolicyRule) -> JSONValue {
        [
            "name": .string(rule.name), "metric_pattern": .string(rule.metricPattern),
            "archive_policy_name": .string(rule.archivePolicyName),
        ]
    }

    /// A path segment: everything but unreserved characters percent-encoded.
    static func pathEncoded(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        var output = ""
        for byte in text.utf8 {
            let scalar = Unicode.Scalar(byte)
            if byte < 0x80, allowed.contains(scalar) {
                output.unicodeScalars.append(scalar)
            } else {
                output += String(format: "%%%02X", byte)
            }
        }
        return output
    }

    /// Gnocchi's PATCH: a new `definition` (required) and `back_window`; the
    /// granularities must stay the same.
    static func changedPolicy(_ current: ArchivePolicy, from body: JSONValue) throws -> ArchivePolicy {
        let fields = try SchemaFields(body, allowed: ["definition", "back_window"])
        let items = try definition(fields)
        let backWindow = try fields.optionalInteger("back_window", minimum: 0) ?? current.backWindow
        let old = current.definition.map(\.granularity).sorted()
        let new = items.map(\.granularity).sorted()
        guard old.count == new.count else {
            throw APIError.badRequest(
                "Archive policy \(current.name) does not support change: Cannot add or drop granularities")
        }
        if let (changed, _) = zip(old, new).first(where: { $0 != $1 }) {
            throw APIError.badRequest(
                "Archive policy \(current.name) does not support change: \(pythonFloat(changed)) granularity "
                    + "interval was changed")
        }
        return try ArchivePolicy(
            name: current.name, backWindow: backWindow, definition: items,
            aggregationMethods: current.aggregationMethods)
    }

    private static func definition(_ fields: SchemaFields) throws -> [ArchivePolicyItem] {
        let definitionValue = try fields.required("definition")
        guard case .array(let entries) = definitionValue else {
            throw APIError.invalidInput(
                "expected a list for dictionary value @ data['definition']", path: ["definition"])
        }
        guard !entries.isEmpty else {
            throw APIError.invalidInput(
                "length of value must be at least 1 for dictionary value @ data['definition']", path: ["definition"])
        }
        var items: [ArchivePolicyItem] = []
        for (index, entry) in entries.enumerated() {
            let item = try SchemaFields(
                entry, allowed: ["granularity", "points", "timespan"], path: ["definition", String(index)])
            let granularity = try item.optionalTimespan("granularity")
            let points = try item.optionalInteger("points", minimum: 1)
            let timespan = try item.optionalTimespan("timespan")
            items.append(try ArchivePolicyItem(granularity: granularity, points: points, timespan: timespan))
        }
        return items
    }

    /// An archive policy from Gnocchi's document: `name`, `definition`
    /// (`granularity`, `points`, `timespan`, any two or the granularity alone),
    /// optional `back_window` and `aggregation_methods`.
    static func policy(from body: JSONValue) throws -> ArchivePolicy {
        let fields = try SchemaFields(body, allowed: ["name", "back_window", "definition", "aggregation_methods"])
        let backWindow = try fields.optionalInteger("back_window", minimum: 0) ?? 0
        let methods = try fields.optionalStringList("aggregation_methods")
        let name = try fields.requiredString("name")
        let items = try definition(fields)
        let aggregationMethods: [AggregationMethod]
        if let methods {
            aggregationMethods = try ArchivePolicy.resolveAggregationMethods(methods)
        } else {
            aggregationMethods = AggregationMethod.defaults
        }
        return try ArchivePolicy(
            name: name, backWindow: backWindow, definition: items, aggregationMethods: aggregationMethods)
    }
}

/// A JSON object checked as voluptuous checks Gnocchi's schemas, with its
/// messages: unknown keys first, then each field as it is read.
struct SchemaFields {
    let object: [String: JSONValue]
    let path: [String]

    init(_ value: JSONValue, allowed: Set<String>, path: [String] = []) throws {
        guard case .object(let object) = value else {
            throw APIError.invalidInput("expected a dictionary\(Self.location(path))", path: path)
        }
        if let extra = object.keys.sorted().first(where: { !allowed.contains($0) }) {
            throw APIError.invalidInput(
                "extra keys not allowed\(Self.location(path + [extra]))", path: path + [extra])
        }
        self.object = object
        self.path = path
    }

    static func location(_ path: [String]) -> String {
        guard !path.isEmpty else { return "" }
        return " @ data" + path.map { Int($0) != nil ? "[\($0)]" : "['\($0)']" }.joined()
    }

    private func invalid(_ key: String, _ message: String) -> APIError {
        APIError.invalidInput("\(message) for dictionary value\(Self.location(path + [key]))", path: path + [key])
    }

    func required(_ key: String) throws -> JSONValue {
        guard let value = object[key] else {
            throw APIError.invalidInput(
                "required key not provided\(Self.location(path + [key]))", path: path + [key])
        }
        return value
    }

    func requiredString(_ key: String) throws -> String {
        guard case .string(let text) = try required(key) else { throw invalid(key, "expected str") }
        return text
    }

    /// voluptuous' `All(Coerce(int), Range(min=…))`: numbers and numeric text.
    func optionalInteger(_ key: String, minimum: Int) throws -> Int? {
        guard let value = object[key], value != .null else { return nil }
        let number: Int?
        switch value {
        case .number(let double): number = double.isFinite && abs(double) < 1e15 ? Int(double) : nil
        case .string(let text): number = Int(text.trimmingCharacters(in: .whitespaces))
        default: number = nil
        }
        guard let number else { throw invalid(key, "expected int") }
        guard number >= minimum else { throw invalid(key, "value must be at least \(minimum)") }
        return number
    }

    func optionalStringList(_ key: String) throws -> [String]? {
        guard let value = object[key], value != .null else { return nil }
        guard case .array(let entries) = value else { throw invalid(key, "expected a list") }
        return try entries.map { entry in
            guard case .string(let text) = entry else { throw invalid(key, "expected str") }
            return text
        }
    }

    /// Gnocchi's `to_timespan`, in nanoseconds (``GnocchiDurations/timespan(_:)``).
    func optionalTimespan(_ key: String) throws -> Nanoseconds? {
        guard let value = object[key], value != .null else { return nil }
        let input: GnocchiDurations.JSONValueLike
        switch value {
        case .number(let number): input = .number(number)
        case .string(let text): input = .text(text)
        default: throw invalid(key, GnocchiDurations.TimespanError.unparsable.reason)
        }
        do { return try GnocchiDurations.timespan(input) } catch { throw invalid(key, error.reason) }
    }
}
