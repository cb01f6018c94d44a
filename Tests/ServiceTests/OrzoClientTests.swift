import Foundation
import OrzoClient
import Testing
import Timeseries
import WireProtocol

/// The Swift client library against a real `orzo serve`.
@Suite("OrzoClient against orzo serve", .serialized, .timeLimit(.minutes(5)))
struct OrzoClientTests {
    static let t0: Nanoseconds = 1_700_000_000 * 1_000_000_000  // 2023-11-14T22:13:20Z

    static func at(_ seconds: Int64) -> Nanoseconds { t0 + seconds * 1_000_000_000 }

    @Test("every operation: policies, rules, metrics, put with rejections, push, measures, aggregates, errors")
    func operations() async throws {
        let server = try ServeProcess()
        defer { _ = server.stop() }
        let client = try OrzoClient(endpoints: .init(push: server.push, ack: server.ack, query: server.query))

        let policy = try await client.createArchivePolicy(
            name: "minute", definition: [.init(granularity: 60, points: 100)], aggregationMethods: ["mean", "max"])
        #expect(policy.name == "minute")
        #expect(policy.definition == [.init(granularity: 60, points: 100, timespan: 6000)])
        #expect(try await client.archivePolicies().contains { $0.name == "minute" })
        try await client.createArchivePolicyRule(name: "app", metricPattern: "app.*", archivePolicy: "minute")
        #expect(try await client.archivePolicyRules().contains { $0.name == "app" })
        try await client.createMetric(name: "explicit", archivePolicy: "minute", unit: "ms")
        #expect(try await client.metric("explicit").archivePolicyName == "minute")
        #expect(try await client.metric("explicit").unit == "ms")

        // Acknowledged: a NaN is rejected by itself, the rest is stored; the rule creates app.a and app.b.
        let result = try await client.put([
            "app.a": [Measure(timestamp: Self.at(0), value: 1), Measure(timestamp: Self.at(30), value: .nan)],
            "app.b": [Measure(timestamp: Self.at(0), value: 3), Measure(timestamp: Self.at(61), value: 5)],
        ])
        #expect(result.accepted == 3)
        #expect(result.rejected == 1)
        #expect(
            result.rejections == [.init(metric: "app.a", index: 1, reason: "non_finite_value")])
        // Fire-and-forget: no reply, so poll until it is stored.
        try await client.push(["app.a": [Measure(timestamp: Self.at(62), value: 7)]])
        var points: [OrzoClient.Point] = []
        for _ in 0..<100 {
            points = try await client.measures(of: "app.a", aggregation: "max", refresh: true)
            if points.count == 2 { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(
            points == [
                OrzoClient.Point(timestamp: Self.at(-20), granularity: 60, value: 1),
                OrzoClient.Point(timestamp: Self.at(40), granularity: 60, value: 7),
            ])

        // aggregates reads what is processed: process app.b's measures first.
        #expect(try await client.measures(of: "app.b", refresh: true).count == 2)
        let aggregated = try await client.aggregates(
            "(aggregate sum (metric (app.a max) (app.b max)))", granularity: 60)
        #expect(
            aggregated
                == .aggregated([
                    OrzoClient.Point(timestamp: Self.at(-20), granularity: 60, value: 4),
                    OrzoClient.Point(timestamp: Self.at(40), granularity: 60, value: 12),
                ]))
        guard case .perMetric(let series) = try await client.aggregates("(metric app.b mean)", fill: .null) else {
            Issue.record("expected one series per metric")
            return
        }
        #expect(series["app.b"]?["mean"]?.map(\.value) == [3, 5])

        let page = try await client.metrics(prefix: "app.", limit: 1)
        #expect(page.metrics.map(\.name) == ["app.a"])
        #expect(page.nextMarker == "app.a")
        #expect(try await client.metrics(prefix: "app.", marker: page.nextMarker).metrics.count == 1)
        #expect(try await client.status().counters["ingest.measures.rejected.non_finite_value"] == 1)
        #expect(try await client.capabilities().aggregationMethods.isEmpty == false)

        // Errors come back as the server's codes.
        await #expect(throws: OrzoClientError.server(code: "not_found", message: "Metric missing does not exist")) {
            try await client.metric("missing")
        }
        do {
            try await client.createArchivePolicy(name: "minute", definition: [.init(granularity: 60, points: 1)])
            Issue.record("a second policy of the same name was accepted")
        } catch let error as OrzoClientError {
            #expect(error.code == "conflict")
        }
        try await client.deleteMetric("explicit")
        try await client.deleteArchivePolicyRule("app")
        #expect(try await client.archivePolicyRules().allSatisfy { $0.name != "app" })
    }

    @Test("a put retries until the server comes up, and the resent measures count once")
    func lazyPirate() async throws {
        let id = UInt64.random(in: 0..<UInt64.max)
        let endpoints = OrzoClient.Endpoints(
            push: "ipc:///tmp/orzo-e2e-\(id)-push", ack: "ipc:///tmp/orzo-e2e-\(id)-ack",
            query: "ipc:///tmp/orzo-e2e-\(id)-query")
        let measures = (0..<10).map { Measure(timestamp: Self.at(Int64($0) * 10), value: Double($0)) }
        let put = Task {
            let client = try OrzoClient(endpoints: endpoints, timeout: .milliseconds(250), attempts: 40)
            return try await client.put(["late": measures])
        }
        try await Task.sleep(for: .milliseconds(800))
        let server = try ServeProcess(id: id)
        defer { _ = server.stop() }
        let result = try await put.value
        #expect(result.accepted == 10)
        let client = try OrzoClient(endpoints: endpoints)
        let counts = try await client.measures(of: "late", aggregation: "count", granularity: 300, refresh: true)
        #expect(counts.compactMap(\.value).reduce(0, +) == 10)
    }

    @Test("no server: the call gives up after its attempts with a timeout")
    func timeout() async throws {
        let client = try OrzoClient(
            endpoints: .init(query: "ipc:///tmp/orzo-nobody-\(UInt64.random(in: 0..<UInt64.max))"),
            timeout: .milliseconds(100), attempts: 2)
        await #expect(throws: OrzoClientError.timeout(endpoint: client.endpoints.query, attempts: 2)) {
            _ = try await client.status()
        }
    }
}
