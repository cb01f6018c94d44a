import ArgumentParser
import Foundation
import Logging
import OrzoConfig
import Prometheus
import Rados
import Services
import Storage
import StorageCeph
import StorageFiles
import Telemetry

/// The help of a setting's flag: what it means, and where else it can be set.
func settingHelp(_ key: String) -> ArgumentHelp {
    guard let setting = Setting.named(key) else { preconditionFailure("unknown setting \(key)") }
    let fallback = setting.defaultValue.map { $0.isEmpty ? "empty" : $0 } ?? "unset"
    return ArgumentHelp(
        "\(setting.help) (env \(setting.environment), file \(setting.key); default: \(fallback))",
        valueName: valueNames[setting.kind] ?? "value")
}

private let valueNames: [Setting.Kind: String] = [
    .path: "path", .zmqEndpoint: "endpoint", .hostPort: "host:port", .hostPortOrOff: "host:port|off",
    .positiveInteger: "n", .positiveNumber: "n",
    .logLevel: "level",
]

/// Options every server role has: the configuration file, logs and metrics.
struct CommonOptions: ParsableArguments {
    @Option(
        name: .customLong("config"),
        help: ArgumentHelp(
            "YAML (or .json) configuration file; flags and the environment override it (env ORZO_CONFIG).",
            valueName: "file"))
    var configFile: String?
    @Option(help: settingHelp("metrics.endpoint")) var metricsEndpoint: String?
    @Option(help: settingHelp("log.level")) var logLevel: String?

    var flags: [String: String?] { ["metrics.endpoint": metricsEndpoint, "log.level": logLevel] }

    /// Resolves the configuration (flag > environment > file > default) and sets
    /// up logging; fails with every problem found.
    func load(_ flags: [String: String?]) async throws -> OrzoConfiguration {
        let environment = ProcessInfo.processInfo.environment
        let file = configFile ?? environment["ORZO_CONFIG"].flatMap { $0.isEmpty ? nil : $0 }
        let given = self.flags.merging(flags) { $1 }.compactMapValues { $0 }
        let configuration: OrzoConfiguration
        do {
            configuration = try await OrzoConfiguration.load(file: file, flags: given, environment: environment)
        } catch {
            throw ValidationError(error.description)
        }
        let level = Logger.Level(rawValue: configuration.string("log.level") ?? "info") ?? .info
        LoggingSystem.bootstrap { OrzoLogHandler(label: $0, level: level) }
        return configuration
    }
}

/// The Prometheus exporter, when `metrics.endpoint` is set: bootstrapped before
/// any service is created, served by `run`.
struct MetricsExport {
    let server: MetricsHTTPServer?

    init(_ configuration: OrzoConfiguration) {
        guard let address = configuration.hostPort("metrics.endpoint") else {
            server = nil
            return
        }
        server = MetricsHTTPServer(host: address.host, port: address.port, registry: PrometheusExporter.bootstrap())
    }

    /// Instrumented storage when metrics are exported; as is otherwise.
    func wrap(_ storage: any MetricStorage) -> any MetricStorage {
        server == nil ? storage : InstrumentedStorage(storage)
    }

    func add(to group: inout RoleServices) {
        guard let server else { return }
        group.addTask("metrics endpoint") {
            try await server.run { port in
                Logger(label: "orzo.metrics").info(
                    "serving metrics", metadata: ["http": "\(server.host):\(port)/metrics"])
            }
        }
    }
}

/// Where a role finds its storage and indexer: Ceph (a fleet) or a data
/// directory (one host).
struct BackendOptions: ParsableArguments {
    @Option(help: settingHelp("ceph.conf")) var cephConf: String?
    @Option(help: settingHelp("ceph.pool")) var pool: String?
    @Option(help: settingHelp("ceph.namespace")) var namespace: String?
    @Option(help: settingHelp("ceph.user")) var cephUser: String?
    @Option(help: settingHelp("ceph.keyring")) var keyring: String?
    @Option(help: settingHelp("data_dir")) var dataDir: String?
    @Option(help: settingHelp("index.default_policies")) var defaultPolicies: String?

    var flags: [String: String?] {
        [
            "ceph.conf": cephConf, "ceph.pool": pool, "ceph.namespace": namespace, "ceph.user": cephUser,
            "ceph.keyring": keyring, "data_dir": dataDir, "index.default_policies": defaultPolicies,
        ]
    }

    static func open(
        _ configuration: OrzoConfiguration, filesSharing: DataDirectorySharing = .shared
    ) async throws -> (any MetricStorage, any Indexer) {
        if let cephConf = configuration.string("ceph.conf") {
            let cluster = try await RadosCluster.connect(
                RadosConfiguration(
                    configurationFile: cephConf, user: configuration.string("ceph.user")!,
                    keyring: configuration.string("ceph.keyring")))
            let pool = configuration.string("ceph.pool")!
            try await cluster.ensurePool(named: pool)
            let namespace = configuration.string("ceph.namespace").flatMap { $0.isEmpty ? nil : $0 }
            let io = try cluster.ioContext(pool: pool, namespace: namespace)
            let storage = try await CephStorage.open(io: io, defaultSackCount: 128, idleGrace: .seconds(120))
            let indexer = RadosIndexer(io: io)
            if configuration.bool("index.default_policies") { try await indexer.installDefaults() }
            return (storage, indexer)
        }
        return try await openFiles(
            configuration.string("data_dir")!, sharing: filesSharing,
            installDefaults: configuration.bool("index.default_policies"))
    }

    /// The embedded default: file storage and the SQLite indexer in one directory.
    static func openFiles(
        _ dataDir: String, sharing: DataDirectorySharing = .shared, installDefaults: Bool = true
    ) async throws -> (FileStorage, SQLiteIndexer) {
        let storage = try FileStorage(root: dataDir, sharing: sharing)
        if storage.temporaryFilesRemoved > 0 {
            Logger(label: "orzo.storage").notice(
                "removed temporary files left by processes that died",
                metadata: ["data_dir": "\(dataDir)", "files": "\(storage.temporaryFilesRemoved)"])
        }
        let indexer = try SQLiteIndexer(path: "\(dataDir)/index.sqlite")
        if installDefaults { try await indexer.installDefaults() }
        return (storage, indexer)
    }
}

/// The two ingest endpoints (serve and ingest).
struct IngestEndpointOptions: ParsableArguments {
    @Option(help: settingHelp("ingest.push_endpoint")) var pushEndpoint: String?
    @Option(help: settingHelp("ingest.ack_endpoint")) var ackEndpoint: String?
    @Option(help: settingHelp("ingest.max_puts_in_flight")) var maxPutsInFlight: String?

    var flags: [String: String?] {
        [
            "ingest.push_endpoint": pushEndpoint, "ingest.ack_endpoint": ackEndpoint,
            "ingest.max_puts_in_flight": maxPutsInFlight,
        ]
    }
}

/// The query service's options (serve and query).
struct QueryOptions: ParsableArguments {
    @Option(help: settingHelp("query.endpoint")) var queryEndpoint: String?
    @Option(help: settingHelp("query.max_concurrent_requests")) var maxConcurrentRequests: String?
    @Option(help: settingHelp("query.request_deadline_seconds")) var requestDeadlineSeconds: String?

    var flags: [String: String?] {
        [
            "query.endpoint": queryEndpoint, "query.max_concurrent_requests": maxConcurrentRequests,
            "query.request_deadline_seconds": requestDeadlineSeconds,
        ]
    }

    /// The service's limits from the configuration.
    static func configure(_ service: inout QueryService, _ configuration: OrzoConfiguration) {
        service.maxConcurrentRequests = configuration.int("query.max_concurrent_requests")
        service.requestDeadline = .seconds(configuration.int("query.request_deadline_seconds"))
    }
}

/// The aggregation workers' options (serve and metricd).
struct MetricdOptions: ParsableArguments {
    @Option(help: settingHelp("metricd.workers")) var workers: String?
    @Option(help: settingHelp("metricd.lease_seconds")) var leaseSeconds: String?
    @Option(help: settingHelp("metricd.cycles_in_flight")) var cyclesInFlight: String?

    var flags: [String: String?] {
        [
            "metricd.workers": workers, "metricd.lease_seconds": leaseSeconds,
            "metricd.cycles_in_flight": cyclesInFlight,
        ]
    }

    static func service(
        _ configuration: OrzoConfiguration, storage: any MetricStorage, directory: MetricDirectory,
        counters: ServiceCounters
    ) -> MetricdService {
        MetricdService(
            storage: storage, directory: directory, counters: counters, workers: configuration.int("metricd.workers"),
            leaseDuration: .seconds(configuration.int("metricd.lease_seconds")),
            cyclesInFlight: configuration.int("metricd.cycles_in_flight"))
    }
}
