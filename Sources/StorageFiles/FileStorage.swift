import Glibc
import Storage
import Synchronization
import Timeseries

/// Orzo's storage in a local directory, the embedded default. Several processes
/// on one host share it safely. Layout and crash analysis: docs/storage-files.md.
///
///     <root>/orzo.config                  "sacks=<n>"
///     <root>/incoming/<sack>/<metric id>  the metric's pending batches (PendingFile)
///     <root>/incoming/<sack>/idle/<id>    a consumed pending file kept for the next batch
///     <root>/metrics/<id[0..2]>/<id>.0|1  the metric's state in two slots (StateSlots, StateFile)
///     <root>/leases/<sack>                lease slots (LeaseTable)
///     <root>/quarantine/<id>              a quarantined metric: the reason, as text
public final class FileStorage: MetricStorage {
    public let root: String
    public let sackCount: Int
    let leases: LeaseTable
    /// Shared syncfs calls for the commits in flight (group commit).
    private let durability: FilesystemSync
    /// The state each lease loaded, by lease token, for its commit to build on
    /// (the commit would otherwise read and check it again).
    private let loaded = Mutex<[String: StateSlots.Loaded]>([:])
    /// Leases (tokens) that wrote a state slot whose group commit has not
    /// completed: releasing one keeps its record marked dirty.
    private let unsynced = Mutex<Set<String>>([])
    /// Per lease (token), the metric's abandoned cycles found when it was taken.
    private let abandoned = Mutex<[String: Int]>([:])

    static let rawKey = "raw"
    static let consumedKey = "p.consumed"  // generation u64 + offset u64 of the pending file consumed

    /// Hooks for tests, per store (suites run in parallel: a global hook fired on
    /// another test's files).
    let testHooks = TestHooks()

    final class TestHooks: Sendable {
        /// Runs after an append opened a pending file, before it locks it.
        let afterPendingOpen = Mutex<(@Sendable (String) -> Void)?>(nil)
    }

    /// Temporary files of dead processes removed when the store was opened.
    public let temporaryFilesRemoved: Int

    /// `<name>.tmp.<pid>` files (``POSIX/replaceAtomically``) whose process is
    /// gone: a crash between writing one and renaming it leaves it behind.
    /// Another live process's are not listed (it is about to rename them).
    static func temporaryFiles(in directories: [String], exclusive: Bool) -> [String] {
        var found: [String] = []
        for directory in directories {
            for name in (try? POSIX.list(directory)) ?? [] {
                let parts = name.split(separator: ".", omittingEmptySubsequences: false)
                guard parts.count >= 3, parts[parts.count - 2] == "tmp", let pid = Int32(parts[parts.count - 1]),
                    pid > 0, !LeaseTable.processExists(pid, exclusive: exclusive)
                else { continue }
                found.append("\(directory)/\(name)")
            }
        }
        return found
    }

    /// The directories where temporary files are written.
    var temporaryFileDirectories: [String] {
        [root, "\(root)/quarantine"] + (0..<sackCount).map { "\(root)/incoming/\($0)" }
    }

    /// Held while the store is open (``DataDirectorySharing``); nil when unlocked.
    private let directoryLock: DataDirectoryLock?
    let sharing: DataDirectorySharing

    /// Opens (creating if needed) a store in `root`. An existing store keeps its sack count.
    public init(root: String, defaultSackCount: Int = 16, sharing: DataDirectorySharing = .shared) throws {
        self.root = root
        try POSIX.makeDirectories(root)
        directoryLock = sharing == .unlocked ? nil : try DataDirectoryLock(root: root, sharing: sharing)
        for sub in ["incoming", "metrics", "leases", "quarantine"] { try POSIX.makeDirectories("\(root)/\(sub)") }
        let configPath = "\(root)/orzo.config"
        if try POSIX.readAll(configPath) == nil {
            try POSIX.replaceAtomically(configPath, with: Array("sacks=\(defaultSackCount)\n".utf8))
        }
        let text = String(decoding: try POSIX.readAll(configPath) ?? [], as: UTF8.self)
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix("sacks=") }),
            let count = Int(line.dropFirst(6)), count > 0
        else { throw StorageError.unavailable("\(configPath) has no valid sack count") }
        self.sackCount = count
        for sack in 0..<count { try POSIX.makeDirectories("\(root)/incoming/\(sack)/idle") }
        // All 256 state buckets up front: a worker's first commits would otherwise
        // each create one, on the clock.
        for bucket in 0..<256 {
            let name = "\(root)/metrics/\(String(bucket, radix: 16).count == 1 ? "0" : "")\(String(bucket, radix: 16))"
            if mkdir(name, 0o755) != 0 && errno != EEXIST { throw POSIX.error("mkdir", name) }
        }
        self.leases = LeaseTable(directory: "\(root)/leases", exclusive: sharing == .exclusive)
        self.sharing = sharing
        var removed = 0
        if sharing != .unlocked {
            for path in Self.temporaryFiles(
                in: [root, "\(root)/quarantine"] + (0..<count).map { "\(root)/incoming/\($0)" },
                exclusive: sharing == .exclusive)
            where unlink(path) == 0 {
                removed += 1
            }
        }
        temporaryFilesRemoved = removed
        self.durability = FilesystemSync(root: root)
    }

    func pendingPath(_ metric: MetricID) -> String {
        "\(root)/incoming/\(metric.sack(of: sackCount))/\(metric.rawValue)"
    }

    func statePath(_ metric: MetricID) -> String {
        "\(root)/metrics/\(metric.rawValue.prefix(2))/\(metric.rawValue)"
    }

    // MARK: Incoming

    public func appendMeasures(_ batches: [MetricID: [Measure]]) async throws {
        try await BlockingIOPool.run { [self] in
            let batches = batches.filter { !$0.value.isEmpty }
            // One fdatasync per file costs a journal commit each: a message of 100 metrics
            // took 100. For several files, write them all and make them durable with one
            // syncfs (files and directory entries alike), before the put is acknowledged.
            let grouped = batches.count > 1
            for (metric, measures) in batches {
                let hook = testHooks.afterPendingOpen.withLock { $0 }
                try PendingFile.append(
                    measures, to: pendingPath(metric), directory: "\(root)/incoming/\(metric.sack(of: sackCount))",
                    sync: !grouped, afterOpen: hook)
            }
            if grouped { try POSIX.syncFilesystem(root) }
        }
    }

    public func metricsWithPendingMeasures(inSack sack: Int) async throws -> [PendingMetric] {
        try await BlockingIOPool.run { [self] in
            let directory = "\(root)/incoming/\(sack)"
            return try POSIX.list(directory).compactMap { name in
                guard let metric = MetricID(name),
                    let (mark, size) = POSIX.modificationTimeAndSize("\(directory)/\(name)")
                else { return nil }
                // Exact for a file holding one batch (the usual case between cycles); each
                // further batch's 12-byte frame header adds 0.75 (docs/storage-files.md).
                let measures = max(0, size - PendingFile.headerSize - 12) / MeasureRecords.recordSize
                return PendingMetric(metric: metric, markedAt: mark, measures: measures)
            }.sorted { ($0.markedAt, $0.metric) < ($1.markedAt, $1.metric) }
        }
    }

    public func forgetIfIdle(_ entry: PendingMetric) async throws {
        try await BlockingIOPool.run { [self] in
            try PendingFile.removeIfEmpty(pendingPath(entry.metric))
        }
    }

    // MARK: Leases

    public func acquireLease(_ metric: MetricID, duration: Duration) async throws -> MetricLease? {
        try await BlockingIOPool.run { [self] in
            let token = MetricID.random().rawValue
            let taken = try leases.withSlot(metric, sack: metric.sack(of: sackCount)) { record, strikes -> Bool in
                if leases.isLive(record) { return false }
                // Expired without being released (a release leaves no record, or expiry 0):
                // its holder's process died, or stalled past the lease.
                if let record, record.expiry != 0 { strikes.strike(record.metric) }
                abandoned.withLock { $0[token] = strikes.count(of: metric) }
                // The last holder stopped (died, or stalled past its lease) and may have left
                // a written slot that is not durable. The next commit overwrites the other
                // slot, the last durable state, so make that one durable first.
                if let record, record.dirty, let owner = MetricID(record.metric) {
                    try StateSlots.sync(statePath(owner))
                }
                // Dirty from the start: a holder that dies before its first write costs the
                // next one a sync of clean files, which is cheap and rare.
                record = LeaseTable.Record(
                    metric: metric.rawValue, token: token, expiry: LeaseTable.bootClock() + nanoseconds(duration),
                    boot: LeaseTable.bootID, pid: getpid(), dirty: true)
                return true
            }
            if taken != true { abandoned.withLock { $0[token] = nil } }
            return taken == true ? MetricLease(metric: metric, token: token) : nil
        }
    }

    public func renewLease(_ lease: MetricLease, duration: Duration) async throws -> Bool {
        try await BlockingIOPool.run { [self] in
            try leases.withSlot(lease.metric, sack: lease.metric.sack(of: sackCount)) { record -> Bool in
                guard leases.isLive(record), record?.token == lease.token else { return false }
                record?.expiry = LeaseTable.bootClock() + nanoseconds(duration)
                return true
            } ?? false
        }
    }

    public func releaseLease(_ lease: MetricLease) async throws {
        try await BlockingIOPool.run { [self] in
            loaded.withLock { $0[lease.token] = nil }
            abandoned.withLock { $0[lease.token] = nil }
            let written = unsynced.withLock { $0.remove(lease.token) != nil }
            _ = try leases.withSlot(lease.metric, sack: lease.metric.sack(of: sackCount)) { record in
                guard record?.token == lease.token else { return }
                // A slot written but not made durable (its group commit failed): leave the
                // record expired and dirty, so the next holder syncs before it writes.
                if written { record?.expiry = 0 } else { record = nil }
            }
        }
    }

    // MARK: The processing cycle

    private func loadState(_ metric: MetricID) throws -> StateFile {
        try StateSlots.read(statePath(metric), metric: metric)?.state ?? StateFile()
    }

    public func load(
        _ metric: MetricID, lease: MetricLease, aggregations: [AggregationKey], pendingLimit: Int
    ) async throws -> MetricSnapshot {
        try await BlockingIOPool.run { [self] in
            let current = try StateSlots.read(statePath(metric), metric: metric)
            if let current { loaded.withLock { $0[lease.token] = current } }
            let state = current?.state ?? StateFile()
            // Resume after what the last commit consumed, if the pending file is the same one.
            var resume: (generation: UInt64, offset: Int)?
            if let consumed = state.entries[Self.consumedKey], consumed.count == 16 {
                resume = (readUInt64(consumed, 0), Int(readUInt64(consumed, 8)))
            }
            let contents = try PendingFile.read(pendingPath(metric), resumingAfter: resume)
            if let contents, contents.frames.isEmpty, let resume, resume.generation == contents.generation,
                resume.offset >= contents.size
            {
                // Everything in it was consumed by a commit whose cleanup never ran (its
                // process died at the commit point): clean up now, under the lease, so the
                // metric leaves the sack listing (status, backlog gauges).
                try PendingFile.removeConsumed(
                    pendingPath(metric), generation: resume.generation, consumed: resume.offset)
            }
            let frames = (contents?.frames ?? []).prefix(pendingLimit)
            let end = frames.last?.end ?? contents?.start ?? 0
            let token = frames.isEmpty ? [] : ["\(contents!.generation):\(end)"]
            // The newest split of each aggregation is its smallest name (inverted starts):
            // one pass over the entries, not one per aggregation.
            var newest: [Substring: String] = [:]
            for name in state.entries.keys {
                guard let prefix = splitNamePrefix(name) else { continue }
                if let current = newest[prefix], current <= name { continue }
                newest[prefix] = name
            }
            var latest: [AggregationKey: StoredSplit] = [:]
            for aggregation in aggregations {
                if let name = newest[Substring(splitPrefix(aggregation))], let blob = state.entries[name] {
                    let split = try decodeSplit(blob, metric)
                    latest[aggregation] = StoredSplit(key: split.key, points: split.points)
                }
            }
            return MetricSnapshot(
                raw: try decodeRaw(state.entries[Self.rawKey] ?? [], metric),
                pending: PendingMeasures(
                    measures: frames.flatMap(\.measures), token: PendingToken(batches: token),
                    hasMore: (contents?.frames.count ?? 0) > frames.count),
                latestSplits: latest, counters: decodeCounters(state.entries[countersKey]),
                abandonedCycles: abandoned.withLock { $0.removeValue(forKey: lease.token) } ?? 0)
        }
    }

    public func readSplits(
        _ metric: MetricID, _ keys: [AggregationKey: [SplitKey]]
    ) async throws
        -> [AggregationKey: [StoredSplit]]
    {
        try await BlockingIOPool.run { [self] in
            let state = try loadState(metric)
            var result: [AggregationKey: [StoredSplit]] = [:]
            for (aggregation, splits) in keys {
                result[aggregation] = try splits.compactMap { key in
                    try state.entries[splitName(aggregation, key)].map {
                        StoredSplit(key: key, points: try decodeSplit($0, metric).points)
                    }
                }
            }
            return result
        }
    }

    /// A group commit (docs/storage-files.md): under the lease, the new state is
    /// written into the slot that does not hold the state the cycle loaded; one
    /// syncfs shared with the other commits in flight makes it durable (the commit
    /// point); then, under the lease again, the consumed measures are removed and
    /// the lease released. The holder's record stays dirty until then.
    public func commit(_ metric: MetricID, lease: MetricLease, _ commit: MetricCommit) async throws {
        let sack = metric.sack(of: sackCount)
        let path = statePath(metric)
        let cached = loaded.withLock { $0.removeValue(forKey: lease.token) }
        let consumed = commit.processed.batches.last.flatMap(parseToken)
        let prepared = try await BlockingIOPool.run { [self] in
            try leases.withSlot(metric, sack: sack) { record -> Bool in
                guard leases.isLive(record), record?.token == lease.token else { return false }
                let current = try cached ?? StateSlots.read(path, metric: metric)
                var state = current?.state ?? StateFile()
                state.entries[Self.rawKey] = RawBufferBlob.encode(commit.raw)
                // Splits older than the oldest to keep have larger names: one pass over the entries.
                var cuts: [Substring: String] = [:]
                for (aggregation, oldest) in commit.expireBefore {
                    cuts[Substring(splitPrefix(aggregation))] = splitName(aggregation, oldest)
                }
                if !cuts.isEmpty {
                    let expired = state.entries.keys.filter { name in
                        guard let prefix = splitNamePrefix(name), let cut = cuts[prefix] else { return false }
                        return name > cut
                    }
                    for name in expired { state.entries[name] = nil }
                }
                for (aggregation, splits) in commit.splits {
                    for split in splits where !split.points.isEmpty {
                        state.entries[splitName(aggregation, split.key)] = SplitBlob.encode(
                            split.points, key: split.key)
                    }
                }
                state.entries[countersKey] = encodeCounters(commit.counters)
                if let consumed {
                    var bytes = [UInt8]()
                    appendUInt64(consumed.generation, to: &bytes)
                    appendUInt64(UInt64(consumed.end), to: &bytes)
                    state.entries[Self.consumedKey] = bytes
                }
                unsynced.withLock { _ = $0.insert(lease.token) }
                try StateSlots.write(
                    path, slot: current.map { 1 - $0.slot } ?? 0,
                    state.encode(generation: (current?.generation ?? 0) + 1))
                return true
            }
        }
        guard prepared == true else { throw StorageError.leaseLost(metric) }
        Failpoint.filesStateWritten.hit()
        try await durability.sync()  // the commit point: the new state is durable
        unsynced.withLock { _ = $0.remove(lease.token) }
        Failpoint.filesStateDurable.hit()
        // Under the lease: a holder that took the metric over meanwhile removes what is
        // consumed itself. The state records what was consumed, so a crash before the
        // removal only leaves bytes to clean up; they are not processed twice.
        try await BlockingIOPool.run { [self] in
            _ = try leases.withSlot(metric, sack: sack) { record, strikes in
                guard record?.token == lease.token else { return }
                if let consumed {
                    try PendingFile.removeConsumed(
                        pendingPath(metric), generation: consumed.generation, consumed: consumed.end)
                }
                strikes.clear(metric)  // a cycle finished: the poison guard starts counting again
                if commit.releaseLease { record = nil }
            }
        }
    }

    private func parseToken(_ token: String) -> (generation: UInt64, end: Int)? {
        let parts = token.split(separator: ":")
        guard parts.count == 2, let generation = UInt64(parts[0]), let end = Int(parts[1]) else { return nil }
        return (generation, end)
    }

    // MARK: Reading

    public func readAggregate(
        _ metric: MetricID, _ aggregation: AggregationKey, from: SplitKey?, to: SplitKey?
    )
        async throws -> TimeSeries
    {
        try await BlockingIOPool.run { [self] in
            var series = TimeSeries()
            for (key, blob) in try splitEntries(metric, aggregation) {
                if let from, key < from { continue }
                if let to, to < key { continue }
                series = series.merging(try decodeSplit(blob, metric).points)
            }
            return series
        }
    }

    public func splitKeys(_ metric: MetricID, _ aggregation: AggregationKey) async throws -> [SplitKey] {
        try await BlockingIOPool.run { [self] in
            try splitEntries(metric, aggregation).map(\.key)
        }
    }

    /// The splits of an aggregate, oldest first.
    private func splitEntries(
        _ metric: MetricID, _ aggregation: AggregationKey
    ) throws -> [(key: SplitKey, blob: [UInt8])] {
        let state = try loadState(metric)
        let prefix = splitPrefix(aggregation)
        return try state.entries.filter { $0.key.hasPrefix(prefix) }.map { name, blob in
            guard let start = splitStart(name, aggregation) else {
                throw StorageError.corrupt(metric, "split key \(name)")
            }
            return (SplitKey(start: start, granularity: aggregation.granularity), blob)
        }.sorted { $0.key < $1.key }
    }

    public func counters(_ metric: MetricID) async throws -> MetricCounters {
        try await BlockingIOPool.run { [self] in
            decodeCounters(try loadState(metric).entries[countersKey])
        }
    }

    public func deleteMetric(_ metric: MetricID) async throws {
        try await BlockingIOPool.run { [self] in
            try StateSlots.remove(statePath(metric))
            let pending = pendingPath(metric)
            for path in [pending, PendingFile.idlePath(pending), quarantinePath(metric)]
            where unlink(path) != 0 && errno != ENOENT {
                throw POSIX.error("unlink", path)
            }
            try POSIX.syncDirectory("\(root)/incoming/\(metric.sack(of: sackCount))")
        }
    }

    // MARK: Quarantine

    private func quarantinePath(_ metric: MetricID) -> String { "\(root)/quarantine/\(metric.rawValue)" }

    public func quarantine(_ metric: MetricID, reason: String) async throws {
        try await BlockingIOPool.run { [self] in
            guard try POSIX.readAll(quarantinePath(metric)) == nil else { return }
            try POSIX.replaceAtomically(quarantinePath(metric), with: Array(reason.utf8.prefix(4096)))
        }
    }

    public func quarantinedMetrics() async throws -> [MetricID: String] {
        try await BlockingIOPool.run { [self] in
            var result: [MetricID: String] = [:]
            for name in try POSIX.list("\(root)/quarantine") {
                guard let metric = MetricID(name), let bytes = try POSIX.readAll(quarantinePath(metric)) else {
                    continue
                }
                result[metric] = String(decoding: bytes, as: UTF8.self)
            }
            return result
        }
    }

    public func releaseQuarantine(_ metric: MetricID) async throws {
        try await BlockingIOPool.run { [self] in
            _ = try leases.withSlot(metric, sack: metric.sack(of: sackCount)) { _, strikes in strikes.clear(metric) }
            let path = quarantinePath(metric)
            guard unlink(path) == 0 || errno == ENOENT else { throw POSIX.error("unlink", path) }
            try POSIX.syncDirectory("\(root)/quarantine")
        }
    }
}
