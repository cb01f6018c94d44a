/// Packs values of up to 64 bits, most significant bit first, into bytes.
struct BitWriter {
    private(set) var bytes: [UInt8] = []
    private var buffer: UInt64 = 0  // pending bits, right-aligned
    private var pending = 0  // how many bits of `buffer` are pending (< 8 between calls)

    init(capacityBytes: Int = 0) { bytes.reserveCapacity(capacityBytes) }

    /// Writes the low `width` bits of `value` (0 ≤ width ≤ 64).
    @inline(__always)
    mutating func write(_ value: UInt64, width: Int) {
        if width == 0 { return }
        if width > 56 {
            write(value >> 32, width: width - 32)
            write(value & 0xFFFF_FFFF, width: 32)
            return
        }
        let masked = width == 64 ? value : value & ((1 << UInt64(width)) - 1)
        buffer = (buffer << UInt64(width)) | masked
        pending += width
        while pending >= 8 {
            pending -= 8
            bytes.append(UInt8(truncatingIfNeeded: buffer >> UInt64(pending)))
        }
        buffer &= pending == 0 ? 0 : (1 << UInt64(pending)) - 1
    }

    /// The bytes written, the last one padded with zero bits.
    mutating func finish() -> [UInt8] {
        if pending > 0 {
            bytes.append(UInt8(truncatingIfNeeded: buffer << UInt64(8 - pending)))
            pending = 0
            buffer = 0
        }
        return bytes
    }
}

/// Reads what a ``BitWriter`` wrote, never past the end of its bytes.
struct BitReader {
    private let bytes: UnsafeRawBufferPointer
    private var bitPosition = 0

    init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    var remainingBits: Int { bytes.count * 8 - bitPosition }

    @inline(__always)
    mutating func read(width: Int) throws(BlobError) -> UInt64 {
        if width == 0 { return 0 }
        guard width <= 64, remainingBits >= width else { throw .truncated }
        var value: UInt64 = 0
        var needed = width
        while needed > 0 {
            let byte = UInt64(bytes[bitPosition >> 3])
            let offset = bitPosition & 7
            let available = 8 - offset
            let take = min(available, needed)
            let bits = (byte >> UInt64(available - take)) & ((1 << UInt64(take)) - 1)
            value = (value << UInt64(take)) | bits
            needed -= take
            bitPosition += take
        }
        return value
    }

    @inline(__always)
    mutating func readBit() throws(BlobError) -> Bool { try read(width: 1) == 1 }
}

/// Bits needed to write `value` (0 for 0).
@inline(__always)
func bitWidth(_ value: UInt64) -> Int { 64 - value.leadingZeroBitCount }
