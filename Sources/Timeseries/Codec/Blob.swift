/// Orzo's stored byte format, shared by every blob kind (docs/format.md):
///
///     "OZ" | version u8 | kind u8 | count varint | kind header | timestamps | values | CRC-32C u32 LE
///
/// The checksum covers every byte before it and is checked before anything
/// else is read.
public enum BlobKind: UInt8, Sendable {
    /// A metric's raw buffer: arbitrary nanosecond timestamps.
    case rawBuffer = 1
    /// One split of one aggregate: timestamps on the granularity grid of the split.
    case aggregateSplit = 2
}

enum BlobEnvelope {
    static let magic: (UInt8, UInt8) = (0x4F, 0x5A)  // "OZ"
    static let version: UInt8 = 1
    /// The most points a raw buffer blob may declare: a bound on what a decoder
    /// allocates for any input (16 Mi points = 256 MiB decoded).
    static let maximumRawPoints = 1 << 24

    static func begin(_ kind: BlobKind, count: Int, capacity: Int) -> ByteWriter {
        var writer = ByteWriter(capacity: capacity)
        writer.u8(magic.0)
        writer.u8(magic.1)
        writer.u8(version)
        writer.u8(kind.rawValue)
        writer.varint(UInt64(count))
        return writer
    }

    static func finish(_ writer: inout ByteWriter) -> [UInt8] {
        writer.u32(CRC32C.checksum(writer.bytes))
        return writer.bytes
    }

    /// Checks magic, version, kind and checksum, then hands `body` a reader
    /// positioned after the kind byte and limited to the bytes before the checksum.
    static func open<T>(
        _ bytes: [UInt8], kind: BlobKind, _ body: (inout ByteReader) throws(BlobError) -> T
    ) throws(BlobError) -> T {
        // withUnsafeBytes rethrows untyped errors; carry the typed one out in a Result.
        try bytes.withUnsafeBytes { buffer in Result { () throws(BlobError) -> T in try read(buffer, kind, body) } }
            .get()
    }

    private static func read<T>(
        _ buffer: UnsafeRawBufferPointer, _ kind: BlobKind, _ body: (inout ByteReader) throws(BlobError) -> T
    ) throws(BlobError) -> T {
        guard buffer.count >= 4 + 1 + 4 else { throw .truncated }
        guard buffer[0] == magic.0, buffer[1] == magic.1 else { throw .badMagic }
        guard buffer[2] == version else { throw .unsupportedVersion(buffer[2]) }
        guard buffer[3] == kind.rawValue else { throw .wrongKind(expected: kind.rawValue, found: buffer[3]) }
        let bodyEnd = buffer.count - 4
        let stored = UInt32(littleEndianBytes: buffer, at: bodyEnd)
        let content = UnsafeRawBufferPointer(rebasing: buffer[0..<bodyEnd])
        guard CRC32C.checksum(content) == stored else { throw .checksumMismatch }
        var reader = ByteReader(content, position: 4)
        let result = try body(&reader)
        guard reader.remaining == 0 else { throw .corrupt("\(reader.remaining) bytes after the content") }
        return result
    }

    static func count(_ reader: inout ByteReader, maximum: Int) throws(BlobError) -> Int {
        let count = try reader.varint()
        guard count <= UInt64(maximum) else { throw .corrupt("\(count) points declared, at most \(maximum) allowed") }
        return Int(count)
    }
}

/// The blob of a metric's raw buffer.
public enum RawBufferBlob {
    public static func encode(_ series: TimeSeries) -> [UInt8] {
        precondition(series.count <= BlobEnvelope.maximumRawPoints, "raw buffer too large for one blob")
        var writer = BlobEnvelope.begin(.rawBuffer, count: series.count, capacity: 16 + series.count * 4)
        IntegerColumn.encode(series.timestamps, into: &writer)
        ValueColumn.encode(series.values, into: &writer)
        return BlobEnvelope.finish(&writer)
    }

    public static func decode(_ bytes: [UInt8]) throws(BlobError) -> TimeSeries {
        try BlobEnvelope.open(bytes, kind: .rawBuffer) { (reader) throws(BlobError) -> TimeSeries in
            let count = try BlobEnvelope.count(&reader, maximum: BlobEnvelope.maximumRawPoints)
            let timestamps = try IntegerColumn.decode(count: count, from: &reader)
            for index in timestamps.indices.dropFirst() where timestamps[index - 1] >= timestamps[index] {
                throw .corrupt("timestamps not increasing at point \(index)")
            }
            let values = try ValueColumn.decode(count: count, from: &reader)
            return TimeSeries(timestamps: timestamps, values: values)
        }
    }
}

/// The blob of one split of an aggregate. Timestamps are stored as slots, their
/// offset from the split's start in granularities, so a full split of regular
/// buckets spends almost nothing on them.
public enum SplitBlob {
    public static func encode(_ points: TimeSeries, key: SplitKey) -> [UInt8] {
        var slots = [Int64]()
        slots.reserveCapacity(points.count)
        for timestamp in points.timestamps {
            precondition(
                timestamp >= key.start && timestamp < key.end && (timestamp - key.start) % key.granularity == 0,
                "point \(timestamp) is not on the grid of split \(key)")
            slots.append((timestamp - key.start) / key.granularity)
        }
        var writer = BlobEnvelope.begin(.aggregateSplit, count: points.count, capacity: 32 + points.count * 2)
        writer.varint(UInt64(key.granularity))
        writer.signedVarint(key.start)
        IntegerColumn.encode(slots, into: &writer)
        ValueColumn.encode(points.values, into: &writer)
        return BlobEnvelope.finish(&writer)
    }

    /// Decodes a split whose key is not known beforehand (it is in the header).
    public static func decode(_ bytes: [UInt8]) throws(BlobError) -> StoredSplitBlob {
        try BlobEnvelope.open(bytes, kind: .aggregateSplit) { (reader) throws(BlobError) -> StoredSplitBlob in
            let count = try BlobEnvelope.count(&reader, maximum: Int(pointsPerSplit))
            let granularity = try reader.varint()
            let start = try reader.signedVarint()
            guard granularity > 0, granularity < UInt64(Int64.max) / UInt64(pointsPerSplit),
                start % Int64(granularity) == 0, (0...Limits.timestampEnd).contains(start)
            else { throw .corrupt("split key \(start)@\(granularity)") }
            let key = SplitKey(start: start, granularity: Int64(granularity))
            return StoredSplitBlob(key: key, points: try decodeBody(count: count, key: key, from: &reader))
        }
    }

    /// Decodes a split and checks it is the one `key` names.
    public static func decode(_ bytes: [UInt8], key: SplitKey) throws(BlobError) -> TimeSeries {
        try BlobEnvelope.open(bytes, kind: .aggregateSplit) { (reader) throws(BlobError) -> TimeSeries in
            let count = try BlobEnvelope.count(&reader, maximum: Int(pointsPerSplit))
            let granularity = try reader.varint()
            let start = try reader.signedVarint()
            guard granularity == UInt64(key.granularity), start == key.start else {
                throw .corrupt("split of \(start)@\(granularity), expected \(key)")
            }
            return try decodeBody(count: count, key: key, from: &reader)
        }
    }

    private static func decodeBody(
        count: Int, key: SplitKey, from reader: inout ByteReader
    ) throws(BlobError)
        -> TimeSeries
    {
        let slots = try IntegerColumn.decode(count: count, from: &reader)
        var timestamps = [Nanoseconds]()
        timestamps.reserveCapacity(count)
        var previous: Int64 = -1
        for slot in slots {
            guard slot > previous, slot < pointsPerSplit else {
                throw .corrupt("slot \(slot) out of order or range")
            }
            previous = slot
            // Checked: a damaged key near Int64.max must be reported, not trap (found by the fuzzer).
            let (timestamp, overflow) = key.start.addingReportingOverflow(slot * key.granularity)
            guard !overflow else { throw .corrupt("slot \(slot) of split \(key) is past Int64 nanoseconds") }
            timestamps.append(timestamp)
        }
        let values = try ValueColumn.decode(count: count, from: &reader)
        return TimeSeries(timestamps: timestamps, values: values)
    }
}

/// A split decoded with the key its header names.
public struct StoredSplitBlob: Sendable {
    public let key: SplitKey
    public let points: TimeSeries
}
