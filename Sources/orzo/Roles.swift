import ArgumentParser
import Foundation
import OrzoConfig
import Services
import ZeroMQ

extension Orzo {
    struct Ingest: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run an ingest front worker (PULL and ROUTER endpoints).")
        @OptionGroup var common: CommonOptions
        @OptionGroup var backend: BackendOptions
        @OptionGroup var endpoints: IngestEndpointOptions
        @OptionGroup var securityOptions: SecurityOptions

        func run() async throws {
            let configuration = try await common.load(
                backend.flags.merging(endpoints.flags) { $1 }.merging(securityOptions.flags) { $1 })
            let metrics = MetricsExport(configuration)
            let push = configuration.string("ingest.push_endpoint")!
            let ack = configuration.string("ingest.ack_endpoint")!
            let context = try ZMQContext()
            let counters = ServiceCounters()
            let security = try RoleSecurity(
                configuration, endpoints: [push, ack], context: context, counters: counters)
            let (storage, indexer) = try await BackendOptions.open(configuration)
            var ingestService = IngestService(
                context: context, storage: metrics.wrap(storage), directory: MetricDirectory(indexer: indexer),
                counters: counters)
            ingestService.maxPutsInFlight = configuration.int("ingest.max_puts_in_flight")
            ingestService.security = security.security
            let ingest = ingestService
            let notifier = SystemdNotifier()
            let ready = ReadyCounter(expected: 2) {
                announce("orzo ingest: ready")
                notifier.notify("READY=1\nSTATUS=accepting measures")
            }
            try await runUntilSignalled(notifier: notifier) { group in
                metrics.add(to: &group)
                security.addReload(to: &group)
                let rate = RateMeter()
                group.addTask("systemd status") {
                    await notifier.keepAlive {
                        let accepted = counters.value(.measuresAccepted)
                        return "accepting \(rate.rate(accepted)) measures/s; \(accepted) in all"
                    }
                }
                group.addTask("ingest push") { try await ingest.runPush(endpoint: push, ready: ready.arrive) }
                group.addTask("ingest acknowledged") {
                    try await ingest.runAcknowledged(endpoint: ack, ready: ready.arrive)
                }
            }
        }
    }

    struct Metricd: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Run aggregation workers.")
        @OptionGroup var common: CommonOptions
        @OptionGroup var backend: BackendOptions
        @OptionGroup var options: MetricdOptions

        func run() async throws {
            let configuration = try await common.load(backend.flags.merging(options.flags) { $1 })
            let metrics = MetricsExport(configuration)
            let (storage, indexer) = try await BackendOptions.open(configuration)
            let counters = ServiceCounters()
            let metricd = MetricdOptions.service(
                configuration, storage: metrics.wrap(storage), directory: MetricDirectory(indexer: indexer),
                counters: counters)
            let workers = metricd.workers
            let notifier = SystemdNotifier()
            try await runUntilSignalled(notifier: notifier) { group in
                // Here, once signals are watched: a stop sent right after "ready" is not lost.
                announce("orzo metricd: ready (\(workers) workers)")
                notifier.notify("READY=1\nSTATUS=aggregating with \(workers) workers")
                metrics.add(to: &group)
                group.addTask("metricd") { try await metricd.run() }
                group.addTask("systemd status") {
                    let rate = RateMeter()
                    await notifier.keepAlive {
                        let processed = counters.value(.measuresProcessed)
                        return
                            "backlog \(metricd.backlogMetrics) metrics; aggregating \(rate.rate(processed)) measures/s; \(processed) in all"
                    }
                }
            }
        }
    }

    struct Query: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Run the query service (ROUTER endpoint).")
        @OptionGroup var common: CommonOptions
        @OptionGroup var backend: BackendOptions
        @OptionGroup var queryOptions: QueryOptions
        @OptionGroup var securityOptions: SecurityOptions

        func run() async throws {
            let configuration = try await common.load(
                backend.flags.merging(queryOptions.flags) { $1 }.merging(securityOptions.flags) { $1 })
            let metrics = MetricsExport(configuration)
            let endpoint = configuration.string("query.endpoint")!
            let context = try ZMQContext()
            let counters = ServiceCounters()
            let security = try RoleSecurity(configuration, endpoints: [endpoint], context: context, counters: counters)
            let (storage, indexer) = try await BackendOptions.open(configuration)
            var queryService = QueryService(
                context: context, storage: metrics.wrap(storage), directory: MetricDirectory(indexer: indexer),
                counters: counters)
            QueryOptions.configure(&queryService, configuration)
            queryService.security = security.security
            let query = queryService
            let notifier = SystemdNotifier()
            try await runUntilSignalled(notifier: notifier) { group in
                metrics.add(to: &group)
                security.addReload(to: &group)
                group.addTask("query") {
                    try await query.run(endpoint: endpoint) {
                        announce("orzo query: ready")
                        notifier.notify("READY=1\nSTATUS=answering queries")
                    }
                }
                let rate = RateMeter()
                group.addTask("systemd status") {
                    await notifier.keepAlive {
                        let queries = counters.value(.queries)
                        return "answering \(rate.rate(queries)) queries/s; \(queries) in all"
                    }
                }
            }
        }
    }
}

/// A line on standard output, flushed at once (tests and systemd wait for it).
func announce(_ line: String) {
    print(line)
    fflush(nil)
}

/// An environment variable, nil when unset or empty.
func environment(_ name: String) -> String? {
    ProcessInfo.processInfo.environment[name].flatMap { $0.isEmpty ? nil : $0 }
}
