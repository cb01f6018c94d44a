import Glibc
import Storage
import Timeseries

extension FileStorage {
    /// A leftover a repair cleans under its metric's lease.
    private struct Cleanup: Sendable {
        let description: String
        let metric: MetricID
        let clean: @Sendable () throws -> Void
    }

    /// Every metric with a state slot, a pending file or an idle one; each
    /// metric's state and pending batches decoded; and the leftovers of crashes
    /// (docs/storage-files.md, "Cleaning up consumed measures"). Repairs take the
    /// metric's lease where the cleanup needs it, and skip a metric that is busy.
    public func inspect(repair: Bool) async throws -> StoreInspection {
        var (inspection, cleanups) = try await BlockingIOPool.run { [self] in try scan() }
        for cleanup in cleanups {
            inspection.leftovers.append(try await leftover(cleanup, repair: repair))
        }
        let temporary = temporaryFileDirectories
        let exclusive = sharing == .exclusive
        inspection.leftovers += try await BlockingIOPool.run {
            Self.temporaryFiles(in: temporary, exclusive: exclusive).map { path in
                StoreInspection.Leftover(
                    "\(path): temporary file of a process that died", repaired: repair && unlink(path) == 0)
            }
        }
        return inspection
    }

    private func scan() throws -> (StoreInspection, [Cleanup]) {
        var inspection = StoreInspection()
        var cleanups: [Cleanup] = []
        var pendingFiles: [MetricID: String] = [:]
        for sack in 0..<sackCount {
            let directory = "\(root)/incoming/\(sack)"
            for name in try POSIX.list(directory) {
                if let metric = MetricID(name) { pendingFiles[metric] = "\(directory)/\(name)" }
            }
            for name in try POSIX.list("\(directory)/idle") {
                if let metric = MetricID(name) { inspection.metrics.insert(metric) }
            }
        }
        inspection.metrics.formUnion(pendingFiles.keys)
        for bucket in try POSIX.list("\(root)/metrics") {
            for name in try POSIX.list("\(root)/metrics/\(bucket)") {
                let parts = name.split(separator: ".")
                if parts.count == 2, parts[1] == "0" || parts[1] == "1", let metric = MetricID(String(parts[0])) {
                    inspection.metrics.insert(metric)
                }
            }
        }

        for metric in inspection.metrics.sorted() {
            let state: StateFile
            do {
                state = try StateSlots.read(statePath(metric), metric: metric)?.state ?? StateFile()
            } catch StorageError.corrupt(_, let reason) {
                inspection.damaged[metric] = reason
                continue
            }
            let path = pendingPath(metric)
            let contents = pendingFiles[metric] == nil ? nil : try PendingFile.read(path)
            if let problem = StoredDataCheck.problem(
                metric, raw: state.entries[Self.rawKey] ?? [], entries: state.entries,
                pending: contents?.frames.map { MeasureRecords.encode($0.measures) } ?? [])
            {
                inspection.damaged[metric] = problem
                continue
            }
            guard let contents else { continue }
            var consumed: (generation: UInt64, offset: Int)?
            if let bytes = state.entries[Self.consumedKey], bytes.count == 16 {
                consumed = (readUInt64(bytes, 0), Int(readUInt64(bytes, 8)))
            }
            if let consumed, consumed.generation == contents.generation, consumed.offset >= contents.size {
                cleanups.append(
                    Cleanup(
                        description: "\(path): every batch consumed, cleanup never ran (a worker died at its commit)",
                        metric: metric
                    ) {
                        try PendingFile.removeConsumed(path, generation: consumed.generation, consumed: consumed.offset)
                    }
                )
            } else if contents.frames.isEmpty {
                cleanups.append(
                    Cleanup(
                        description: "\(path): no whole batch (an ingest died before writing one)", metric: metric
                    ) { try PendingFile.removeIfEmpty(path) })
            }
        }
        return (inspection, cleanups)
    }

    /// Cleans a leftover under its metric's lease when repairing (a cycle in
    /// progress could otherwise be cleaning up too); a busy metric is left as is.
    private func leftover(_ cleanup: Cleanup, repair: Bool) async throws -> StoreInspection.Leftover {
        guard repair, let lease = try await acquireLease(cleanup.metric, duration: .seconds(30)) else {
            return .init(cleanup.description, repaired: false)
        }
        do {
            try await BlockingIOPool.run(cleanup.clean)
        } catch {
            try? await releaseLease(lease)
            throw error
        }
        try await releaseLease(lease)
        return .init(cleanup.description, repaired: true)
    }
}
