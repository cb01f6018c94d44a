import Foundation
import Glibc
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
    @Test("while puts wait on syncs stalled for 6 s, status and get_measures answer in milliseconds")
    func stalledSyncs() async throws {
        let server = try ServeProcess(environment: [
            "ORZO_FAILPOINT": "files.sync", "ORZO_FAILPOINT_ACTION": "stall", "ORZO_FAILPOINT_STALL_MS": "6000",
        ])
        defer { server.kill() }  // a graceful stop would wait out the stalled syncs
        let client = try OrzoClient(
            endpoints: .init(push: server.push, ack: server.ack, query: server.query), timeout: .seconds(30))
        _ = try await client.createMetric(name: "stall.read")
        let t0: Nanoseconds = 1_767_225_600 * nanosecondsPerSecond
        // Six puts of four metrics each: each append ends with a syncfs that stalls 6 s.
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
        // Probed from a thread of its own with blocking calls: the test process's
        // concurrency pool is shared with every other suite running meanwhile, and
        // their waits would show up here as the server's latency.
        let metric = Array(#"{"op":"get_measures","metric":"stall.read"}"#.utf8)
        let status = Array(#"{"op":"status"}"#.utf8)
        let queryEndpoint = server.query
        let (latencies, finished): ([Duration], ContinuousClock.Instant) = try await withCheckedThrowingContinuation {
            continuation in
            Thread {
                continuation.resume(
                    with: Result {
                        usleep(300_000)  // the puts are in their stalled syncs now
                        let socket = try ZMQSocket(context, type: .req)
                        defer { socket.close() }
                        try socket.set(.receiveTimeout(.seconds(20)))
                        try socket.connect(queryEndpoint)
                        var latencies: [Duration] = []
                        for round in 0..<10 {
                            let started = ContinuousClock.now
                            _ = try socket.send([Array(Verb.query.utf8), round % 2 == 0 ? status : metric])
                            let reply = try socket.receive()
                            guard reply?.first == Array(Verb.ok.utf8) else {
                                throw ZMQError(code: -1, operation: "query answered with an error")
                            }
                            latencies.append(ContinuousClock.now - started)
                        }
                        // Measured here: resuming the test's task can wait for the pool.
                        return (latencies, ContinuousClock.now)
                    })
            }.start()
        }
        let answeredBy = finished - putsSent
        print("query latency while syncs stall: max \(latencies.max()!), all answered \(answeredBy) after the puts")
        // A query held behind a stalled sync would take the 6 s stall; and no stall,
        // begun after the puts were sent, can have ended before all were answered.
        #expect(latencies.max()! < .seconds(1), "\(latencies)")
        #expect(answeredBy < .seconds(6), "the queries were answered while the syncs stalled")
        for dealer in dealers {
            let reply = try #require(try await dealer.receive(timeout: .seconds(60)))
            #expect(String(decoding: reply[0], as: UTF8.self) == Verb.ok)
        }
    }
}
