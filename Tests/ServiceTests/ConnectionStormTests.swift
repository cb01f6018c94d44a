import Foundation
import Testing

/// Connection storms against a real `orzo serve` (deploy/bench/connection-storm.py,
/// with Debian's Python and python3-zmq): the memory that thousands of
/// short-lived connections used goes back to the system (HeapTrimmer). The full
/// run (10 bursts of 5,000, a minute of quiet) is in docs/reliability.md; this
/// is a smaller one that fits the test suite.
@Suite("connection storms", .timeLimit(.minutes(3)))
struct ConnectionStormTests {
    @Test("bursts of 2,000 connections: resident size stays near the first burst's, and comes back to idle")
    func memoryComesBack() async throws {
        let server = try ServeProcess(extraArguments: [], id: .random(in: 0..<UInt64.max))
        defer { _ = server.stop() }
        let summary = "/tmp/orzo-e2e-storm-\(server.process.processIdentifier).json"
        defer { try? FileManager.default.removeItem(atPath: summary) }
        let script = FuzzCorpusTests.repository.appendingPathComponent("deploy/bench/connection-storm.py").path
        let (status, output) = try await runProcessOffPool(
            URL(fileURLWithPath: "/usr/bin/python3"),
            [
                script, "--pid", "\(server.process.processIdentifier)", "--endpoint", server.query, "--bursts", "4",
                "--connections", "2000", "--concurrent", "2000", "--settle", "2", "--quiet", "3", "--json", summary,
            ])
        #expect(status == 0, "\(output)")
        let data = try #require(FileManager.default.contents(atPath: summary), "\(output)")
        let figures = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let ratio = try #require(figures["last_over_first"] as? Double)
        let kept = try #require(figures["quiet_over_idle_mb"] as? Double)
        print("connection storm: last/first \(ratio), quiet − idle \(kept) MB")
        #expect(ratio <= 1.5, "\(output)")
        #expect(kept <= 64, "\(output)")
    }
}
