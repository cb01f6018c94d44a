import Testing
import ZeroMQ

@Suite("ZeroMQ: async receive and CURVE", .timeLimit(.minutes(5)))
struct ConcurrencyTests {
    @Test("many tasks await receives at once without holding cooperative threads")
    func manyWaiters() async throws {
        let context = try ZMQContext()
        let count = 64
        let endpoints = (0..<count).map { "inproc://waiter-\($0)-\(UInt64.random(in: 0..<UInt64.max))" }
        try await withThrowingTaskGroup(of: [UInt8]?.self) { group in
            for endpoint in endpoints {
                // Each socket is created by and stays with the task that owns it.
                group.addTask {
                    let pull = try ZMQSocket(context, type: .pull)
                    try pull.bind(endpoint)
                    return try await pull.receive(timeout: .seconds(20))?.first
                }
            }
            // With 2 cooperative threads, this task only runs because the 64
            // receivers are suspended, not blocked.
            try await Task.sleep(for: .milliseconds(200))
            for endpoint in endpoints {
                let push = try ZMQSocket(context, type: .push)
                var connectedOK = false
                for _ in 0..<100 where !connectedOK {
                    do {
                        try push.connect(endpoint)
                        connectedOK = true
                    } catch {
                        try await Task.sleep(for: .milliseconds(10))
                    }
                }
                #expect(try await push.send([Array(endpoint)], timeout: .seconds(5)))
            }
            var received: Set<String> = []
            for try await message in group {
                let message = try #require(message)
                received.insert(String(decoding: message, as: UTF8.self))
            }
            #expect(received == Set(endpoints))
        }
    }

    @Test("cancelling a task that awaits a receive ends it with CancellationError")
    func cancellation() async throws {
        let context = try ZMQContext()
        let endpoint = "inproc://cancel-\(UInt64.random(in: 0..<UInt64.max))"
        let task = Task {
            let pull = try ZMQSocket(context, type: .pull)
            try pull.bind(endpoint)
            _ = try await pull.receive()
        }
        try await Task.sleep(for: .milliseconds(100))
        task.cancel()
        let result = await task.result
        #expect(throws: CancellationError.self) { try result.get() }
    }

    @Test("CURVE: a client with the server's key talks; one with a wrong key is refused")
    func curve() async throws {
        #expect(ZMQContext.has("curve"))
        let context = try ZMQContext()
        let server = try ZMQCurveKeyPair.generate()
        let client = try ZMQCurveKeyPair.generate()
        let stranger = try ZMQCurveKeyPair.generate()
        #expect(server.publicKey.count == 40 && server.secretKey.count == 40)
        let (rep, endpoint) = try bound(
            context, .rep, .tcp,
            options: [.curveServer(true), .curveSecretKey(server.secretKey), .zapDomain("orzo")])
        let monitorEndpoint = "inproc://curve-monitor-\(UInt64.random(in: 0..<UInt64.max))"
        try rep.monitor(monitorEndpoint, events: [.handshakeSucceeded, .handshakeFailedProtocol, .handshakeFailedAuth])
        let monitor = try connected(context, .pair, to: monitorEndpoint)

        let trusted = try connected(
            context, .req, to: endpoint,
            options: [
                .curveServerKey(server.publicKey), .curvePublicKey(client.publicKey),
                .curveSecretKey(client.secretKey),
            ])
        #expect(try await trusted.send([Array("secret ping")], timeout: .seconds(5)))
        #expect(try await rep.receive(timeout: .seconds(5)) == [Array("secret ping")])
        #expect(try await rep.send([Array("secret pong")], timeout: .seconds(5)))
        #expect(try await trusted.receive(timeout: .seconds(5)) == [Array("secret pong")])

        // A client that expects a different server key fails the handshake.
        let fooled = try connected(
            context, .req, to: endpoint,
            options: [
                .curveServerKey(stranger.publicKey), .curvePublicKey(client.publicKey),
                .curveSecretKey(client.secretKey),
            ])
        #expect(try await fooled.send([Array("should not arrive")], timeout: .seconds(1)))
        #expect(try await rep.receive(timeout: .milliseconds(500)) == nil)
        // The refused client retries every 100 ms, so read events until the first failure.
        var kinds: [ZMQMonitorEvent.Kinds] = []
        let deadline = ContinuousClock.now + .seconds(5)
        while ContinuousClock.now < deadline, !kinds.contains(where: { $0 != .handshakeSucceeded }),
            let message = try await monitor.receive(timeout: .seconds(1))
        {
            if let event = ZMQMonitorEvent(message: message) { kinds.append(event.kind) }
        }
        #expect(kinds.first == .handshakeSucceeded)
        #expect(kinds.contains(.handshakeFailedProtocol) || kinds.contains(.handshakeFailedAuth), "events: \(kinds)")
    }
}
