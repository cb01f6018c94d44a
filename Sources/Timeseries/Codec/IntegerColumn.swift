/// Encodes a column of 64-bit integers (timestamps, split slots, decimal
/// mantissas) in whichever of four layouts is smallest for it:
///
/// - `constantStep`: the first value and one step (a regular series costs two varints);
/// - `frameOfReference`: the minimum, then every value minus it in a fixed bit width;
/// - `deltas`: the first value, then the differences, as offsets from the smallest
///   difference divided by their common divisor, in a fixed bit width;
/// - `deltaOfDeltas`: the first value and difference, then the changes of the
///   difference, likewise.
///
/// The byte layout of each is in docs/format.md.
enum IntegerColumn {
    enum Layout: UInt8 {
        case constantStep = 0
        case frameOfReference = 1
        case deltas = 2
        case deltaOfDeltas = 3
    }

    static func encode(_ values: [Int64], into writer: inout ByteWriter) {
        values.withUnsafeBufferPointer { encode($0, into: &writer) }
    }

    static func encode(_ values: UnsafeBufferPointer<Int64>, into writer: inout ByteWriter) {
        let count = values.count
        guard count > 0 else { return }

        // Frame of reference is always possible: x − min fits in 64 unsigned bits.
        var minimum = values[0]
        var maximum = values[0]
        for value in values {
            minimum = Swift.min(minimum, value)
            maximum = Swift.max(maximum, value)
        }
        let range = UInt64(bitPattern: maximum) &- UInt64(bitPattern: minimum)
        let forWidth = bitWidth(range)
        var best = (
            layout: Layout.frameOfReference, size: varintSize(zigzag(minimum)) + 1 + packedSize(count, forWidth)
        )

        let deltas = differences(values)
        let deltaPlan = deltas.flatMap { plan($0) }
        if let deltas, let deltaPlan {
            if deltaPlan.width == 0 {
                // Every step the same.
                let size = varintSize(zigzag(values[0])) + varintSize(zigzag(deltas.first ?? 0))
                if size < best.size { best = (.constantStep, size) }
            }
            let size = varintSize(zigzag(values[0])) + deltaPlan.headerSize + packedSize(count - 1, deltaPlan.width)
            if size < best.size { best = (.deltas, size) }
        }
        let secondDeltas = deltas.flatMap { deltas in deltas.withUnsafeBufferPointer { differences($0) } }
        let secondPlan = secondDeltas.flatMap { plan($0) }
        if let deltas, let secondPlan, count > 2 {
            let size =
                varintSize(zigzag(values[0])) + varintSize(zigzag(deltas[0])) + secondPlan.headerSize
                + packedSize(count - 2, secondPlan.width)
            if size < best.size { best = (.deltaOfDeltas, size) }
        }

        writer.u8(best.layout.rawValue)
        switch best.layout {
        case .constantStep:
            writer.signedVarint(values[0])
            writer.signedVarint(deltas?.first ?? 0)
        case .frameOfReference:
            writer.signedVarint(minimum)
            writer.u8(UInt8(forWidth))
            var bits = BitWriter(capacityBytes: packedSize(count, forWidth))
            for value in values {
                bits.write(UInt64(bitPattern: value) &- UInt64(bitPattern: minimum), width: forWidth)
            }
            writer.append(bits.finish())
        case .deltas:
            writer.signedVarint(values[0])
            writePacked(deltas!, deltaPlan!, into: &writer)
        case .deltaOfDeltas:
            writer.signedVarint(values[0])
            writer.signedVarint(deltas![0])
            writePacked(secondDeltas!, secondPlan!, into: &writer)
        }
    }

    /// Decodes `count` values. Arithmetic wraps instead of trapping: hostile input
    /// yields wrong numbers (which callers validate), never a crash.
    static func decode(count: Int, from reader: inout ByteReader) throws(BlobError) -> [Int64] {
        guard count > 0 else { return [] }
        guard let layout = Layout(rawValue: try reader.u8()) else { throw .corrupt("unknown integer layout") }
        var values = [Int64]()
        values.reserveCapacity(count)
        switch layout {
        case .constantStep:
            var value = try reader.signedVarint()
            let step = try reader.signedVarint()
            for _ in 0..<count {
                values.append(value)
                value = value &+ step
            }
        case .frameOfReference:
            let minimum = try reader.signedVarint()
            let width = Int(try reader.u8())
            guard width <= 64 else { throw .corrupt("bit width \(width)") }
            var bits = BitReader(try reader.bytes(packedSize(count, width)))
            for _ in 0..<count {
                values.append(Int64(bitPattern: UInt64(bitPattern: minimum) &+ (try bits.read(width: width))))
            }
        case .deltas:
            var value = try reader.signedVarint()
            values.append(value)
            try readPacked(count: count - 1, from: &reader) { delta in
                value = value &+ delta
                values.append(value)
            }
        case .deltaOfDeltas:
            var value = try reader.signedVarint()
            values.append(value)
            guard count > 1 else { break }
            var delta = try reader.signedVarint()
            value = value &+ delta
            values.append(value)
            try readPacked(count: count - 2, from: &reader) { change in
                delta = delta &+ change
                value = value &+ delta
                values.append(value)
            }
        }
        return values
    }

    /// How a column of differences is packed: offsets from the smallest one,
    /// divided by their greatest common divisor.
    private struct PackPlan {
        let minimum: Int64
        let scale: UInt64
        let width: Int
        var headerSize: Int { varintSize(zigzag(minimum)) + varintSize(scale) + 1 }
    }

    private static func plan(_ values: [Int64]) -> PackPlan? {
        guard let first = values.first else { return PackPlan(minimum: 0, scale: 1, width: 0) }
        var minimum = first
        for value in values { minimum = Swift.min(minimum, value) }
        var divisor: UInt64 = 0
        var maximumOffset: UInt64 = 0
        for value in values {
            let (offset, overflow) = value.subtractingReportingOverflow(minimum)
            if overflow { return nil }
            let unsigned = UInt64(offset)
            divisor = gcd(divisor, unsigned)
            maximumOffset = Swift.max(maximumOffset, unsigned)
        }
        let scale = Swift.max(divisor, 1)
        return PackPlan(minimum: minimum, scale: scale, width: bitWidth(maximumOffset / scale))
    }

    private static func writePacked(_ values: [Int64], _ plan: PackPlan, into writer: inout ByteWriter) {
        writer.signedVarint(plan.minimum)
        writer.varint(plan.scale)
        writer.u8(UInt8(plan.width))
        var bits = BitWriter(capacityBytes: packedSize(values.count, plan.width))
        for value in values { bits.write(UInt64(value - plan.minimum) / plan.scale, width: plan.width) }
        writer.append(bits.finish())
    }

    private static func readPacked(
        count: Int, from reader: inout ByteReader, _ body: (Int64) -> Void
    ) throws(BlobError) {
        guard count > 0 else { return }
        let minimum = try reader.signedVarint()
        let scale = try reader.varint()
        let width = Int(try reader.u8())
        guard width <= 64, scale >= 1 else { throw .corrupt("packing width \(width), scale \(scale)") }
        var bits = BitReader(try reader.bytes(packedSize(count, width)))
        for _ in 0..<count {
            body(minimum &+ Int64(bitPattern: (try bits.read(width: width)) &* scale))
        }
    }

    /// Successive differences, or `nil` if one overflows.
    private static func differences(_ values: UnsafeBufferPointer<Int64>) -> [Int64]? {
        guard values.count > 1 else { return [] }
        var result = [Int64]()
        result.reserveCapacity(values.count - 1)
        for index in 1..<values.count {
            let (difference, overflow) = values[index].subtractingReportingOverflow(values[index - 1])
            if overflow { return nil }
            result.append(difference)
        }
        return result
    }
}

@inline(__always)
func packedSize(_ count: Int, _ width: Int) -> Int { (count * width + 7) / 8 }

@inline(__always)
func varintSize(_ value: UInt64) -> Int { Swift.max(1, (bitWidth(value) + 6) / 7) }

private func gcd(_ a: UInt64, _ b: UInt64) -> UInt64 {
    var (a, b) = (a, b)
    while b != 0 { (a, b) = (b, a % b) }
    return a
}
