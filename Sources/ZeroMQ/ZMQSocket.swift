import CZeroMQ

/// A ZeroMQ socket, owned by one task or thread at a time.
///
/// libzmq sockets are not thread-safe, so this class is deliberately not
/// `Sendable`: the compiler lets it be handed to another task as a whole
/// (`sending`) but not shared. Its `async` methods run on the caller's executor
/// (`nonisolated(nonsending)`), and wait for readiness through ``ReadinessReactor``
/// rather than in a blocking call, so they never hold a thread of the
/// cooperative pool. The blocking variants honour `ZMQ_SNDTIMEO`/`ZMQ_RCVTIMEO`
/// and are for code that owns a dedicated thread.
///
/// The socket is closed exactly once: by ``close()`` or, failing that, when it
/// is released. Its linger period defaults to one second (libzmq's default,
/// forever, would let one unreachable peer hang process exit).
public final class ZMQSocket {
    public let type: ZMQSocketType
    /// The context; held so that it is terminated only after this socket closes.
    public let context: ZMQContext
    private var handle: UnsafeMutableRawPointer?
    /// One reusable `zmq_msg_t` on the heap: libzmq may keep pointers into a
    /// message's own storage, so it must not move between calls.
    private let message: UnsafeMutablePointer<zmq_msg_t>
    private var cachedFileDescriptor: Int32?

    /// Creates a socket. The corresponding C function is `zmq_socket`.
    public init(_ context: ZMQContext, type: ZMQSocketType) throws(ZMQError) {
        guard let handle = zmq_socket(context.handle, type.rawValue) else { throw ZMQError.last("zmq_socket") }
        self.handle = handle
        self.type = type
        self.context = context
        self.message = .allocate(capacity: 1)
        try set(.linger(.seconds(1)))
    }

    deinit {
        close()
        message.deallocate()
    }

    /// Whether ``close()`` has not been called yet.
    public var isOpen: Bool { handle != nil }

    /// Closes the socket; later calls do nothing. Unsent messages are kept for
    /// the linger period. The corresponding C function is `zmq_close`.
    public func close() {
        guard let handle else { return }
        if let fd = cachedFileDescriptor { ReadinessReactor.shared.forget(fd) }
        // zmq_close fails only for a handle that is not a socket: a bug here.
        let result = zmq_close(handle)
        precondition(result == 0, "\(ZMQError.last("zmq_close"))")
        self.handle = nil
    }

    func openHandle(_ operation: String) throws(ZMQError) -> UnsafeMutableRawPointer {
        guard let handle else { throw ZMQError(code: ENOTSOCK, operation: operation) }
        return handle
    }

    /// Accepts connections on `endpoint` (`tcp://127.0.0.1:5580`, `ipc:///run/orzo/push`,
    /// `inproc://name`; `tcp://127.0.0.1:*` picks a free port, see ``lastEndpoint``).
    /// The corresponding C function is `zmq_bind`.
    public func bind(_ endpoint: String) throws(ZMQError) {
        guard zmq_bind(try openHandle("zmq_bind"), endpoint) == 0 else { throw ZMQError.last("zmq_bind(\(endpoint))") }
    }

    /// Connects to `endpoint`; the connection is made (and remade) in the background.
    /// The corresponding C function is `zmq_connect`.
    public func connect(_ endpoint: String) throws(ZMQError) {
        guard zmq_connect(try openHandle("zmq_connect"), endpoint) == 0 else {
            throw ZMQError.last("zmq_connect(\(endpoint))")
        }
    }

    /// The corresponding C function is `zmq_unbind`.
    public func unbind(_ endpoint: String) throws(ZMQError) {
        guard zmq_unbind(try openHandle("zmq_unbind"), endpoint) == 0 else {
            throw ZMQError.last("zmq_unbind(\(endpoint))")
        }
    }

    /// The corresponding C function is `zmq_disconnect`.
    public func disconnect(_ endpoint: String) throws(ZMQError) {
        guard zmq_disconnect(try openHandle("zmq_disconnect"), endpoint) == 0 else {
            throw ZMQError.last("zmq_disconnect(\(endpoint))")
        }
    }

    /// Sets an option. The corresponding C function is `zmq_setsockopt`.
    public func set(_ option: ZMQSocketOption) throws(ZMQError) {
        let handle = try openHandle("zmq_setsockopt")
        let (code, value) = option.encoded
        let result = value.withUnsafeBytes { zmq_setsockopt(handle, code, $0.baseAddress, $0.count) }
        guard result == 0 else { throw ZMQError.last("zmq_setsockopt(\(option.name))") }
    }

    /// The endpoint last bound or connected, with the port a wildcard bind chose.
    /// The corresponding C function is `zmq_getsockopt(ZMQ_LAST_ENDPOINT)`.
    public var lastEndpoint: String {
        get throws(ZMQError) {
            var buffer = [CChar](repeating: 0, count: 1024)
            var length = buffer.count
            guard zmq_getsockopt(try openHandle("zmq_getsockopt"), ZMQ_LAST_ENDPOINT, &buffer, &length) == 0 else {
                throw ZMQError.last("zmq_getsockopt(ZMQ_LAST_ENDPOINT)")
            }
            return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
    }

    func int32Option(_ code: Int32, _ name: String) throws(ZMQError) -> Int32 {
        var value: Int32 = 0
        var length = MemoryLayout<Int32>.size
        guard zmq_getsockopt(try openHandle("zmq_getsockopt"), code, &value, &length) == 0 else {
            throw ZMQError.last("zmq_getsockopt(\(name))")
        }
        return value
    }

    /// What the socket can do now without blocking.
    /// The corresponding C function is `zmq_getsockopt(ZMQ_EVENTS)`.
    public var events: ZMQPollEvents {
        get throws(ZMQError) {
            ZMQPollEvents(rawValue: Int16(truncatingIfNeeded: try int32Option(ZMQ_EVENTS, "ZMQ_EVENTS")))
        }
    }

    /// The descriptor that turns readable when ``events`` may have changed (`ZMQ_FD`).
    var fileDescriptor: Int32 {
        get throws(ZMQError) {
            if let fd = cachedFileDescriptor { return fd }
            var fd: Int32 = -1
            var length = MemoryLayout<Int32>.size
            guard zmq_getsockopt(try openHandle("zmq_getsockopt"), ZMQ_FD, &fd, &length) == 0 else {
                throw ZMQError.last("zmq_getsockopt(ZMQ_FD)")
            }
            cachedFileDescriptor = fd
            return fd
        }
    }

    /// Reports connection events of this socket as messages on a PAIR socket
    /// connected to `endpoint` (an `inproc://` name). See ``ZMQMonitorEvent``.
    /// The corresponding C function is `zmq_socket_monitor`.
    public func monitor(_ endpoint: String, events: ZMQMonitorEvent.Kinds = .all) throws(ZMQError) {
        guard zmq_socket_monitor(try openHandle("zmq_socket_monitor"), endpoint, events.rawValue) == 0 else {
            throw ZMQError.last("zmq_socket_monitor")
        }
    }

    // MARK: Sending and receiving

    /// Whether a call may wait.
    public enum Mode: Sendable {
        /// Wait as long as the socket's send or receive timeout allows.
        case blocking
        /// Return at once (`ZMQ_DONTWAIT`).
        case dontWait
    }

    /// Sends a multipart message: all parts or none. Returns `false`, with
    /// nothing sent, when the message cannot be queued (high-water mark reached
    /// and `ZMQ_SNDTIMEO` expired, or `.dontWait`). Once the first part is queued,
    /// libzmq guarantees the remaining parts are. Waits, if `mode` allows, in a
    /// blocking call: use ``send(_:timeout:)`` from async code.
    /// The corresponding C function is `zmq_send`.
    public func send(_ parts: [[UInt8]], mode: Mode = .blocking) throws(ZMQError) -> Bool {
        precondition(!parts.isEmpty, "a ZeroMQ message has at least one part")
        let handle = try openHandle("zmq_send")
        let waitFlag = mode == .dontWait ? ZMQ_DONTWAIT : 0
        for (index, part) in parts.enumerated() {
            let isLast = index == parts.count - 1
            let flags = (isLast ? 0 : ZMQ_SNDMORE) | (index == 0 ? waitFlag : 0)
            while true {
                let result = part.withUnsafeBytes { zmq_send(handle, $0.baseAddress, $0.count, flags) }
                if result >= 0 { break }
                let error = ZMQError.last("zmq_send")
                if error.code == EINTR { continue }
                if error.code == EAGAIN && index == 0 { return false }
                // After the first part libzmq accepts the rest; failing here means
                // the socket or context is going away.
                throw error
            }
        }
        return true
    }

    /// Receives a multipart message, or `nil` when none is ready (`.dontWait`) or
    /// `ZMQ_RCVTIMEO` expired. Parts of a message arrive together, so after the
    /// first part the rest are read without waiting.
    /// The corresponding C functions are `zmq_msg_recv` and `zmq_msg_more`.
    public func receive(mode: Mode = .blocking) throws(ZMQError) -> [[UInt8]]? {
        try receiveMessage(mode: mode)?.parts
    }

    /// ``receive(mode:)`` with what the security handshake established about the
    /// sender: the `User-Id` a ZAP handler gave its connection (nil without one).
    /// The corresponding C function is also `zmq_msg_gets`.
    public func receiveMessage(mode: Mode = .blocking) throws(ZMQError) -> ZMQReceivedMessage? {
        let handle = try openHandle("zmq_msg_recv")
        var parts: [[UInt8]] = []
        var userID: String?
        zmq_msg_init(message)
        defer { zmq_msg_close(message) }
        while true {
            let flags = parts.isEmpty && mode == .dontWait ? ZMQ_DONTWAIT : 0
            if zmq_msg_recv(message, handle, flags) < 0 {
                let error = ZMQError.last("zmq_msg_recv")
                if error.code == EINTR { continue }
                if error.code == EAGAIN && parts.isEmpty { return nil }
                throw error
            }
            // Not only the first part: a ROUTER's routing-id frame lacks the metadata when
            // ZMQ_EVENTS prefetched the message (libzmq 4.3.4), the parts from the pipe have it.
            if userID == nil, let property = zmq_msg_gets(message, "User-Id") {
                userID = String(cString: property)
            }
            let size = zmq_msg_size(message)
            if let data = zmq_msg_data(message), size > 0 {
                parts.append(Array(UnsafeRawBufferPointer(start: data, count: size)))
            } else {
                parts.append([])
            }
            if c_zmq_msg_more(message) == 0 { return ZMQReceivedMessage(parts: parts, userID: userID) }
        }
    }

    /// Sends a multipart message (all parts or none), suspending while the
    /// high-water mark is reached. Returns `false`, with nothing sent, if `timeout`
    /// passes first. Never blocks a thread.
    nonisolated(nonsending) public func send(_ parts: [[UInt8]], timeout: Duration? = nil) async throws -> Bool {
        let deadline = timeout.map { ContinuousClock.now + $0 }
        while true {
            if try send(parts, mode: .dontWait) { return true }
            if try events.contains(.pollOut) { continue }
            if try await waitForEvents(until: deadline) == false { return false }
        }
    }

    /// Receives a multipart message, suspending until one arrives; `nil` if
    /// `timeout` passes first. Never blocks a thread. Throws `CancellationError`
    /// if the task is cancelled while waiting.
    nonisolated(nonsending) public func receive(timeout: Duration? = nil) async throws -> [[UInt8]]? {
        let deadline = timeout.map { ContinuousClock.now + $0 }
        while true {
            if let message = try receive(mode: .dontWait) { return message }
            // ZMQ_EVENTS also processes pending commands, which resets ZMQ_FD: check it
            // right before waiting so that no wake-up is lost.
            if try events.contains(.pollIn) { continue }
            if try await waitForEvents(until: deadline) == false { return nil }
        }
    }

    /// ``receive(timeout:)`` with the sender's `User-Id` (``receiveMessage(mode:)``).
    nonisolated(nonsending) public func receiveMessage(timeout: Duration? = nil) async throws -> ZMQReceivedMessage? {
        let deadline = timeout.map { ContinuousClock.now + $0 }
        while true {
            if let message = try receiveMessage(mode: .dontWait) { return message }
            if try events.contains(.pollIn) { continue }
            if try await waitForEvents(until: deadline) == false { return nil }
        }
    }

    /// Waits for ZMQ_FD; `false` if the deadline passed.
    nonisolated(nonsending) private func waitForEvents(until deadline: ContinuousClock.Instant?) async throws -> Bool {
        if let deadline, deadline <= .now { return false }
        switch await ReadinessReactor.shared.waitReadable(try fileDescriptor, until: deadline) {
        case .ready: return true
        case .timedOut: return false
        case .cancelled: throw CancellationError()
        }
    }
}

/// A received multipart message and its sender's `User-Id`, which a ZAP handler
/// sets for each connection it accepts (the role of the client's key, in Orzo).
public struct ZMQReceivedMessage: Sendable, Hashable {
    public let parts: [[UInt8]]
    public let userID: String?

    public init(parts: [[UInt8]], userID: String?) {
        self.parts = parts
        self.userID = userID
    }
}
