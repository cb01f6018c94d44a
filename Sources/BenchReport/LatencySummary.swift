import Foundation

/// The seed tool's summary of a set of latencies (mean, std, min, max), with
/// the percentiles an operator reads first.
public struct LatencySummary: Sendable, Hashable {
    public let count: Int
    public let mean: Double
    /// Sample standard deviation (n - 1), as Python's statistics.stdev.
    public let std: Double
    public let min: Double
    public let max: Double
    public let p50: Double
    public let p95: Double
    public let p99: Double

    /// Latencies in any unit; the summary is in the same unit. Nil if empty.
    public init?(_ values: [Double]) {
        guard !values.isEmpty else { return nil }
        let sorted = values.sorted()
        count = sorted.count
        let mean = sorted.reduce(0, +) / Double(count)
        self.mean = mean
        let squares = sorted.reduce(0) { $0 + ($1 - mean) * ($1 - mean) }
        std = count > 1 ? (squares / Double(count - 1)).squareRoot() : 0
        min = sorted.first!
        max = sorted.last!
        p50 = Self.percentile(sorted, 50)
        p95 = Self.percentile(sorted, 95)
        p99 = Self.percentile(sorted, 99)
    }

    /// Linear interpolation between closest ranks (numpy's default).
    static func percentile(_ sorted: [Double], _ p: Double) -> Double {
        let rank = p / 100 * Double(sorted.count - 1)
        let low = Int(rank.rounded(.down))
        let high = Swift.min(low + 1, sorted.count - 1)
        return sorted[low] + (sorted[high] - sorted[low]) * (rank - Double(low))
    }

    /// "mean / std / min / max 12.3 / 4.5 / 1.0 / 40.2 ms, p50 / p95 / p99 …"
    public func formatted(unit: String = "ms") -> String {
        func f(_ value: Double) -> String { String(format: "%.2f", value) }
        return "mean / std / min / max \(f(mean)) / \(f(std)) / \(f(min)) / \(f(max)) \(unit); "
            + "p50 / p95 / p99 \(f(p50)) / \(f(p95)) / \(f(p99)) \(unit) (n=\(count))"
    }
}
