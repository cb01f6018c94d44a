import AccessControl
import Storage
import Timeseries
import WireProtocol
import ZeroMQ

/// A connection to an Orzo deployment, for agents and query clients: push
/// (fire-and-forget), acknowledged put with retries, and every query operation.
///
/// Like the sockets it holds, a client belongs to one task at a time; give
/// each concurrent task its own. Sockets are opened on first use.
///
///     let client = try OrzoClient(endpoints: .init(ack: "tcp://127.0.0.1:5581"))
///     try await client.put(["web-01.cpu": [Measure(timestamp: now, value: 12.5)]])
///     let points = try await client.measures(of: "web-01.cpu", granularity: 60)
public final class OrzoClient {
    public struct Endpoints: Sendable, Hashable {
        public var push: String
        public var ack: String
        public var query: String

        /// The defaults are those of `orzo serve`.
        public init(
            push: String = "tcp://127.0.0.1:5580", ack: String = "tcp://127.0.0.1:5581",
            query: String = "tcp://127.0.0.1:5582"
        ) {
            self.push = push
            self.ack = ack
            self.query = query
        }
    }

    public let endpoints: Endpoints
    /// How long to wait for each reply (and for room in a full send queue).
    public let timeout: Duration
    /// Attempts per request; after a timeout the socket is replaced and the
    /// same request sent again (ZeroMQ's Lazy Pirate pattern). Resending a put
    /// is harmless: a measure is identified by (metric, timestamp).
    public let attempts: Int

    private let context: ZMQContext
    private var pushSocket: ZMQSocket?
    private var ackSocket: ZMQSocket?
    private var querySocket: ZMQSocket?
    private var nextRequest: UInt64 = 0
    private let clientID = UInt32.random(in: 0...UInt32.max)

    /// The server's public key and this client's key pair, for servers with
    /// CURVE (docs/security.md); nil for open sockets.
    public let security: ClientSecurity?

    public init(
        endpoints: Endpoints = Endpoints(), timeout: Duration = .seconds(10), attempts: Int = 3,
        security: ClientSecurity? = nil
    ) throws {
        precondition(attempts >= 1, "at least one attempt")
        self.security = security
        self.endpoints = endpoints
        self.timeout = timeout
        self.attempts = attempts
        self.context = try ZMQContext()
    }

    deinit {
        pushSocket?.close()
        ackSocket?.close()
        querySocket?.close()
    }

    // MARK: Ingest

    /// Sends measures fire-and-forget to the PULL endpoint: no reply, so no
    /// way to know they were stored. Waits up to `timeout` while the send
    /// queue is full (the server pushes back), then throws `timeout`.
    public func push(_ measures: [String: [Measure]]) async throws {
        guard !measures.isEmpty else { return }
        let socket = try pushSocket ?? open(.push, endpoint: endpoints.push, linger: timeout)
        pushSocket = socket
        var frames: [[UInt8]] = [Array(Verb.put.utf8)]
        appendEntries(measures, to: &frames)
        guard try await socket.send(frames, timeout: timeout) else {
            throw OrzoClientError.timeout(endpoint: endpoints.push, attempts: 1)
        }
    }

    /// What the server did with an acknowledged put.
    /// The acknowledgement of a put: accepted and rejected counts, and up to
    /// 100 rejected measures (metric, index within its batch, reason).
    public typealias PutResult = PutReply

    /// Sends measures to the ROUTER endpoint and waits until the server has
    /// stored them durably. Retries after a timeout; throws the server's error
    /// (e.g. `unknown_metric`, `unavailable`) without retrying.
    @discardableResult
    public func put(_ measures: [String: [Measure]]) async throws -> PutResult {
        guard !measures.isEmpty else { return PutResult(accepted: 0, rejected: 0, rejections: []) }
        let requestID = newRequestID()
        var frames: [[UInt8]] = [Array(Verb.put.utf8), requestID]
        appendEntries(measures, to: &frames)
        for _ in 0..<attempts {
            let socket = try ackSocket ?? open(.dealer, endpoint: endpoints.ack)
            ackSocket = socket
            if try await socket.send(frames, timeout: timeout) {
                let deadline = ContinuousClock.now + timeout
                // Replies to earlier, abandoned attempts are skipped by their id.
                while let reply = try await socket.receive(timeout: deadline - .now) {
                    guard reply.count == 3, reply[1] == requestID else { continue }
                    let body = try decodeJSON(reply[2])
                    try throwIfError(verb: reply[0], body: body)
                    return try PutReply(json: body)
                }
            }
            // No reply: the server may be gone, or our connection stuck. Start afresh.
            socket.close()
            ackSocket = nil
        }
        throw OrzoClientError.timeout(endpoint: endpoints.ack, attempts: attempts)
    }

    // MARK: Queries

    /// Sends one request and returns the reply body (after checking for an
    /// error). Retries after a timeout on a new socket.
    public func send(_ request: QueryRequest) async throws -> [UInt8] {
        try await self.request(json: request.encoded())
    }

    /// Sends a query body as given and returns the reply body as sent (after
    /// checking for an error): for tests and tools that must send what the typed
    /// requests would refuse to write.
    public func request(json: [UInt8]) async throws -> [UInt8] {
        let frames = [Array(Verb.query.utf8), json]
        for _ in 0..<attempts {
            let socket = try querySocket ?? open(.req, endpoint: endpoints.query)
            querySocket = socket
            if try await socket.send(frames, timeout: timeout),
                let reply = try await socket.receive(timeout: timeout)
            {
                guard reply.count == 2 else { throw OrzoClientError.badReply("\(reply.count) frames") }
                if reply[0] != Array(Verb.ok.utf8) {
                    try throwIfError(verb: reply[0], body: try decodeJSON(reply[1]))
                }
                return reply[1]
            }
            // A REQ socket that sent and got nothing cannot send again: replace it.
            socket.close()
            querySocket = nil
        }
        throw OrzoClientError.timeout(endpoint: endpoints.query, attempts: attempts)
    }

    // MARK: Helpers

    /// `linger`: how long a closing socket still tries to deliver what it queued.
    /// Zero for requests (a retry resends them); the timeout for pushes, which
    /// have no other chance to arrive.
    private func open(_ type: ZMQSocketType, endpoint: String, linger: Duration = .zero) throws -> ZMQSocket {
        let socket = try ZMQSocket(context, type: type)
        try socket.set(.linger(linger))
        try security?.configure(socket)
        try socket.connect(endpoint)
        return socket
    }

    private func newRequestID() -> [UInt8] {
        nextRequest += 1
        return Array("c\(clientID)-\(nextRequest)".utf8)
    }

    private func appendEntries(_ measures: [String: [Measure]], to frames: inout [[UInt8]]) {
        for (name, batch) in measures.sorted(by: { $0.key < $1.key }) where !batch.isEmpty {
            frames.append(Array(name.utf8))
            frames.append(MeasureRecords.encode(batch))
        }
    }

    private func throwIfError(verb: [UInt8], body: JSONValue) throws {
        if verb == Array(Verb.ok.utf8) { return }
        guard verb == Array(Verb.error.utf8) else {
            throw OrzoClientError.badReply("verb \(String(decoding: verb, as: UTF8.self))")
        }
        let error = try ErrorReply(json: body)
        throw OrzoClientError.server(code: error.code, message: error.message)
    }
}
