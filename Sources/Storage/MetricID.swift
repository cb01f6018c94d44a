import Foundation
import Timeseries

/// The storage identity of a metric: 128 random bits as 32 lowercase hex digits,
/// safe in object and file names whatever the metric's name (names may hold any
/// character but controls). The indexer maps names to ids. New ids are version 4
/// UUIDs: Gnocchi's REST API shows them dashed (``uuidString``) and reads them
/// in any form Python's `uuid.UUID` reads (``init(uuid:)``); docs/http-api.md,
/// "Metric identity".
public struct MetricID: Hashable, Sendable, Comparable, CustomStringConvertible, Codable {
    public let rawValue: String

    /// Accepts exactly 32 lowercase hex digits.
    public init?(_ rawValue: String) {
        guard rawValue.utf8.count == 32, rawValue.utf8.allSatisfy({ (48...57).contains($0) || (97...102).contains($0) })
        else { return nil }
        self.rawValue = rawValue
    }

    /// A random version 4 UUID (RFC 9562: version nibble 4, variant bits 10).
    public static func random() -> MetricID {
        var generator = SystemRandomNumberGenerator()
        let high = (generator.next() as UInt64) & ~0xF000 | 0x4000
        let low = (generator.next() as UInt64) & ~(0xC000 << 48) | (0x8000 << 48)
        return MetricID(hex(high) + hex(low))!
    }

    /// Reads a UUID as Python's `uuid.UUID(text)` does: 32 hex digits of either
    /// case, with or without dashes, braces or a `urn:uuid:` prefix.
    public init?(uuid text: String) {
        guard text.utf8.count <= 64 else { return nil }
        let bare = text.replacingOccurrences(of: "urn:", with: "").replacingOccurrences(of: "uuid:", with: "")
            .trimmingCharacters(in: CharacterSet(charactersIn: "{}"))
        self.init(bare.replacingOccurrences(of: "-", with: "").lowercased())
    }

    /// The id as Gnocchi writes metric ids: 8-4-4-4-12 lowercase hex digits.
    public var uuidString: String {
        let digits = Array(rawValue)
        return [0..<8, 8..<12, 12..<16, 16..<20, 20..<32].map { String(digits[$0]) }.joined(separator: "-")
    }

    /// The sack this metric's pending measures are indexed in: a stable hash of
    /// the id (FNV-1a), independent of the process.
    public func sack(of count: Int) -> Int {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in rawValue.utf8 {
            hash ^= UInt64(byte)
            hash &*= 0x0000_0100_0000_01B3
        }
        return Int(hash % UInt64(max(count, 1)))
    }

    public var description: String { rawValue }
    public static func < (lhs: MetricID, rhs: MetricID) -> Bool { lhs.rawValue < rhs.rawValue }
}

func hex(_ value: UInt64) -> String {
    let digits = String(value, radix: 16)
    return String(repeating: "0", count: 16 - digits.count) + digits
}

/// An aggregate series of a metric as storage names it: a method at a granularity.
public struct AggregationKey: Hashable, Sendable, Comparable, CustomStringConvertible {
    public let method: String
    public let granularity: Nanoseconds

    public init(method: String, granularity: Nanoseconds) {
        self.method = method
        self.granularity = granularity
    }

    public init(_ aggregation: Aggregation) {
        self.init(method: aggregation.method.name, granularity: aggregation.granularity)
    }

    public static func < (lhs: AggregationKey, rhs: AggregationKey) -> Bool {
        (lhs.granularity, lhs.method) < (rhs.granularity, rhs.method)
    }

    public var description: String { "\(method)@\(granularity)" }
}
