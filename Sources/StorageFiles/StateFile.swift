import Storage
import Timeseries

/// A metric's state file: named entries (the raw buffer, splits, counters, how
/// much of the pending file was consumed), replaced whole and atomically by each
/// cycle. Byte layout (docs/storage-files.md):
///
///     "OZMS" | version u8 = 1 | count varint | (key length varint | key | value length varint | value)* | CRC-32C u32 LE
struct StateFile {
    var entries: [String: [UInt8]] = [:]

    static let magic: [UInt8] = Array("OZMS".utf8)

    func encode() -> [UInt8] {
        var bytes = Self.magic + [1]
        appendVarint(UInt64(entries.count), to: &bytes)
        for (key, value) in entries.sorted(by: { $0.key < $1.key }) {
            let keyBytes = Array(key.utf8)
            appendVarint(UInt64(keyBytes.count), to: &bytes)
            bytes += keyBytes
            appendVarint(UInt64(value.count), to: &bytes)
            bytes += value
        }
        let crc = CRC32C.checksum(bytes)
        for shift in stride(from: 0, to: 32, by: 8) { bytes.append(UInt8(truncatingIfNeeded: crc >> UInt32(shift))) }
        return bytes
    }

    static func decode(_ bytes: [UInt8]) -> StateFile? {
        guard bytes.count >= 9, Array(bytes[0..<4]) == magic, bytes[4] == 1 else { return nil }
        let body = Array(bytes[0..<(bytes.count - 4)])
        let stored = bytes.suffix(4).enumerated().reduce(UInt32(0)) { $0 | UInt32($1.element) << UInt32(8 * $1.offset) }
        guard CRC32C.checksum(body) == stored else { return nil }
        var position = 5
        func varint() -> UInt64? {
            var value: UInt64 = 0
            var shift: UInt64 = 0
            while position < body.count, shift < 64 {
                let byte = body[position]
                position += 1
                value |= UInt64(byte & 0x7F) << shift
                if byte & 0x80 == 0 { return value }
                shift += 7
            }
            return nil
        }
        func take(_ count: UInt64) -> [UInt8]? {
            guard count <= UInt64(body.count - position) else { return nil }
            defer { position += Int(count) }
            return Array(body[position..<(position + Int(count))])
        }
        guard let count = varint(), count <= UInt64(body.count) else { return nil }
        var file = StateFile()
        for _ in 0..<count {
            guard let keyLength = varint(), let key = take(keyLength), let valueLength = varint(),
                let value = take(valueLength)
            else { return nil }
            file.entries[String(decoding: key, as: UTF8.self)] = value
        }
        return position == body.count ? file : nil
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
