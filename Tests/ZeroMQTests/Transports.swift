import Glibc
import OrzoTestSupport
import Testing
import ZeroMQ

/// The real transports the tests run over: TCP on loopback and Unix-domain IPC.
enum Transport: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case tcp, ipc

    /// An endpoint to bind. TCP lets the kernel pick a free port (read the actual
    /// endpoint back with `lastEndpoint`); IPC gets a fresh socket file.
    func bindEndpoint() -> String {
        switch self {
        case .tcp: "tcp://127.0.0.1:*"
        case .ipc: "ipc:///tmp/orzo-zmq-test-\(getpid())-\(UInt64.random(in: 0..<UInt64.max)).sock"
        }
    }

    var testDescription: String { rawValue }
}

/// A socket bound to a fresh endpoint of `transport`, and that endpoint.
func bound(
    _ context: ZMQContext, _ type: ZMQSocketType, _ transport: Transport, options: [ZMQSocketOption] = []
) throws -> (ZMQSocket, String) {
    let socket = try ZMQSocket(context, type: type)
    for option in options { try socket.set(option) }
    try socket.bind(transport.bindEndpoint())
    return (socket, try socket.lastEndpoint)
}

/// A socket connected to `endpoint`.
func connected(
    _ context: ZMQContext, _ type: ZMQSocketType, to endpoint: String, options: [ZMQSocketOption] = []
) throws -> ZMQSocket {
    let socket = try ZMQSocket(context, type: type)
    for option in options { try socket.set(option) }
    try socket.connect(endpoint)
    return socket
}

extension Array where Element == UInt8 {
    init(_ string: String) { self = Array(string.utf8) }
}
