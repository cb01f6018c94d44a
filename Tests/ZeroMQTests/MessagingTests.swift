import OrzoTestSupport
import Testing
import ZeroMQ

@Suite("ZeroMQ: messaging over real sockets", .timeLimit(.minutes(5)))
struct MessagingTests {
    @Test("PUSH/PULL carries multipart messages intact and in order", arguments: Transport.allCases)
    func pushPullMultipart(transport: Transport) async throws {
        let context = try ZMQContext()
        let (pull, endpoint) = try bound(context, .pull, transport)
        let push = try connected(context, .push, to: endpoint)
        var generator = SplitMix64(seed: 42)
        var sent: [[[UInt8]]] = []
        for index in 0..<500 {
            let partCount = Int(generator.next() % 5) + 1
            var message: [[UInt8]] = [Array("message \(index)")]
            for _ in 1..<partCount {
                let size = Int(generator.next() % 300)
                message.append((0..<size).map { _ in UInt8(truncatingIfNeeded: generator.next()) })
            }
            sent.append(message)
        }
        for message in sent { #expect(try await push.send(message, timeout: .seconds(5))) }
        for expected in sent {
            let received = try #require(try await pull.receive(timeout: .seconds(5)))
            #expect(received == expected)
        }
        #expect(try await pull.receive(timeout: .milliseconds(50)) == nil)
    }

    @Test(
        "multipart messages are delivered whole or not at all at a full high-water mark", arguments: Transport.allCases)
    func multipartAtomicity(transport: Transport) async throws {
        let context = try ZMQContext()
        let (pull, endpoint) = try bound(context, .pull, transport, options: [.receiveHighWaterMark(5)])
        let push = try connected(context, .push, to: endpoint, options: [.sendHighWaterMark(5)])
        // Wait for the connection, so sends are not refused for want of a peer.
        #expect(try await push.send([Array("hello")], timeout: .seconds(5)))
        #expect(try await pull.receive(timeout: .seconds(5)) == [Array("hello")])

        var accepted = 0
        var refused = 0
        let bigPart = [UInt8](repeating: 0xAB, count: 100_000)
        for index in 0..<2000 {
            let message = [Array("id \(index)"), bigPart, Array("end \(index)")]
            if try push.send(message, mode: .dontWait) { accepted += 1 } else { refused += 1 }
        }
        #expect(refused > 0, "the high-water mark was never reached")
        var received = 0
        while let message = try await pull.receive(timeout: .milliseconds(500)) {
            #expect(message.count == 3)
            let id = String(decoding: message[0], as: UTF8.self).dropFirst(3)
            #expect(message[1] == bigPart)
            #expect(String(decoding: message[2], as: UTF8.self) == "end \(id)")
            received += 1
        }
        #expect(received == accepted, "accepted \(accepted), refused \(refused), received \(received)")
    }

    @Test("a full high-water mark makes a send time out instead of queueing", arguments: Transport.allCases)
    func highWaterMarkSendTimeout(transport: Transport) async throws {
        let context = try ZMQContext()
        // A receiver that never reads.
        let (pull, endpoint) = try bound(context, .pull, transport, options: [.receiveHighWaterMark(4)])
        let push = try connected(
            context, .push, to: endpoint, options: [.sendHighWaterMark(4), .sendTimeout(.milliseconds(200))])
        let payload = [UInt8](repeating: 7, count: 256 << 10)
        var sent = 0
        var blockedFor = Duration.zero
        // Blocking sends honour ZMQ_SNDTIMEO; kernel buffers absorb some messages first.
        while sent < 10_000 {
            let start = ContinuousClock.now
            if try push.send([payload], mode: .blocking) {
                sent += 1
            } else {
                blockedFor = ContinuousClock.now - start
                break
            }
        }
        #expect(sent < 10_000, "the sender never hit its high-water mark")
        #expect(blockedFor >= .milliseconds(150), "refused after \(blockedFor), before the send timeout")
        // The asynchronous send times out the same way, without blocking a thread.
        let start = ContinuousClock.now
        #expect(try await push.send([payload], timeout: .milliseconds(300)) == false)
        #expect(ContinuousClock.now - start >= .milliseconds(250))
        // Once the receiver drains, sending works again.
        var drained = 0
        while try pull.receive(mode: .dontWait) != nil { drained += 1 }
        #expect(drained > 0)
        #expect(try await push.send([Array("after")], timeout: .seconds(5)))
        withExtendedLifetime(pull) {}
    }

    @Test("an oversized message disconnects only its sender", arguments: Transport.allCases)
    func oversizedMessage(transport: Transport) async throws {
        let context = try ZMQContext()
        let (pull, endpoint) = try bound(context, .pull, transport, options: [.maxMessageSize(1024)])
        let monitorEndpoint = "inproc://monitor-\(UInt64.random(in: 0..<UInt64.max))"
        try pull.monitor(monitorEndpoint, events: [.accepted, .disconnected])
        let monitor = try connected(context, .pair, to: monitorEndpoint)
        let offender = try connected(context, .push, to: endpoint, options: [.reconnectInterval(.milliseconds(50))])
        let wellBehaved = try connected(context, .push, to: endpoint)

        for index in 0..<25 { #expect(try await wellBehaved.send([Array("ok \(index)")], timeout: .seconds(5))) }
        #expect(try await offender.send([[UInt8](repeating: 1, count: 4096)], timeout: .seconds(5)))
        for index in 25..<50 { #expect(try await wellBehaved.send([Array("ok \(index)")], timeout: .seconds(5))) }

        var fromWellBehaved: [String] = []
        while fromWellBehaved.count < 50, let message = try await pull.receive(timeout: .seconds(5)) {
            #expect(message[0].count <= 1024, "an oversized message got through")
            fromWellBehaved.append(String(decoding: message[0], as: UTF8.self))
        }
        #expect(fromWellBehaved == (0..<50).map { "ok \($0)" })

        // The monitor saw exactly one connection dropped: the offender's.
        var disconnects = 0
        while let message = try await monitor.receive(timeout: .milliseconds(500)) {
            if ZMQMonitorEvent(message: message)?.kind == .disconnected { disconnects += 1 }
            if disconnects == 1 { break }
        }
        #expect(disconnects == 1)

        // The offender reconnects and can send again; the other connection never broke.
        #expect(try await offender.send([Array("offender behaves")], timeout: .seconds(5)))
        #expect(try await wellBehaved.send([Array("still here")], timeout: .seconds(5)))
        var later: Set<String> = []
        while later.count < 2, let message = try await pull.receive(timeout: .seconds(5)) {
            later.insert(String(decoding: message[0], as: UTF8.self))
        }
        #expect(later == ["offender behaves", "still here"])
    }
}
