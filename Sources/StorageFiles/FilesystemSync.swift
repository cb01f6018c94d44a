/// Group commit for the file store: callers that need everything they wrote so
/// far to be durable share `syncfs` calls. A caller waits for a sync that
/// *started* after it asked, so its writes are covered; while one sync runs,
/// every caller that arrives meanwhile is served by the next one. N commits in
/// flight cost about 2 journal commits in all instead of 2 each.
actor FilesystemSync {
    private let root: String
    private var started = 0
    private var running = false
    private var waiters: [(generation: Int, continuation: CheckedContinuation<Void, any Error>)] = []

    init(root: String) { self.root = root }

    func sync() async throws {
        let needed = started + 1
        try await withCheckedThrowingContinuation { continuation in
            waiters.append((needed, continuation))
            if !running { startNext() }
        }
    }

    private func startNext() {
        running = true
        started += 1
        let generation = started
        let root = root
        // The syscall blocks a thread for milliseconds: on the blocking pool, never
        // on the actor or the cooperative pool.
        Task {
            let result: Result<Void, any Error>
            do {
                result = .success(try await BlockingIOPool.run { try POSIX.syncFilesystem(root) })
            } catch {
                result = .failure(error)
            }
            self.finish(generation, result)
        }
    }

    private func finish(_ generation: Int, _ result: Result<Void, any Error>) {
        running = false
        let served = waiters.filter { $0.generation <= generation }
        waiters.removeAll { $0.generation <= generation }
        for waiter in served { waiter.continuation.resume(with: result) }
        if !waiters.isEmpty { startNext() }
    }
}
