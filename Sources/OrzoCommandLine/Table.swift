import Storage
import Timeseries
import WireProtocol

/// Replies as text tables for a terminal: a header, a rule, and rows padded to
/// the widest cell of each column.
public struct Table: Hashable, Sendable {
    public var header: [String]
    public var rows: [[String]]

    public init(header: [String], rows: [[String]]) {
        self.header = header
        self.rows = rows
    }

    /// The lines to print.
    public var lines: [String] {
        let widths = header.indices.map { column in
            ([header[column]] + rows.map { column < $0.count ? $0[column] : "" }).map(\.count).max() ?? 0
        }
        func line(_ cells: [String]) -> String {
            var text = ""
            for (index, width) in widths.enumerated() {
                let cell = index < cells.count ? cells[index] : ""
                if index > 0 { text += "  " }
                text += cell + String(repeating: " ", count: max(0, width - cell.count))
            }
            while text.last == " " { text.removeLast() }
            return text
        }
        return [line(header), line(widths.map { String(repeating: "-", count: $0) })] + rows.map(line)
    }

    public var text: String { lines.joined(separator: "\n") }

    // MARK: Tables of each reply

    public init(policies: [ArchivePolicyReply]) {
        self.init(
            header: ["name", "back_window", "definition", "aggregation_methods"],
            rows: policies.map { policy in
                [
                    policy.name, String(policy.backWindow),
                    policy.definition.map { item in
                        var parts = ["granularity=\(Self.number(item.granularity))"]
                        if let points = item.points { parts.append("points=\(points)") }
                        if let timespan = item.timespan { parts.append("timespan=\(Self.number(timespan))") }
                        return parts.joined(separator: " ")
                    }.joined(separator: ", "),
                    policy.aggregationMethods.joined(separator: ", "),
                ]
            })
    }

    public init(rules: [RuleReply]) {
        self.init(
            header: ["name", "metric_pattern", "archive_policy_name"],
            rows: rules.map { [$0.name, $0.metricPattern, $0.archivePolicyName] })
    }

    public init(metric: MetricReply) {
        self.init(
            header: ["name", "archive_policy_name", "unit", "counters"],
            rows: [
                [
                    metric.name, metric.archivePolicyName, metric.unit ?? "",
                    "duplicates_replaced=\(metric.counters.duplicatesReplaced) "
                        + "measures_dropped_too_old=\(metric.counters.droppedTooOld) "
                        + "measures_processed=\(metric.counters.measuresProcessed)",
                ]
            ])
    }

    public init(metrics: MetricsPage) {
        self.init(
            header: ["name", "archive_policy_name"], rows: metrics.metrics.map { [$0.name, $0.archivePolicyName] })
    }

    public init(points: [MeasurePoint]) {
        self.init(header: ["timestamp", "granularity", "value"], rows: points.map(Self.cells))
    }

    public init(aggregates: AggregatesReply) {
        var rows: [[String]] = []
        switch aggregates {
        case .aggregated(let points): rows = points.map { ["aggregated", ""] + Self.cells($0) }
        case .perMetric(let series):
            for metric in series.keys.sorted() {
                for (method, points) in series[metric]!.sorted(by: { $0.key < $1.key }) {
                    rows += points.map { [metric, method] + Self.cells($0) }
                }
            }
        }
        self.init(header: ["metric", "aggregation", "timestamp", "granularity", "value"], rows: rows)
    }

    public init(status: StatusReply) {
        var rows = [
            ["backlog.metrics", String(status.backlogMetrics)],
            ["backlog.measures", status.backlogMeasures.map(String.init) ?? "(not counted by this backend)"],
        ]
        rows += status.counters.sorted { $0.key < $1.key }.map { [$0.key, String($0.value)] }
        rows += status.quarantined.map { ["quarantined \($0.metric)", $0.reason] }
        self.init(header: ["counter", "value"], rows: rows)
    }

    static func cells(_ point: MeasurePoint) -> [String] {
        [Timestamps.format(point.timestamp), number(point.granularity), point.value.map(number) ?? ""]
    }

    /// 300 rather than 300.0; other numbers in their shortest exact form.
    static func number(_ value: Double) -> String {
        if value == value.rounded() && abs(value) < 1e15 && !(value == 0 && value.sign == .minus) {
            return String(Int64(value))
        }
        return String(value)
    }
}

extension MeasurePoint {
    /// `[timestamp, granularity, value]`, as the protocol writes it.
    public var json: JSONValue {
        [.string(Timestamps.format(timestamp)), .number(granularity), value.map(JSONValue.number) ?? .null]
    }
}

extension AggregatesReply {
    public var json: JSONValue {
        switch self {
        case .aggregated(let points): ["aggregated": .array(points.map(\.json))]
        case .perMetric(let series):
            .object(series.mapValues { methods in .object(methods.mapValues { .array($0.map(\.json)) }) })
        }
    }
}
