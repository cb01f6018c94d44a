import Logging
import Storage
import Synchronization
import Timeseries

/// Why a refresh did not happen.
public enum RefreshError: Error, Sendable {
    /// The metric is quarantined, with this reason.
    case quarantined(String)
    /// This refresh quarantined it: its processing had ended its process this many times in a row.
    case quarantinedNow(Int)
    /// Its lease stayed held elsewhere for the whole wait.
    case locked
}

/// A read's `refresh`: processes a metric's pending measures under its lease
/// before it is read, as a worker would. Shared by the ZeroMQ query service and
/// the HTTP API.
public struct MetricRefresher: Sendable {
    public let storage: any MetricStorage
    public let counters: ServiceCounters
    /// In `orzo serve`, the workers' quarantine list (re-read each second)
    /// spares a storage read per refresh.
    public let metricd: MetricdService?
    /// How long to wait for a lease held elsewhere.
    public let leaseWait: Duration

    public init(storage: any MetricStorage, counters: ServiceCounters, metricd: MetricdService?, leaseWait: Duration) {
        self.storage = storage
        self.counters = counters
        self.metricd = metricd
        self.leaseWait = leaseWait
    }

    /// Processes the metric's pending measures under its lease, waiting for it
    /// up to `leaseWait` (the caller's task may be cancelled at its deadline).
    public func refresh(_ metric: MetricID, _ policy: ArchivePolicy) async throws {
        let cycle = ProcessingCycle(storage: storage)
        let instruments = CycleInstruments(counters: counters)
        let deadline = ContinuousClock.now + leaseWait
        let reason: String?
        if let metricd {
            reason = metricd.quarantine.withLock { $0[metric] }
        } else {
            reason = try await storage.quarantinedMetrics()[metric]
        }
        if let reason { throw RefreshError.quarantined(reason) }
        while true {
            try Task.checkCancellation()
            let started = ContinuousClock.now
            let outcome: CycleOutcome
            do {
                outcome = try await cycle.process(metric, policy: policy)
            } catch let error as StorageError {
                // A refresh is a cycle: its failure is logged and counted as a worker's is.
                if case .corrupt = error {
                    counters.add(.cyclesFailedDamaged)
                } else {
                    counters.add(.cyclesFailedUnavailable)
                }
                Logger(label: "orzo.query").warning(
                    "refresh cycle failed", metadata: ["metric": "\(metric)", "error": "\(error)"])
                throw error
            }
            switch outcome {
            case .idle: return
            case .quarantined(let abandoned):
                counters.add(.metricsQuarantined)
                throw RefreshError.quarantinedNow(abandoned)
            case .processed(let measures, let dropped, let more):
                instruments.processed(measures: measures, droppedTooOld: dropped, since: started)
                if !more { return }
            case .busy:
                guard ContinuousClock.now < deadline else { throw RefreshError.locked }
                try await Task.sleep(for: .milliseconds(50))
            }
        }
    }
}
