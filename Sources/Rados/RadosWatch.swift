import CRados
import Glibc
import Synchronization

/// What a ``RadosWatch`` reports.
public enum RadosWatchEvent: Sendable {
    /// A notify reached the object (it is acknowledged already), with its payload.
    case notified(payload: [UInt8])
    /// The watch broke (the OSD session was lost, the object moved and the
    /// watch could not follow): notifies may have been missed and none arrive
    /// any more. The watch must be ended with ``RadosWatch/unwatch()`` and a new
    /// one started.
    case failed(RadosError)
}

/// A watch on one object: every notify sent to it (``RadosIOContext/notify(_:payload:timeout:)``)
/// by any client reaches `onEvent`.
///
/// librados calls `onEvent` on one of its own threads: it must return quickly
/// and never block. Each notify is acknowledged before `onEvent` runs, so a
/// slow handler never holds the notifier back.
public final class RadosWatch: @unchecked Sendable {
    /// What the C callbacks reach through their opaque argument. Retained once
    /// for librados and released only after the watch has ended and its
    /// callbacks are flushed, so no callback can outlive it.
    final class Context: @unchecked Sendable {
        let io: RadosIOContext
        let object: UnsafeMutablePointer<CChar>
        let cookie = UnsafeMutablePointer<UInt64>.allocate(capacity: 1)
        let onEvent: @Sendable (RadosWatchEvent) -> Void

        init(io: RadosIOContext, object: String, onEvent: @escaping @Sendable (RadosWatchEvent) -> Void) {
            self.io = io
            self.object = strdup(object)
            self.onEvent = onEvent
            cookie.initialize(to: 0)
        }

        deinit {
            free(object)
            cookie.deallocate()
        }
    }

    public let object: String
    private let context: Unmanaged<Context>
    private let ended = Atomic<Bool>(false)

    init(object: String, context: Unmanaged<Context>) {
        self.object = object
        self.context = context
    }

    /// Whether the watch is confirmed by its OSD; an error if it broke. The
    /// corresponding C function is `rados_watch_check`.
    public func check() throws(RadosError) {
        let io = context.takeUnretainedValue().io
        try Rados.check(
            rados_watch_check(io.handle, context.takeUnretainedValue().cookie.pointee), "rados_watch_check",
            object: object)
    }

    /// Ends the watch: no notify is delivered after this returns. The
    /// corresponding C functions are `rados_aio_unwatch` and `rados_aio_watch_flush`.
    /// A failure to unwatch (the OSD is gone) still ends it here; the OSD
    /// drops the watch by itself after the watch's timeout.
    public func unwatch() async {
        guard !ended.exchange(true, ordering: .acquiringAndReleasing) else { return }
        let context = context.takeUnretainedValue()
        _ = await withRadosCompletion { completion in
            rados_aio_unwatch(context.io.handle, context.cookie.pointee, completion)
        }
        // Callbacks already queued may still run: wait for them before letting go.
        _ = await withRadosCompletion { completion in
            rados_aio_watch_flush(context.io.cluster.handle, completion)
        }
        self.context.release()
    }

    deinit {
        // Not unwatched: the callbacks may still run, so the context is kept
        // (a leak of a few bytes, rather than a use after free).
    }
}

extension RadosIOContext {
    /// Starts watching `object`, which must exist (else ``RadosError/Kind/notFound``).
    /// If this client loses its OSD session for longer than `timeout`, the OSD
    /// drops the watch and `onEvent` receives ``RadosWatchEvent/failed(_:)``.
    /// The corresponding C function is `rados_aio_watch2`.
    public func watch(
        _ object: String, timeout: Duration = .seconds(30),
        onEvent: @escaping @Sendable (RadosWatchEvent) -> Void
    ) async throws(RadosError) -> RadosWatch {
        let context = Unmanaged.passRetained(RadosWatch.Context(io: self, object: object, onEvent: onEvent))
        let seconds = UInt32(clamping: max(1, timeout.components.seconds))
        let result = await withRadosCompletion { completion in
            let c = context.takeUnretainedValue()
            return rados_aio_watch2(
                handle, c.object, completion, c.cookie,
                { argument, notifyID, cookie, _, data, length in
                    let c = Unmanaged<RadosWatch.Context>.fromOpaque(argument!).takeUnretainedValue()
                    // Acknowledged first: the notifier waits for every watcher's ack.
                    _ = rados_notify_ack(c.io.handle, c.object, notifyID, cookie, nil, 0)
                    let payload =
                        data.map { [UInt8](UnsafeRawBufferPointer(start: $0, count: length)) } ?? []
                    c.onEvent(.notified(payload: payload))
                },
                { argument, _, error in
                    let c = Unmanaged<RadosWatch.Context>.fromOpaque(argument!).takeUnretainedValue()
                    c.onEvent(
                        .failed(
                            RadosError(
                                returnValue: error, operation: "rados_watch2",
                                object: String(cString: c.object))))
                },
                seconds, context.toOpaque())
        }
        if result.returnValue < 0 {
            // librados registered the callbacks before the OSD refused: flush them
            // before letting the context go.
            _ = await withRadosCompletion { completion in rados_aio_watch_flush(cluster.handle, completion) }
            context.release()
            throw RadosError(returnValue: result.returnValue, operation: "rados_aio_watch2", object: object)
        }
        return RadosWatch(object: object, context: context)
    }

    /// Sends a notify to every watcher of `object` and waits until all have
    /// acknowledged it or `timeout` passed (then ``RadosError/Kind/timedOut``;
    /// the watchers that were reachable have still received it). The
    /// corresponding C function is `rados_aio_notify`.
    public func notify(_ object: String, payload: [UInt8] = [], timeout: Duration) async throws(RadosError) {
        let buffers = CBuffers()
        let oid = buffers.cString(object)
        let data = buffers.copy(payload)
        let reply = buffers.allocate(UnsafeMutablePointer<CChar>?.self)
        let replyLength = buffers.allocate(Int.self)
        precondition(payload.count <= 1 << 20, "a notify's payload is small")
        // At most a day: librados takes milliseconds, and no notify should wait longer.
        let seconds = min(max(timeout.components.seconds, 0), 86_400)
        let milliseconds = UInt64(max(1, seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000))
        let result = await withRadosCompletion { completion in
            rados_aio_notify(
                handle, oid, completion, data, Int32(payload.count), milliseconds, reply, replyLength)
        }
        // The reply is set even on a timeout; it lists who acked, which Orzo does not need.
        if let buffer = reply.pointee { rados_buffer_free(buffer) }
        withExtendedLifetime(buffers) {}
        try check(result.returnValue, "rados_aio_notify", object: object)
    }
}
