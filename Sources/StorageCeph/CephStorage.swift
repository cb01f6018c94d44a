import Rados
import Storage
import Synchronization
import Timeseries

/// How the Ceph backend reaches its pool.
public struct CephStorageConfiguration: Sendable {
    public var rados: RadosConfiguration
    /// The pool (created if missing).
    public var pool: String
    /// An optional RADOS namespace, to share a pool.
    public var namespace: String?
    /// The sack count a new pool gets; an existing pool keeps its own (see `orzo.config`).
    public var defaultSackCount: Int
    /// How long a metric's sack entry must have been unmarked before an idle
    /// metric is removed from its sack. It must exceed the longest an ingest can
    /// take between marking a sack and storing the batch (an operation timeout):
    /// within that window the batch may still land. See docs/storage-ceph.md.
    public var idleGrace: Duration

    public init(
        rados: RadosConfiguration, pool: String = "orzo", namespace: String? = nil, defaultSackCount: Int = 128,
        idleGrace: Duration = .seconds(120)
    ) {
        self.rados = rados
        self.pool = pool
        self.namespace = namespace
        self.defaultSackCount = defaultSackCount
        self.idleGrace = idleGrace
    }
}

/// Orzo's storage on Ceph (RADOS), for fleets of workers on many hosts. The
/// layout and the crash analysis are in docs/storage-ceph.md:
///
/// - `orzo.config`: omap `sacks` = the sack count.
/// - `orzo.sack.<n>`: omap `<metric id>` = when it was last marked pending.
/// - `orzo.metric.<id>`: data = the raw buffer blob; omap `in.<time>.<random>` =
///   one pending batch each, `s.<method>.<granularity>.<inverted start>` = one
///   split each (newest first in key order), `c.counters`; the cls_lock
///   `orzo.lease` is the metric's lease.
///
/// A steady-state processing cycle is three round trips: take the lease; one
/// compound read (raw buffer, pending batches, latest split of each
/// aggregation, counters); one compound write fenced by `assert_locked` (raw
/// buffer, splits, expiry, removal of the processed batches, counters, unlock).
public final class CephStorage: MetricStorage {
    public let io: RadosIOContext
    public let sackCount: Int
    let idleGrace: Duration
    private let operations = Atomic<Int>(0)
    /// Tells watching workers of stored measures (docs/storage-ceph.md, "Waking the workers").
    let wakeup: WakeupNotifier

    static let lockName = "orzo.lease"
    /// Omap keys `x.open.<lease token>`: one per cycle begun and not yet finished.
    static let openMarkerPrefix = "x.open."
    static let openMarkerEnd = "x.open/"
    /// Omap `<metric id>` = why it is quarantined.
    static let quarantineObject = "orzo.quarantine"
    static let configObject = "orzo.config"
    static let countersKey = Storage.countersKey
    /// The most raw-buffer bytes the snapshot read fetches at once.
    static let rawReadSize = 4 << 20

    init(io: RadosIOContext, sackCount: Int, idleGrace: Duration) {
        self.io = io
        self.sackCount = sackCount
        self.idleGrace = idleGrace
        self.wakeup = WakeupNotifier(io: io)
    }

    /// Connects, creates the pool if missing, and reads (or, on a new pool, writes)
    /// the sack count.
    public static func open(_ configuration: CephStorageConfiguration) async throws -> CephStorage {
        let cluster = try await RadosCluster.connect(configuration.rados)
        try await cluster.ensurePool(named: configuration.pool)
        let io = try cluster.ioContext(pool: configuration.pool, namespace: configuration.namespace)
        return try await open(
            io: io, defaultSackCount: configuration.defaultSackCount, idleGrace: configuration.idleGrace)
    }

    public static func open(io: RadosIOContext, defaultSackCount: Int, idleGrace: Duration) async throws -> CephStorage
    {
        var create = RadosWriteOperation()
        create.create(exclusive: true)
        create.setOmap(["sacks": Array(String(defaultSackCount).utf8)])
        do {
            try await untyped { () async throws(RadosError) in try await io.operate(create, on: configObject) }
        } catch let error as RadosError where error.kind == .exists {
            // Another process created it first: use what it wrote.
        }
        var wakeup = RadosWriteOperation()
        wakeup.create(exclusive: false)
        try await untyped { () async throws(RadosError) in try await io.operate(wakeup, on: CephWakeup.object) }
        let stored = try await untyped { () async throws(RadosError) in
            try await io.omapValues(configObject, forKeys: ["sacks"])
        }["sacks"]
        guard let text = stored.map({ String(decoding: $0, as: UTF8.self) }), let count = Int(text), count > 0 else {
            throw StorageError.unavailable("\(configObject) has no valid sack count")
        }
        return CephStorage(io: io, sackCount: count, idleGrace: idleGrace)
    }

    /// Changes the pool's sack count and moves every sack entry to the sack its
    /// metric hashes to under the new count (marks are kept). An offline
    /// operation: stop ingest and workers first, and reopen afterwards, because
    /// processes read the count when they open the pool. Returns the new store.
    public func changeSackCount(to newCount: Int) async throws -> CephStorage {
        precondition(newCount > 0)
        var moved: [Int: [String: [UInt8]]] = [:]
        for sack in 0..<sackCount {
            for entry in try await metricsWithPendingMeasures(inSack: sack) {
                moved[entry.metric.sack(of: newCount), default: [:]][entry.metric.rawValue] =
                    Array(padded(UInt64(bitPattern: entry.markedAt)).utf8)
            }
        }
        // Add to the new sacks first, then drop the old: a crash in between leaves
        // duplicates (harmless: a worker processes the metric once per listing).
        for (sack, entries) in moved {
            var op = RadosWriteOperation()
            op.setOmap(entries)
            try await operate(op, on: Self.sackObject(sack))
        }
        for sack in 0..<sackCount {
            let keep = Set((moved[sack] ?? [:]).keys)
            let stale = try await metricsWithPendingMeasures(inSack: sack).map(\.metric.rawValue).filter {
                !keep.contains($0)
            }
            guard !stale.isEmpty else { continue }
            var op = RadosWriteOperation()
            op.removeOmapKeys(stale)
            try await operate(op, on: Self.sackObject(sack))
        }
        var config = RadosWriteOperation()
        config.setOmap(["sacks": Array(String(newCount).utf8)])
        try await operate(config, on: Self.configObject)
        return CephStorage(io: io, sackCount: newCount, idleGrace: idleGrace)
    }

    /// RADOS operations issued so far (each is one round trip), for tests and metrics.
    public var roundTrips: Int { operations.load(ordering: .relaxed) }

    @discardableResult
    private func operate(_ operation: RadosWriteOperation, on object: String) async throws -> UInt64 {
        operations.add(1, ordering: .relaxed)
        return try await io.operate(operation, on: object)
    }

    private func operate(_ operation: RadosReadOperation, on object: String) async throws -> RadosReadResult {
        operations.add(1, ordering: .relaxed)
        return try await io.operate(operation, on: object)
    }

    static func metricObject(_ metric: MetricID) -> String { "orzo.metric.\(metric.rawValue)" }
    static func sackObject(_ sack: Int) -> String { "orzo.sack.\(sack)" }

    // MARK: Incoming

    public func appendMeasures(_ batches: [MetricID: [Measure]]) async throws {
        try await mappingRadosErrors {
            let batches = batches.filter { !$0.value.isEmpty }
            guard !batches.isEmpty else { return }
            let mark = wallClockNanoseconds()
            let markText = Array(padded(UInt64(mark)).utf8)
            // 1. Mark every metric pending in its sack, one operation per sack. A crash
            //    after this leaves an entry with no batch: harmless, a worker forgets it.
            let bySack = Dictionary(grouping: batches.keys) { $0.sack(of: sackCount) }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for (sack, metrics) in bySack {
                    group.addTask {
                        var op = RadosWriteOperation()
                        op.setOmap(Dictionary(uniqueKeysWithValues: metrics.map { ($0.rawValue, markText) }))
                        try await self.operate(op, on: Self.sackObject(sack))
                    }
                }
                try await group.waitForAll()
            }
            Failpoint.afterAppendMark.hit()
            // 2. Store each batch as one omap entry of its metric's object: atomic.
            try await withThrowingTaskGroup(of: Void.self) { group in
                for (metric, measures) in batches {
                    group.addTask {
                        var op = RadosWriteOperation()
                        op.setOmap([batchKey(mark): MeasureRecords.encode(measures)])
                        try await self.operate(op, on: Self.metricObject(metric))
                    }
                }
                try await group.waitForAll()
            }
            wakeup.ring()
        }
    }

    public func metricsWithPendingMeasures(inSack sack: Int) async throws -> [PendingMetric] {
        try await mappingRadosErrors {
            operations.add(1, ordering: .relaxed)
            let entries: [RadosOmapEntry]
            do {
                entries = try await untyped { () async throws(RadosError) in
                    try await self.io.omapEntries(Self.sackObject(sack), pageSize: 1000)
                }
            } catch let error as RadosError where error.kind == .notFound {
                return []
            }
            return entries.compactMap { entry in
                guard let metric = MetricID(entry.key), let mark = UInt64(String(decoding: entry.value, as: UTF8.self))
                else { return nil }
                return PendingMetric(metric: metric, markedAt: Int64(bitPattern: mark))
            }.sorted { ($0.markedAt, $0.metric) < ($1.markedAt, $1.metric) }
        }
    }

    public func forgetIfIdle(_ entry: PendingMetric) async throws {
        try await mappingRadosErrors {
            guard wallClockNanoseconds() - entry.markedAt >= nanoseconds(idleGrace) else { return }
            var read = RadosReadOperation()
            let pending = read.omapValues(prefix: "in.", maxCount: 1)
            let stillPending: Bool
            do {
                stillPending = !(try await operate(read, on: Self.metricObject(entry.metric))[pending].entries.isEmpty)
            } catch let error as RadosError where error.kind == .notFound {
                stillPending = false
            }
            guard !stillPending else { return }
            // Removed only if nobody marked the metric again since it was listed.
            var op = RadosWriteOperation()
            op.compareOmap(entry.metric.rawValue, .equal, Array(padded(UInt64(bitPattern: entry.markedAt)).utf8))
            op.removeOmapKeys([entry.metric.rawValue])
            do {
                try await operate(op, on: Self.sackObject(entry.metric.sack(of: sackCount)))
            } catch let error as RadosError where error.kind == .canceled || error.kind == .notFound {
                // Marked again meanwhile (or already gone): keep it.
            }
        }
    }

    // MARK: Leases

    public func acquireLease(_ metric: MetricID, duration: Duration) async throws -> MetricLease? {
        try await mappingRadosErrors {
            let token = MetricID.random().rawValue
            var op = RadosWriteOperation()
            op.lockExclusive(name: Self.lockName, cookie: token, duration: duration, description: "orzo processing")
            // The cycle's open marker, in the same operation: a commit removes every marker,
            // an orderly release its own; what is left counts abandoned cycles (the poison guard).
            op.setOmap([Self.openMarkerPrefix + token: []])
            do {
                try await operate(op, on: Self.metricObject(metric))
                return MetricLease(metric: metric, token: token)
            } catch let error as RadosError where error.kind == .busy {
                return nil
            }
        }
    }

    public func renewLease(_ lease: MetricLease, duration: Duration) async throws -> Bool {
        try await mappingRadosErrors {
            var op = RadosWriteOperation()
            op.lockExclusive(name: Self.lockName, cookie: lease.token, duration: duration, flags: .renewOnly)
            do {
                try await operate(op, on: Self.metricObject(lease.metric))
                return true
            } catch let error as RadosError where error.kind == .notFound || error.kind == .busy {
                return false
            }
        }
    }

    public func releaseLease(_ lease: MetricLease) async throws {
        try await mappingRadosErrors {
            var op = RadosWriteOperation()
            op.unlock(name: Self.lockName, cookie: lease.token)
            op.removeOmapKeys([Self.openMarkerPrefix + lease.token])
            do {
                try await operate(op, on: Self.metricObject(lease.metric))
            } catch let error as RadosError where error.kind == .notFound {
                // Already lost: nothing to release. This holder is alive and done, though:
                // its open marker goes too (best effort), so it does not count as abandoned.
                var marker = RadosWriteOperation()
                marker.assertExists()
                marker.removeOmapKeys([Self.openMarkerPrefix + lease.token])
                _ = try? await operate(marker, on: Self.metricObject(lease.metric))
            }
        }
    }

    // MARK: The processing cycle

    public func load(
        _ metric: MetricID, lease: MetricLease, aggregations: [AggregationKey], pendingLimit: Int
    ) async throws -> MetricSnapshot {
        try await mappingRadosErrors {
            let object = Self.metricObject(metric)
            var read = RadosReadOperation()
            let stat = read.stat()
            let raw = read.read(length: Self.rawReadSize)
            let pending = read.omapValues(prefix: "in.", maxCount: pendingLimit)
            let latest = aggregations.map { read.omapValues(prefix: splitPrefix($0), maxCount: 1) }
            let counters = read.omapValues(forKeys: [Self.countersKey])
            let openMarkers = read.omapValues(prefix: Self.openMarkerPrefix, maxCount: 64)
            let result: RadosReadResult
            do {
                result = try await operate(read, on: object)
            } catch let error as RadosError where error.kind == .notFound {
                throw StorageError.leaseLost(metric)  // the lease creates the object; gone means deleted
            }
            var rawBytes = result[raw]
            if Int(result[stat].size) > rawBytes.count {
                rawBytes = try await untyped { () async throws(RadosError) in
                    try await self.io.read(object, chunkSize: Self.rawReadSize)
                }  // a large buffer: one more read
            }
            var latestSplits: [AggregationKey: StoredSplit] = [:]
            for (aggregation, slot) in zip(aggregations, latest) {
                if let entry = result[slot].entries.first {
                    let split = try decodeSplit(entry.value, metric)
                    latestSplits[aggregation] = StoredSplit(key: split.key, points: split.points)
                }
            }
            let batches = result[pending]
            var measures: [Measure] = []
            for entry in batches.entries {
                guard let decoded = MeasureRecords.decode(entry.value) else {
                    throw StorageError.corrupt(metric, "pending batch \(entry.key) is not whole records")
                }
                measures += decoded
            }
            return MetricSnapshot(
                raw: try decodeRaw(rawBytes, metric),
                pending: PendingMeasures(
                    measures: measures, token: PendingToken(batches: batches.entries.map(\.key)),
                    hasMore: batches.hasMore),
                latestSplits: latestSplits, counters: decodeCounters(result[counters][Self.countersKey]),
                abandonedCycles: result[openMarkers].entries.filter { $0.key != Self.openMarkerPrefix + lease.token }
                    .count)
        }
    }

    public func readSplits(
        _ metric: MetricID, _ keys: [AggregationKey: [SplitKey]]
    ) async throws
        -> [AggregationKey: [StoredSplit]]
    {
        try await mappingRadosErrors {
            let names = keys.flatMap { aggregation, splits in splits.map { splitName(aggregation, $0) } }
            var read = RadosReadOperation()
            let values = read.omapValues(forKeys: names)
            let found = try await operate(read, on: Self.metricObject(metric))[values]
            var result: [AggregationKey: [StoredSplit]] = [:]
            for (aggregation, splits) in keys {
                result[aggregation] = try splits.compactMap { key in
                    try found[splitName(aggregation, key)].map {
                        StoredSplit(key: key, points: try decodeSplit($0, metric).points)
                    }
                }
            }
            return result
        }
    }

    public func commit(_ metric: MetricID, lease: MetricLease, _ commit: MetricCommit) async throws {
        try await mappingRadosErrors {
            var op = RadosWriteOperation()
            // The fence: the whole operation is refused unless this lease still holds.
            op.assertLocked(name: Self.lockName, cookie: lease.token)
            op.writeFull(RawBufferBlob.encode(commit.raw))
            for (aggregation, oldest) in commit.expireBefore {
                // Keys sort newest first, so "older than `oldest`" is the tail of the range.
                op.removeOmapRange(
                    from: splitName(aggregation, oldest) + "\u{1}", to: splitPrefix(aggregation).dropLast() + "/")
            }
            var values: [String: [UInt8]] = [Self.countersKey: encodeCounters(commit.counters)]
            for (aggregation, splits) in commit.splits {
                for split in splits where !split.points.isEmpty {
                    values[splitName(aggregation, split.key)] = SplitBlob.encode(split.points, key: split.key)
                }
            }
            op.setOmap(values)
            op.removeOmapKeys(commit.processed.batches)
            op.removeOmapRange(from: Self.openMarkerPrefix, to: Self.openMarkerEnd)  // a cycle finished
            if commit.releaseLease { op.unlock(name: Self.lockName, cookie: lease.token) }
            do {
                try await operate(op, on: Self.metricObject(metric))
            } catch let error as RadosError where error.kind == .busy || error.kind == .notFound {
                throw StorageError.leaseLost(metric)
            }
        }
    }

    // MARK: Reading

    public func readAggregate(
        _ metric: MetricID, _ aggregation: AggregationKey, from: SplitKey?, to: SplitKey?
    )
        async throws -> TimeSeries
    {
        try await mappingRadosErrors {
            var series = TimeSeries()
            for (key, value) in try await splitEntries(metric, aggregation).reversed() {
                if let from, key < from { continue }
                if let to, to < key { continue }
                series = series.merging(try decodeSplit(value, metric).points)
            }
            return series
        }
    }

    public func splitKeys(_ metric: MetricID, _ aggregation: AggregationKey) async throws -> [SplitKey] {
        try await mappingRadosErrors {
            try await splitEntries(metric, aggregation).map(\.key).reversed()
        }
    }

    /// The splits of an aggregate, newest first, by key.
    private func splitEntries(
        _ metric: MetricID, _ aggregation: AggregationKey
    ) async throws
        -> [(key: SplitKey, value: [UInt8])]
    {
        operations.add(1, ordering: .relaxed)
        let entries: [RadosOmapEntry]
        do {
            entries = try await untyped { () async throws(RadosError) in
                try await self.io.omapEntries(
                    Self.metricObject(metric), prefix: splitPrefix(aggregation), pageSize: 500)
            }
        } catch let error as RadosError where error.kind == .notFound {
            return []
        }
        return try entries.map { entry in
            guard let start = splitStart(entry.key, aggregation) else {
                throw StorageError.corrupt(metric, "split key \(entry.key)")
            }
            return (SplitKey(start: start, granularity: aggregation.granularity), entry.value)
        }
    }

    public func counters(_ metric: MetricID) async throws -> MetricCounters {
        try await mappingRadosErrors {
            do {
                operations.add(1, ordering: .relaxed)
                let values = try await untyped { () async throws(RadosError) in
                    try await self.io.omapValues(Self.metricObject(metric), forKeys: [Self.countersKey])
                }
                return decodeCounters(values[Self.countersKey])
            } catch let error as RadosError where error.kind == .notFound {
                return MetricCounters()
            }
        }
    }

    public func deleteMetric(_ metric: MetricID) async throws {
        try await mappingRadosErrors {
            do {
                operations.add(1, ordering: .relaxed)
                try await untyped { () async throws(RadosError) in try await self.io.remove(Self.metricObject(metric)) }
            } catch let error as RadosError where error.kind == .notFound {}
            var op = RadosWriteOperation()
            op.removeOmapKeys([metric.rawValue])
            do {
                try await operate(op, on: Self.sackObject(metric.sack(of: sackCount)))
            } catch let error as RadosError where error.kind == .notFound {}
            do {
                try await operate(op, on: Self.quarantineObject)
            } catch let error as RadosError where error.kind == .notFound {}
        }
    }

    // MARK: Quarantine

    public func quarantine(_ metric: MetricID, reason: String) async throws {
        try await mappingRadosErrors {
            guard try await quarantinedMetrics()[metric] == nil else { return }
            var op = RadosWriteOperation()
            op.setOmap([metric.rawValue: Array(reason.utf8.prefix(4096))])
            try await operate(op, on: Self.quarantineObject)
        }
    }

    public func quarantinedMetrics() async throws -> [MetricID: String] {
        try await mappingRadosErrors {
            operations.add(1, ordering: .relaxed)
            let entries: [RadosOmapEntry]
            do {
                entries = try await untyped { () async throws(RadosError) in
                    try await self.io.omapEntries(Self.quarantineObject, prefix: "", pageSize: 500)
                }
            } catch let error as RadosError where error.kind == .notFound {
                return [:]
            }
            var result: [MetricID: String] = [:]
            for entry in entries {
                if let metric = MetricID(entry.key) { result[metric] = String(decoding: entry.value, as: UTF8.self) }
            }
            return result
        }
    }

    public func releaseQuarantine(_ metric: MetricID) async throws {
        try await mappingRadosErrors {
            var markers = RadosWriteOperation()
            markers.assertExists()
            markers.removeOmapRange(from: Self.openMarkerPrefix, to: Self.openMarkerEnd)
            do {
                try await operate(markers, on: Self.metricObject(metric))
            } catch let error as RadosError where error.kind == .notFound {}
            var op = RadosWriteOperation()
            op.removeOmapKeys([metric.rawValue])
            do {
                try await operate(op, on: Self.quarantineObject)
            } catch let error as RadosError where error.kind == .notFound {}
        }
    }
}

/// What the storage protocol promises: ``StorageError`` only (and cancellation).
/// A RADOS error that no step of an operation handled becomes `unavailable`,
/// naming the call, the object and the error (ENOSPC: the cluster is full;
/// ETIMEDOUT: an OSD or a monitor did not answer in time).
func mappingRadosErrors<T>(_ body: () async throws -> T) async throws -> T {
    do {
        return try await body()
    } catch let error as RadosError {
        throw StorageError.unavailable("RADOS: \(error)")
    }
}

/// Runs a typed-throwing librados call where callers catch `any Error` (and
/// match `RadosError` kinds), which keeps the compiler's typed-throws paths simple.
@discardableResult
func untyped<T>(_ body: () async throws(RadosError) -> T) async throws -> T {
    try await body()
}
