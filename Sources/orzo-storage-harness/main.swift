// A process the storage tests start, kill and stop: it runs one storage
// operation against a real backend, so crash and lease tests exercise real
// processes (docs/storage-ceph.md, "Crash analysis").
//
//   orzo-storage-harness --ceph-conf CONF --pool P --namespace NS <command> ...
//   orzo-storage-harness --data-dir DIR <command> ...
//
//   ingest METRIC FROM COUNT   append fixture measures FROM..<FROM+COUNT
//   process METRIC             run processing cycles until the metric is idle
//   hold METRIC                take the lease, load, stop itself (SIGSTOP), then
//                              on SIGCONT try to commit; exit 3 if the lease was lost
//   create-metric NAME         create a metric in the indexer (SQLite in --data-dir,
//                              or RADOS); print "created ID" or "conflict"
//
// ORZO_FAILPOINT=<name> kills the process with SIGKILL at that point (with
// ORZO_FAILPOINT_ACTION=stop, stops it with SIGSTOP instead).
import Foundation
import OrzoTestSupport
import Rados
import Storage
import StorageCeph
import StorageFiles
import Timeseries

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("orzo-storage-harness: \(message)\n".utf8))
    exit(2)
}

var arguments = Array(CommandLine.arguments.dropFirst())
@MainActor func option(_ name: String) -> String? {
    guard let index = arguments.firstIndex(of: name), index + 1 < arguments.count else { return nil }
    let value = arguments[index + 1]
    arguments.removeSubrange(index...(index + 1))
    return value
}
let conf = option("--ceph-conf")
let pool = option("--pool") ?? "orzo-test-storage"
let namespace = option("--namespace")
let leaseMilliseconds = Int(option("--lease-ms") ?? "1000")!
let pidFile = option("--pid-file")
let dataDirectory = option("--data-dir")
guard arguments.count >= 2 else { fail("usage: COMMAND ARGUMENT ...") }

if arguments[0] == "create-metric" {
    let indexer: any Indexer
    if let dataDirectory {
        indexer = try SQLiteIndexer(path: dataDirectory + "/index.sqlite")
    } else if let conf, let namespace {
        let cluster = try await RadosCluster.connect(RadosConfiguration(configurationFile: conf))
        indexer = RadosIndexer(io: try cluster.ioContext(pool: pool, namespace: namespace))
    } else {
        fail("give --data-dir, or --ceph-conf and --namespace")
    }
    do {
        let record = try await indexer.createMetric(name: arguments[1], archivePolicyName: "low", unit: nil)
        print("created \(record.id)")
    } catch IndexerError.conflict {
        print("conflict")
    }
    exit(0)
}
guard let metric = MetricID(arguments[1]) else { fail("usage: COMMAND METRIC ...") }

let storage: any MetricStorage
if let dataDirectory {
    storage = try FileStorage(root: dataDirectory, defaultSackCount: 4)
} else if let conf, let namespace {
    let cluster = try await RadosCluster.connect(RadosConfiguration(configurationFile: conf))
    let io = try cluster.ioContext(pool: pool, namespace: namespace)
    storage = try await CephStorage.open(io: io, defaultSackCount: 4, idleGrace: .zero)
} else {
    fail("give --data-dir, or --ceph-conf and --namespace")
}
let lease = Duration.milliseconds(leaseMilliseconds)

switch arguments[0] {
case "ingest":
    guard arguments.count == 4, let from = Int(arguments[2]), let count = Int(arguments[3]) else {
        fail("usage: ingest METRIC FROM COUNT")
    }
    try await storage.appendMeasures([metric: StorageFixtures.measures(from..<(from + count))])
    print("ingested \(count)")
case "process":
    // Stopped at a failpoint, it must stay stopped until the test resumes it: a
    // process group of its own, as for "hold" below.
    if Failpoint.stops { setpgid(0, 0) }
    let cycle = ProcessingCycle(storage: storage, leaseDuration: lease)
    var total = 0
    while true {
        switch try await cycle.process(metric, policy: StorageFixtures.policy) {
        case .busy: try await Task.sleep(for: .milliseconds(50))
        case .idle:
            print("processed \(total)")
            exit(0)
        case .processed(let measures, _, _): total += measures
        case .quarantined(let abandoned):
            print("quarantined after \(abandoned) abandoned cycles")
            exit(4)
        }
    }
case "hold":
    // A process group of its own, so that no job-control signal aimed at the
    // test's group (the kernel's SIGHUP and SIGCONT to an orphaned group with a
    // stopped member) can resume it before the test does.
    setpgid(0, 0)
    guard let held = try await storage.acquireLease(metric, duration: lease) else { fail("lease busy") }
    let aggregations = StorageFixtures.policy.aggregations.map(AggregationKey.init)
    let snapshot = try await storage.load(metric, lease: held, aggregations: aggregations, pendingLimit: 10_000)
    // The test finds this process by the pid it writes, then waits for it to stop.
    if let pidFile {
        _ = FileManager.default.createFile(atPath: pidFile, contents: Data("\(getpid())\n".utf8))
    }
    // raise() signals this very thread, so it stops before running another line;
    // kill(getpid()) may let it run on a few milliseconds until the group stop lands.
    raise(SIGSTOP)  // paused here, past the lease, until the test sends SIGCONT
    let result = MetricProcessor.process(
        raw: RawBuffer(series: snapshot.raw, policy: StorageFixtures.policy), received: snapshot.pending.measures,
        policy: StorageFixtures.policy)
    var splits: [AggregationKey: [StoredSplit]] = [:]
    for update in result.updates {
        splits[AggregationKey(update.aggregation)] = update.changedSplits.map {
            StoredSplit(key: $0.key, points: $0.points)
        }
    }
    do {
        try await storage.commit(
            metric, lease: held,
            MetricCommit(
                raw: result.raw.series, splits: splits, expireBefore: [:], processed: snapshot.pending.token,
                counters: MetricCounters(measuresProcessed: 1_000_000), releaseLease: true))
        print("committed")
        exit(0)
    } catch StorageError.leaseLost {
        print("lease lost")
        exit(3)
    }
default:
    fail("unknown command \(arguments[0])")
}
