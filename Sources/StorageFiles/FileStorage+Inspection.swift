import Glibc
import Storage
import Timeseries

extension FileStorage {
    /// Every metric with a state slot, a pending file or an idle one; each
    /// metric's state and pending batches decoded; and the leftovers of crashes
    /// (docs/storage-files.md, "Cleaning up consumed measures"). Repairs take the
    /// metric's lease where the cleanup needs it, and skip a metric that is busy.
    public func inspect(repair: Bool) async throws -> StoreInspection {
        var inspection = StoreInspection()
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
            } catch let error as StorageError {
                if case .corrupt(_, let reason) = error { inspection.damaged[metric] = reason } else { throw error }
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
                inspection.leftovers.append(
                    try await leftover(
                        "\(path): every batch consumed, cleanup never ran (a worker died at its commit)", metric,
                        repair: repair
                    ) {
                        try PendingFile.removeConsumed(path, generation: consumed.generation, consumed: consumed.offset)
                    })
            } else if contents.frames.isEmpty {
                inspection.leftovers.append(
                    try await leftover(
                        "\(path): no whole batch (an ingest died before writing one)", metric, repair: repair
                    ) { try PendingFile.removeIfEmpty(path) })
            }
        }

        for path in Self.temporaryFiles(in: temporaryFileDirectories, exclusive: sharing == .exclusive) {
            let removed = repair && unlink(path) == 0
            inspection.leftovers.append(
                .init("\(path): temporary file of a process that died", repaired: removed))
        }
        return inspection
    }

    /// A leftover of `metric`, cleaned by `clean` under the metric's lease when
    /// repairing (a cycle in progress could otherwise be cleaning up too).
    private func leftover(
        _ description: String, _ metric: MetricID, repair: Bool, clean: () throws -> Void
    ) async throws -> StoreInspection.Leftover {
        guard repair, let lease = try await acquireLease(metric, duration: .seconds(30)) else {
            return .init(description, repaired: false)
        }
        do { try clean() } catch {
            try? await releaseLease(lease)
            throw error
        }
        try await releaseLease(lease)
        return .init(description, repaired: true)
    }
}
