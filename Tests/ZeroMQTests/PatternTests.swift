import Testing
import ZeroMQ

@Suite("ZeroMQ: socket patterns and errors", .timeLimit(.minutes(5)))
struct PatternTests {
    @Test("REQ/REP round trips; a REQ that sends twice gets invalidState", arguments: Transport.allCases)
    func requestReply(transport: Transport) async throws {
        let context = try ZMQContext()
        let (rep, endpoint) = try bound(context, .rep, transport)
        let req = try connected(context, .req, to: endpoint)
        for index in 0..<20 {
            #expect(try await req.send([Array("ping"), Array("\(index)")], timeout: .seconds(5)))
            let request = try #require(try await rep.receive(timeout: .seconds(5)))
            #expect(request == [Array("ping"), Array("\(index)")])
            #expect(try await rep.send([Array("pong \(index)")], timeout: .seconds(5)))
            #expect(try await req.receive(timeout: .seconds(5)) == [Array("pong \(index)")])
        }
        #expect(try req.send([Array("one")], mode: .dontWait))
        #expect(throws: ZMQError.self) { _ = try req.send([Array("two")], mode: .dontWait) }
        do {
            _ = try req.send([Array("two")], mode: .dontWait)
        } catch {
            #expect(error.kind == .invalidState)
        }
    }

    @Test("ROUTER/DEALER with routing ids; ROUTER_MANDATORY reports an unknown peer")
    func routerDealer() async throws {
        let context = try ZMQContext()
        let (router, endpoint) = try bound(context, .router, .tcp, options: [.routerMandatory(true)])
        let dealer = try connected(context, .dealer, to: endpoint, options: [.routingID(Array("agent-7"))])
        #expect(try await dealer.send([Array("orzo.v1.put"), Array("request-1")], timeout: .seconds(5)))
        let request = try #require(try await router.receive(timeout: .seconds(5)))
        #expect(request == [Array("agent-7"), Array("orzo.v1.put"), Array("request-1")])
        #expect(
            try await router.send([Array("agent-7"), Array("orzo.v1.ok"), Array("request-1")], timeout: .seconds(5)))
        #expect(try await dealer.receive(timeout: .seconds(5)) == [Array("orzo.v1.ok"), Array("request-1")])
        do {
            _ = try router.send([Array("nobody"), Array("lost")], mode: .dontWait)
            Issue.record("sending to an unknown routing id succeeded")
        } catch {
            #expect(error.kind == .hostUnreachable)
        }
    }

    @Test("PUB/SUB delivers only subscribed prefixes")
    func publishSubscribe() async throws {
        let context = try ZMQContext()
        let (publisher, endpoint) = try bound(context, .pub, .ipc)
        let subscriber = try connected(context, .sub, to: endpoint, options: [.subscribe(Array("metric."))])
        // A subscription takes a moment to reach the publisher: publish until one arrives.
        var first: [[UInt8]]?
        for _ in 0..<100 where first == nil {
            _ = try publisher.send([Array("other.x")], mode: .dontWait)
            _ = try publisher.send([Array("metric.ready")], mode: .dontWait)
            first = try await subscriber.receive(timeout: .milliseconds(50))
        }
        #expect(first == [Array("metric.ready")])
        while try await subscriber.receive(timeout: .milliseconds(100)) != nil {}
        _ = try publisher.send([Array("other.y")], mode: .dontWait)
        _ = try publisher.send([Array("metric.cpu"), Array("42")], mode: .dontWait)
        #expect(try await subscriber.receive(timeout: .seconds(5)) == [Array("metric.cpu"), Array("42")])
    }

    @Test("poll over several sockets reports which one is ready")
    func pollSeveral() async throws {
        let context = try ZMQContext()
        let (first, firstEndpoint) = try bound(context, .pull, .tcp)
        let (second, secondEndpoint) = try bound(context, .pull, .ipc)
        let firstPush = try connected(context, .push, to: firstEndpoint)
        let secondPush = try connected(context, .push, to: secondEndpoint)
        let idle = try ZMQPoller.poll([(first, .pollIn), (second, .pollIn)], timeout: .milliseconds(100))
        #expect(idle == [[], []])
        #expect(try await secondPush.send([Array("to second")], timeout: .seconds(5)))
        let ready = try ZMQPoller.poll([(first, .pollIn), (second, .pollIn)], timeout: .seconds(5))
        #expect(ready == [[], .pollIn])
        #expect(try second.receive(mode: .dontWait) == [Array("to second")])
        withExtendedLifetime(firstPush) {}
    }

    @Test("a blocking receive honours ZMQ_RCVTIMEO; an async one its timeout")
    func receiveTimeouts() async throws {
        let context = try ZMQContext()
        let (pull, _) = try bound(context, .pull, .tcp, options: [.receiveTimeout(.milliseconds(150))])
        var start = ContinuousClock.now
        #expect(try pull.receive(mode: .blocking) == nil)
        #expect(ContinuousClock.now - start >= .milliseconds(120))
        start = ContinuousClock.now
        #expect(try await pull.receive(timeout: .milliseconds(200)) == nil)
        let waited = ContinuousClock.now - start
        // A generous upper bound: the suite runs in parallel on two cores.
        // The upper bound only tells "honoured" from "never returns": the test process
        // shares its two pool threads with every other suite.
        #expect(waited >= .milliseconds(190) && waited < .seconds(60), "waited \(waited)")
    }

    @Test("bad endpoints and closed sockets give typed errors")
    func errors() throws {
        let context = try ZMQContext()
        let socket = try ZMQSocket(context, type: .pull)
        #expect(throws: ZMQError.self) { try socket.bind("nonsense://x") }
        let (other, endpoint) = try bound(context, .pull, .tcp)
        do {
            try socket.bind(endpoint)
            Issue.record("binding a taken endpoint succeeded")
        } catch {
            #expect(error.kind == .addressInUse)
        }
        socket.close()
        socket.close()  // closing twice is harmless
        #expect(!socket.isOpen)
        #expect(throws: ZMQError.self) { _ = try socket.receive(mode: .dontWait) }
        withExtendedLifetime(other) {}
    }
}
