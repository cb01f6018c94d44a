import CZeroMQ
import Glibc
import Synchronization

/// Wakes tasks when a file descriptor becomes readable, from one background
/// thread running `epoll_wait`.
///
/// ZeroMQ exposes each socket's mailbox as a file descriptor (`ZMQ_FD`) that
/// turns readable when the socket's state may have changed. A task that finds a
/// socket not ready parks here instead of blocking a thread of Swift's
/// cooperative pool. Only the descriptor is watched; the ZeroMQ socket itself
/// is touched by its owner alone.
final class ReadinessReactor: Sendable {
    static let shared = ReadinessReactor()

    enum Outcome: Sendable {
        case ready, timedOut, cancelled
    }

    private struct Waiter {
        let id: UInt64
        let continuation: CheckedContinuation<Outcome, Never>
        let deadline: ContinuousClock.Instant?
    }

    private struct State {
        var waiters: [Int32: Waiter] = [:]
        var registered: Set<Int32> = []
        var nextID: UInt64 = 0
    }

    private let epollFD: Int32
    private let wakeFD: Int32
    private let state = Mutex(State())

    private init() {
        epollFD = c_zmq_epoll_create()
        wakeFD = c_zmq_eventfd()
        precondition(epollFD >= 0 && wakeFD >= 0, "cannot create the epoll reactor: errno \(errno)")
        precondition(
            c_zmq_epoll_ctl(epollFD, EPOLL_CTL_ADD, wakeFD, 0) == 0, "epoll_ctl(wake): errno \(errno)")
        let context = Unmanaged.passRetained(self).toOpaque()  // the reactor lives as long as the process
        var thread = pthread_t()
        let created = pthread_create(
            &thread, nil,
            { argument in
                let reactor = Unmanaged<ReadinessReactor>.fromOpaque(argument!).takeUnretainedValue()
                reactor.run()
                return nil
            }, context)
        precondition(created == 0, "cannot start the epoll reactor thread: \(created)")
        pthread_detach(thread)
    }

    /// Suspends until `fd` is readable, `deadline` passes, or the task is cancelled.
    /// One waiter per descriptor at a time: a ZeroMQ socket has one owner.
    func waitReadable(_ fd: Int32, until deadline: ContinuousClock.Instant?) async -> Outcome {
        let id = state.withLock { state -> UInt64 in
            state.nextID += 1
            return state.nextID
        }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Outcome, Never>) in
                let needsAdd = state.withLock { state -> Bool in
                    precondition(
                        state.waiters[fd] == nil, "two tasks wait on one ZeroMQ socket; a socket has one owner")
                    state.waiters[fd] = Waiter(id: id, continuation: continuation, deadline: deadline)
                    return state.registered.insert(fd).inserted
                }
                let result = c_zmq_epoll_ctl(epollFD, needsAdd ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, fd, 1)
                precondition(result == 0, "epoll_ctl on fd \(fd): errno \(errno)")
                if deadline != nil { wake() }  // the reactor must recompute its timeout
                if Task.isCancelled { resume(fd: fd, id: id, with: .cancelled) }
            }
        } onCancel: {
            resume(fd: fd, id: id, with: .cancelled)
        }
    }

    /// Stops watching `fd`; call before the descriptor is closed.
    func forget(_ fd: Int32) {
        let wasRegistered = state.withLock { state -> Bool in
            precondition(state.waiters[fd] == nil, "a socket was closed while a task waits on it")
            return state.registered.remove(fd) != nil
        }
        if wasRegistered { _ = c_zmq_epoll_ctl(epollFD, EPOLL_CTL_DEL, fd, 0) }
    }

    private func resume(fd: Int32, id: UInt64?, with outcome: Outcome) {
        let waiter = state.withLock { state -> Waiter? in
            guard let waiter = state.waiters[fd], id == nil || waiter.id == id else { return nil }
            state.waiters[fd] = nil
            return waiter
        }
        waiter?.continuation.resume(returning: outcome)
    }

    private func wake() {
        var one: UInt64 = 1
        _ = Glibc.write(wakeFD, &one, 8)
    }

    private func run() {
        var ready = [Int32](repeating: -1, count: 64)
        while true {
            let timeout = millisecondsToNearestDeadline()
            let count = c_zmq_epoll_wait(epollFD, &ready, Int32(ready.count), timeout)
            if count < 0 {
                precondition(errno == EINTR, "epoll_wait: errno \(errno)")
                continue
            }
            for index in 0..<Int(count) {
                let fd = ready[index]
                if fd == wakeFD {
                    var value: UInt64 = 0
                    _ = Glibc.read(wakeFD, &value, 8)
                } else {
                    resume(fd: fd, id: nil, with: .ready)
                }
            }
            expireDeadlines()
        }
    }

    private func millisecondsToNearestDeadline() -> Int32 {
        let nearest = state.withLock { state in state.waiters.values.compactMap(\.deadline).min() }
        guard let nearest else { return -1 }
        let remaining = ContinuousClock.now.duration(to: nearest)
        if remaining <= .zero { return 0 }
        let (seconds, attoseconds) = remaining.components
        return Int32(clamping: seconds * 1000 + attoseconds / 1_000_000_000_000_000 + 1)
    }

    private func expireDeadlines() {
        let now = ContinuousClock.now
        let expired = state.withLock { state -> [Waiter] in
            let fds = state.waiters.filter { $0.value.deadline.map { $0 <= now } ?? false }.map(\.key)
            return fds.compactMap { state.waiters.removeValue(forKey: $0) }
        }
        for waiter in expired { waiter.continuation.resume(returning: .timedOut) }
    }
}
