import Timeseries

/// Measures as 16-byte little-endian records: int64 nanoseconds, then the float64
/// value — the wire protocol's measures frame, also how incoming batches are stored.
public enum MeasureRecords {
    public static let recordSize = 16

    public static func encode(_ measures: [Measure]) -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: measures.count * recordSize) { buffer, count in
            let raw = UnsafeMutableRawBufferPointer(buffer)
            for (index, measure) in measures.enumerated() {
                raw.storeBytes(of: measure.timestamp.littleEndian, toByteOffset: index * recordSize, as: Int64.self)
                raw.storeBytes(
                    of: measure.value.bitPattern.littleEndian, toByteOffset: index * recordSize + 8, as: UInt64.self)
            }
            count = measures.count * recordSize
        }
    }

    /// Decodes records; `nil` if the length is not a multiple of 16. Inlinable, so
    /// that each caller gets it specialised for its collection (a generic
    /// byte-by-byte iterator was a fifth of a worker's time).
    @inlinable
    public static func decode(_ bytes: some Collection<UInt8>) -> [Measure]? {
        guard bytes.count % recordSize == 0 else { return nil }
        if let measures = bytes.withContiguousStorageIfAvailable({ decode(raw: UnsafeRawBufferPointer($0)) }) {
            return measures
        }
        return Array(bytes).withUnsafeBytes { decode(raw: $0) }
    }

    /// Decodes whole records from raw bytes (a trailing partial record is ignored).
    public static func decode(raw: UnsafeRawBufferPointer) -> [Measure] {
        let count = raw.count / recordSize
        return [Measure](unsafeUninitializedCapacity: count) { buffer, initialized in
            for index in 0..<count {
                let timestamp = Int64(
                    littleEndian: raw.loadUnaligned(fromByteOffset: index * recordSize, as: Int64.self))
                let value = UInt64(
                    littleEndian: raw.loadUnaligned(fromByteOffset: index * recordSize + 8, as: UInt64.self))
                (buffer.baseAddress! + index).initialize(
                    to: Measure(timestamp: timestamp, value: Double(bitPattern: value)))
            }
            initialized = count
        }
    }
}
