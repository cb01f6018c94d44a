import NIOPosix

/// Where the file store's blocking system calls run: open, read, write, `fsync`,
/// `syncfs`, `flock` and the lease slots' lock waits. Never on Swift's
/// cooperative pool, which has one thread per core: on a two-core host one slow
/// sync there stalled ingest, queries and workers together (docs/storage-files.md,
/// "Threads"). One pool per process, shared by its stores; its threads are
/// many more than the cores because they mostly wait on the disk (a `syncfs`
/// under load can take seconds, and a lease operation queued behind a full pool
/// would outlive its lease), and syncs in flight together share journal commits.
enum BlockingIOPool {
    static let threads = 64

    static let shared: NIOThreadPool = {
        let pool = NIOThreadPool(numberOfThreads: threads)
        pool.start()
        return pool
    }()

    /// Runs `body` on a thread of the pool and waits for it without holding a
    /// thread of the cooperative pool.
    static func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await shared.runIfActive(body)
    }
}
