import Storage
import Timeseries

/// A metric's state: named entries (the raw buffer, splits, counters, how much
/// of the pending file was consumed), written whole by each cycle into one of
/// the metric's two slot files (StateSlots). Byte layout (docs/storage-files.md):
///
///     "OZMS" | version u8 = 2 | generation u64 LE | length u32 LE |
///     count varint | (key length varint | key | value length varint | value)* | CRC-32C u32 LE
///
/// `length` counts every byte from the magic to the CRC inclusive; a slot file
/// may be longer (it is overwritten in place, not truncated). The CRC covers the
/// generation too, so a header written over an older body of the same length
/// cannot pass. Version 1 (no generation or length, the file exactly as long as
/// the state) is still read: stores written before the slots.
struct StateFile {
    var entries: [String: [UInt8]] = [:]

    static let magic: [UInt8] = Array("OZMS".utf8)
    static let headerSize = 17

    func encode(generation: UInt64) -> [UInt8] {
        var bytes = Self.magic + [2]
        appendUInt64(generation, to: &bytes)
        appendUInt32(0, to: &bytes)  // the length, filled in below
        appendVarint(UInt64(entries.count), to: &bytes)
        for (key, value) in entries.sorted(by: { $0.key < $1.key }) {
            let keyBytes = Array(key.utf8)
            appendVarint(UInt64(keyBytes.count), to: &bytes)
            bytes += keyBytes
            appendVarint(UInt64(value.count), to: &bytes)
            bytes += value
        }
        let length = UInt32(bytes.count + 4)
        for index in 0..<4 { bytes[13 + index] = UInt8(truncatingIfNeeded: length >> UInt32(8 * index)) }
        appendUInt32(CRC32C.checksum(bytes), to: &bytes)
        return bytes
    }

    /// The generation and total length a slot's first bytes announce, or nil if
    /// they are not a version 2 header.
    static func header(_ bytes: [UInt8]) -> (generation: UInt64, length: Int)? {
        guard bytes.count >= headerSize, Array(bytes[0..<4]) == magic, bytes[4] == 2 else { return nil }
        let length = Int(readUInt32(bytes, 13))
        guard length >= headerSize + 5 else { return nil }
        return (readUInt64(bytes, 5), length)
    }

    /// Decodes a state and its generation (0 for version 1); nil if the bytes
    /// are not a whole state whose checksum holds.
    static func decode(_ bytes: [UInt8]) -> (state: StateFile, generation: UInt64)? {
        guard bytes.count >= 9, Array(bytes[0..<4]) == magic else { return nil }
        let end: Int
        let generation: UInt64
        var position: Int
        switch bytes[4] {
        case 1:
            (end, generation, position) = (bytes.count, 0, 5)
        case 2:
            guard let header = header(bytes), header.length <= bytes.count else { return nil }
            (end, generation, position) = (header.length, header.generation, headerSize)
        default:
            return nil
        }
        let bodyEnd = end - 4
        guard CRC32C.checksum(Array(bytes[0..<bodyEnd])) == readUInt32(bytes, bodyEnd) else { return nil }
        func varint() -> UInt64? {
            var value: UInt64 = 0
            var shift: UInt64 = 0
            while position < bodyEnd, shift < 64 {
                let byte = bytes[position]
                position += 1
                value |= UInt64(byte & 0x7F) << shift
                if byte & 0x80 == 0 { return value }
                shift += 7
            }
            return nil
        }
        func take(_ count: UInt64) -> [UInt8]? {
            guard count <= UInt64(bodyEnd - position) else { return nil }
            defer { position += Int(count) }
            return Array(bytes[position..<(position + Int(count))])
        }
        guard let count = varint(), count <= UInt64(bodyEnd) else { return nil }
        var file = StateFile()
        for _ in 0..<count {
            guard let keyLength = varint(), let key = take(keyLength), let valueLength = varint(),
                let value = take(valueLength)
            else { return nil }
            file.entries[String(decoding: key, as: UTF8.self)] = value
        }
        return position == bodyEnd ? (file, generation) : nil
    }
}

func appendVarint(_ value: UInt64, to bytes: inout [UInt8]) {
    var value = value
    while value >= 0x80 {
        bytes.append(UInt8(truncatingIfNeeded: value) | 0x80)
        value >>= 7
    }
    bytes.append(UInt8(value))
}

/// The state slot's decoder, for tools that check stored bytes from outside
/// the store (the fuzzer, and `orzo check` later): the entries of a slot, or nil
/// if the bytes are not a whole state whose checksum holds. Never traps.
public enum StateSlotFormat {
    public static func decode(_ bytes: [UInt8]) -> (entries: [String: [UInt8]], generation: UInt64)? {
        StateFile.decode(bytes).map { ($0.state.entries, $0.generation) }
    }

    /// A slot's bytes for these entries (the fuzzer's seeds).
    public static func encode(_ entries: [String: [UInt8]], generation: UInt64) -> [UInt8] {
        StateFile(entries: entries).encode(generation: generation)
    }

    /// `body` (entry count and entries, as stored) wrapped in a version 2 header and
    /// a checksum that holds: what a fuzzer needs to get past the checksum.
    public static func wrap(_ body: [UInt8], generation: UInt64) -> [UInt8] {
        var bytes = StateFile.magic + [2]
        appendUInt64(generation, to: &bytes)
        appendUInt32(UInt32(truncatingIfNeeded: StateFile.headerSize + body.count + 4), to: &bytes)
        bytes += body
        appendUInt32(CRC32C.checksum(bytes), to: &bytes)
        return bytes
    }
}
