import Synchronization

/// What the services count, for `status` and the logs: every rejected or
/// dropped measure is counted somewhere an operator can see.
public final class ServiceCounters: Sendable {
    public enum Name: String, CaseIterable, Sendable {
        case messagesReceived = "ingest.messages.received"
        case messagesMalformed = "ingest.messages.malformed"
        case messagesUnknownVerb = "ingest.messages.unknown_verb"
        case measuresAccepted = "ingest.measures.accepted"
        case measuresRejectedNonFinite = "ingest.measures.rejected.non_finite_value"
        case measuresRejectedTimestamp = "ingest.measures.rejected.timestamp_out_of_range"
        case measuresDroppedUnknownMetric = "ingest.measures.dropped.unknown_metric"
        case measuresDroppedUnavailable = "ingest.measures.dropped.unavailable"
        case cyclesProcessed = "metricd.cycles"
        case measuresProcessed = "metricd.measures.processed"
        case measuresDroppedTooOld = "metricd.measures.dropped.too_old"
        case leaseContention = "metricd.lease.busy"
        case metricsQuarantined = "metricd.metrics.quarantined"
        case queries = "query.requests"
        case queryErrors = "query.errors"
    }

    private let values = Mutex([Name: Int]())

    public init() {}

    public func add(_ name: Name, _ amount: Int = 1) {
        guard amount != 0 else { return }
        values.withLock { $0[name, default: 0] += amount }
    }

    public func value(_ name: Name) -> Int { values.withLock { $0[name] ?? 0 } }

    public var snapshot: [String: Int] {
        Dictionary(uniqueKeysWithValues: Name.allCases.map { ($0.rawValue, value($0)) })
    }
}
