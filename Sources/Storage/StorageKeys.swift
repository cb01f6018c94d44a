import Timeseries

/// Key names and value encodings shared by the Ceph layout (omap keys) and the
/// file layout (entries of a metric's state file): docs/storage-ceph.md,
/// docs/storage-files.md.

/// 20 decimal digits: unsigned 64-bit values sort as text.
public func padded(_ value: UInt64) -> String {
    // Written in place: split names are built for every split a cycle touches.
    String(unsafeUninitializedCapacity: 20) { buffer in
        var rest = value
        for index in stride(from: 19, through: 0, by: -1) {
            buffer[index] = UInt8(ascii: "0") + UInt8(rest % 10)
            rest /= 10
        }
        return 20
    }
}

/// A pending batch: `in.<mark>.<random>`, so batches list in arrival order.
public func batchKey(_ mark: Nanoseconds) -> String {
    "in." + padded(UInt64(bitPattern: mark)) + "." + MetricID.random().rawValue.prefix(16)
}

public func splitPrefix(_ aggregation: AggregationKey) -> String {
    "s.\(aggregation.method).\(padded(UInt64(aggregation.granularity)))."
}

/// `s.<method>.<granularity>.<UInt64.max − (start + 2^63)>`: newest split first in key order, so
/// the latest split of an aggregation is one omap read of one entry.
public func splitName(_ aggregation: AggregationKey, _ key: SplitKey) -> String {
    splitPrefix(aggregation) + padded(UInt64.max - (UInt64(bitPattern: key.start) ^ (1 << 63)))
}

/// The aggregation part of a split name, `s.<method>.<granularity>.` (as
/// ``splitPrefix(_:)`` writes it), without allocating; nil for other keys.
public func splitNamePrefix(_ name: String) -> Substring? {
    guard name.utf8.first == UInt8(ascii: "s"), let dot = name.utf8.lastIndex(of: UInt8(ascii: ".")) else {
        return nil
    }
    return name[...dot]
}

public func splitStart(_ name: String, _ aggregation: AggregationKey) -> Nanoseconds? {
    let prefix = splitPrefix(aggregation)
    guard name.hasPrefix(prefix), let inverted = UInt64(name.dropFirst(prefix.count)) else { return nil }
    return Int64(bitPattern: (UInt64.max - inverted) ^ (1 << 63))
}

public func encodeCounters(_ counters: MetricCounters) -> [UInt8] {
    MeasureRecords.encode([])
        + [counters.measuresProcessed, counters.droppedTooOld, counters.duplicatesReplaced]
        .flatMap { value in withUnsafeBytes(of: value.littleEndian) { Array($0) } }
}

public func decodeCounters(_ bytes: [UInt8]?) -> MetricCounters {
    guard let bytes, bytes.count == 24 else { return MetricCounters() }
    func field(_ index: Int) -> Int64 {
        var value: UInt64 = 0
        for byte in 0..<8 { value |= UInt64(bytes[index * 8 + byte]) << (8 * UInt64(byte)) }
        return Int64(bitPattern: value)
    }
    return MetricCounters(measuresProcessed: field(0), droppedTooOld: field(1), duplicatesReplaced: field(2))
}

public func decodeRaw(_ bytes: [UInt8], _ metric: MetricID) throws -> TimeSeries {
    if bytes.isEmpty { return TimeSeries() }  // a metric never processed
    do {
        return try RawBufferBlob.decode(bytes)
    } catch {
        throw StorageError.corrupt(metric, "raw buffer: \(error)")
    }
}

public func decodeSplit(_ bytes: [UInt8], _ metric: MetricID) throws -> StoredSplitBlob {
    do {
        return try SplitBlob.decode(bytes)
    } catch {
        throw StorageError.corrupt(metric, "split: \(error)")
    }
}

public func nanoseconds(_ duration: Duration) -> Nanoseconds {
    let (seconds, attoseconds) = duration.components
    return seconds * nanosecondsPerSecond + attoseconds / 1_000_000_000
}

/// The entry holding a metric's counters (`encodeCounters`).
public let countersKey = "c.counters"
