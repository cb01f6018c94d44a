import Foundation
import Storage
import Testing
import Timeseries
import WireProtocol
import ZeroMQ

/// The golden cases generated with ../shared/tools/gnocchi-peer/oracle.py (the
/// real Gnocchi 4.7.1), replayed through a real `orzo serve` over the wire:
/// policies created with `create_archive_policy`, measures put through the
/// acknowledged ingest socket, one refresh per metricd pass, aggregates read
/// with `get_measures`.
private struct Golden: Decodable {
    struct Case: Decodable {
        struct Policy: Decodable {
            struct Item: Decodable {
                let granularity: Int64
                let points: Int?
            }
            let back_window: Int
            let aggregation_methods: [String]
            let definition: [Item]
        }
        struct Query: Decodable {
            let start: Int64?
            let stop: Int64?
            let resample: Int64?
        }
        struct Point: Decodable {
            let timestamp: Int64
            let value: Double
            init(from decoder: any Decoder) throws {
                var container = try decoder.unkeyedContainer()
                timestamp = try container.decode(Int64.self)
                value = try container.decode(Double.self)
            }
        }
        let name: String
        let policy: Policy
        let batches: [[Point]]
        let passes: [[Int]]?
        let query: Query
        let expected: [String: [String: [Point]]]
    }
    let cases: [Case]
}

@Suite("Gnocchi's golden cases through orzo serve and through a fleet on Ceph", .serialized, .timeLimit(.minutes(5)))
struct OracleThroughServiceTests {
    @Test("at least 50 oracle cases, every family, give Gnocchi's aggregates over the wire: orzo serve")
    func throughServe() async throws {
        let server = try ServeProcess()
        defer { _ = server.stop() }
        try await replay(through: server, label: "orzo serve")
    }

    @Test(
        "at least 50 oracle cases, every family, give Gnocchi's aggregates over the wire: a fleet on Ceph",
        .enabled(if: fleetEnabled))
    func throughFleet() async throws {
        let fleet = try Fleet()
        defer { fleet.stop() }
        try await replay(through: fleet, label: "a fleet on Ceph")
    }

    @Test(
        "at least 50 oracle cases give Gnocchi's aggregates through a fleet on Ceph with CURVE on every socket",
        .enabled(if: fleetEnabled))
    func throughFleetWithCurve() async throws {
        let fleet = try Fleet(curve: true)
        defer { fleet.stop() }
        try await replay(through: fleet, label: "a fleet on Ceph with CURVE")
    }

    func replay(through server: any OrzoEndpoints, label: String) async throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../TimeseriesTests/Fixtures/golden-aggregation.json")
        let golden = try JSONDecoder().decode(Golden.self, from: Data(contentsOf: url))
        // Every fourth case: 62 of 245, from every family of the generator.
        let selected = golden.cases.enumerated().filter { $0.offset % 4 == 0 }.map(\.element)
        #expect(selected.count >= 50)
        let client = Client(context: try ZMQContext(), server: server)
        var mismatched: [String] = []
        var compared = 0
        for (index, golden) in selected.enumerated() {
            let policyName = "golden-\(index)"
            let (created, body) = try await client.query([
                "op": "create_archive_policy", "name": policyName, "back_window": golden.policy.back_window,
                "aggregation_methods": golden.policy.aggregation_methods,
                "definition": golden.policy.definition.map {
                    ["granularity": Double($0.granularity) / 1e9, "points": $0.points ?? 0]
                },
            ])
            #expect(created == Verb.ok, "\(golden.name): \(body)")
            #expect(
                try await client.errorCode([
                    "op": "create_metric", "name": golden.name, "archive_policy_name": policyName,
                ]) == nil)
            for pass in golden.passes ?? golden.batches.indices.map({ [$0] }) {
                for batch in pass {
                    let measures = golden.batches[batch].map { Measure(timestamp: $0.timestamp, value: $0.value) }
                    let (verb, _, _) = try await client.put(
                        [
                            Array(Verb.put.utf8), Array("b\(batch)".utf8), Array(golden.name.utf8),
                            MeasureRecords.encode(measures),
                        ])
                    #expect(verb == Verb.ok)
                }
                // One metricd pass over what is pending.
                _ = try await client.measures([
                    "op": "get_measures", "metric": golden.name, "refresh": true,
                    "aggregation": golden.policy.aggregation_methods[0],
                ])
            }
            for (method, byGranularity) in golden.expected {
                for (granularityText, expected) in byGranularity {
                    var request: [String: Any] = [
                        "op": "get_measures", "metric": golden.name, "aggregation": method,
                        "granularity": Double(Int64(granularityText)!) / 1e9,
                    ]
                    if let start = golden.query.start { request["start"] = Timestamps.format(start) }
                    if let stop = golden.query.stop { request["stop"] = Timestamps.format(stop) }
                    if let resample = golden.query.resample { request["resample"] = Double(resample) / 1e9 }
                    let rows = try await client.measures(request)
                    let exact = ["count", "min", "max", "first", "last"].contains(method)
                    let same =
                        rows.map(\.timestamp) == expected.map { Timestamps.format($0.timestamp) }
                        && zip(rows, expected).allSatisfy { row, point in
                            guard let value = row.value else { return false }
                            return exact
                                ? value == point.value
                                : value == point.value || abs(value - point.value) <= 1e-9 * abs(point.value)
                        }
                    if !same { mismatched.append("\(golden.name) \(method)@\(granularityText)") }
                    compared += rows.count
                }
            }
        }
        #expect(mismatched.isEmpty, "\(mismatched.count) series differ: \(mismatched.prefix(5))")
        #expect(compared > 5000, "points compared: \(compared)")
        print("oracle cases through \(label): \(selected.count) cases, \(compared) points compared")
    }
}
