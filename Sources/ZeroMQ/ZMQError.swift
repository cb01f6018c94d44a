import CZeroMQ
import Glibc

/// A failed libzmq call: the errno `zmq_errno()` reported right after it, and the call.
///
/// "Would block" is not an error here: sends and receives that cannot proceed
/// (a full high-water mark, an empty queue, a send or receive timeout) return
/// `false` or `nil` instead.
public struct ZMQError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The errno value, including libzmq's own (`ETERM`, `EFSM`, …).
    public let code: Int32
    /// The libzmq function that failed.
    public let operation: String

    public init(code: Int32, operation: String) {
        self.code = code
        self.operation = operation
    }

    /// The error `zmq_errno()` holds now; call immediately after the failing call.
    static func last(_ operation: String) -> ZMQError {
        ZMQError(code: zmq_errno(), operation: operation)
    }

    public enum Kind: Sendable, Hashable {
        /// The context was terminated (`ETERM`): close the socket.
        case terminated
        /// The operation is not valid in the socket's state, e.g. a REQ sending twice (`EFSM`).
        case invalidState
        /// A ROUTER with `ROUTER_MANDATORY` has no peer with that routing id (`EHOSTUNREACH`).
        case hostUnreachable
        /// The endpoint is already bound (`EADDRINUSE`).
        case addressInUse
        /// The endpoint's protocol is unknown or unsupported (`EPROTONOSUPPORT`).
        case protocolNotSupported
        /// An argument was invalid, e.g. a malformed endpoint (`EINVAL`).
        case invalidArgument
        /// Would block (`EAGAIN`); the wrapper turns this into `false` or `nil` where it can.
        case wouldBlock
        case other
    }

    public var kind: Kind {
        switch code {
        case ETERM: .terminated
        case EFSM: .invalidState
        case EHOSTUNREACH: .hostUnreachable
        case EADDRINUSE: .addressInUse
        case EPROTONOSUPPORT: .protocolNotSupported
        case EINVAL: .invalidArgument
        case EAGAIN: .wouldBlock
        default: .other
        }
    }

    public var description: String {
        "\(operation): \(String(cString: zmq_strerror(code))) (errno \(code))"
    }
}
