import Metrics
import Synchronization

/// What the services count, for `status` and the logs: every rejected or
/// dropped measure is counted somewhere an operator can see. Each count also
/// goes to swift-metrics, so `/metrics` shows it when an exporter is set up.
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
        case leaseLost = "metricd.lease.lost"
        case metricsQuarantined = "metricd.metrics.quarantined"
        case cyclesFailedUnavailable = "metricd.cycles.failed.unavailable"
        case cyclesFailedDamaged = "metricd.cycles.failed.damaged"
        case cyclesFailedOther = "metricd.cycles.failed.other"
        case queries = "query.requests"
        case queryErrors = "query.errors"
        case queriesBusy = "query.refused.busy"
        case queriesTimedOut = "query.timed_out"
        case requestsForbidden = "security.requests.forbidden"
        case connectionsRefused = "security.connections.refused"

        /// The Prometheus name and labels. Labels come from fixed sets only.
        public var exported: (name: String, labels: [(String, String)]) {
            switch self {
            case .messagesReceived: ("orzo_ingest_messages_total", [])
            case .messagesMalformed: ("orzo_ingest_messages_rejected_total", [("reason", "malformed")])
            case .messagesUnknownVerb: ("orzo_ingest_messages_rejected_total", [("reason", "unknown_verb")])
            case .measuresAccepted: ("orzo_ingest_measures_accepted_total", [])
            case .measuresRejectedNonFinite: ("orzo_ingest_measures_rejected_total", [("reason", "non_finite_value")])
            case .measuresRejectedTimestamp:
                ("orzo_ingest_measures_rejected_total", [("reason", "timestamp_out_of_range")])
            case .measuresDroppedUnknownMetric: ("orzo_ingest_measures_rejected_total", [("reason", "unknown_metric")])
            case .measuresDroppedUnavailable: ("orzo_ingest_measures_rejected_total", [("reason", "unavailable")])
            case .requestsForbidden: ("orzo_security_requests_forbidden_total", [])
            case .connectionsRefused: ("orzo_security_connections_refused_total", [])
            case .cyclesProcessed: ("orzo_metricd_cycles_total", [])
            case .measuresProcessed: ("orzo_metricd_measures_processed_total", [])
            case .measuresDroppedTooOld: ("orzo_metricd_measures_dropped_too_old_total", [])
            case .leaseContention: ("orzo_metricd_lease_busy_total", [])
            case .leaseLost: ("orzo_metricd_lease_lost_total", [])
            case .metricsQuarantined: ("orzo_metricd_metrics_quarantined_total", [])
            case .cyclesFailedUnavailable: ("orzo_metricd_cycles_failed_total", [("cause", "unavailable")])
            case .cyclesFailedDamaged: ("orzo_metricd_cycles_failed_total", [("cause", "damaged")])
            case .cyclesFailedOther: ("orzo_metricd_cycles_failed_total", [("cause", "other")])
            case .queries: ("orzo_query_requests_total", [])
            case .queryErrors: ("orzo_query_errors_total", [])
            case .queriesBusy: ("orzo_query_refused_total", [("reason", "busy")])
            case .queriesTimedOut: ("orzo_query_refused_total", [("reason", "deadline")])
            }
        }
    }

    private let values = Mutex([Name: Int]())
    private let exported: [Name: Counter]

    /// Create after `MetricsSystem.bootstrap`, if any: the exported counters
    /// are made here. Each is created at zero, so a scrape lists them all.
    public init() {
        exported = Dictionary(
            uniqueKeysWithValues: Name.allCases.map { name in
                (name, Counter(label: name.exported.name, dimensions: name.exported.labels))
            })
    }

    public func add(_ name: Name, _ amount: Int = 1) {
        guard amount != 0 else { return }
        values.withLock { $0[name, default: 0] += amount }
        exported[name]?.increment(by: Int64(amount))
    }

    public func value(_ name: Name) -> Int { values.withLock { $0[name] ?? 0 } }

    public var snapshot: [String: Int] {
        Dictionary(uniqueKeysWithValues: Name.allCases.map { ($0.rawValue, value($0)) })
    }
}
