import Logging
import Metrics
import Storage
import Synchronization
import Timeseries

/// The aggregation workers: scan the sacks for metrics with pending measures,
/// oldest mark first, and run a processing cycle on each under its lease. Many
/// workers in many processes cooperate through the storage's leases alone.
public final class MetricdService: Sendable {
    public let storage: any MetricStorage
    public let directory: MetricDirectory
    public let counters: ServiceCounters
    public let workers: Int
    /// The pause after a scan that found nothing to do.
    public let idlePause: Duration
    public let leaseDuration: Duration
    /// Metrics each worker processes at once (each under its own lease).
    public let cyclesInFlight: Int

    /// Quarantined metrics, as this process last read them from storage (where
    /// quarantine is durable and shared by every process): skipped by the workers.
    public let quarantine = Mutex<[MetricID: String]>([:])
    /// When the quarantine list was last read (ContinuousClock), to read it at most once a second.
    private let quarantineReadAt = Mutex<ContinuousClock.Instant?>(nil)

    /// Per sack, what its last scan found: metrics pending and the oldest mark.
    private let sackBacklog = Mutex<[Int: (metrics: Int, oldest: Nanoseconds?)]>([:])
    private let instruments: CycleInstruments
    private let backlogMetricsGauge = Gauge(label: "orzo_backlog_metrics")
    private let backlogAge = Gauge(label: "orzo_backlog_oldest_seconds")
    private let doorbells: [Doorbell]
    private let pausing = Atomic<Int>(0)

    /// Workers in their idle pause right now (found nothing on their last scan).
    public var idleWorkers: Int { pausing.load(ordering: .relaxed) }

    public init(
        storage: any MetricStorage, directory: MetricDirectory, counters: ServiceCounters, workers: Int = 2,
        idlePause: Duration = .milliseconds(50), leaseDuration: Duration = .seconds(30), cyclesInFlight: Int = 4
    ) {
        self.cyclesInFlight = max(1, cyclesInFlight)
        self.idlePause = idlePause
        self.leaseDuration = leaseDuration
        self.storage = storage
        self.directory = directory
        self.counters = counters
        self.instruments = CycleInstruments(counters: counters)
        self.workers = max(1, workers)
        self.doorbells = (0..<max(1, workers)).map { _ in Doorbell() }
    }

    /// Wakes idle workers now: measures were just stored in this process.
    public func wake() {
        for doorbell in doorbells { doorbell.ring() }
    }

    /// Runs the workers until the task is cancelled; a cycle in progress finishes
    /// (cancellation is checked between cycles), so leases are released.
    public func run() async throws {
        // Told of new measures by the store (inotify on files, watch/notify on Ceph),
        // idle workers only rescan as a safety net, as often as the watch says;
        // otherwise every `idlePause`.
        let doorbells = doorbells
        let watch: (any IncomingWatch)?
        do {
            watch = try storage.watchIncoming { for doorbell in doorbells { doorbell.ring() } }
        } catch {
            watch = nil
            Logger(label: "orzo.metricd").warning(
                "cannot watch for new measures; idle workers rescan instead",
                metadata: ["error": "\(error)", "rescan": "\(idlePause)"])
        }
        defer { watch?.stop() }
        let workerPause = watch.map { max(idlePause, $0.rescanInterval) } ?? idlePause
        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in 0..<workers {
                group.addTask { try await self.work(worker, idlePause: workerPause) }
            }
            try await group.waitForAll()
        }
    }

    /// The worker's logger: its lines carry `worker=N`.
    private func logger(_ worker: Int) -> Logger {
        var logger = Logger(label: "orzo.metricd")
        logger[metadataKey: "worker"] = "\(worker)"
        return logger
    }

    private func work(_ worker: Int, idlePause: Duration) async throws {
        let cycle = ProcessingCycle(storage: storage, leaseDuration: leaseDuration)
        let logger = logger(worker)
        // Marks already found idle, so an idle metric's entry costs nothing until it is marked again.
        var idleAt: [MetricID: Nanoseconds] = [:]
        while !Task.isCancelled {
            var didWork = false
            await refreshQuarantine(logger)
            do {
                // Metrics and policies deleted since the last pass leave the cache.
                try await directory.refresh()
            } catch {
                logger.warning("cannot read the index generation; retrying", metadata: ["error": "\(error)"])
                await doorbells[worker].wait(idlePause)
                continue
            }
            let sacks = Array(stride(from: worker, to: storage.sackCount, by: workers))
            for pending in await listSacks(sacks, logger) {
                if Task.isCancelled { break }
                // Up to `cyclesInFlight` metrics at once: one cycle waits on its fsyncs while
                // the next computes, and concurrent fsyncs share journal commits.
                let todo = pending.filter { idleAt[$0.metric] != $0.markedAt }
                await withTaskGroup(of: (PendingMetric, CycleOutcome?).self) { group in
                    var next = todo.startIndex
                    var running = 0
                    func collect(_ result: (PendingMetric, CycleOutcome?)) {
                        switch result.1 {
                        case .idle: idleAt[result.0.metric] = result.0.markedAt
                        case .processed:
                            idleAt[result.0.metric] = nil
                            didWork = true
                        case .busy, .quarantined, nil: break
                        }
                    }
                    while next < todo.endIndex || !group.isEmpty {
                        while next < todo.endIndex && !Task.isCancelled && running < cyclesInFlight {
                            let entry = todo[next]
                            next += 1
                            running += 1
                            group.addTask { (entry, await self.processLogged(entry, cycle, logger)) }
                        }
                        if Task.isCancelled { next = todo.endIndex }
                        guard let result = await group.next() else { break }
                        running -= 1
                        collect(result)
                    }
                }
            }
            if !didWork {
                pausing.add(1, ordering: .relaxed)
                await doorbells[worker].wait(idlePause)
                pausing.subtract(1, ordering: .relaxed)
            }
        }
    }

    /// The pending metrics of `sacks`, listed concurrently (on Ceph a listing is a
    /// round trip: listed one after the other, 32 sacks made a woken worker take
    /// about 16 round trips on average to reach the one that had measures). In
    /// sack order; a sack that cannot be listed is logged and left to the next pass.
    private func listSacks(_ sacks: [Int], _ logger: Logger) async -> [[PendingMetric]] {
        var listed: [Int: [PendingMetric]] = [:]
        await withTaskGroup(of: (Int, [PendingMetric]?).self) { group in
            var next = 0
            func start() {
                let sack = sacks[next]
                next += 1
                group.addTask {
                    do {
                        return (sack, try await self.storage.metricsWithPendingMeasures(inSack: sack))
                    } catch {
                        logger.warning(
                            "cannot list a sack; retrying", metadata: ["sack": "\(sack)", "error": "\(error)"])
                        return (sack, nil)  // storage down: try again on the next scan
                    }
                }
            }
            while next < sacks.count && next < Self.concurrentListings { start() }
            while let (sack, pending) = await group.next() {
                if let pending {
                    recordBacklog(sack: sack, pending)
                    listed[sack] = pending
                }
                if next < sacks.count && !Task.isCancelled { start() }
            }
        }
        return sacks.compactMap { listed[$0] }
    }

    /// How many sack listings a worker has in flight at once.
    static let concurrentListings = 16

    /// Metrics with pending measures, as this process's workers last saw their sacks.
    public var backlogMetrics: Int { sackBacklog.withLock { $0.values.reduce(0) { $0 + $1.metrics } } }

    /// Backlog gauges for this process's view: each worker's last scan of its sacks.
    private func recordBacklog(sack: Int, _ pending: [PendingMetric]) {
        let (metrics, oldest) = sackBacklog.withLock { backlog in
            backlog[sack] = (pending.count, pending.map(\.markedAt).min())
            return (backlog.values.reduce(0) { $0 + $1.metrics }, backlog.values.compactMap(\.oldest).min())
        }
        backlogMetricsGauge.record(metrics)
        backlogAge.record(oldest.map { Double(max(0, wallClockNanoseconds() - $0)) / 1e9 } ?? 0)
    }

    /// Reads the durable quarantine list, at most once a second per process.
    private func refreshQuarantine(_ logger: Logger) async {
        let now = ContinuousClock.now
        let due = quarantineReadAt.withLock { last -> Bool in
            guard last.map({ now - $0 >= .seconds(1) }) ?? true else { return false }
            last = now
            return true
        }
        guard due else { return }
        do {
            let current = try await storage.quarantinedMetrics()
            quarantine.withLock { $0 = current }
        } catch {
            logger.warning("cannot read the quarantine list; keeping the last one", metadata: ["error": "\(error)"])
        }
    }

    /// Sets a metric aside durably, and says so in the log and the counters.
    private func quarantine(_ metric: MetricID, reason: String, _ logger: Logger) async {
        quarantine.withLock { $0[metric] = reason }
        counters.add(.metricsQuarantined)
        logger.error("metric quarantined", metadata: ["metric": "\(metric)", "reason": "\(reason)"])
        do { try await storage.quarantine(metric, reason: reason) } catch {
            logger.error(
                "cannot store the quarantine; the metric is skipped by this process only",
                metadata: ["metric": "\(metric)", "error": "\(error)"])
        }
    }

    /// One metric's cycles; a failure is logged with the metric and its cause and
    /// counted by cause, never dropped (the next scan tries again).
    private func processLogged(
        _ entry: PendingMetric, _ cycle: ProcessingCycle, _ logger: Logger
    ) async -> CycleOutcome? {
        do {
            return try await processOne(entry, cycle, logger)
        } catch is CancellationError {
            return nil
        } catch let error as StorageError {
            counters.add(.cyclesFailedUnavailable)
            logger.warning("cycle failed", metadata: ["metric": "\(entry.metric)", "error": "\(error)"])
        } catch let error as IndexerError {
            if case .damaged = error {
                counters.add(.cyclesFailedDamaged)
                await quarantine(entry.metric, reason: error.description, logger)
            } else {
                counters.add(.cyclesFailedUnavailable)
                logger.warning("cycle failed", metadata: ["metric": "\(entry.metric)", "error": "\(error)"])
            }
        } catch {
            counters.add(.cyclesFailedOther)
            logger.error("cycle failed", metadata: ["metric": "\(entry.metric)", "error": "\(error)"])
        }
        return nil
    }

    private func processOne(
        _ entry: PendingMetric, _ cycle: ProcessingCycle, _ logger: Logger
    )
        async throws -> CycleOutcome?
    {
        if quarantine.withLock({ $0[entry.metric] != nil }) { return nil }
        guard let (_, policy) = try await directory.metricAndPolicy(id: entry.metric) else {
            // Pending measures of a deleted metric (ids are never reused): nothing will
            // ever read them.
            try await storage.deleteMetric(entry.metric)
            return nil
        }
        do {
            var started = ContinuousClock.now
            var outcome = try await cycle.process(entry.metric, policy: policy)
            while true {
                switch outcome {
                case .busy:
                    counters.add(.leaseContention)
                    return outcome
                case .quarantined(let abandoned):
                    await quarantine(
                        entry.metric,
                        reason: "its processing ended the worker's process (or outlived its lease) \(abandoned) "
                            + "times in a row", logger)
                    return outcome
                case .idle:
                    try await storage.forgetIfIdle(entry)
                    return outcome
                case .processed(let measures, let dropped, let more):
                    instruments.processed(measures: measures, droppedTooOld: dropped, since: started)
                    guard more else { return .processed(measures: measures, droppedTooOld: dropped, more: false) }
                    started = .now
                    outcome = try await cycle.process(entry.metric, policy: policy)
                }
            }
        } catch StorageError.leaseLost(let metric) {
            // This worker stalled past its lease and another took the metric over; the
            // commit was refused whole, so the other's result stands.
            counters.add(.leaseLost)
            logger.warning("lease lost: another worker took the metric over", metadata: ["metric": "\(metric)"])
            return nil
        } catch StorageError.corrupt(let metric, let reason) {
            counters.add(.cyclesFailedDamaged)
            await quarantine(metric, reason: "its stored data is damaged: \(reason)", logger)
            return nil
        }
    }
}
