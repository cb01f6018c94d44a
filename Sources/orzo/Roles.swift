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
    @Option(help: "ceph.conf of the cluster (selects the Ceph backend and the RADOS indexer).")
    var cephConf: String?

    @Option(help: "RADOS pool (created if missing).")
    var pool = "orzo"

    @Option(help: "RADOS namespace within the pool.")
    var namespace: String?

    @Option(help: "Ceph user (entity name).")
    var cephUser = "client.admin"

    @Option(help: "Keyring file of the Ceph user.")
    var keyring: String?

    @Option(help: "Data directory (file storage and SQLite indexer), when not on Ceph.")
    var dataDir = "./orzo-data"

    func open() async throws -> (any MetricStorage, any Indexer) {
        if let cephConf {
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
        @Option(help: "Fire-and-forget ingest endpoint (PULL).") var pushEndpoint = "tcp://127.0.0.1:5580"
        @Option(help: "Acknowledged ingest endpoint (ROUTER).") var ackEndpoint = "tcp://127.0.0.1:5581"

        func run() async throws {
            let (storage, indexer) = try await backend.open()
            let ingest = IngestService(
                context: try ZMQContext(), storage: storage, directory: MetricDirectory(indexer: indexer),
                counters: ServiceCounters())
            let ready = ReadyCounter(expected: 2) { announce("orzo ingest: ready") }
            try await runUntilSignalled { group in
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
        @Option(help: "Aggregation workers in this process.") var workers = 2
        @Option(help: "Lease of a metric during a cycle, in seconds: how long a crashed worker's metrics wait.")
        var leaseSeconds = 30

        func run() async throws {
            let (storage, indexer) = try await backend.open()
            let metricd = MetricdService(
                storage: storage, directory: MetricDirectory(indexer: indexer), counters: ServiceCounters(),
                workers: workers, leaseDuration: .seconds(leaseSeconds))
            announce("orzo metricd: ready (\(workers) workers)")
            try await runUntilSignalled { group in group.addTask { try await metricd.run() } }
        }
    }

    struct Query: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Run the query service (ROUTER endpoint).")
        @OptionGroup var backend: BackendOptions
        @Option(help: "Query endpoint (ROUTER).") var queryEndpoint = "tcp://127.0.0.1:5582"

        func run() async throws {
            let (storage, indexer) = try await backend.open()
            let query = QueryService(
                context: try ZMQContext(), storage: storage, directory: MetricDirectory(indexer: indexer),
                counters: ServiceCounters())
            try await runUntilSignalled { group in
                group.addTask { [queryEndpoint] in
                    try await query.run(endpoint: queryEndpoint) { announce("orzo query: ready") }
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
