import Glibc
import Storage
import Timeseries

/// Orzo's storage in a local directory, the embedded default. Several processes
/// on one host share it safely. Layout and crash analysis: docs/storage-files.md.
///
///     <root>/orzo.config                  "sacks=<n>"
///     <root>/incoming/<sack>/<metric id>  the metric's pending batches (PendingFile)
///     <root>/metrics/<id[0..2]>/<id>      the metric's state (StateFile): raw buffer, splits, counters
///     <root>/leases/<sack>                lease slots (LeaseTable)
public final class FileStorage: MetricStorage {
    public let root: String
    public let sackCount: Int
    private let leases: LeaseTable
    /// Shared syncfs calls for the commits in flight (group commit).
    private let durability: FilesystemSync

    static let rawKey = "raw"
    static let consumedKey = "p.consumed"  // generation u64 + offset u64 of the pending file consumed

    /// Opens (creating if needed) a store in `root`. An existing store keeps its sack count.
    public init(root: String, defaultSackCount: Int = 16) throws {
        self.root = root
        try POSIX.makeDirectories(root)
        for sub in ["incoming", "metrics", "leases"] { try POSIX.makeDirectories("\(root)/\(sub)") }
        let configPath = "\(root)/orzo.config"
        if try POSIX.readAll(configPath) == nil {
            try POSIX.replaceAtomically(configPath, with: Array("sacks=\(defaultSackCount)\n".utf8))
        }
        let text = String(decoding: try POSIX.readAll(configPath) ?? [], as: UTF8.self)
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix("sacks=") }),
            let count = Int(line.dropFirst(6)), count > 0
        else { throw StorageError.unavailable("\(configPath) has no valid sack count") }
        self.sackCount = count
        for sack in 0..<count { try POSIX.makeDirectories("\(root)/incoming/\(sack)") }
        self.leases = LeaseTable(directory: "\(root)/leases")
        self.durability = FilesystemSync(root: root)
    }

    private func pendingPath(_ metric: MetricID) -> String {
        "\(root)/incoming/\(metric.sack(of: sackCount))/\(metric.rawValue)"
    }

    private func statePath(_ metric: MetricID) -> String {
        "\(root)/metrics/\(metric.rawValue.prefix(2))/\(metric.rawValue)"
    }

    // MARK: Incoming

    public func appendMeasures(_ batches: [MetricID: [Measure]]) async throws {
        let batches = batches.filter { !$0.value.isEmpty }
        // One fdatasync per file costs a journal commit each: a message of 100 metrics
        // took 100. For several files, write them all and make them durable with one
        // syncfs (files and directory entries alike), before the put is acknowledged.
        let grouped = batches.count > 1
        for (metric, measures) in batches {
            try PendingFile.append(
                measures, to: pendingPath(metric), directory: "\(root)/incoming/\(metric.sack(of: sackCount))",
                sync: !grouped)
        }
        if grouped { try POSIX.syncFilesystem(root) }
    }

    public func metricsWithPendingMeasures(inSack sack: Int) async throws -> [PendingMetric] {
        let directory = "\(root)/incoming/\(sack)"
        return try POSIX.list(directory).compactMap { name in
            guard let metric = MetricID(name), let mark = POSIX.modificationTime("\(directory)/\(name)") else {
                return nil
            }
            return PendingMetric(metric: metric, markedAt: mark)
        }.sorted { ($0.markedAt, $0.metric) < ($1.markedAt, $1.metric) }
    }

    public func forgetIfIdle(_ entry: PendingMetric) async throws {
        try PendingFile.removeIfEmpty(pendingPath(entry.metric))
    }

    // MARK: Leases

    public func acquireLease(_ metric: MetricID, duration: Duration) async throws -> MetricLease? {
        let token = MetricID.random().rawValue
        let taken = try leases.withSlot(metric, sack: metric.sack(of: sackCount)) { record -> Bool in
            if LeaseTable.isLive(record) { return false }
            record = LeaseTable.Record(
                metric: metric.rawValue, token: token, expiry: LeaseTable.bootClock() + nanoseconds(duration),
                boot: LeaseTable.bootID)
            return true
        }
        return taken == true ? MetricLease(metric: metric, token: token) : nil
    }

    public func renewLease(_ lease: MetricLease, duration: Duration) async throws -> Bool {
        try leases.withSlot(lease.metric, sack: lease.metric.sack(of: sackCount)) { record -> Bool in
            guard LeaseTable.isLive(record), record?.token == lease.token else { return false }
            record?.expiry = LeaseTable.bootClock() + nanoseconds(duration)
            return true
        } ?? false
    }

    public func releaseLease(_ lease: MetricLease) async throws {
        _ = try leases.withSlot(lease.metric, sack: lease.metric.sack(of: sackCount)) { record in
            if record?.token == lease.token { record = nil }
        }
    }

    // MARK: The processing cycle

    private func loadState(_ metric: MetricID) throws -> StateFile {
        guard let bytes = try POSIX.readAll(statePath(metric)) else { return StateFile() }
        guard let state = StateFile.decode(bytes) else { throw StorageError.corrupt(metric, "state file") }
        return state
    }

    public func load(
        _ metric: MetricID, lease: MetricLease, aggregations: [AggregationKey], pendingLimit: Int
    ) async throws -> MetricSnapshot {
        let state = try loadState(metric)
        // Resume after what the last commit consumed, if the pending file is the same one.
        var from = 0
        if let consumed = state.entries[Self.consumedKey], consumed.count == 16,
            let contents = try PendingFile.read(pendingPath(metric), from: 0),
            contents.generation == readUInt64(consumed, 0)
        {
            from = Int(readUInt64(consumed, 8))
        }
        let contents = try PendingFile.read(pendingPath(metric), from: from)
        let frames = (contents?.frames ?? []).prefix(pendingLimit)
        let end = frames.last?.end ?? from
        let token = frames.isEmpty ? [] : ["\(contents!.generation):\(end)"]
        var latest: [AggregationKey: StoredSplit] = [:]
        for aggregation in aggregations {
            let prefix = splitPrefix(aggregation)
            if let name = state.entries.keys.filter({ $0.hasPrefix(prefix) }).min(), let blob = state.entries[name] {
                let split = try decodeSplit(blob, metric)
                latest[aggregation] = StoredSplit(key: split.key, points: split.points)
            }
        }
        return MetricSnapshot(
            raw: try decodeRaw(state.entries[Self.rawKey] ?? [], metric),
            pending: PendingMeasures(
                measures: frames.flatMap(\.measures), token: PendingToken(batches: token),
                hasMore: (contents?.frames.count ?? 0) > frames.count),
            latestSplits: latest, counters: decodeCounters(state.entries[countersKey]))
    }

    public func readSplits(
        _ metric: MetricID, _ keys: [AggregationKey: [SplitKey]]
    ) async throws
        -> [AggregationKey: [StoredSplit]]
    {
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

    /// A group commit (docs/storage-files.md): the new state is written to a
    /// temporary file under the lease; one syncfs shared with the other commits in
    /// flight makes it durable; under the lease again it is renamed into place (the
    /// commit point, refused if the lease was lost meanwhile); a second shared
    /// syncfs makes the rename durable; then the consumed measures are removed.
    public func commit(_ metric: MetricID, lease: MetricLease, _ commit: MetricCommit) async throws {
        let sack = metric.sack(of: sackCount)
        let path = statePath(metric)
        let temporary = "\(path).tmp.\(getpid()).\(lease.token)"
        var consumed: (generation: UInt64, end: Int)?
        let prepared = try leases.withSlot(metric, sack: sack) { record -> Bool in
            guard LeaseTable.isLive(record), record?.token == lease.token else { return false }
            var state = try loadState(metric)
            state.entries[Self.rawKey] = RawBufferBlob.encode(commit.raw)
            for (aggregation, oldest) in commit.expireBefore {
                let prefix = splitPrefix(aggregation)
                let cut = splitName(aggregation, oldest)
                for name in state.entries.keys where name.hasPrefix(prefix) && name > cut { state.entries[name] = nil }
            }
            for (aggregation, splits) in commit.splits {
                for split in splits where !split.points.isEmpty {
                    state.entries[splitName(aggregation, split.key)] = SplitBlob.encode(split.points, key: split.key)
                }
            }
            state.entries[countersKey] = encodeCounters(commit.counters)
            consumed = commit.processed.batches.last.flatMap(parseToken)
            if let consumed {
                var bytes = [UInt8]()
                appendUInt64(consumed.generation, to: &bytes)
                appendUInt64(UInt64(consumed.end), to: &bytes)
                state.entries[Self.consumedKey] = bytes
            }
            try POSIX.makeDirectories(String(path[..<path.lastIndex(of: "/")!]))
            try POSIX.writeFile(temporary, state.encode())
            return true
        }
        guard prepared == true else { throw StorageError.leaseLost(metric) }
        Failpoint.filesStateWritten.hit()
        do {
            try await durability.sync()  // the new state's content is durable
        } catch {
            unlink(temporary)
            throw error
        }
        let committed = try leases.withSlot(metric, sack: sack) { record -> Bool in
            guard LeaseTable.isLive(record), record?.token == lease.token else { return false }
            guard rename(temporary, path) == 0 else { throw POSIX.error("rename", path) }
            return true
        }
        guard committed == true else {
            unlink(temporary)
            throw StorageError.leaseLost(metric)
        }
        Failpoint.filesStateRenamed.hit()
        try await durability.sync()  // the rename is durable
        Failpoint.filesStateDurable.hit()
        // The state records what was consumed, so a crash here only leaves bytes
        // to clean up; they are not processed twice.
        if let consumed {
            try PendingFile.removeConsumed(pendingPath(metric), generation: consumed.generation, consumed: consumed.end)
        }
        if commit.releaseLease {
            _ = try leases.withSlot(metric, sack: sack) { record in
                if record?.token == lease.token { record = nil }
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
        var series = TimeSeries()
        for (key, blob) in try splitEntries(metric, aggregation) {
            if let from, key < from { continue }
            if let to, to < key { continue }
            series = series.merging(try decodeSplit(blob, metric).points)
        }
        return series
    }

    public func splitKeys(_ metric: MetricID, _ aggregation: AggregationKey) async throws -> [SplitKey] {
        try splitEntries(metric, aggregation).map(\.key)
    }

    /// The splits of an aggregate, oldest first.
    private func splitEntries(
        _ metric: MetricID, _ aggregation: AggregationKey
    ) throws -> [(key: SplitKey, blob: [UInt8])] {
        let state = try loadState(metric)
        return try state.entries.filter { $0.key.hasPrefix(splitPrefix(aggregation)) }.map { name, blob in
            guard let start = splitStart(name, aggregation) else {
                throw StorageError.corrupt(metric, "split key \(name)")
            }
            return (SplitKey(start: start, granularity: aggregation.granularity), blob)
        }.sorted { $0.key < $1.key }
    }

    public func counters(_ metric: MetricID) async throws -> MetricCounters {
        decodeCounters(try loadState(metric).entries[countersKey])
    }

    public func deleteMetric(_ metric: MetricID) async throws {
        for path in [statePath(metric), pendingPath(metric)] where unlink(path) != 0 && errno != ENOENT {
            throw POSIX.error("unlink", path)
        }
        try POSIX.syncDirectory("\(root)/incoming/\(metric.sack(of: sackCount))")
    }
}
