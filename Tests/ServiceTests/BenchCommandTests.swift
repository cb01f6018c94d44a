import Foundation
import Testing

/// `orzo bench` against a real `orzo serve`: the report, the CSV files, the
/// summary and the graphs.
@Suite("orzo bench against orzo serve", .serialized, .timeLimit(.minutes(5)))
struct BenchCommandTests {
    @Test("a small seed run: every request recorded, all aggregated, files written")
    func seed() throws {
        let server = try ServeProcess()
        defer { _ = server.stop() }
        let output = "/tmp/orzo-bench-test-\(UInt64.random(in: 0..<UInt64.max))"
        let (status, text) = try ConfigFileTests.run([
            "bench", "--clients", "3", "--batches", "5", "--measures", "20", "--metrics-per-client", "2",
            "--push-endpoint", server.push, "--ack-endpoint", server.ack, "--query-endpoint", server.query,
            "--output", output, "--label", "test",
        ])
        #expect(status == 0, "\(text)")
        #expect(text.contains("test: 3 clients x 5 x (ack 20 measures x 2 metrics + read)"), "\(text)")
        #expect(text.contains("600 measures"), "\(text)")
        #expect(text.contains("write: mean / std / min / max"))
        #expect(text.contains("read: mean / std / min / max"))
        #expect(text.contains("all aggregated"), "\(text)")

        for client in 0..<3 {
            let csv = try String(contentsOfFile: "\(output)/client-\(client).csv", encoding: .utf8)
            let lines = csv.split(separator: "\n")
            #expect(lines.first == "client,index,kind,start_s,latency_ms")
            #expect(lines.count == 1 + 5 * 2)  // a write and a read per batch
        }
        let summary =
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(output)/summary.json")))
            as? [String: Any]
        #expect(summary?["measures"] as? Int == 600)
        #expect((summary?["write"] as? [String: Any])?["count"] as? Int == 15)
        #expect(summary?["settled_seconds"] is Double)
        let svg = try String(contentsOfFile: "\(output)/write-latency.svg", encoding: .utf8)
        #expect(svg.components(separatedBy: "<polyline").count == 4)
        #expect(FileManager.default.fileExists(atPath: "\(output)/read-latency.svg"))
        // PNG through rsvg-convert, which the test command installs.
        let png = try Data(contentsOf: URL(fileURLWithPath: "\(output)/write-latency.png"))
        #expect(png.prefix(4) == Data([0x89, 0x50, 0x4E, 0x47]))
    }

    @Test("the wide workload: puts of a slice of the metrics, created by a rule; per-round rates; a reader beside")
    func wide() throws {
        let server = try ServeProcess()
        defer { _ = server.stop() }
        let output = "/tmp/orzo-bench-test-\(UInt64.random(in: 0..<UInt64.max))"
        let (status, text) = try ConfigFileTests.run([
            "bench", "--clients", "2", "--batches", "3", "--measures", "1", "--metrics-per-client", "250",
            "--metrics-per-put", "100", "--create-by-rule", "--no-read", "--query-under-load", "1440",
            "--push-endpoint", server.push, "--ack-endpoint", server.ack, "--query-endpoint", server.query,
            "--output", output, "--label", "wide",
        ])
        #expect(status == 0, "\(text)")
        #expect(text.contains("1500 measures"), "\(text)")
        for round in 1...3 { #expect(text.contains("round \(round): "), "\(text)") }
        #expect(text.contains("query: mean / std / min / max"), "\(text)")
        #expect(text.contains("all aggregated"), "\(text)")
        // 250 metrics in puts of at most 100: 3 requests per round, per client.
        let csv = try String(contentsOfFile: "\(output)/client-0.csv", encoding: .utf8)
        #expect(csv.split(separator: "\n").filter { $0.contains(",write,") }.count == 3 * 3)
        let summary =
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(output)/summary.json")))
            as? [String: Any]
        #expect((summary?["rounds"] as? [Any])?.count == 3)
        // The metrics exist, created by the puts through the run's rule.
        let (listed, names) = try ConfigFileTests.run([
            "metric", "list", "--query-endpoint", server.query, "--format", "json", "--limit", "1000",
        ])
        #expect(listed == 0, "\(names)")
        #expect(names.components(separatedBy: ".c1.m249").count == 2, "\(names.prefix(500))")
    }

    @Test("push without reads")
    func pushOnly() throws {
        let server = try ServeProcess()
        defer { _ = server.stop() }
        let (status, text) = try ConfigFileTests.run([
            "bench", "--clients", "2", "--batches", "3", "--measures", "10", "--push", "--no-read", "--settle-seconds",
            "30",
            "--push-endpoint", server.push, "--ack-endpoint", server.ack, "--query-endpoint", server.query,
        ])
        #expect(status == 0, "\(text)")
        #expect(text.contains("(push 10 measures x 1 metrics)"), "\(text)")
        #expect(!text.contains("read:"))
        #expect(text.contains("all aggregated"), "\(text)")
    }

    @Test("visibility mode: each probe's put until a read without refresh returns it")
    func visibility() throws {
        let server = try ServeProcess()
        defer { _ = server.stop() }
        let output = "/tmp/orzo-bench-test-\(UInt64.random(in: 0..<UInt64.max))"
        let (status, text) = try ConfigFileTests.run([
            "bench", "--visibility-probes", "5", "--output", output, "--label", "vis",
            "--push-endpoint", server.push, "--ack-endpoint", server.ack, "--query-endpoint", server.query,
        ])
        #expect(status == 0, "\(text)")
        #expect(text.contains("vis: acknowledged put of one measure → readable without refresh, 5 probes"), "\(text)")
        let summary =
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(output)/visibility.json")))
            as? [String: Any]
        #expect(summary?["count"] as? Int == 5)
        // A worker aggregates it: not instant (a cycle at least), not stuck either.
        #expect((summary?["p50_ms"] as? Double).map { $0 > 0 && $0 < 30_000 } == true, "\(summary ?? [:])")
    }
}
