import CZeroMQ

/// What a socket can do, or is asked to be watched for.
public struct ZMQPollEvents: OptionSet, Sendable, Hashable {
    public let rawValue: Int16
    public init(rawValue: Int16) { self.rawValue = rawValue }

    /// A message can be received without blocking.
    public static let pollIn = ZMQPollEvents(rawValue: Int16(ZMQ_POLLIN))
    /// A message can be sent without blocking.
    public static let pollOut = ZMQPollEvents(rawValue: Int16(ZMQ_POLLOUT))
}

/// Waits on several sockets at once, from the one thread that owns them all.
public enum ZMQPoller {
    /// Blocks until one of `items` is ready or `timeout` passes (`nil`: forever), and
    /// returns, per item, the events that are ready (empty when none).
    /// The corresponding C function is `zmq_poll`.
    public static func poll(
        _ items: [(socket: ZMQSocket, events: ZMQPollEvents)], timeout: Duration?
    ) throws(ZMQError) -> [ZMQPollEvents] {
        var pollItems: [zmq_pollitem_t] = []
        for item in items {
            pollItems.append(
                zmq_pollitem_t(
                    socket: try item.socket.openHandle("zmq_poll"), fd: -1, events: item.events.rawValue, revents: 0))
        }
        let milliseconds: Int
        if let timeout {
            let (seconds, attoseconds) = timeout.components
            milliseconds = Int(seconds * 1000 + attoseconds / 1_000_000_000_000_000)
        } else {
            milliseconds = -1
        }
        while zmq_poll(&pollItems, Int32(pollItems.count), milliseconds) < 0 {
            let error = ZMQError.last("zmq_poll")
            guard error.code == EINTR else { throw error }
        }
        return pollItems.map { ZMQPollEvents(rawValue: $0.revents) }
    }
}
