import Rados
import Storage
import Timeseries

extension CephStorage {
    /// Every `orzo.metric.<id>` object of the namespace, its data and omap
    /// decoded; and the sack entries left by crashes: a metric marked pending
    /// (step 1 of an append) whose batch never came, older than the idle grace
    /// (docs/storage-ceph.md, "Ingest, step by step"). Listing walks the whole
    /// pool: for `orzo check`, not for a request path.
    public func inspect(repair: Bool) async throws -> StoreInspection {
        try await mappingRadosErrors {
            var inspection = StoreInspection()
            let prefix = "orzo.metric."
            for name in try await untyped({ () async throws(RadosError) in try await io.objectNames(prefix: prefix) }) {
                guard let metric = MetricID(String(name.dropFirst(prefix.count))) else {
                    inspection.leftovers.append(.init("object \(name): not a metric object name", repaired: false))
                    continue
                }
                inspection.metrics.insert(metric)
                let raw: [UInt8]
                let entries: [RadosOmapEntry]
                do {
                    raw = try await untyped { () async throws(RadosError) in try await self.io.read(name) }
                    entries = try await untyped { () async throws(RadosError) in
                        try await self.io.omapEntries(name, pageSize: 1000)
                    }
                } catch let error as RadosError where error.kind == .notFound {
                    continue  // deleted since the listing
                }
                let values = Dictionary(entries.map { ($0.key, $0.value) }) { _, last in last }
                if let problem = StoredDataCheck.problem(metric, raw: raw, entries: values) {
                    inspection.damaged[metric] = problem
                }
            }
            for sack in 0..<sackCount {
                for entry in try await metricsWithPendingMeasures(inSack: sack)
                where wallClockNanoseconds() - entry.markedAt >= nanoseconds(idleGrace) {
                    var read = RadosReadOperation()
                    let pending = read.omapValues(prefix: "in.", maxCount: 1)
                    let stillPending: Bool
                    do {
                        stillPending =
                            !(try await untyped { () async throws(RadosError) in
                                try await self.io.operate(read, on: Self.metricObject(entry.metric))
                            }[pending].entries.isEmpty)
                    } catch let error as RadosError where error.kind == .notFound {
                        stillPending = false
                    }
                    guard !stillPending else { continue }
                    if repair { try await forgetIfIdle(entry) }
                    inspection.leftovers.append(
                        .init(
                            "\(Self.sackObject(sack)) entry \(entry.metric): marked pending, no batch (an append died, "
                                + "or a worker has not forgotten it yet)", repaired: repair))
                }
            }
            return inspection
        }
    }
}
