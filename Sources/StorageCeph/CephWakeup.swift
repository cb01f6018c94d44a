import Logging
import Rados
import Storage
import Synchronization

/// Ingest tells idle workers of new measures through RADOS watch/notify on one
/// object, `orzo.wakeup` (docs/storage-ceph.md, "Waking the workers"): every
/// process that runs workers watches it, and an ingest notifies it after each
/// stored batch. The notify is only a hint: workers still rescan every
/// ``CephIncomingWatcher/rescanInterval``, so a lost notify delays measures by at most that.
enum CephWakeup {
    static let object = "orzo.wakeup"
    /// How long a notify waits for the watchers' acks. Delivery does not wait for
    /// it; this only bounds how long a dead watcher (not yet dropped by its OSD)
    /// holds back the next notify of this process.
    static let notifyTimeout: Duration = .milliseconds(500)
    /// How long the OSD keeps a watch whose client it cannot reach.
    static let watchTimeout: Duration = .seconds(30)
}

/// Sends the notifies of one process: at most one in flight, and the puts that
/// complete meanwhile are folded into one more after it. Under load that is
/// one notify per round trip, whatever the put rate; a put never waits for it.
final class WakeupNotifier: Sendable {
    private struct State {
        var inFlight = false
        var again = false
        var failing = false
    }
    private let state = Mutex(State())
    private let io: RadosIOContext
    private let logger = Logger(label: "orzo.storage.ceph")

    init(io: RadosIOContext) { self.io = io }

    func ring() {
        let start = state.withLock { state -> Bool in
            if state.inFlight {
                state.again = true
                return false
            }
            state.inFlight = true
            return true
        }
        guard start else { return }
        Task { await send() }
    }

    private func send() async {
        while true {
            var failure: RadosError?
            do {
                try await io.notify(CephWakeup.object, timeout: CephWakeup.notifyTimeout)
            } catch  where error.kind == .timedOut {
                // A watcher did not ack in time (a dead process its OSD has not
                // dropped yet): the live ones got the notify all the same.
            } catch {
                // The cluster is unreachable: workers find the measures at their next rescan.
                failure = error
            }
            let (more, changed) = state.withLock { state -> (Bool, Bool) in
                let changed = state.failing != (failure != nil)
                state.failing = failure != nil
                if state.again {
                    state.again = false
                    return (true, changed)
                }
                state.inFlight = false
                return (false, changed)
            }
            // Logged when it starts and stops failing, not at every put.
            if changed, let failure {
                logger.warning(
                    "cannot notify workers of new measures; they find them at their next rescan",
                    metadata: ["error": "\(failure)"])
            } else if changed {
                logger.notice("notifying workers of new measures again")
            }
            if !more { return }
        }
    }
}

/// A process's watch on `orzo.wakeup`, kept up for as long as it runs: when the
/// watch breaks (its OSD session was lost), it calls the handler (notifies may
/// have been missed) and watches again, retrying every second while the
/// cluster is unreachable.
final class CephIncomingWatcher: IncomingWatch, Sendable {
    private let stopped = Mutex(false)
    /// Rung when the watch breaks (or the task is cancelled).
    private let broken = Doorbell()
    private let onPending: @Sendable () -> Void
    private let task = Mutex<Task<Void, Never>?>(nil)
    private let logger = Logger(label: "orzo.storage.ceph")

    init(io: RadosIOContext, onPending: @escaping @Sendable () -> Void) {
        self.onPending = onPending
        // The task holds the watcher until stop() cancels it.
        let running = Task { await self.keepWatching(io) }
        task.withLock { $0 = running }
    }

    /// Calls the handler unless stopped; under the lock, so that none is running
    /// or starts once ``stop()`` returns.
    private func pending() {
        stopped.withLock { stopped in
            if !stopped { onPending() }
        }
    }

    private func keepWatching(_ io: RadosIOContext) async {
        var failedBefore = false
        while !Task.isCancelled {
            let watch: RadosWatch
            do {
                // The object exists: CephStorage.open creates it in every process.
                watch = try await io.watch(CephWakeup.object, timeout: CephWakeup.watchTimeout) { [weak self] event in
                    guard let self else { return }
                    switch event {
                    case .notified: self.pending()
                    case .failed: self.broken.ring()
                    }
                }
            } catch {
                if !failedBefore {
                    logger.warning(
                        "cannot watch for new measures; idle workers rescan every second until it works",
                        metadata: ["error": "\(error)"])
                    failedBefore = true
                }
                // Unwatched, the workers' long pause would hold measures back: ring them instead.
                pending()
                try? await Task.sleep(for: .seconds(1))
                continue
            }
            if failedBefore { logger.notice("watching for new measures again") }
            failedBefore = false
            // Measures stored before the watch started have had no notify.
            pending()
            await broken.wait()
            await watch.unwatch()
            if Task.isCancelled { return }
            logger.warning("the watch for new measures broke; watching again")
            pending()
        }
    }

    /// Every rescan lists every sack, a round trip each, on the OSDs' CPU too;
    /// a notify is missed only when the watch broke (which rescans at once) or
    /// an ingest died between storing and acknowledging (its client retries).
    var rescanInterval: Duration { .seconds(5) }

    func stop() {
        stopped.withLock { $0 = true }
        // The task unwatches on its way out, asynchronously: the handler is
        // already silenced.
        task.withLock { $0?.cancel() }
    }
}

extension CephStorage {
    public func watchIncoming(_ onPending: @escaping @Sendable () -> Void) throws -> (any IncomingWatch)? {
        CephIncomingWatcher(io: io, onPending: onPending)
    }
}
