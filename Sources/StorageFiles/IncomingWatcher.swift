import Glibc
import Storage
import Synchronization

/// Tells idle workers that measures arrived, from any process sharing the data
/// directory, through inotify on the sack directories: an append creates a
/// pending file (`IN_CREATE`), moves a consumed one back from `idle/`
/// (`IN_MOVED_TO`) or appends to one (`IN_MODIFY`). Workers then pause long
/// between scans instead of rescanning every 50 ms, and measures are picked up
/// within a millisecond or two in separate processes as in `orzo serve`.
///
/// A dedicated thread waits in `poll(2)` (never a thread of the concurrency
/// pool); each wakeup drains the queued events and calls the handler once. A
/// queue overflow (`IN_Q_OVERFLOW`) also calls it: the workers rescan.
final class IncomingWatcher: IncomingWatch, @unchecked Sendable {
    /// What the thread uses: it holds this, not the watcher, so that dropping
    /// the watcher stops the thread.
    private final class Loop: @unchecked Sendable {
        let inotify: Int32
        let stopRead: Int32
        let onPending: @Sendable () -> Void

        init(inotify: Int32, stopRead: Int32, onPending: @escaping @Sendable () -> Void) {
            self.inotify = inotify
            self.stopRead = stopRead
            self.onPending = onPending
        }

        func run() {
            var buffer = [UInt8](repeating: 0, count: 64 * 1024)
            var fds = [
                pollfd(fd: inotify, events: Int16(POLLIN), revents: 0),
                pollfd(fd: stopRead, events: Int16(POLLIN), revents: 0),
            ]
            while true {
                fds[0].revents = 0
                fds[1].revents = 0
                if poll(&fds, 2, -1) < 0 {
                    if errno == EINTR { continue }
                    return
                }
                if fds[1].revents != 0 { return }
                guard fds[0].revents != 0 else { continue }
                // Drain everything queued: one call for all of it.
                var any = false
                while buffer.withUnsafeMutableBytes({ read(inotify, $0.baseAddress, $0.count) }) > 0 { any = true }
                if any { onPending() }
            }
        }
    }

    private let loop: Loop
    private let stopWrite: Int32
    private let thread = Mutex<pthread_t?>(nil)

    init(directories: [String], onPending: @escaping @Sendable () -> Void) throws {
        let inotify = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
        guard inotify >= 0 else { throw POSIX.error("inotify_init1", directories.first ?? "") }
        var pipe: [Int32] = [0, 0]
        guard Glibc.pipe(&pipe) == 0 else {
            close(inotify)
            throw POSIX.error("pipe", directories.first ?? "")
        }
        for end in pipe { _ = fcntl(end, F_SETFD, FD_CLOEXEC) }
        func closeAll() {
            close(inotify)
            close(pipe[0])
            close(pipe[1])
        }
        let mask = UInt32(IN_CREATE | IN_MOVED_TO | IN_MODIFY)
        for directory in directories where inotify_add_watch(inotify, directory, mask) < 0 {
            let error = POSIX.error("inotify_add_watch", directory)
            closeAll()
            throw error
        }
        loop = Loop(inotify: inotify, stopRead: pipe[0], onPending: onPending)
        stopWrite = pipe[1]
        let box = Unmanaged.passRetained(loop)
        var handle = pthread_t()
        let created = pthread_create(
            &handle, nil,
            { argument in
                Unmanaged<Loop>.fromOpaque(argument!).takeRetainedValue().run()
                return nil
            }, box.toOpaque())
        guard created == 0 else {
            box.release()
            closeAll()
            throw StorageError.unavailable("cannot start the incoming watcher thread (error \(created))")
        }
        thread.withLock { $0 = handle }
    }

    var rescanInterval: Duration { .seconds(1) }

    func stop() {
        guard
            let handle = thread.withLock({ thread -> pthread_t? in
                defer { thread = nil }
                return thread
            })
        else { return }
        var one: UInt8 = 1
        _ = write(stopWrite, &one, 1)
        pthread_join(handle, nil)
        close(loop.inotify)
        close(loop.stopRead)
        close(stopWrite)
    }

    deinit { stop() }
}

extension FileStorage {
    public func watchIncoming(_ onPending: @escaping @Sendable () -> Void) throws -> (any IncomingWatch)? {
        try IncomingWatcher(directories: (0..<sackCount).map { "\(root)/incoming/\($0)" }, onPending: onPending)
    }
}
