import AccessControl
import Foundation
import Logging
import Storage
import Synchronization
import Timeseries
import WireProtocol
import ZeroMQ

/// The ingest front worker: a PULL endpoint for fire-and-forget agents and a
/// ROUTER endpoint for acknowledged puts. Each socket is owned by one task that
/// handles one message at a time: while storage is slow it stops reading, and
/// ZeroMQ's high-water marks push back on the senders (no unbounded queue).
public struct IngestService: Sendable {
    public let context: ZMQContext
    public let storage: any MetricStorage
    public let directory: MetricDirectory
    public let counters: ServiceCounters
    /// Largest message accepted; a larger one disconnects its sender.
    public var maxMessageSize: Int64 = 16 << 20
    public var receiveHighWaterMark = 1000
    /// Acknowledged puts stored at once (see ``runAcknowledged(endpoint:ready:)``).
    public var maxPutsInFlight = 32
    /// CURVE and client roles on both sockets (docs/security.md); nil: open sockets.
    public var security: ServerSecurity?
    private var router: MeasureRouter { MeasureRouter(directory: directory, storage: storage) }
    /// Called after measures were stored: `orzo serve` wakes its workers with it.
    public var onStored: (@Sendable () -> Void)?

    public init(context: ZMQContext, storage: any MetricStorage, directory: MetricDirectory, counters: ServiceCounters)
    {
        self.context = context
        self.storage = storage
        self.directory = directory
        self.counters = counters
    }

    /// Serves the PULL endpoint until the task is cancelled. `ready` runs once bound.
    public func runPush(endpoint: String, ready: @Sendable () -> Void = {}) async throws {
        let socket = try bind(.pull, endpoint)
        ready()
        defer { socket.close() }
        while !Task.isCancelled {
            guard let received = try await receiveMessage(socket) else { continue }
            let frames = received.parts
            counters.add(.messagesReceived)
            guard Access(userID: received.userID, authenticated: security != nil).mayPut else {
                counters.add(.requestsForbidden)
                continue
            }
            let message: PutMessage
            do {
                message = try PutParser.parsePush(frames)
            } catch {
                counters.add(error.code == .unknownVerb ? .messagesUnknownVerb : .messagesMalformed)
                continue
            }
            countRejections(message)
            let entries = message.entries.filter { !$0.measures.isEmpty }
            do {
                let outcome = try await router.append(entries, refuseUnknown: false)
                if outcome.stored > 0 { onStored?() }
                counters.add(.measuresAccepted, outcome.stored)
                for unknown in outcome.unknown { counters.add(.measuresDroppedUnknownMetric, unknown.measures) }
            } catch {
                let count = entries.reduce(0) { $0 + $1.measures.count }
                counters.add(.measuresDroppedUnavailable, count)
                Logger(label: "orzo.ingest").warning(
                    "storage or index unavailable: pushed measures dropped",
                    metadata: ["error": "\(error)", "measures": "\(count)"])
            }
        }
    }

    /// Serves the ROUTER endpoint until the task is cancelled: replies only
    /// once the accepted measures are durable.
    ///
    /// Up to `maxPutsInFlight` puts are stored at once, so one put that waits on
    /// storage longer than the others (a slow disk, a busy OSD) does not hold back
    /// the answers to the rest. Puts from one peer are stored in the order they
    /// came (a later copy of a measure must replace an earlier one). At the limit,
    /// the socket is not read: ZeroMQ's high-water marks push back on senders.
    public func runAcknowledged(endpoint: String, ready: @Sendable () -> Void = {}) async throws {
        let socket = try bind(.router, endpoint)
        ready()
        defer { socket.close() }
        let wakeup = try ZMQWakeup()
        let outbox = PutOutbox()
        // Per peer: the sequence number and task of its latest put, which the next one waits for.
        var tails: [[UInt8]: (sequence: UInt64, task: Task<Void, Never>)] = [:]
        var sequence: UInt64 = 0
        func sendReplies() async throws {
            for (peer, number, reply) in outbox.take() {
                if tails[peer]?.sequence == number { tails[peer] = nil }
                _ = try await socket.send(reply, timeout: .seconds(5))
            }
        }
        while !Task.isCancelled {
            try await sendReplies()
            if outbox.inFlight.load(ordering: .relaxed) >= maxPutsInFlight {
                await wakeup.wait(timeout: .milliseconds(250))
                continue
            }
            guard let received = try await socket.receiveMessage(timeout: .milliseconds(250), wakeup: wakeup),
                received.parts.count >= 2
            else { continue }
            let frames = received.parts
            counters.add(.messagesReceived)
            let access = Access(userID: received.userID, authenticated: security != nil)
            // A REQ client puts an empty delimiter after its identity.
            let isRequest = frames[1].isEmpty
            let envelope = Array(frames.prefix(isRequest ? 2 : 1))
            let payload = frames.dropFirst(envelope.count)
            let requestID = payload.count >= 2 ? payload[payload.startIndex + 1] : []
            let peer = frames[0]
            let previous = tails[peer]?.task
            sequence += 1
            let number = sequence
            outbox.inFlight.add(1, ordering: .relaxed)
            let task = Task {
                await previous?.value
                let reply: (verb: String, body: [UInt8])
                if access.mayPut {
                    reply = await handleAcknowledged(payload)
                } else {
                    counters.add(.requestsForbidden)
                    reply = (Verb.error, errorBody(.forbidden, "the role \(access.roleName) may not put measures"))
                }
                outbox.put(peer, number, envelope + [Array(reply.verb.utf8), requestID, reply.body])
                wakeup.ring()
            }
            tails[peer] = (number, task)
        }
        // Stopping: the puts in progress finish (their measures are stored or not, as
        // the storage answered), and their answers are sent before the socket closes.
        for (_, tail) in tails { await tail.task.value }
        try await sendReplies()
    }

    /// A socket with the ingest limits, bound to `endpoint`.
    private func bind(_ type: ZMQSocketType, _ endpoint: String) throws -> ZMQSocket {
        let socket = try ZMQSocket(context, type: type)
        try security?.configure(socket)
        try socket.set(.maxMessageSize(maxMessageSize))
        try socket.set(.receiveHighWaterMark(receiveHighWaterMark))
        try socket.bind(endpoint)
        return socket
    }

    private func handleAcknowledged(_ payload: ArraySlice<[UInt8]>) async -> (verb: String, body: [UInt8]) {
        let message: PutMessage
        do {
            message = try PutParser.parseAcknowledged(payload)
        } catch {
            counters.add(error.code == .unknownVerb ? .messagesUnknownVerb : .messagesMalformed)
            return (Verb.error, errorBody(error.code, error.message))
        }
        do {
            let outcome = try await router.append(message.entries, refuseUnknown: true)
            if outcome.stored > 0 { onStored?() }
        } catch {
            switch error {
            case .unknownMetric(let name):
                counters.add(.messagesMalformed)
                return (
                    Verb.error,
                    errorBody(.unknownMetric, "no metric named '\(name)' and no archive-policy rule matches it")
                )
            case .indexer(let error):
                return (Verb.error, errorBody(.unavailable, "the indexer is unavailable: \(error)"))
            case .storage(let error):
                Logger(label: "orzo.ingest").warning(
                    "storage unavailable: put refused", metadata: ["error": "\(error)"])
                return (Verb.error, errorBody(.unavailable, "storage is unavailable, retry: \(error)"))
            case .unsettled:
                return (
                    Verb.error,
                    errorBody(.unavailable, "metrics were deleted in another process while this was stored; retry")
                )
            }
        }
        countRejections(message)
        counters.add(.measuresAccepted, message.acceptedCount)
        return (Verb.ok, PutReply(message).encoded())
    }

    private func countRejections(_ message: PutMessage) {
        for entry in message.entries {
            for rejection in entry.rejections {
                counters.add(
                    rejection.reason == .nonFiniteValue ? .measuresRejectedNonFinite : .measuresRejectedTimestamp)
            }
        }
    }
}

/// ``receive(_:)`` with the sender's `User-Id`.
func receiveMessage(_ socket: ZMQSocket) async throws -> ZMQReceivedMessage? {
    do {
        return try await socket.receiveMessage(timeout: .milliseconds(250))
    } catch is CancellationError {
        return nil
    }
}

/// Receives with a short timeout so that cancellation is noticed.
func receive(_ socket: ZMQSocket) async throws -> [[UInt8]]? {
    do {
        return try await socket.receive(timeout: .milliseconds(250))
    } catch is CancellationError {
        return nil
    }
}

func errorBody(_ code: ErrorCode, _ message: String) -> [UInt8] {
    ErrorReply(ProtocolError(code, message)).encoded()
}

/// Answers of acknowledged puts waiting for the socket's owner, and how many puts are being stored.
private final class PutOutbox: Sendable {
    private let queue = Mutex<[(peer: [UInt8], sequence: UInt64, reply: [[UInt8]])]>([])
    let inFlight = Atomic<Int>(0)

    func put(_ peer: [UInt8], _ sequence: UInt64, _ reply: [[UInt8]]) {
        queue.withLock { $0.append((peer, sequence, reply)) }
        inFlight.subtract(1, ordering: .relaxed)
    }

    func take() -> [(peer: [UInt8], sequence: UInt64, reply: [[UInt8]])] {
        queue.withLock { queue in
            defer { queue = [] }
            return queue
        }
    }
}
