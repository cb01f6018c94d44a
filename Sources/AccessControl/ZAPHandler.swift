import Foundation
import Logging
import Synchronization
import ZeroMQ

/// ZeroMQ's authentication handler (ZAP, RFC 27) for one context: a REP socket
/// on `inproc://zeromq.zap.01` that libzmq asks about every new connection to a
/// CURVE server socket of that context. A listed client key is admitted with
/// `User-Id` = `role:name`; any other is refused, logged with its fingerprint
/// and counted. It must be bound before the server sockets (libzmq admits
/// everyone when no handler is bound), so it is bound in `init`, and it runs on
/// a thread of its own: each answer is a lookup in memory.
public final class ZAPHandler: @unchecked Sendable {
    private let socket: ZMQSocket
    private let security: ServerSecurity
    private let onRefused: @Sendable () -> Void
    private let stopped = Atomic<Bool>(false)
    private let finished = DispatchSemaphore(value: 0)
    private let logger = Logger(label: "orzo.security")

    public init(
        context: ZMQContext, security: ServerSecurity, onRefused: @escaping @Sendable () -> Void = {}
    ) throws {
        socket = try ZMQSocket(context, type: .rep)
        try socket.set(.receiveTimeout(.milliseconds(200)))
        try socket.set(.linger(.zero))
        try socket.bind("inproc://zeromq.zap.01")
        self.security = security
        self.onRefused = onRefused
        let thread = Thread { [self] in
            while !stopped.load(ordering: .relaxed) {
                do {
                    guard let request = try socket.receive() else { continue }
                    _ = try socket.send(answer(request))
                } catch {
                    logger.error("ZAP handler failed", metadata: ["error": "\(error)"])
                }
            }
            socket.close()
            finished.signal()
        }
        thread.name = "orzo-zap"
        thread.start()
    }

    /// Stops the thread and closes the socket.
    public func stop() {
        guard !stopped.exchange(true, ordering: .relaxed) else { return }
        finished.wait()
    }

    /// The reply to one request: version, request id, status code and text,
    /// user id, metadata.
    func answer(_ request: [[UInt8]]) -> [[UInt8]] {
        guard request.count >= 6, request[0] == Array("1.0".utf8) else {
            return [
                Array("1.0".utf8), request.count > 1 ? request[1] : [], Array("500".utf8),
                Array("malformed ZAP request".utf8), [], [],
            ]
        }
        let requestID = request[1]
        let address = String(decoding: request[3], as: UTF8.self)
        let mechanism = String(decoding: request[5], as: UTF8.self)
        func reply(_ code: String, _ text: String, user: String = "") -> [[UInt8]] {
            [Array("1.0".utf8), requestID, Array(code.utf8), Array(text.utf8), Array(user.utf8), []]
        }
        guard mechanism == "CURVE", request.count >= 7, request[6].count == 32,
            let clientKey = Z85.encode(request[6])
        else {
            onRefused()
            logger.warning(
                "connection refused: not CURVE", metadata: ["address": "\(address)", "mechanism": "\(mechanism)"])
            return reply("400", "CURVE required")
        }
        guard let entry = security.entry(for: clientKey) else {
            onRefused()
            logger.warning(
                "connection refused: unknown client key",
                metadata: ["key": "\(Z85.fingerprint(clientKey))", "address": "\(address)"])
            return reply("400", "unknown key")
        }
        return reply("200", "OK", user: "\(entry.role.rawValue):\(entry.name)")
    }
}
