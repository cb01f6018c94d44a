import CZeroMQ

/// A ZeroMQ context: the I/O threads and the registry of `inproc://` endpoints.
///
/// Thread-safe (libzmq documents contexts as such), hence `Sendable`. It is
/// terminated exactly once, when the last reference goes; every ``ZMQSocket``
/// holds one, so termination never waits for a socket that is still open.
public final class ZMQContext: @unchecked Sendable {
    let handle: UnsafeMutableRawPointer

    /// Creates a context with `ioThreads` background I/O threads.
    /// The corresponding C functions are `zmq_ctx_new` and `zmq_ctx_set`.
    public init(ioThreads: Int = 1) throws(ZMQError) {
        guard let handle = zmq_ctx_new() else { throw ZMQError.last("zmq_ctx_new") }
        if zmq_ctx_set(handle, ZMQ_IO_THREADS, Int32(ioThreads)) != 0 {
            let error = ZMQError.last("zmq_ctx_set(ZMQ_IO_THREADS)")
            zmq_ctx_term(handle)
            throw error
        }
        self.handle = handle
    }

    deinit {
        // No socket is left (each holds this context), so this only waits for
        // the linger period of messages closed sockets still had queued.
        while zmq_ctx_term(handle) != 0 && zmq_errno() == EINTR {}
    }

    /// The libzmq version this process runs with.
    /// The corresponding C function is `zmq_version`.
    public static var libraryVersion: (major: Int, minor: Int, patch: Int) {
        var major: Int32 = 0
        var minor: Int32 = 0
        var patch: Int32 = 0
        zmq_version(&major, &minor, &patch)
        return (Int(major), Int(minor), Int(patch))
    }

    /// Whether libzmq was built with a capability: "curve", "ipc", "draft", ….
    /// The corresponding C function is `zmq_has`.
    public static func has(_ capability: String) -> Bool { zmq_has(capability) != 0 }
}
