import AccessControl
import ArgumentParser
import Foundation
import OrzoClient
import OrzoCommandLine
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
    @Option(help: "The server's CURVE public key, Z85 or a .public file (or ORZO_SERVER_KEY).") var serverKey: String?
    @Option(help: "This client's CURVE secret key file (or ORZO_CLIENT_KEY).") var clientKey: String?

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
        try OrzoClient(
            endpoints: .init(push: push, ack: ack, query: query), timeout: .seconds(timeout), attempts: 1,
            security: security())
    }

    /// CURVE towards the server, when keys are given (flags, else the environment).
    func security() throws -> ClientSecurity? {
        try clientSecurity(
            serverKey: serverKey ?? environment("ORZO_SERVER_KEY"),
            clientKeyFile: clientKey ?? environment("ORZO_CLIENT_KEY"))
    }

    /// Prints a reply: its JSON, or a table.
    func show(_ json: JSONValue, _ table: @autoclosure () -> Table) {
        if format == .json {
            print(String(decoding: json.encoded(), as: UTF8.self))
        } else {
            print(table().text)
        }
    }
}

/// A timestamp argument, as a validation error the argument parser shows.
func parseTimestamp(_ text: String, now: Nanoseconds = wallClockNanoseconds()) throws -> Nanoseconds {
    do { return try TimestampArgument.parse(text, now: now) } catch { throw ValidationError(error.description) }
}

/// Prints a table of plain cells.
func printTable(_ header: [String], _ rows: [[String]]) { print(Table(header: header, rows: rows).text) }

extension Orzo {
    struct ArchivePolicyCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "archive-policy", abstract: "Create, list, show and delete archive policies.",
            subcommands: [Create.self, List.self, Show.self, Delete.self])

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
                let spec = QueryRequest.ArchivePolicySpec(
                    name: name, backWindow: backWindow,
                    aggregationMethods: aggregationMethods.map { $0.split(separator: ",").map(String.init) },
                    definition: try definition.map(parseDefinition))
                let policy = try await client.connect().createArchivePolicy(spec)
                client.show(policy.json, Table(policies: [policy]))
            }

            private func parseDefinition(_ text: String) throws -> QueryRequest.ArchivePolicySpec.Item {
                var item = QueryRequest.ArchivePolicySpec.Item()
                for part in text.split(separator: ",") {
                    let pair = part.split(separator: ":", maxSplits: 1)
                    guard pair.count == 2, let number = Double(pair[1]) else {
                        throw ValidationError(
                            "definition '\(text)': use granularity:SECONDS,points:N or timespan:SECONDS")
                    }
                    switch pair[0] {
                    case "granularity":
                        guard let value = Limits.granularity(fromSeconds: number) else {
                            throw ValidationError(
                                "definition '\(text)': granularity must be \(Limits.granularityRangeText)")
                        }
                        item.granularity = value
                    case "timespan":
                        guard let value = Limits.timespan(fromSeconds: number) else {
                            throw ValidationError("definition '\(text)': timespan must be \(Limits.timespanRangeText)")
                        }
                        item.timespan = value
                    case "points":
                        guard let value = Int(exactly: number), value > 0 else {
                            throw ValidationError("definition '\(text)': points must be a positive integer")
                        }
                        item.points = value
                    default:
                        throw ValidationError(
                            "definition '\(text)': use granularity:SECONDS,points:N or timespan:SECONDS")
                    }
                }
                return item
            }
        }

        struct List: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "List archive policies.")
            @OptionGroup var client: ClientOptions
            func run() async throws {
                let policies = try await client.connect().archivePolicies()
                client.show(.array(policies.map(\.json)), Table(policies: policies))
            }
        }

        struct Show: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Show an archive policy.")
            @Argument(help: "The policy's name.") var name: String
            @OptionGroup var client: ClientOptions
            func run() async throws {
                let policy = try await client.connect().archivePolicy(name)
                client.show(policy.json, Table(policies: [policy]))
            }
        }

        struct Delete: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Delete an archive policy no metric or rule uses.")
            @Argument(help: "The policy's name.") var name: String
            @OptionGroup var client: ClientOptions
            func run() async throws { try await client.connect().deleteArchivePolicy(name) }
        }
    }

    struct ArchivePolicyRuleCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "archive-policy-rule", abstract: "Create, list and delete archive-policy rules.",
            subcommands: [Create.self, List.self, Delete.self])

        struct Create: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Create a rule: new metrics matching the glob get the policy.")
            @Argument(help: "The rule's name.") var name: String
            @Option(help: "A shell glob over metric names.") var metricPattern: String
            @Option(help: "The policy new matching metrics get.") var archivePolicyName: String
            @OptionGroup var client: ClientOptions
            func run() async throws {
                let rule = try await client.connect().createArchivePolicyRule(
                    name: name, metricPattern: metricPattern, archivePolicy: archivePolicyName)
                client.show(rule.json, Table(rules: [rule]))
            }
        }

        struct List: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "List rules.")
            @OptionGroup var client: ClientOptions
            func run() async throws {
                let rules = try await client.connect().archivePolicyRules()
                client.show(.array(rules.map(\.json)), Table(rules: rules))
            }
        }

        struct Delete: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Delete a rule.")
            @Argument(help: "The rule's name.") var name: String
            @OptionGroup var client: ClientOptions
            func run() async throws {
                try await client.connect().deleteArchivePolicyRule(name)
            }
        }
    }

    struct MetricCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "metric", abstract: "Create, list, show and delete metrics; release quarantined ones.",
            subcommands: [Create.self, List.self, Show.self, Delete.self, Unquarantine.self])

        struct Create: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Create a metric.")
            @Argument(help: "The metric's name.") var name: String
            @Option(help: "Its archive policy (default: by rule).") var archivePolicyName: String?
            @Option(help: "Its unit.") var unit: String?
            @OptionGroup var client: ClientOptions
            func run() async throws {
                let metric = try await client.connect().createMetric(
                    name: name, archivePolicy: archivePolicyName, unit: unit)
                client.show(metric.json, Table(metric: metric))
            }
        }

        struct List: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "List metrics by name.")
            @Option(help: "Only names starting with this.") var prefix = ""
            @Option(help: "At most this many.") var limit = 1000
            @Option(help: "Names after this one (paging).") var marker: String?
            @OptionGroup var client: ClientOptions
            func run() async throws {
                let page = try await client.connect().metrics(
                    prefix: prefix.isEmpty ? nil : prefix, limit: limit, marker: marker)
                client.show(page.json, Table(metrics: page))
            }
        }

        struct Show: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Show a metric, its policy and counters.")
            @Argument(help: "The metric's name.") var name: String
            @OptionGroup var client: ClientOptions
            func run() async throws {
                let metric = try await client.connect().metric(name)
                client.show(metric.json, Table(metric: metric))
            }
        }

        struct Delete: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Delete a metric and all its data.")
            @Argument(help: "The metric's name.") var name: String
            @OptionGroup var client: ClientOptions
            func run() async throws { try await client.connect().deleteMetric(name) }
        }

        struct Unquarantine: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Let workers process a quarantined metric again (after fixing what stopped them).")
            @Argument(help: "The metric's name.") var name: String
            @OptionGroup var client: ClientOptions
            func run() async throws { try await client.connect().releaseQuarantine(name) }
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
                let now = wallClockNanoseconds()
                let measures = try measure.map { text -> Measure in
                    do { return try MeasureArgument.parse(text, now: now) } catch let error as MeasureArgument.Invalid {
                        throw ValidationError(error.description)
                    }
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
                let now = wallClockNanoseconds()
                for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                    let parsed: (String, Measure)?
                    do { parsed = try MeasureArgument.parseLine(line, number: number + 1, now: now) } catch {
                        throw ValidationError(error.description)
                    }
                    guard let (name, measure) = parsed else { continue }
                    pending[name, default: []].append(measure)
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
                let points = try await client.connect().measures(
                    of: metric, aggregation: aggregation, granularity: granularity,
                    start: try start.map { try parseTimestamp($0) }, stop: try stop.map { try parseTimestamp($0) },
                    resample: resample, refresh: refresh)
                client.show(["measures": .array(points.map(\.json))], Table(points: points))
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
            var fillValue: Fill?
            if let fill {
                guard let parsed = Fill(fill) else {
                    throw ValidationError("--fill: a number, null, dropna, ffill, bfill, full_ffill or full_bfill")
                }
                fillValue = parsed
            }
            let reply = try await client.connect().aggregates(
                operations, start: try start.map { try parseTimestamp($0) },
                stop: try stop.map { try parseTimestamp($0) },
                granularity: granularity, neededOverlap: neededOverlap, fill: fillValue)
            client.show(reply.json, Table(aggregates: reply))
        }
    }

    struct StatusCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "status", abstract: "Show the backlog and counters.")
        @OptionGroup var client: ClientOptions
        func run() async throws {
            let status = try await client.connect().status()
            client.show(status.json, Table(status: status))
        }
    }
}

/// One acknowledged put; prints the accepted and rejected counts.
func put(_ batches: [String: [Measure]], client: ClientOptions) async throws {
    let result = try await client.connect().put(batches)
    if client.format == .json {
        print(String(decoding: result.encoded(), as: UTF8.self))
    } else {
        print("accepted \(result.accepted), rejected \(result.rejected)")
        for rejection in result.rejections {
            print("  rejected: \(rejection.metric) #\(rejection.index): \(rejection.reason)")
        }
    }
}
