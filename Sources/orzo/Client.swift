import ArgumentParser
import Foundation
import OrzoClient
import OrzoConfig
import Storage
import Timeseries
import WireProtocol

/// Endpoints of a server, for the client commands. Flags win over ORZO_PUSH,
/// ORZO_ACK and ORZO_QUERY in the environment, which win over the defaults.
struct ClientOptions: ParsableArguments {
    @Option(help: "Fire-and-forget ingest endpoint (or ORZO_PUSH).") var pushEndpoint: String?
    @Option(help: "Acknowledged ingest endpoint (or ORZO_ACK).") var ackEndpoint: String?
    @Option(help: "Query endpoint (or ORZO_QUERY).") var queryEndpoint: String?
    @Option(help: "Output: table or json.") var format: OutputFormat = .table
    @Flag(help: "Show timestamps in UTC (the default; local time is not supported yet).") var utc = false
    @Option(help: "Seconds to wait for a reply.") var timeout: Double = 10

    enum OutputFormat: String, ExpressibleByArgument { case table, json }

    var push: String { pushEndpoint ?? setting("ingest.push_endpoint") }
    var ack: String { ackEndpoint ?? setting("ingest.ack_endpoint") }
    var query: String { queryEndpoint ?? setting("query.endpoint") }

    /// The server's own setting of that endpoint: its variable, else its default.
    private func setting(_ key: String) -> String {
        let setting = Setting.named(key)!
        return environment(setting.environment) ?? setting.defaultValue!
    }

    /// A client of these endpoints: one attempt per request, as a command line tool.
    func connect() throws -> OrzoClient {
        try OrzoClient(endpoints: .init(push: push, ack: ack, query: query), timeout: .seconds(timeout), attempts: 1)
    }

    /// Sends one query and returns the body, or fails with the server's error.
    func request(_ body: [String: Any]) async throws -> Any {
        let reply = try await connect().request(json: JSONWriter.encode(body))
        return try JSONSerialization.jsonObject(with: Data(reply), options: [.fragmentsAllowed])
    }

    /// Prints a reply: JSON as is, or a table of the given columns.
    func show(_ value: Any, columns: [String]) {
        if format == .json {
            print(String(decoding: JSONWriter.encode(value), as: UTF8.self))
            return
        }
        let rows: [[String: Any]] = (value as? [[String: Any]]) ?? (value as? [String: Any]).map { [$0] } ?? []
        printTable(columns, rows.map { row in columns.map { cell(row[$0]) } })
    }
}

func cell(_ value: Any?) -> String {
    switch value {
    case nil, is NSNull: return ""
    case let string as String: return string
    case let number as NSNumber: return number.stringValue
    case let array as [Any]: return array.map { cell($0) }.joined(separator: ", ")
    case let dictionary as [String: Any]:
        return dictionary.keys.sorted().map { "\($0)=\(cell(dictionary[$0]))" }.joined(separator: " ")
    default: return "\(value!)"
    }
}

func printTable(_ header: [String], _ rows: [[String]]) {
    let widths = header.indices.map { column in ([header[column]] + rows.map { $0[column] }).map(\.count).max() ?? 0 }
    func line(_ cells: [String]) -> String {
        zip(cells, widths).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }.joined(separator: "  ")
            .trimmingCharacters(in: .whitespaces)
    }
    print(line(header))
    print(line(widths.map { String(repeating: "-", count: $0) }))
    for row in rows { print(line(row)) }
}

/// A timestamp from the command line: ISO 8601 (a zone, or UTC if none), seconds
/// since the epoch, "now", or relative to now ("-1h", "-30min", "-2d", "+10s", or
/// "now-1h", which needs no "=" after an option).
func parseTimestamp(_ text: String, now: Nanoseconds = wallClockNanoseconds()) throws -> Nanoseconds {
    if text == "now" { return now }
    if text.hasPrefix("now-") || text.hasPrefix("now+") {
        return try parseTimestamp(String(text.dropFirst(3)), now: now)
    }
    if let first = text.first, first == "-" || first == "+", let duration = parseRelative(String(text.dropFirst())) {
        return first == "-" ? now - duration : now + duration
    }
    if let seconds = Double(text), seconds.isFinite { return Nanoseconds((seconds * 1e9).rounded()) }
    if let parsed = Timestamps.parseISO8601(text) ?? Timestamps.parseISO8601(text + "Z") { return parsed }
    throw ValidationError("'\(text)' is not a timestamp: give ISO 8601, epoch seconds, now, or now-1h, now-2d …")
}

private func parseRelative(_ text: String) -> Nanoseconds? {
    let units: [(String, Double)] = [
        ("ms", 1e-3), ("s", 1), ("sec", 1), ("min", 60), ("m", 60), ("h", 3600), ("d", 86400), ("w", 604_800),
    ]
    for (suffix, scale) in units.sorted(by: { $0.0.count > $1.0.count }) where text.hasSuffix(suffix) {
        if let number = Double(text.dropLast(suffix.count)), number >= 0 { return Nanoseconds(number * scale * 1e9) }
    }
    return nil
}

extension Orzo {
    struct ArchivePolicyCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "archive-policy", abstract: "Create, list, show and delete archive policies.",
            subcommands: [Create.self, List.self, Show.self, Delete.self])

        static let columns = ["name", "back_window", "definition", "aggregation_methods"]

        struct Create: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Create an archive policy.")
            @Argument(help: "The policy's name.") var name: String
            @Option(
                name: [.short, .long],
                help: "A granularity and its points, in seconds: 'granularity:60,points:1440' (repeatable).")
            var definition: [String]
            @Option(help: "Blocks of the coarsest granularity that still accept late measures.") var backWindow = 0
            @Option(help: "Methods, comma-separated; '+x' and '-x' amend the defaults, '*' is all.")
            var aggregationMethods: String?
            @OptionGroup var client: ClientOptions

            func run() async throws {
                var request: [String: Any] = ["op": "create_archive_policy", "name": name, "back_window": backWindow]
                request["definition"] = try definition.map(parseDefinition)
                if let aggregationMethods {
                    request["aggregation_methods"] = aggregationMethods.split(separator: ",").map(String.init)
                }
                client.show(try await client.request(request), columns: ArchivePolicyCommand.columns)
            }

            private func parseDefinition(_ text: String) throws -> [String: Any] {
                var item: [String: Any] = [:]
                for part in text.split(separator: ",") {
                    let pair = part.split(separator: ":", maxSplits: 1)
                    guard pair.count == 2, let number = Double(pair[1]) else {
                        throw ValidationError(
                            "definition '\(text)': use granularity:SECONDS,points:N or timespan:SECONDS")
                    }
                    item[String(pair[0])] = number
                }
                return item
            }
        }

        struct List: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "List archive policies.")
            @OptionGroup var client: ClientOptions
            func run() async throws {
                client.show(
                    try await client.request(["op": "list_archive_policies"]), columns: ArchivePolicyCommand.columns)
            }
        }

        struct Show: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Show an archive policy.")
            @Argument(help: "The policy's name.") var name: String
            @OptionGroup var client: ClientOptions
            func run() async throws {
                client.show(
                    try await client.request(["op": "get_archive_policy", "name": name]),
                    columns: ArchivePolicyCommand.columns)
            }
        }

        struct Delete: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Delete an archive policy no metric or rule uses.")
            @Argument(help: "The policy's name.") var name: String
            @OptionGroup var client: ClientOptions
            func run() async throws { _ = try await client.request(["op": "delete_archive_policy", "name": name]) }
        }
    }

    struct ArchivePolicyRuleCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "archive-policy-rule", abstract: "Create, list and delete archive-policy rules.",
            subcommands: [Create.self, List.self, Delete.self])
        static let columns = ["name", "metric_pattern", "archive_policy_name"]

        struct Create: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Create a rule: new metrics matching the glob get the policy.")
            @Argument(help: "The rule's name.") var name: String
            @Option(help: "A shell glob over metric names.") var metricPattern: String
            @Option(help: "The policy new matching metrics get.") var archivePolicyName: String
            @OptionGroup var client: ClientOptions
            func run() async throws {
                client.show(
                    try await client.request([
                        "op": "create_archive_policy_rule", "name": name, "metric_pattern": metricPattern,
                        "archive_policy_name": archivePolicyName,
                    ]), columns: ArchivePolicyRuleCommand.columns)
            }
        }

        struct List: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "List rules.")
            @OptionGroup var client: ClientOptions
            func run() async throws {
                client.show(
                    try await client.request(["op": "list_archive_policy_rules"]),
                    columns: ArchivePolicyRuleCommand.columns)
            }
        }

        struct Delete: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Delete a rule.")
            @Argument(help: "The rule's name.") var name: String
            @OptionGroup var client: ClientOptions
            func run() async throws {
                _ = try await client.request(["op": "delete_archive_policy_rule", "name": name])
            }
        }
    }

    struct MetricCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "metric", abstract: "Create, list, show and delete metrics.",
            subcommands: [Create.self, List.self, Show.self, Delete.self])
        static let columns = ["name", "archive_policy_name", "unit", "counters"]

        struct Create: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Create a metric.")
            @Argument(help: "The metric's name.") var name: String
            @Option(help: "Its archive policy (default: by rule).") var archivePolicyName: String?
            @Option(help: "Its unit.") var unit: String?
            @OptionGroup var client: ClientOptions
            func run() async throws {
                var request: [String: Any] = ["op": "create_metric", "name": name]
                request["archive_policy_name"] = archivePolicyName
                request["unit"] = unit
                client.show(try await client.request(request), columns: MetricCommand.columns)
            }
        }

        struct List: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "List metrics by name.")
            @Option(help: "Only names starting with this.") var prefix = ""
            @Option(help: "At most this many.") var limit = 1000
            @Option(help: "Names after this one (paging).") var marker: String?
            @OptionGroup var client: ClientOptions
            func run() async throws {
                var request: [String: Any] = ["op": "list_metrics", "prefix": prefix, "limit": limit]
                request["marker"] = marker
                let reply = try await client.request(request)
                if client.format == .json {
                    client.show(reply, columns: [])
                } else {
                    client.show((reply as? [String: Any])?["metrics"] ?? [], columns: ["name", "archive_policy_name"])
                }
            }
        }

        struct Show: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Show a metric, its policy and counters.")
            @Argument(help: "The metric's name.") var name: String
            @OptionGroup var client: ClientOptions
            func run() async throws {
                client.show(
                    try await client.request(["op": "get_metric", "name": name]), columns: MetricCommand.columns)
            }
        }

        struct Delete: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Delete a metric and all its data.")
            @Argument(help: "The metric's name.") var name: String
            @OptionGroup var client: ClientOptions
            func run() async throws { _ = try await client.request(["op": "delete_metric", "name": name]) }
        }
    }

    struct MeasuresCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "measures", abstract: "Add, push and show measures.",
            subcommands: [Add.self, Push.self, Show.self])

        struct Add: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Add measures to a metric, acknowledged.")
            @Argument(help: "The metric's name.") var metric: String
            @Option(
                name: [.customShort("m"), .long],
                help: "TIMESTAMP@VALUE (repeatable): ISO 8601, epoch seconds, now, now-5min …")
            var measure: [String]
            @OptionGroup var client: ClientOptions
            func run() async throws {
                let measures = try measure.map { text -> Measure in
                    guard let at = text.lastIndex(of: "@"), let value = Double(text[text.index(after: at)...]) else {
                        throw ValidationError("'\(text)': use TIMESTAMP@VALUE")
                    }
                    return Measure(timestamp: try parseTimestamp(String(text[..<at])), value: value)
                }
                try await put([metric: measures], client: client)
            }
        }

        struct Push: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Add measures from lines 'NAME TIMESTAMP VALUE' (a file, or standard input), acknowledged.")
            @Argument(help: "A file to read; standard input if absent.") var file: String?
            @Option(help: "Lines per put.") var batch = 1000
            @OptionGroup var client: ClientOptions
            func run() async throws {
                let handle = try file.map { try FileHandle(forReadingFrom: URL(fileURLWithPath: $0)) } ?? .standardInput
                let text = String(decoding: handle.readDataToEndOfFile(), as: UTF8.self)
                var pending: [String: [Measure]] = [:]
                var count = 0
                for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                    let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
                    if fields.isEmpty || fields[0].hasPrefix("#") { continue }
                    guard fields.count == 3, let value = Double(fields[2]) else {
                        throw ValidationError("line \(number + 1): expected 'NAME TIMESTAMP VALUE'")
                    }
                    pending[String(fields[0]), default: []].append(
                        Measure(timestamp: try parseTimestamp(String(fields[1])), value: value))
                    count += 1
                    if count % batch == 0 {
                        try await put(pending, client: client)
                        pending = [:]
                    }
                }
                if !pending.isEmpty { try await put(pending, client: client) }
            }
        }

        struct Show: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Show a metric's aggregates.")
            @Argument(help: "The metric's name.") var metric: String
            @Option(help: "The aggregation method.") var aggregation = "mean"
            @Option(help: "Only this granularity, in seconds.") var granularity: Double?
            @Option(help: "From (inclusive, floored to the granularity): ISO 8601, epoch seconds, now, now-1h …")
            var start: String?
            @Option(help: "To (exclusive).") var stop: String?
            @Option(help: "Re-aggregate at this granularity, in seconds (needs --granularity).") var resample: Double?
            @Flag(help: "Process the metric's pending measures first.") var refresh = false
            @OptionGroup var client: ClientOptions
            func run() async throws {
                var request: [String: Any] = ["op": "get_measures", "metric": metric, "aggregation": aggregation]
                request["granularity"] = granularity
                request["resample"] = resample
                if let start { request["start"] = Timestamps.format(try parseTimestamp(start)) }
                if let stop { request["stop"] = Timestamps.format(try parseTimestamp(stop)) }
                if refresh { request["refresh"] = true }
                let reply = try await client.request(request)
                let rows = ((reply as? [String: Any])?["measures"] as? [[Any]]) ?? []
                if client.format == .json {
                    client.show(reply, columns: [])
                } else {
                    printTable(["timestamp", "granularity", "value"], rows.map { $0.map { cell($0) } })
                }
            }
        }
    }

    struct AggregatesCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "aggregates", abstract: "Aggregate across metrics with Gnocchi's operations language.")
        @Argument(help: "Operations, e.g. '(aggregate mean (metric (a mean) (b mean)))'.") var operations: String
        @Option(help: "From (inclusive).") var start: String?
        @Option(help: "To (exclusive).") var stop: String?
        @Option(help: "Only this granularity, in seconds.") var granularity: Double?
        @Option(help: "Percent of timestamps every series must have (without --fill).") var neededOverlap: Double?
        @Option(help: "A number, null, dropna, ffill, bfill, full_ffill or full_bfill.") var fill: String?
        @OptionGroup var client: ClientOptions
        func run() async throws {
            var request: [String: Any] = ["op": "aggregates", "operations": operations]
            if let start { request["start"] = Timestamps.format(try parseTimestamp(start)) }
            if let stop { request["stop"] = Timestamps.format(try parseTimestamp(stop)) }
            request["granularity"] = granularity
            request["needed_overlap"] = neededOverlap
            request["fill"] = fill
            let reply = try await client.request(request)
            if client.format == .json {
                client.show(reply, columns: [])
                return
            }
            let body = reply as? [String: Any] ?? [:]
            var rows: [[String]] = []
            if let aggregated = body["aggregated"] as? [[Any]] {
                rows = aggregated.map { ["aggregated", ""] + $0.map { cell($0) } }
            } else {
                for metric in body.keys.sorted() {
                    for (method, series) in (body[metric] as? [String: Any] ?? [:]).sorted(by: { $0.key < $1.key }) {
                        rows += ((series as? [[Any]]) ?? []).map { [metric, method] + $0.map { cell($0) } }
                    }
                }
            }
            printTable(["metric", "aggregation", "timestamp", "granularity", "value"], rows)
        }
    }

    struct StatusCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "status", abstract: "Show the backlog and counters.")
        @OptionGroup var client: ClientOptions
        func run() async throws {
            let reply = try await client.request(["op": "status"])
            if client.format == .json {
                client.show(reply, columns: [])
                return
            }
            let body = reply as? [String: Any] ?? [:]
            let counters = (body["counters"] as? [String: Any] ?? [:]).sorted { $0.key < $1.key }
            printTable(
                ["counter", "value"],
                [["backlog.metrics", cell((body["backlog"] as? [String: Any])?["metrics"])]]
                    + counters.map { [$0.key, cell($0.value)] })
        }
    }
}

/// One acknowledged put; prints the accepted and rejected counts.
func put(_ batches: [String: [Measure]], client: ClientOptions) async throws {
    let result = try await client.connect().put(batches)
    if client.format == .json {
        let rejections = result.rejections.map { ["metric": $0.metric, "index": $0.index, "reason": $0.reason] }
        let body: [String: Any] = ["accepted": result.accepted, "rejected": result.rejected, "rejections": rejections]
        print(String(decoding: JSONWriter.encode(body), as: UTF8.self))
    } else {
        print("accepted \(result.accepted), rejected \(result.rejected)")
        for rejection in result.rejections {
            print("  rejected: \(rejection.metric) #\(rejection.index): \(rejection.reason)")
        }
    }
}
