import Foundation
import Glibc
import OrzoClient
import Testing
import Timeseries
import WireProtocol

/// `orzo serve` killed in the middle of a cycle and started again on its data
/// directory (docs/storage-files.md, "Leases").
@Suite("orzo serve: kill -9 and restart", .serialized, .timeLimit(.minutes(2)))
struct RestartTests {
    private static let t0: Nanoseconds = 1_767_225_600 * nanosecondsPerSecond

    /// Waits, off the concurrency pool, until `process` has exited.
    private func waitForExit(_ process: Process) async throws {
        let deadline = ContinuousClock.now + .seconds(30)
        while process.isRunning && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        #expect(!process.isRunning, "the process did not die at the failpoint")
    }

    @Test("the leases of a killed serve are taken back at once: its metrics refresh within a second of the restart")
    func leasesTakenBack() async throws {
        let id = UInt64.random(in: 0..<UInt64.max)
        // The first process dies at its first cycle, after taking the lease and loading.
        let first = try ServeProcess(id: id, environment: ["ORZO_FAILPOINT": "cycle.after-load"])
        let endpoints = OrzoClient.Endpoints(push: first.push, ack: first.ack, query: first.query)
        let client = try OrzoClient(endpoints: endpoints, timeout: .seconds(5), attempts: 1)
        let measures = (0..<5).map { Measure(timestamp: Self.t0 + Int64($0) * 60 * nanosecondsPerSecond, value: 1) }
        _ = try? await client.put(["restart.m": measures])  // the reply may be lost with the process
        try await waitForExit(first.process)
        #expect(first.process.terminationReason == .uncaughtSignal)

        let second = try ServeProcess(id: id)
        defer { _ = second.stop() }
        let again = try OrzoClient(endpoints: endpoints, timeout: .seconds(20), attempts: 1)
        let started = ContinuousClock.now
        let points = try await again.measures(of: "restart.m", aggregation: "count", refresh: true)
        let waited = ContinuousClock.now - started
        print("refresh after kill -9 and restart: \(waited)")
        #expect(points.compactMap(\.value).reduce(0, +) == 5)
        // The lease is 30 s and a refresh waits 10 s for one: this is far below both
        // (0.4 s alone; the bound leaves room for the whole suite on two cores).
        #expect(waited < .seconds(8), "refresh took \(waited)")
    }

    @Test("a second serve on one data directory is refused, and so is a role, with a message saying why")
    func exclusive() async throws {
        let serve = try ServeProcess()
        defer { _ = serve.stop() }
        let other = try await runProcessOffPool(
            orzoExecutable,
            [
                "serve", "--data-dir", serve.dataDirectory, "--push-endpoint", "ipc:///tmp/orzo-x-\(getpid())-p",
                "--ack-endpoint", "ipc:///tmp/orzo-x-\(getpid())-a", "--query-endpoint",
                "ipc:///tmp/orzo-x-\(getpid())-q", "--http-endpoint", "off",
            ])
        #expect(other.status != 0)
        #expect(other.output.contains("in use by another orzo process"), "\(other.output)")
        let role = try await runProcessOffPool(
            orzoExecutable,
            ["metricd", "--data-dir", serve.dataDirectory])
        #expect(role.status != 0)
        #expect(
            role.output.contains("held by a running orzo serve (pid \(serve.process.processIdentifier))"),
            "\(role.output)")
        // The first one still answers.
        let client = try OrzoClient(endpoints: .init(push: serve.push, ack: serve.ack, query: serve.query))
        _ = try await client.status()
    }
}
