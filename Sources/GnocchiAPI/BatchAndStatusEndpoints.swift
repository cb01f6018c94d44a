import Foundation
import Services
import Storage
import Timeseries
import WireProtocol

/// `POST /v1/batch/metrics/measures` and `GET /v1/status`, as Gnocchi 4.7.1's.
extension GnocchiAPI {
    /// `{"<metric id>": [measures], …}`: every metric must exist and be the
    /// user's to write, or nothing is stored.
    func batch(_ request: APIRequest, _ path: [String], _ user: APIUser) async throws -> APIResponse {
        guard path == ["metrics", "measures"] else {
            if path.first == "resources" {
                throw APIError(501, "Batches by resource are not supported yet: resources are not served")
            }
            throw APIError.notFound("The resource could not be found.")
        }
        try allow(request, ["POST"])
        guard case .object(let body) = try jsonBody(request) else {
            throw APIError.invalidInput("expected a dictionary")
        }
        var batches: [MetricID: [Measure]] = [:]
        for (key, value) in body.sorted(by: { $0.key < $1.key }) {
            guard let id = MetricID(uuid: key) else {
                throw APIError.invalidInput("not a valid value @ data['\(key)']", path: [key])
            }
            batches[id, default: []] += try counted {
                do throws(MeasuresRefusal) { return try Self.measures(from: value) } catch let refusal {
                    // Gnocchi names the metric whose measures were refused.
                    guard case .object(var description) = refusal.error.description else { throw refusal }
                    description["detail"] = [.string(key)]
                    throw MeasuresRefusal(
                        error: APIError(refusal.error.status, description: .object(description)),
                        counter: refusal.counter, measures: refusal.measures)
                }
            }
        }
        var missing: [String] = []
        var records: [MetricRecord] = []
        for id in batches.keys.sorted() {
            if let record = try await directory.metric(id: id) {
                records.append(record)
            } else {
                missing.append(id.uuidString)
            }
        }
        guard missing.isEmpty else { throw APIError.badRequest("Unknown metrics: \(missing.joined(separator: ", "))") }
        for record in records { try user.require(.write, record) }
        try await append(batches)
        return APIResponse(status: 202)
    }

    /// The backlog (metrics with pending measures, and how many measures),
    /// per metric with `details`, and this process's workers. Admins only.
    func status(_ request: APIRequest, _ path: [String], _ user: APIUser) async throws -> APIResponse {
        guard path.isEmpty else { throw APIError.notFound("The resource could not be found.") }
        try allow(request, ["GET"])
        try user.requireAdmin()
        let details = try request.queryValue("details").map { try Self.bool("details", $0) } ?? true
        var metrics = 0
        var measures = 0
        var perMetric: [String: JSONValue] = [:]
        for sack in 0..<storage.sackCount {
            for entry in try await storage.metricsWithPendingMeasures(inSack: sack) {
                metrics += 1
                let count = entry.measures ?? 0
                measures += count
                if details { perMetric[entry.metric.uuidString] = .number(Double(count)) }
            }
        }
        var storageReport: [String: JSONValue] = [
            "summary": ["metrics": .number(Double(metrics)), "measures": .number(Double(measures))]
        ]
        if details { storageReport["measures_to_process"] = .object(perMetric) }
        let processors: JSONValue =
            metricd.map { service in
                .array((0..<service.workers).map { .string("\(ProcessInfo.processInfo.hostName).\(getpid()).\($0)") })
            } ?? .null
        return .json(
            200, ["storage": .object(storageReport), "metricd": ["processors": processors, "statistics": [:]]])
    }
}
