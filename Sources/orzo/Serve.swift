import ArgumentParser
@preconcurrency import Dispatch
import Foundation
import GnocchiAPI
import Logging
import OrzoConfig
import Services
import Storage
import StorageFiles
import Synchronization
import ZeroMQ

extension Orzo {
    /// Every role in one process, on local files: the embedded default.
    struct Serve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run ingest, aggregation workers and the query service in one process, on local files."
        )

        @OptionGroup var common: CommonOptions
        @Option(help: settingHelp("data_dir")) var dataDir: String?
        @OptionGroup var endpoints: IngestEndpointOptions
        @OptionGroup var queryOptions: QueryOptions
        @OptionGroup var workerOptions: MetricdOptions
        @OptionGroup var securityOptions: SecurityOptions
        @OptionGroup var http: HTTPOptions

        func run() async throws {
            let configuration = try await common.load(
                endpoints.flags.merging(workerOptions.flags) { $1 }.merging(queryOptions.flags) { $1 }
                    .merging(securityOptions.flags) { $1 }.merging(http.flags) { $1 }
                    .merging(["data_dir": dataDir]) { $1 })
            let metrics = MetricsExport(configuration)
            let dataDir = configuration.string("data_dir")!
            let pushEndpoint = configuration.string("ingest.push_endpoint")!
            let ackEndpoint = configuration.string("ingest.ack_endpoint")!
            let queryEndpoint = configuration.string("query.endpoint")!
            // Alone on its directory: a predecessor's leases are taken back at once.
            let (files, indexer) = try await BackendOptions.openFiles(dataDir, sharing: .exclusive)
            let storage = metrics.wrap(files)
            let context = try ZMQContext()
            let counters = ServiceCounters()
            let security = try RoleSecurity(
                configuration, endpoints: [pushEndpoint, ackEndpoint, queryEndpoint], context: context,
                counters: counters)
            let directory = MetricDirectory(indexer: indexer)
            let metricd = MetricdOptions.service(
                configuration, storage: storage, directory: directory, counters: counters)
            var ingestService = IngestService(
                context: context, storage: storage, directory: directory, counters: counters)
            ingestService.onStored = { metricd.wake() }  // one process: no need to wait for the next scan
            ingestService.maxPutsInFlight = configuration.int("ingest.max_puts_in_flight")
            ingestService.security = security.security
            let ingest = ingestService
            var queryService = QueryService(
                context: context, storage: storage, directory: directory, counters: counters, metricd: metricd)
            QueryOptions.configure(&queryService, configuration)
            queryService.security = security.security
            let query = queryService
            // Gnocchi's REST API on the same services, unless http.endpoint is off.
            let httpEndpoint = try HTTPOptions.endpoint(configuration)
            let httpServer = httpEndpoint.map {
                HTTPOptions.server(
                    configuration, endpoint: $0, directory: directory, storage: storage, counters: counters,
                    metricd: metricd)
            }
            let httpPort = Mutex<Int?>(nil)
            let notifier = SystemdNotifier()
            let bound = ReadyCounter(expected: httpServer == nil ? 3 : 4) {
                let http = httpPort.withLock { $0 }.map { ", http \(httpEndpoint!.host):\($0)" } ?? ""
                announce(
                    "orzo serve: ready (push \(pushEndpoint), ack \(ackEndpoint), query \(queryEndpoint)\(http))")
                Logger(label: "orzo.serve").info(
                    "serving",
                    metadata: [
                        "push": "\(pushEndpoint)", "ack": "\(ackEndpoint)", "query": "\(queryEndpoint)",
                        "data_dir": "\(dataDir)",
                    ])
                notifier.notify("READY=1\nSTATUS=serving")
            }
            try await runUntilSignalled(notifier: notifier) { group in
                metrics.add(to: &group)
                security.addReload(to: &group)
                group.addTask("systemd status") {
                    let accepting = RateMeter()
                    let aggregating = RateMeter()
                    await notifier.keepAlive {
                        let accepted = counters.value(.measuresAccepted)
                        let processed = counters.value(.measuresProcessed)
                        return
                            "accepting \(accepting.rate(accepted)) measures/s, aggregating \(aggregating.rate(processed))/s; backlog \(metricd.backlogMetrics) metrics"
                    }
                }
                // Stopped in the reverse order: ingest first, then the workers, queries last.
                group.addTask("query") { [queryEndpoint] in
                    try await query.run(endpoint: queryEndpoint, ready: bound.arrive)
                }
                group.addTask("metricd") { try await metricd.run() }
                if let httpServer {
                    group.addTask("http") {
                        try await httpServer.run { port in
                            httpPort.withLock { $0 = port }
                            bound.arrive()
                        }
                    }
                }
                group.addTask("ingest push") { [pushEndpoint] in
                    try await ingest.runPush(endpoint: pushEndpoint, ready: bound.arrive)
                }
                group.addTask("ingest acknowledged") { [ackEndpoint] in
                    try await ingest.runAcknowledged(endpoint: ackEndpoint, ready: bound.arrive)
                }
            }
        }
    }
}

/// Calls `body` once `expected` services have arrived.
final class ReadyCounter: Sendable {
    private let remaining: Mutex<Int>
    private let body: @Sendable () -> Void

    init(expected: Int, _ body: @escaping @Sendable () -> Void) {
        remaining = Mutex(expected)
        self.body = body
    }

    @Sendable func arrive() {
        let done = remaining.withLock { value -> Bool in
            value -= 1
            return value == 0
        }
        if done { body() }
    }
}

/// Waits for one of some signals, delivered through Dispatch (so no handler
/// runs in signal context). Dispatch sources are thread-safe; this holder only
/// keeps them alive, hence `@unchecked Sendable`.
final class SignalWatcher: @unchecked Sendable {
    private let sources: [any DispatchSourceSignal]
    private let received = AsyncStream<Void>.makeStream()

    init(_ numbers: [Int32]) {
        let continuation = received.continuation
        sources = numbers.map { number in
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { continuation.yield() }
            source.resume()
            return source
        }
    }

    func wait() async {
        for await _ in received.stream { return }
    }
}
