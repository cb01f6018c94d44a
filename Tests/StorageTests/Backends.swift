import Glibc
import OrzoTestSupport
import Rados
import Storage
import StorageCeph
import StorageFiles
import Synchronization
import Testing
import Timeseries

/// The backends the conformance suite runs on. Each test gets a fresh, empty store.
enum Backend: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case memory
    case files
    case ceph

    var testDescription: String { rawValue }

    func make(sackCount: Int = 4) async throws -> any MetricStorage {
        switch self {
        case .memory: MemoryStorage(sackCount: sackCount)
        case .files: try FileStorage(root: temporaryDirectory(), defaultSackCount: sackCount)
        case .ceph: try await CephTestPool.storage(sackCount: sackCount)
        }
    }
}

/// A fresh directory for a file store, under one directory per test process
/// (deploy/dev.sh removes /tmp/orzo-storage-tests after the run).
func temporaryDirectory() -> String {
    "/tmp/orzo-storage-tests/\(getpid())/\(MetricID.random().rawValue.prefix(12))"
}

/// The real Ceph cluster the test command starts (ORZO_TEST_CEPH_CONF); each test
/// gets a namespace of its own in one pool. Without the cluster these tests fail,
/// as the Rados tests do; ORZO_SKIP_CEPH_TESTS=1 outside CI skips them explicitly.
enum CephTestPool {
    static let pool = "orzo-test-storage"

    static func environment(_ name: String) -> String? {
        guard let value = getenv(name) else { return nil }
        let string = String(cString: value)
        return string.isEmpty ? nil : string
    }

    static var skipped: Bool { environment("CI") == nil && environment("ORZO_SKIP_CEPH_TESTS") == "1" }

    struct Missing: Error, CustomStringConvertible {
        var description: String {
            "ORZO_TEST_CEPH_CONF is not set: run the tests with deploy/dev.sh test, which starts a throwaway Ceph"
        }
    }

    private static let shared = Mutex<Task<RadosCluster, any Error>?>(nil)

    static func cluster() async throws -> RadosCluster {
        let task = shared.withLock { task in
            if let task { return task }
            let created = Task { () async throws -> RadosCluster in
                guard let conf = environment("ORZO_TEST_CEPH_CONF") else { throw Missing() }
                let cluster = try await RadosCluster.connect(RadosConfiguration(configurationFile: conf))
                try await cluster.ensurePool(named: pool)
                return cluster
            }
            task = created
            return created
        }
        return try await task.value
    }

    static func storage(sackCount: Int) async throws -> CephStorage {
        try await storageAndNamespace(sackCount: sackCount).0
    }

    /// A store in a new namespace, and the namespace (for processes the test starts).
    static func storageAndNamespace(sackCount: Int = 4) async throws -> (CephStorage, String) {
        let namespace = "t-\(MetricID.random().rawValue.prefix(12))"
        let io = try await cluster().ioContext(pool: pool, namespace: namespace)
        return (try await CephStorage.open(io: io, defaultSackCount: sackCount, idleGrace: .zero), namespace)
    }
}

/// The backends a run covers: all, minus Ceph on an explicit opt-out outside CI.
let backends: [Backend] = CephTestPool.skipped ? [.memory, .files] : Backend.allCases

let second = StorageFixtures.second
let minute = StorageFixtures.minute
let t0 = StorageFixtures.t0
let testPolicy = StorageFixtures.policy

func measures(
    _ range: Range<Int>, step: Nanoseconds = 10 * second, start: Nanoseconds = t0,
    value: (Int) -> Double = { Double($0 % 17) }
) -> [Measure] {
    StorageFixtures.measures(range, step: step, start: start, value: value)
}

/// The aggregates an uninterrupted, in-memory run of the engine gives for the
/// same batches, processed one cycle per group.
func expectedAggregates(_ groups: [[Measure]], policy: ArchivePolicy) -> [AggregationKey: TimeSeries] {
    var raw = RawBuffer(policy: policy)
    var stored: [AggregationKey: TimeSeries] = [:]
    for group in groups {
        let result = MetricProcessor.process(raw: raw, received: group, policy: policy)
        raw = result.raw
        for update in result.updates {
            let key = AggregationKey(update.aggregation)
            var series = (stored[key] ?? TimeSeries()).merging(update.points)
            if let oldest = update.oldestPointToKeep {
                let cut = SplitKey(containing: oldest, granularity: update.aggregation.granularity)
                series.removeFirst(series.firstIndex(atOrAfter: cut.start))
            }
            stored[key] = series
        }
    }
    return stored
}

/// Reads every aggregate of a metric back from storage, as a query would.
func storedAggregates(
    _ storage: any MetricStorage, _ metric: MetricID, policy: ArchivePolicy
) async throws
    -> [AggregationKey: TimeSeries]
{
    var result: [AggregationKey: TimeSeries] = [:]
    for aggregation in policy.aggregations {
        let key = AggregationKey(aggregation)
        result[key] = try await storage.readAggregate(metric, key, from: nil, to: nil)
    }
    return result
}

/// Compares after the read-time cut to the timespan, which is what queries see.
func expectSameAggregates(
    _ actual: [AggregationKey: TimeSeries], _ expected: [AggregationKey: TimeSeries], policy: ArchivePolicy,
    sourceLocation: SourceLocation = #_sourceLocation
) {
    for aggregation in policy.aggregations {
        let key = AggregationKey(aggregation)
        let a = AggregateReader.read(actual[key] ?? TimeSeries(), aggregation: aggregation)
        let e = AggregateReader.read(expected[key] ?? TimeSeries(), aggregation: aggregation)
        #expect(a.timestamps == e.timestamps, "\(key): timestamps", sourceLocation: sourceLocation)
        #expect(
            a.values.map(\.bitPattern) == e.values.map(\.bitPattern), "\(key): values", sourceLocation: sourceLocation)
    }
}
