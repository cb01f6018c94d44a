import Foundation
import Glibc
import OrzoClient
import Testing
import WireProtocol

/// `orzo statsd` as a process between real UDP datagrams and a real `orzo serve`.
@Suite("statsd bridge end to end", .serialized, .timeLimit(.minutes(5)))
struct StatsdEndToEndTests {
    /// Sends one datagram to 127.0.0.1:port.
    static func send(_ text: String, port: Int) {
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        defer { close(fd) }
        let bytes = Array(text.utf8)
        let sent = withLoopbackAddress(port: port) { sendto(fd, bytes, bytes.count, 0, $0, $1) }
        precondition(sent == bytes.count, "sendto failed")
    }

    /// Starts the bridge on a free port and returns it with that port.
    static func bridge(
        to server: ServeProcess, flushInterval: String, extra: [String] = []
    ) throws -> (
        RoleProcess, Int
    ) {
        let process = try RoleProcess(
            [
                "statsd", "--statsd-endpoint", "127.0.0.1:0", "--ack-endpoint", server.ack, "--flush-interval",
                flushInterval, "--prefix", "st.",
            ] + extra)
        guard let range = process.readyLine.range(of: #"127\.0\.0\.1:(\d+)"#, options: .regularExpression),
            let port = Int(process.readyLine[range].split(separator: ":").last!)
        else { throw ServeProcess.ServeFailed(output: process.readyLine) }
        return (process, port)
    }

    /// Sum of a metric's values at 1 s granularity once `expected` is reached (or the last seen after 10 s).
    static func settle(
        _ client: OrzoClient, _ metric: String, _ aggregation: String, until expected: Double, granularity: Double = 1,
        combine: ([Double]) -> Double = { $0.reduce(0, +) }
    ) async throws -> Double? {
        var last: Double?
        for _ in 0..<200 {
            do {
                let points = try await client.measures(
                    of: metric, aggregation: aggregation, granularity: granularity, refresh: true)
                last = combine(points.compactMap(\.value))
                if last == expected { return last }
            } catch let error as OrzoClientError where error.code == "not_found" {}
            try await Task.sleep(for: .milliseconds(50))
        }
        return last
    }

    @Test("counters, gauges, timers and sets arrive as aggregates every interval; metrics come from rules")
    func intervals() async throws {
        let server = try ServeProcess()
        defer { _ = server.stop() }
        let client = try OrzoClient(endpoints: .init(push: server.push, ack: server.ack, query: server.query))
        try await client.createArchivePolicy(
            name: "second", definition: [.init(granularity: 1, points: 3600)],
            aggregationMethods: ["sum", "count", "min", "max", "last"])
        try await client.createArchivePolicyRule(name: "statsd", metricPattern: "st.*", archivePolicy: "second")
        let metricsPort = freePort()
        let (bridge, port) = try Self.bridge(
            to: server, flushInterval: "0.2", extra: ["--metrics-endpoint", "127.0.0.1:\(metricsPort)"])
        defer { bridge.stop() }

        Self.send(String(repeating: "hits:1|c\n", count: 10) + "hits:4|c|@0.5\nload:10|g\nload:+5|g", port: port)
        Self.send("rt:10|ms\nrt:30|ms\nrt:20|ms\nu:a|s\nu:b|s\nu:a|s\njunk\nhits:1|g", port: port)

        #expect(try await Self.settle(client, "st.hits", "sum", until: 18) == 18)
        #expect(try await Self.settle(client, "st.load", "last", until: 15, combine: { $0.last ?? .nan }) == 15)
        #expect(try await Self.settle(client, "st.rt", "count", until: 3) == 3)
        #expect(try await Self.settle(client, "st.rt", "max", until: 30, combine: { $0.max() ?? .nan }) == 30)
        #expect(try await Self.settle(client, "st.rt", "min", until: 10, combine: { $0.min() ?? .nan }) == 10)
        #expect(try await Self.settle(client, "st.u", "max", until: 2, combine: { $0.max() ?? .nan }) == 2)
        #expect(try await client.metric("st.hits").archivePolicyName == "second")
        // A relative gauge update in a later interval builds on the last value.
        Self.send("load:-6|g", port: port)
        #expect(try await Self.settle(client, "st.load", "last", until: 9, combine: { $0.last ?? .nan }) == 9)

        // What the bridge saw and did, on its /metrics.
        let body = try httpGet(port: metricsPort, path: "/metrics").body
        #expect(MetricsEndpointTests.sample(body, "orzo_statsd_lines_total") == 22, "\(body)")
        #expect(MetricsEndpointTests.sample(body, #"orzo_statsd_lines_rejected_total{reason="malformed"}"#) == 1)
        #expect(MetricsEndpointTests.sample(body, #"orzo_statsd_lines_rejected_total{reason="type_conflict"}"#) == 1)
        #expect(MetricsEndpointTests.sample(body, #"orzo_statsd_measures_total{outcome="stored"}"#)! >= 7)
        #expect(MetricsEndpointTests.sample(body, #"orzo_statsd_measures_total{outcome="rejected"}"#) == 0)
        #expect(MetricsEndpointTests.sample(body, #"orzo_statsd_flushes_total{outcome="ok"}"#)! >= 2)
        #expect(MetricsEndpointTests.sample(body, #"orzo_statsd_flushes_total{outcome="failed"}"#) == 0)
    }

    @Test("SIGTERM flushes the interval in progress before the bridge exits")
    func lastFlush() async throws {
        let server = try ServeProcess()
        defer { _ = server.stop() }
        let client = try OrzoClient(endpoints: .init(push: server.push, ack: server.ack, query: server.query))
        try await client.createArchivePolicy(
            name: "second", definition: [.init(granularity: 1, points: 3600)], aggregationMethods: ["sum"])
        try await client.createArchivePolicyRule(name: "statsd", metricPattern: "st.*", archivePolicy: "second")
        let (bridge, port) = try Self.bridge(to: server, flushInterval: "600")
        Self.send("final:7|c", port: port)
        try await Task.sleep(for: .milliseconds(300))  // UDP: give the datagram time to arrive
        bridge.stop()
        #expect(bridge.process.terminationStatus == 0)
        #expect(try await Self.settle(client, "st.final", "sum", until: 7) == 7)
    }

    @Test("flushes that Orzo does not acknowledge are kept and sent once it is back")
    func keptUntilAcknowledged() async throws {
        let id = UInt64.random(in: 0..<UInt64.max)
        let ack = "ipc:///tmp/orzo-e2e-\(id)-ack"
        let metricsPort = freePort()
        // The bridge starts first: nothing listens on its ack endpoint yet.
        let bridge = try RoleProcess([
            "statsd", "--statsd-endpoint", "127.0.0.1:0", "--ack-endpoint", ack, "--flush-interval", "0.2",
            "--prefix", "st.", "--metrics-endpoint", "127.0.0.1:\(metricsPort)",
        ])
        defer { bridge.stop() }
        let range = try #require(bridge.readyLine.range(of: #"127\.0\.0\.1:(\d+)"#, options: .regularExpression))
        let port = Int(bridge.readyLine[range].split(separator: ":").last!)!
        Self.send("early:5|c", port: port)
        var failed = 0.0
        for _ in 0..<100 where failed < 1 {  // a flush gives up after 2 attempts of 1 s
            try await Task.sleep(for: .milliseconds(100))
            let body = (try? httpGet(port: metricsPort, path: "/metrics").body) ?? ""
            failed = MetricsEndpointTests.sample(body, #"orzo_statsd_flushes_total{outcome="failed"}"#) ?? 0
        }
        #expect(failed >= 1)
        Self.send("early:2|c", port: port)  // a later interval, merged with what waits

        let server = try ServeProcess(id: id)
        defer { _ = server.stop() }
        let client = try OrzoClient(endpoints: .init(push: server.push, ack: server.ack, query: server.query))
        #expect(try await Self.settle(client, "st.early", "sum", until: 7, granularity: 300) == 7)
    }
}
