import Foundation
import Services
import Storage
import Timeseries
import WireProtocol

/// Settings of the HTTP API.
public struct GnocchiAPIConfiguration: Sendable {
    /// Users (the name in `Authorization: basic base64("user:")`) allowed the
    /// admin-only actions of Gnocchi's policy table.
    public var adminUsers: Set<String>
    /// The most items a listing returns (Gnocchi's `api.max_limit`).
    public var maxLimit: Int
    /// How long a read's `refresh` waits for a metric's lease held elsewhere.
    public var refreshLeaseWait: Duration

    public init(adminUsers: Set<String> = ["admin"], maxLimit: Int = 1000, refreshLeaseWait: Duration = .seconds(10)) {
        self.adminUsers = adminUsers
        self.maxLimit = maxLimit
        self.refreshLeaseWait = refreshLeaseWait
    }
}

/// Gnocchi's REST API v1 (docs/http-api.md), over the same index and storage as
/// the ZeroMQ roles: turns one ``APIRequest`` into one ``APIResponse``. Knows
/// nothing of sockets; ``GnocchiHTTPServer`` carries it over HTTP/1.1.
public final class GnocchiAPI: Sendable {
    let directory: MetricDirectory
    let storage: any MetricStorage
    let configuration: GnocchiAPIConfiguration
    let counters: ServiceCounters
    /// The workers of the same process (`orzo serve`), whose quarantine list a refresh consults.
    let metricd: MetricdService?

    /// The version `GET /` reports: Gnocchi's clients (Ceilometer, the Grafana
    /// datasource) require at least 4.2.0.
    public static let build = "4.7.1"

    public init(
        directory: MetricDirectory, storage: any MetricStorage, configuration: GnocchiAPIConfiguration,
        counters: ServiceCounters = ServiceCounters(), metricd: MetricdService? = nil
    ) {
        self.directory = directory
        self.storage = storage
        self.configuration = configuration
        self.counters = counters
        self.metricd = metricd
    }

    var indexer: any Indexer { directory.indexer }

    public func respond(to request: APIRequest) async -> APIResponse {
        do {
            return try await route(request)
        } catch let error as APIError {
            return error.response
        } catch let error as IndexerError {
            switch error {
            case .notFound(let message): return APIError.notFound(message).response
            case .conflict(let message): return APIError.conflict(message).response
            case .inUse(let message), .invalid(let message): return APIError.badRequest(message).response
            case .unavailable(let message): return APIError(503, message).response
            case .damaged(let message): return APIError(500, message).response
            }
        } catch let error as ArchivePolicyError {
            return APIError.badRequest(error.description).response
        } catch let error as StorageError {
            return APIError(503, error.description).response
        } catch {
            return APIError(500, "\(error)").response
        }
    }

    /// The request's path, split at slashes (empty segments dropped: clients
    /// send `archive_policy//name`) and percent-decoded.
    private func segments(_ path: String) throws -> [String] {
        try path.split(separator: "/").map { segment in
            guard let decoded = APIRequest.percentDecoded(String(segment)) else {
                throw APIError.badRequest("The path is not valid UTF-8")
            }
            return decoded
        }
    }

    private func route(_ request: APIRequest) async throws -> APIResponse {
        try negotiate(request)
        let path = try segments(request.path)
        switch path.first {
        case nil:
            try allow(request, ["GET"])
            return .json(200, ["build": .string(Self.build), "versions": [Self.versionV1(request)]])
        case "v1": break
        default: throw APIError.notFound("The resource could not be found.")
        }
        let rest = Array(path.dropFirst())
        guard let collection = rest.first else {
            try allow(request, ["GET"])
            return .json(200, ["version": Self.versionV1(request)])
        }
        let user = try authenticate(request)
        switch collection {
        case "archive_policy": return try await archivePolicies(request, Array(rest.dropFirst()), user)
        case "archive_policy_rule": return try await rules(request, Array(rest.dropFirst()), user)
        case "metric": return try await metrics(request, Array(rest.dropFirst()), user)
        case "aggregates": return try await aggregates(request, Array(rest.dropFirst()), user)
        case "aggregation": return try await deprecatedAggregation(request, Array(rest.dropFirst()), user)
        case "batch": return try await batch(request, Array(rest.dropFirst()), user)
        case "status": return try await status(request, Array(rest.dropFirst()), user)
        case "capabilities":
            guard rest.count == 1 else { throw APIError.notFound("The resource could not be found.") }
            try allow(request, ["GET"])
            return .json(
                200,
                [
                    "aggregation_methods": .array(AggregationMethod.all.map { .string($0.name) }),
                    "dynamic_aggregation_methods": .array(
                        ["mean", "median", "std", "min", "max", "sum", "count", "last", "first"].map { .string($0) }),
                ])
        default:
            throw APIError.notFound("The resource could not be found.")
        }
    }

    static func versionV1(_ request: APIRequest) -> JSONValue {
        [
            "id": "v1.0", "status": "CURRENT", "updated": "2015-03-19",
            "links": [["rel": "self", "href": .string("\(request.base)/v1/")]],
            "media-types": [["base": "application/json", "type": "application/vnd.openstack.metric-v1+json"]],
        ]
    }

    // MARK: Checks every route makes

    /// Gnocchi answers JSON only: an `Accept` that excludes it is 406.
    private func negotiate(_ request: APIRequest) throws {
        guard let accept = request.header("accept"), !accept.isEmpty else { return }
        let types = accept.split(separator: ",").map {
            $0.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
        }
        let acceptable = types.contains {
            $0 == "*/*" || $0 == "application/*" || $0 == "application/json" || $0.hasSuffix("+json")
        }
        if !acceptable { throw APIError.notAcceptable }
    }

    func allow(_ request: APIRequest, _ methods: Set<String>) throws {
        if !methods.contains(request.method) { throw APIError.methodNotAllowed }
    }

    /// The user of Gnocchi's basic mode: `Authorization: basic base64("user:")`.
    private func authenticate(_ request: APIRequest) throws -> APIUser {
        guard let header = request.header("authorization"), !header.isEmpty else { throw APIError.unauthorized }
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "basic", parts[1].count <= 4096,
            let data = Data(base64Encoded: String(parts[1]).trimmingCharacters(in: .whitespaces)),
            let text = String(data: data, encoding: .utf8)
        else { throw APIError.unauthorized }
        let user = String(text.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).first ?? "")
        guard !user.isEmpty else { throw APIError.unauthorized }
        return APIUser(name: user, isAdmin: configuration.adminUsers.contains(user))
    }

    /// The JSON body of a request that must carry one (415 for another type, 400 if unreadable).
    func jsonBody(_ request: APIRequest) throws -> JSONValue {
        let type = request.header("content-type")?.split(separator: ";").first.map {
            $0.trimmingCharacters(in: .whitespaces).lowercased()
        }
        guard type == "application/json" else { throw APIError.unsupportedMediaType }
        do { return try GnocchiJSON.decode(request.body) } catch {
            throw APIError.badRequest("Unable to decode body: the body is not valid JSON")
        }
    }
}

/// Who sent a request.
struct APIUser: Sendable {
    let name: String
    let isAdmin: Bool

    func requireAdmin() throws { if !isAdmin { throw APIError.forbidden } }
}
