import Metrics
import Synchronization
import Timeseries

/// Folds statsd samples into one interval's measures, as gnocchi-statsd does
/// (counters summed, gauges last value), with what Gnocchi lacks: relative
/// gauges, every timer sample kept, sets, and sample rates on counters.
///
/// Thread-safe: the UDP listener records and the flush loop drains.
public final class StatsdAggregator: Sendable {
    /// Timer samples kept per metric and interval; beyond it samples are
    /// dropped and counted, so one noisy metric cannot exhaust memory.
    public let maximumTimerSamples: Int
    /// Prefix of every metric name Orzo receives (e.g. "statsd.").
    public let prefix: String

    private struct State {
        var counters: [String: Double] = [:]
        var gauges: [String: Double] = [:]  // last value, kept for relative updates
        var gaugesUpdated: Set<String> = []
        var timers: [String: [Double]] = [:]
        var sets: [String: Set<String>] = [:]
        var kinds: [String: StatsdLine.Kind] = [:]
        var counts = StatsdCounts()
    }

    private let state = Mutex(State())
    private let linesExported = Counter(label: "orzo_statsd_lines_total")
    private let rejectionsExported: [String: Counter]

    /// Every reason a line or sample is refused: a fixed set, so a bounded label.
    public static let rejectionReasons =
        StatsdLine.Rejection.allCases.map(\.rawValue) + ["type_conflict", "timer_overflow"]

    public init(prefix: String = "", maximumTimerSamples: Int = 100_000) {
        self.prefix = prefix
        self.maximumTimerSamples = maximumTimerSamples
        rejectionsExported = Dictionary(
            uniqueKeysWithValues: Self.rejectionReasons.map {
                ($0, Counter(label: "orzo_statsd_lines_rejected_total", dimensions: [("reason", $0)]))
            })
    }

    private func reject(_ reason: String, _ state: inout State) {
        state.counts.rejected[reason, default: 0] += 1
        rejectionsExported[reason]?.increment()
    }

    /// Records a datagram: lines separated by newlines.
    public func record(datagram: Substring) {
        for line in datagram.split(whereSeparator: { $0 == "\n" || $0 == "\r\n" }) where !line.isEmpty {
            record(line: line)
        }
    }

    public func record(line: Substring) {
        let parsed = StatsdLine.parse(line)
        linesExported.increment()
        state.withLock { state in
            state.counts.lines += 1
            guard case .success(let sample) = parsed else {
                if case .failure(let reason) = parsed { reject(reason.rawValue, &state) }
                return
            }
            // One name, one type: a counter and a gauge of the same name would mix in one metric.
            if let known = state.kinds[sample.name], known != sample.kind {
                reject("type_conflict", &state)
                return
            }
            state.kinds[sample.name] = sample.kind
            switch (sample.kind, sample.value) {
            case (.counter, .number(let value)):
                state.counters[sample.name, default: 0] += value / sample.sampleRate
            case (.gauge, .number(let value)):
                state.gauges[sample.name] = value
                state.gaugesUpdated.insert(sample.name)
            case (.gauge, .delta(let delta)):
                state.gauges[sample.name, default: 0] += delta
                state.gaugesUpdated.insert(sample.name)
            case (.timer, .number(let value)):
                if state.timers[sample.name, default: []].count >= maximumTimerSamples {
                    reject("timer_overflow", &state)
                    return
                }
                state.timers[sample.name, default: []].append(value)
            case (.set, .member(let member)):
                state.sets[sample.name, default: []].insert(member)
            default:
                reject("bad_value", &state)
                return
            }
            state.counts.accepted += 1
        }
    }

    /// The interval's measures, and a fresh interval. Counters, gauges and
    /// sets give one measure at `now`; timers one per sample, spread over the
    /// last nanoseconds before `now` so that each keeps its own timestamp
    /// (a measure is identified by metric and timestamp).
    public func flush(at now: Nanoseconds) -> [String: [Measure]] {
        state.withLock { state in
            var measures: [String: [Measure]] = [:]
            for (name, sum) in state.counters { measures[prefix + name] = [Measure(timestamp: now, value: sum)] }
            for name in state.gaugesUpdated {
                measures[prefix + name] = [Measure(timestamp: now, value: state.gauges[name]!)]
            }
            for (name, samples) in state.timers {
                let first = now - Nanoseconds(samples.count) + 1
                measures[prefix + name] = samples.enumerated().map {
                    Measure(timestamp: first + Nanoseconds($0.offset), value: $0.element)
                }
            }
            for (name, members) in state.sets {
                measures[prefix + name] = [Measure(timestamp: now, value: Double(members.count))]
            }
            state.counters = [:]
            state.gaugesUpdated = []
            state.timers = [:]
            state.sets = [:]
            return measures
        }
    }

    public var counts: StatsdCounts { state.withLock { $0.counts } }
}

/// What the bridge has seen, for logs, `STATUS=` and metrics.
public struct StatsdCounts: Sendable, Hashable {
    public var lines = 0
    public var accepted = 0
    /// Refused lines and samples by reason: the reasons of ``StatsdLine/Rejection``,
    /// `type_conflict` and `timer_overflow`.
    public var rejected: [String: Int] = [:]
}
