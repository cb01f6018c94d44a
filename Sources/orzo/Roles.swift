import ArgumentParser
import Foundation
import Rados
import Services
import Storage
import StorageCeph
import StorageFiles
import ZeroMQ

/// Where a single role finds its storage and indexer: Ceph (a fleet) or a data
/// directory (one host).
struct BackendOptions: ParsableArguments {
    @Option(help: "ceph.conf of the cluster: selects the Ceph backend and the RADOS indexer (or ORZO_CEPH_CONF).")
    var cephConf: String?

    @Option(help: "RADOS pool, created if missing (or ORZO_POOL).")
    var pool = environment("ORZO_POOL") ?? "orzo"

    @Option(help: "RADOS namespace within the pool (or ORZO_NAMESPACE).")
    var namespace: String?

    @Option(help: "Ceph user, an entity name (or ORZO_CEPH_USER).")
    var cephUser = environment("ORZO_CEPH_USER") ?? "client.admin"

    @Option(help: "Keyring file of the Ceph user (or ORZO_KEYRING).")
    var keyring: String?

    @Option(help: "Data directory for file storage and the SQLite indexer, when not on Ceph (or ORZO_DATA_DIR).")
    var dataDir = environment("ORZO_DATA_DIR") ?? "./orzo-data"

    func open() async throws -> (any MetricStorage, any Indexer) {
        bootstrapLogging()
        let namespace = self.namespace ?? environment("ORZO_NAMESPACE")
        let keyring = self.keyring ?? environment("ORZO_KEYRING")
        if let cephConf = cephConf ?? environment("ORZO_CEPH_CONF") {
            let cluster = try await RadosCluster.connect(
                RadosConfiguration(configurationFile: cephConf, user: cephUser, keyring: keyring))
            try await cluster.ensurePool(named: pool)
            let io = try cluster.ioContext(pool: pool, namespace: namespace)
            let storage = try await CephStorage.open(io: io, defaultSackCount: 128, idleGrace: .seconds(120))
            let indexer = RadosIndexer(io: io)
            try await indexer.installDefaults()
            return (storage, indexer)
        }
        let storage = try FileStorage(root: dataDir)
        let indexer = try SQLiteIndexer(path: "\(dataDir)/index.sqlite")
        try await indexer.installDefaults()
        return (storage, indexer)
    }
}

extension Orzo {
    struct Ingest: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run an ingest front worker (PULL and ROUTER endpoints).")
        @OptionGroup var backend: BackendOptions
        @Option(help: "Fire-and-forget ingest endpoint, PULL (or ORZO_PUSH).")
        var pushEndpoint = environment("ORZO_PUSH") ?? "tcp://127.0.0.1:5580"
        @Option(help: "Acknowledged ingest endpoint, ROUTER (or ORZO_ACK).")
        var ackEndpoint = environment("ORZO_ACK") ?? "tcp://127.0.0.1:5581"

        func run() async throws {
            let (storage, indexer) = try await backend.open()
            let counters = ServiceCounters()
            let ingest = IngestService(
                context: try ZMQContext(), storage: storage, directory: MetricDirectory(indexer: indexer),
                counters: counters)
            let notifier = SystemdNotifier()
            let ready = ReadyCounter(expected: 2) {
                announce("orzo ingest: ready")
                notifier.notify("READY=1\nSTATUS=accepting measures")
            }
            try await runUntilSignalled(notifier: notifier) { group in
                group.addTask { await notifier.keepAlive { "accepted \(counters.value(.measuresAccepted)) measures" } }
                group.addTask { [pushEndpoint] in try await ingest.runPush(endpoint: pushEndpoint, ready: ready.arrive)
                }
                group.addTask { [ackEndpoint] in
                    try await ingest.runAcknowledged(endpoint: ackEndpoint, ready: ready.arrive)
                }
            }
        }
    }

    struct Metricd: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Run aggregation workers.")
        @OptionGroup var backend: BackendOptions
        @Option(help: "Aggregation workers in this process (or ORZO_WORKERS).")
        var workers = environment("ORZO_WORKERS").flatMap { Int($0) } ?? 2
        @Option(help: "Lease of a metric during a cycle, in seconds: how long a crashed worker's metrics wait.")
        var leaseSeconds = 30

        func run() async throws {
            let (storage, indexer) = try await backend.open()
            let counters = ServiceCounters()
            let metricd = MetricdService(
                storage: storage, directory: MetricDirectory(indexer: indexer), counters: counters,
                workers: workers, leaseDuration: .seconds(leaseSeconds))
            let notifier = SystemdNotifier()
            announce("orzo metricd: ready (\(workers) workers)")
            notifier.notify("READY=1\nSTATUS=aggregating with \(workers) workers")
            try await runUntilSignalled(notifier: notifier) { group in
                group.addTask { try await metricd.run() }
                group.addTask {
                    await notifier.keepAlive {
                        "aggregated \(counters.value(.measuresProcessed)) measures in \(counters.value(.cyclesProcessed)) cycles"
                    }
                }
            }
        }
    }

    struct Query: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Run the query service (ROUTER endpoint).")
        @OptionGroup var backend: BackendOptions
        @Option(help: "Query endpoint, ROUTER (or ORZO_QUERY).")
        var queryEndpoint = environment("ORZO_QUERY") ?? "tcp://127.0.0.1:5582"

        func run() async throws {
            let (storage, indexer) = try await backend.open()
            let counters = ServiceCounters()
            let query = QueryService(
                context: try ZMQContext(), storage: storage, directory: MetricDirectory(indexer: indexer),
                counters: counters)
            let notifier = SystemdNotifier()
            try await runUntilSignalled(notifier: notifier) { group in
                group.addTask { [queryEndpoint] in
                    try await query.run(endpoint: queryEndpoint) {
                        announce("orzo query: ready")
                        notifier.notify("READY=1\nSTATUS=answering queries")
                    }
                }
                group.addTask { await notifier.keepAlive { "answered \(counters.value(.queries)) queries" } }
            }
        }
    }
}

/// A line on standard output, flushed at once (tests and systemd wait for it).
func announce(_ line: String) {
    print(line)
    fflush(nil)
}

/// An environment variable, nil when unset or empty: the defaults of options,
/// so that a flag wins over the environment, which wins over the built-in default.
func environment(_ name: String) -> String? {
    ProcessInfo.processInfo.environment[name].flatMap { $0.isEmpty ? nil : $0 }
}
