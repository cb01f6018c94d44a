import Timeseries

/// Measures as 16-byte little-endian records: int64 nanoseconds, then the float64
/// value — the wire protocol's measures frame, also how incoming batches are stored.
public enum MeasureRecords {
    public static let recordSize = 16

    public static func encode(_ measures: [Measure]) -> [UInt8] {
        var bytes = [UInt8]()
        bytes.reserveCapacity(measures.count * recordSize)
        for measure in measures {
            withUnsafeBytes(of: measure.timestamp.littleEndian) { bytes.append(contentsOf: $0) }
            withUnsafeBytes(of: measure.value.bitPattern.littleEndian) { bytes.append(contentsOf: $0) }
        }
        return bytes
    }

    /// Decodes records; `nil` if the length is not a multiple of 16.
    public static func decode(_ bytes: some Collection<UInt8>) -> [Measure]? {
        guard bytes.count % recordSize == 0 else { return nil }
        var measures = [Measure]()
        measures.reserveCapacity(bytes.count / recordSize)
        var iterator = bytes.makeIterator()
        for _ in 0..<(bytes.count / recordSize) {
            var timestamp: UInt64 = 0
            var value: UInt64 = 0
            for shift in stride(from: 0, to: 64, by: 8) { timestamp |= UInt64(iterator.next()!) << UInt64(shift) }
            for shift in stride(from: 0, to: 64, by: 8) { value |= UInt64(iterator.next()!) << UInt64(shift) }
            measures.append(Measure(timestamp: Int64(bitPattern: timestamp), value: Double(bitPattern: value)))
        }
        return measures
    }
}
