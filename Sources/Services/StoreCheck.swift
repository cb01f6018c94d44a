import Storage
import Timeseries

/// `orzo check`: a store and its index read whole, and what is wrong with them
/// (docs/operations.md, "Checking a store"). Read-only unless asked to repair;
/// a repair applies only the fixes that lose nothing anyone could read.
public struct StoreCheck: Sendable {
    public let storage: any MetricStorage
    public let indexer: any Indexer

    public init(storage: any MetricStorage, indexer: any Indexer) {
        self.storage = storage
        self.indexer = indexer
    }

    public struct Report: Sendable {
        public var metricsIndexed = 0
        public var metricsStored = 0
        /// Damaged stored data, by metric name where the index knows it (else the id).
        public var damaged: [(metric: String, problem: String)] = []
        /// Index documents that do not decode or name what does not exist.
        public var indexProblems: [String] = []
        public var leftovers: [StoreInspection.Leftover] = []
        /// Stored data of ids the index does not have: deleted metrics whose data
        /// outlived the delete (a process died between the two).
        public var orphans: [(metric: MetricID, removed: Bool)] = []
        public var quarantined: [(metric: String, reason: String)] = []

        /// Nothing found that is still there: damage and index problems always
        /// are (an operator decides), leftovers and orphans unless repaired.
        public var isClean: Bool {
            damaged.isEmpty && indexProblems.isEmpty && leftovers.allSatisfy(\.repaired)
                && orphans.allSatisfy(\.removed)
        }
    }

    public func run(repair: Bool) async throws -> Report {
        var report = Report()
        // Storage first, then the index: data is written only under an id the index
        // already has, so an id stored but not indexed after this order was deleted.
        let inspection = try await storage.inspect(repair: repair)
        report.metricsStored = inspection.metrics.count
        report.leftovers = inspection.leftovers

        var policies: Set<String> = []
        do {
            policies = Set(try await indexer.archivePolicies().map(\.name))
        } catch {
            report.indexProblems.append("archive policies: \(error)")
        }
        var names: [MetricID: String] = [:]
        var marker: String?
        while true {
            let page = try await indexer.metrics(prefix: "", after: marker, limit: 1000)
            for record in page {
                names[record.id] = record.name
                if !policies.isEmpty && !policies.contains(record.archivePolicyName) {
                    report.indexProblems.append(
                        "metric \(record.name) names the archive policy \(record.archivePolicyName), which does not exist"
                    )
                }
            }
            guard page.count == 1000, let last = page.last else { break }
            marker = last.name
        }
        report.metricsIndexed = names.count

        for (metric, problem) in inspection.damaged.sorted(by: { $0.key < $1.key }) {
            report.damaged.append((names[metric] ?? metric.rawValue, problem))
        }
        for metric in inspection.metrics.subtracting(names.keys).sorted() {
            // Asked again right before deleting: ids are never reused, so absent is final.
            var removed = false
            if repair, try await indexer.metric(id: metric) == nil {
                try await storage.deleteMetric(metric)
                removed = true
            }
            report.orphans.append((metric, removed))
        }
        for (metric, reason) in try await storage.quarantinedMetrics().sorted(by: { $0.key < $1.key }) {
            report.quarantined.append((names[metric] ?? metric.rawValue, reason))
        }
        return report
    }
}
