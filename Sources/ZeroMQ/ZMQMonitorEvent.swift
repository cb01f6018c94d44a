import CZeroMQ

/// A connection event of a monitored socket (see ``ZMQSocket/monitor(_:events:)``).
public struct ZMQMonitorEvent: Sendable, Hashable {
    /// Which events to report.
    public struct Kinds: OptionSet, Sendable, Hashable {
        public let rawValue: Int32
        public init(rawValue: Int32) { self.rawValue = rawValue }
        public static let connected = Kinds(rawValue: ZMQ_EVENT_CONNECTED)
        public static let accepted = Kinds(rawValue: ZMQ_EVENT_ACCEPTED)
        public static let disconnected = Kinds(rawValue: ZMQ_EVENT_DISCONNECTED)
        public static let handshakeSucceeded = Kinds(rawValue: ZMQ_EVENT_HANDSHAKE_SUCCEEDED)
        public static let handshakeFailedAuth = Kinds(rawValue: ZMQ_EVENT_HANDSHAKE_FAILED_AUTH)
        public static let handshakeFailedProtocol = Kinds(rawValue: ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL)
        public static let all = Kinds(rawValue: ZMQ_EVENT_ALL)
    }

    /// The event, one of ``Kinds``.
    public let kind: Kinds
    /// The event's value: a descriptor, an errno or a protocol code, by kind.
    public let value: UInt32
    /// The peer or local endpoint the event concerns.
    public let endpoint: String

    /// Parses a monitor message: a 6-byte frame (16-bit event, 32-bit value) and the endpoint.
    public init?(message: [[UInt8]]) {
        guard message.count == 2, message[0].count == 6 else { return nil }
        let event = UInt16(message[0][0]) | UInt16(message[0][1]) << 8
        var value: UInt32 = 0
        for index in 0..<4 { value |= UInt32(message[0][2 + index]) << (8 * index) }
        self.kind = Kinds(rawValue: Int32(event))
        self.value = value
        self.endpoint = String(decoding: message[1], as: UTF8.self)
    }
}
