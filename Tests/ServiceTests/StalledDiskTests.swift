import Foundation
import OrzoClient
import Storage
import Testing
import Timeseries
import WireProtocol
import ZeroMQ

/// The file store's blocking calls run on their own threads: with every sync
/// stalled (the `files.sync` failpoint), queries are still answered at once.
@Suite("A stalled disk does not stall the service", .timeLimit(.minutes(2)))
struct StalledDiskTests {
    @Test("while puts wait on syncs stalled for 4 s, status and get_measures answer in milliseconds")
    func stalledSyncs() async throws {
        let server = try ServeProcess(environment: [
            "ORZO_FAILPOINT": "files.sync", "ORZO_FAILPOINT_ACTION": "stall", "ORZO_FAILPOINT_STALL_MS": "4000",
        ])
        defer { _ = server.stop() }
        let client = try OrzoClient(
            endpoints: .init(push: server.push, ack: server.ack, query: server.query), timeout: .seconds(30))
        _ = try await client.createMetric(name: "stall.read")
        let t0: Nanoseconds = 1_767_225_600 * nanosecondsPerSecond
        // Six puts of four metrics each: each append ends with a syncfs that stalls.
        let context = try ZMQContext()
        var dealers: [ZMQSocket] = []
        for index in 0..<6 {
            let dealer = try ZMQSocket(context, type: .dealer)
            try dealer.connect(server.ack)
            var frames: [[UInt8]] = [Array(Verb.put.utf8), Array("p\(index)".utf8)]
            for metric in 0..<4 {
                frames += [
                    Array("stall.\(index).\(metric)".utf8),
                    MeasureRecords.encode([Measure(timestamp: t0, value: Double(metric))]),
                ]
            }
            #expect(try await dealer.send(frames, timeout: .seconds(5)))
            dealers.append(dealer)
        }
        let putsSent = ContinuousClock.now
        try await Task.sleep(for: .milliseconds(300))  // the puts are in their stalled syncs now
        var latencies: [Duration] = []
        for round in 0..<10 {
            let started = ContinuousClock.now
            if round % 2 == 0 {
                _ = try await client.status()
            } else {
                _ = try await client.measures(of: "stall.read")
            }
            latencies.append(ContinuousClock.now - started)
        }
        let answeredBy = ContinuousClock.now - putsSent
        print("query latency while syncs stall: max \(latencies.max()!), all answered \(answeredBy) after the puts")
        // A query held behind a stalled sync would take the 4 s stall.
        #expect(latencies.max()! < .seconds(1), "\(latencies)")
        #expect(answeredBy < .milliseconds(3500), "the queries were answered before the first stall ended")
        for dealer in dealers {
            let reply = try #require(try await dealer.receive(timeout: .seconds(60)))
            #expect(String(decoding: reply[0], as: UTF8.self) == Verb.ok)
        }
    }
}
