import CZeroMQ
import Glibc

/// Wakes the owner of a socket that is waiting to receive, from any task: a
/// service whose requests are answered by other tasks rings it when a reply is
/// ready to send, so the owner (the only task that may touch the socket) stops
/// waiting for new requests and sends it. An eventfd watched by the same reactor
/// as the sockets; rings before the wait are kept, so none is lost.
public final class ZMQWakeup: Sendable {
    let fd: Int32

    public init() throws(ZMQError) {
        fd = c_zmq_eventfd()
        guard fd >= 0 else { throw ZMQError.last("eventfd") }
    }

    deinit {
        ReadinessReactor.shared.forget(fd)
        Glibc.close(fd)
    }

    /// Wakes the waiting owner (or the next wait, if nobody waits now).
    public func ring() {
        var one: UInt64 = 1
        _ = Glibc.write(fd, &one, 8)
    }

    /// Returns at a ring (now, if one came since the last wait), after `timeout`,
    /// or when the task is cancelled.
    public func wait(timeout: Duration) async {
        if drain() { return }
        _ = await ReadinessReactor.shared.waitReadable(fd, until: .now + timeout)
        drain()
    }

    /// Clears the rings so far; true if there was any.
    @discardableResult
    func drain() -> Bool {
        var value: UInt64 = 0
        return Glibc.read(fd, &value, 8) == 8
    }
}

extension ZMQSocket {
    /// Receives a message, suspending until one arrives, `wakeup` rings or
    /// `timeout` passes (then nil). Never blocks a thread.
    nonisolated(nonsending) public func receive(
        timeout: Duration? = nil, wakeup: ZMQWakeup
    ) async throws
        -> [[UInt8]]?
    {
        try await receiveMessage(timeout: timeout, wakeup: wakeup)?.parts
    }

    /// ``receive(timeout:wakeup:)`` with the sender's `User-Id` (``receiveMessage(mode:)``).
    nonisolated(nonsending) public func receiveMessage(
        timeout: Duration? = nil, wakeup: ZMQWakeup
    ) async throws
        -> ZMQReceivedMessage?
    {
        let deadline = timeout.map { ContinuousClock.now + $0 }
        let socketFD = try fileDescriptor
        let wakeFD = wakeup.fd
        while true {
            if wakeup.drain() { return nil }
            if let message = try receiveMessage(mode: .dontWait) { return message }
            if try events.contains(.pollIn) { continue }
            if let deadline, deadline <= .now { return nil }
            // Whichever descriptor turns readable first; the other wait is cancelled.
            let outcome = await withTaskGroup(of: ReadinessReactor.Outcome.self) { group in
                group.addTask { await ReadinessReactor.shared.waitReadable(socketFD, until: deadline) }
                group.addTask { await ReadinessReactor.shared.waitReadable(wakeFD, until: deadline) }
                let first = await group.next() ?? .cancelled
                group.cancelAll()
                return first
            }
            switch outcome {
            case .ready: continue
            case .timedOut: return nil
            case .cancelled: throw CancellationError()
            }
        }
    }
}
