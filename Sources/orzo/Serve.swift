import ArgumentParser
@preconcurrency import Dispatch
import Foundation
import Logging
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

        @Option(help: "Directory for the data: file storage and the SQLite indexer (or ORZO_DATA_DIR).")
        var dataDir = environment("ORZO_DATA_DIR") ?? "./orzo-data"

        @Option(help: "Fire-and-forget ingest endpoint, PULL (or ORZO_PUSH).")
        var pushEndpoint = environment("ORZO_PUSH") ?? "tcp://127.0.0.1:5580"

        @Option(help: "Acknowledged ingest endpoint, ROUTER (or ORZO_ACK).")
        var ackEndpoint = environment("ORZO_ACK") ?? "tcp://127.0.0.1:5581"

        @Option(help: "Query endpoint, ROUTER (or ORZO_QUERY).")
        var queryEndpoint = environment("ORZO_QUERY") ?? "tcp://127.0.0.1:5582"

        @Option(help: "Aggregation workers in this process (or ORZO_WORKERS).")
        var workers = environment("ORZO_WORKERS").flatMap { Int($0) } ?? 2

        func run() async throws {
            bootstrapLogging()
            let storage = try FileStorage(root: dataDir)
            let indexer = try SQLiteIndexer(path: "\(dataDir)/index.sqlite")
            try await indexer.installDefaults()
            let context = try ZMQContext()
            let counters = ServiceCounters()
            let directory = MetricDirectory(indexer: indexer)
            let metricd = MetricdService(storage: storage, directory: directory, counters: counters, workers: workers)
            let ingest = IngestService(context: context, storage: storage, directory: directory, counters: counters)
            let query = QueryService(
                context: context, storage: storage, directory: directory, counters: counters, metricd: metricd)
            let notifier = SystemdNotifier()
            let bound = ReadyCounter(expected: 3) {
                announce("orzo serve: ready (push \(pushEndpoint), ack \(ackEndpoint), query \(queryEndpoint))")
                Logger(label: "orzo.serve").info(
                    "serving",
                    metadata: [
                        "push": "\(pushEndpoint)", "ack": "\(ackEndpoint)", "query": "\(queryEndpoint)",
                        "data_dir": "\(dataDir)",
                    ])
                notifier.notify("READY=1\nSTATUS=serving")
            }
            try await runUntilSignalled(notifier: notifier) { group in
                group.addTask {
                    await notifier.keepAlive {
                        "ingested \(counters.value(.measuresAccepted)) measures, aggregated \(counters.value(.measuresProcessed))"
                    }
                }
                group.addTask { [pushEndpoint] in try await ingest.runPush(endpoint: pushEndpoint, ready: bound.arrive)
                }
                group.addTask { [ackEndpoint] in
                    try await ingest.runAcknowledged(endpoint: ackEndpoint, ready: bound.arrive)
                }
                group.addTask { [queryEndpoint] in try await query.run(endpoint: queryEndpoint, ready: bound.arrive) }
                group.addTask { try await metricd.run() }
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

/// Runs the services until SIGTERM or SIGINT, then cancels them: each finishes
/// what it is doing (a processing cycle completes and releases its lease).
func runUntilSignalled(
    notifier: SystemdNotifier? = nil, _ start: (inout ThrowingTaskGroup<Void, any Error>) -> Void
) async throws {
    signal(SIGTERM, SIG_IGN)
    signal(SIGINT, SIG_IGN)
    try await withThrowingTaskGroup(of: Void.self) { group in
        start(&group)
        let signals = SignalWatcher([SIGTERM, SIGINT])
        group.addTask {
            await signals.wait()
            notifier?.notify("STOPPING=1")
            throw CancellationError()
        }
        do {
            try await group.next()
        } catch is CancellationError {}
        group.cancelAll()
        while let _ = try? await group.next() {}
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

/// Orzo's log format for this process (once: swift-log allows one bootstrap).
func bootstrapLogging() {
    LoggingSystem.bootstrap { OrzoLogHandler(label: $0) }
}
