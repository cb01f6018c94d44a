import Synchronization

/// Wakes one waiting task. Metricd's workers wait on one each between scans
/// (rung by an ingest in the same process, or by a store's watch); the Ceph
/// watcher waits on one until its watch breaks. A ring while nobody waits is
/// kept for the next wait, so none is lost between a check and the wait after it.
public final class Doorbell: Sendable {
    private struct State {
        var rung = false
        var waiter: CheckedContinuation<Void, Never>?
    }
    private let state = Mutex(State())

    public init() {}

    public func ring() {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            guard let waiter = state.waiter else {
                state.rung = true
                return nil
            }
            state.waiter = nil
            return waiter
        }
        waiter?.resume()
    }

    /// Returns after `pause`, at a ring, or when the task is cancelled.
    public func wait(_ pause: Duration) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { try? await Task.sleep(for: pause) }
            group.addTask { await self.rung() }
            await group.next()
            group.cancelAll()
        }
    }

    /// Returns at a ring, or when the task is cancelled.
    public func wait() async { await rung() }

    private func rung() async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let now = state.withLock { state -> Bool in
                    if state.rung || Task.isCancelled {
                        state.rung = false
                        return true
                    }
                    state.waiter = continuation
                    return false
                }
                if now { continuation.resume() }
            }
        } onCancel: {
            state.withLock { state -> CheckedContinuation<Void, Never>? in
                defer { state.waiter = nil }
                return state.waiter
            }?.resume()
        }
    }
}
