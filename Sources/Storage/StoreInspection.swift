import Timeseries

/// What ``MetricStorage/inspect(repair:)`` found in a whole store: the storage
/// half of `orzo check` (docs/operations.md, "Checking a store").
public struct StoreInspection: Sendable {
    /// Every metric with something stored: state, aggregates or pending measures.
    public var metrics: Set<MetricID> = []
    /// Metrics whose stored data does not decode or fails the engine's checks,
    /// and why. Never repaired: the data is kept for an operator.
    public var damaged: [MetricID: String] = [:]
    /// What crashes leave behind (temporary files, consumed batches under their
    /// pending name, stale index entries), and whether each was removed.
    public var leftovers: [Leftover] = []

    public struct Leftover: Sendable, Hashable {
        public var description: String
        public var repaired: Bool

        public init(_ description: String, repaired: Bool) {
            self.description = description
            self.repaired = repaired
        }
    }

    public init() {}
}

/// Decodes what a metric has stored as cycles and reads would, for inspection.
public enum StoredDataCheck {
    /// Nil when the raw buffer, every split (under its own key), the counters
    /// and every pending batch decode and hold values in range; else the first
    /// problem. `entries` are the metric's keys (docs/storage-ceph.md): `s.…`
    /// splits, `c.counters`, `in.…` batches; others are ignored.
    public static func problem(
        _ metric: MetricID, raw: [UInt8], entries: [String: [UInt8]], pending: [[UInt8]] = []
    ) -> String? {
        do {
            let series = try decodeRaw(raw, metric)
            let range = 0..<Limits.timestampEnd
            if let first = series.first, let last = series.last, !range.contains(first) || !range.contains(last) {
                return "the raw buffer holds timestamps out of range (\(first) … \(last) ns)"
            }
        } catch {
            return "\(error)"
        }
        for (name, value) in entries.sorted(by: { $0.key < $1.key }) {
            if name.hasPrefix("s.") {
                let parts = name.split(separator: ".")
                guard parts.count == 4, let granularity = Int64(parts[2]), granularity > 0,
                    let start = splitStart(name, AggregationKey(method: String(parts[1]), granularity: granularity))
                else { return "split key \(name) is not a split key" }
                do {
                    let split = try decodeSplit(value, metric)
                    guard split.key == SplitKey(start: start, granularity: granularity) else {
                        return "split \(name) holds the split of \(split.key.start) ns"
                    }
                } catch {
                    return "split \(name): \(error)"
                }
            } else if name == countersKey, value.count != 24 {
                return "counters of \(value.count) bytes, not 24"
            } else if name.hasPrefix("in.") {
                if let problem = batchProblem(value) { return "pending batch \(name): \(problem)" }
            }
        }
        for batch in pending {
            if let problem = batchProblem(batch) { return "a pending batch: \(problem)" }
        }
        return nil
    }

    private static func batchProblem(_ bytes: [UInt8]) -> String? {
        guard let measures = MeasureRecords.decode(bytes[...]) else {
            return "\(bytes.count) bytes are not whole measure records"
        }
        let range = 0..<Limits.timestampEnd
        if let bad = measures.first(where: { !range.contains($0.timestamp) || !$0.value.isFinite }) {
            return "a measure (\(bad.timestamp) ns, \(bad.value)) is out of range"
        }
        return nil
    }
}
