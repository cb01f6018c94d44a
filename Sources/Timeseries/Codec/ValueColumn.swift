/// Encodes a column of doubles, bit-exactly (including -0.0, NaN payloads,
/// infinities and subnormals), in whichever layout fits:
///
/// - `constant`: one value for all;
/// - `decimal`: every value is an integer m divided by 10^k with |m| < 2^53 that
///   converts back bit-exactly; the mantissas go through ``IntegerColumn``
///   (gauges with a few decimals, counters);
/// - `xor`: Gorilla's XOR with the previous value, with the window of meaningful
///   bits reused when it fits;
/// - `raw`: 8 bytes per value, when nothing else is smaller (random doubles).
enum ValueColumn {
    enum Layout: UInt8 {
        case constant = 0
        case decimal = 1
        case xor = 2
        case raw = 3
    }

    /// The largest power of ten tried for the decimal layout.
    static let maximumDecimalExponent = 9
    private static let powersOfTen: [Double] = (0...maximumDecimalExponent).map { exponent in
        var value = 1.0
        for _ in 0..<exponent { value *= 10 }
        return value
    }

    static func encode(_ values: [Double], into writer: inout ByteWriter) {
        values.withUnsafeBufferPointer { encode($0, into: &writer) }
    }

    static func encode(_ values: UnsafeBufferPointer<Double>, into writer: inout ByteWriter) {
        guard let first = values.first else { return }
        if values.allSatisfy({ $0.bitPattern == first.bitPattern }) {
            writer.u8(Layout.constant.rawValue)
            writer.u64(first.bitPattern)
            return
        }
        if let exponent = decimalExponent(values) {
            let scale = powersOfTen[exponent]
            var mantissas = [Int64]()
            mantissas.reserveCapacity(values.count)
            for value in values { mantissas.append(Int64((value * scale).rounded())) }
            var candidate = ByteWriter(capacity: values.count * 2 + 16)
            candidate.u8(Layout.decimal.rawValue)
            candidate.u8(UInt8(exponent))
            IntegerColumn.encode(mantissas, into: &candidate)
            if candidate.bytes.count < 1 + values.count * 8 {
                writer.append(candidate.bytes)
                return
            }
        }
        let xor = encodeXOR(values)
        if xor.count < values.count * 8 {
            writer.u8(Layout.xor.rawValue)
            writer.append(xor)
        } else {
            writer.u8(Layout.raw.rawValue)
            for value in values { writer.u64(value.bitPattern) }
        }
    }

    static func decode(count: Int, from reader: inout ByteReader) throws(BlobError) -> [Double] {
        guard count > 0 else { return [] }
        guard let layout = Layout(rawValue: try reader.u8()) else { throw .corrupt("unknown value layout") }
        switch layout {
        case .constant:
            return [Double](repeating: Double(bitPattern: try reader.u64()), count: count)
        case .decimal:
            let exponent = Int(try reader.u8())
            guard exponent <= maximumDecimalExponent else { throw .corrupt("decimal exponent \(exponent)") }
            let scale = powersOfTen[exponent]
            return try IntegerColumn.decode(count: count, from: &reader).map { Double($0) / scale }
        case .xor:
            return try decodeXOR(count: count, from: &reader)
        case .raw:
            var values = [Double]()
            values.reserveCapacity(count)
            for _ in 0..<count { values.append(Double(bitPattern: try reader.u64())) }
            return values
        }
    }

    /// The smallest k for which every value is m / 10^k exactly, or `nil`.
    private static func decimalExponent(_ values: UnsafeBufferPointer<Double>) -> Int? {
        var exponent = 0
        for value in values {
            while !roundTrips(value, exponent) {
                exponent += 1
                if exponent > maximumDecimalExponent { return nil }
            }
        }
        // Values checked at a smaller exponent must hold at the final one too.
        for value in values where !roundTrips(value, exponent) { return nil }
        return exponent
    }

    @inline(__always)
    private static func roundTrips(_ value: Double, _ exponent: Int) -> Bool {
        let scale = powersOfTen[exponent]
        let scaled = (value * scale).rounded()
        guard abs(scaled) < 9_007_199_254_740_992 else { return false }  // 2^53: exact in a double
        return (Double(Int64(scaled)) / scale).bitPattern == value.bitPattern
    }

    private static func encodeXOR(_ values: UnsafeBufferPointer<Double>) -> [UInt8] {
        var bits = BitWriter(capacityBytes: values.count * 4)
        var previous = values[0].bitPattern
        bits.write(previous, width: 64)
        var windowLeading = -1
        var windowTrailing = 0
        for index in 1..<values.count {
            let current = values[index].bitPattern
            let xor = current ^ previous
            previous = current
            if xor == 0 {
                bits.write(0, width: 1)
                continue
            }
            let leading = Swift.min(xor.leadingZeroBitCount, 63)
            let trailing = xor.trailingZeroBitCount
            if windowLeading >= 0 && leading >= windowLeading && trailing >= windowTrailing {
                bits.write(0b10, width: 2)
                bits.write(xor >> UInt64(windowTrailing), width: 64 - windowLeading - windowTrailing)
            } else {
                let length = 64 - leading - trailing
                bits.write(0b11, width: 2)
                bits.write(UInt64(leading), width: 6)
                bits.write(UInt64(length - 1), width: 6)
                bits.write(xor >> UInt64(trailing), width: length)
                windowLeading = leading
                windowTrailing = trailing
            }
        }
        return bits.finish()
    }

    private static func decodeXOR(count: Int, from reader: inout ByteReader) throws(BlobError) -> [Double] {
        // The XOR stream is the rest of the column; its length is not stored, so
        // read from what remains and account for what was consumed.
        let remaining = try reader.bytes(reader.remaining)
        var bits = BitReader(remaining)
        var values = [Double]()
        values.reserveCapacity(count)
        var previous = try bits.read(width: 64)
        values.append(Double(bitPattern: previous))
        var windowLeading = -1
        var windowTrailing = 0
        for _ in 1..<count {
            if try bits.readBit() {
                if try bits.readBit() {
                    let leading = Int(try bits.read(width: 6))
                    let length = Int(try bits.read(width: 6)) + 1
                    guard leading + length <= 64 else { throw .corrupt("XOR window \(leading)+\(length)") }
                    windowLeading = leading
                    windowTrailing = 64 - leading - length
                } else if windowLeading < 0 {
                    throw .corrupt("XOR window reused before it was set")
                }
                let meaningful = try bits.read(width: 64 - windowLeading - windowTrailing)
                previous ^= meaningful << UInt64(windowTrailing)
            }
            values.append(Double(bitPattern: previous))
        }
        return values
    }
}
