import Foundation
import WireProtocol

/// Reads the points of a reply (`{"measures": [["2026-…+00:00", 60, 1.5], …]}`)
/// straight from the bytes. A generic JSON decoder costs more than the
/// server's whole answer for replies of many thousand points; this scanner
/// knows the one shape and gives up (nil) on anything else, for the generic
/// path to handle.
enum PointRowsParser {
    static func parse(_ body: [UInt8], key: String) -> [OrzoClient.Point]? {
        body.withUnsafeBufferPointer { buffer -> [OrzoClient.Point]? in
            var scanner = Scanner(bytes: buffer)
            let opening = Array("{\"\(key)\":".utf8)
            guard scanner.consume(opening) else { return nil }
            return scanner.rows()
        }
    }

    private struct Scanner {
        let bytes: UnsafeBufferPointer<UInt8>
        var position = 0

        init(bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

        mutating func skipSpaces() {
            while position < bytes.count, [32, 9, 10, 13].contains(bytes[position]) { position += 1 }
        }

        mutating func consume(_ expected: [UInt8]) -> Bool {
            skipSpaces()
            guard position + expected.count <= bytes.count else { return false }
            for (offset, byte) in expected.enumerated() where bytes[position + offset] != byte { return false }
            position += expected.count
            return true
        }

        mutating func consume(_ byte: UInt8) -> Bool {
            skipSpaces()
            guard position < bytes.count, bytes[position] == byte else { return false }
            position += 1
            return true
        }

        /// A number (exact: strtod rounds correctly), or nil for `null`.
        mutating func number() -> Double?? {
            skipSpaces()
            if consume(Array("null".utf8)) { return .some(nil) }
            guard position < bytes.count else { return nil }
            // The body ends with "]}", so strtod always stops inside the buffer.
            let start = bytes.baseAddress! + position
            var end: UnsafeMutablePointer<CChar>?
            let value = start.withMemoryRebound(to: CChar.self, capacity: bytes.count - position) {
                strtod($0, &end)
            }
            guard let end else { return nil }
            let length = UnsafeRawPointer(end) - UnsafeRawPointer(start)
            guard length > 0 else { return nil }
            position += length
            return .some(value)
        }

        mutating func rows() -> [OrzoClient.Point]? {
            guard consume(UInt8(ascii: "[")) else { return nil }
            var points: [OrzoClient.Point] = []
            if consume(UInt8(ascii: "]")) { return points }
            repeat {
                guard consume(UInt8(ascii: "[")), consume(UInt8(ascii: "\"")) else { return nil }
                let start = position
                while position < bytes.count, bytes[position] != UInt8(ascii: "\"") { position += 1 }
                guard position < bytes.count,
                    let timestamp = Timestamps.parseISO8601(
                        bytes: UnsafeBufferPointer(rebasing: bytes[start..<position]))
                else { return nil }
                position += 1
                guard consume(UInt8(ascii: ",")), let granularity = number(), let granularity,
                    consume(UInt8(ascii: ",")), let value = number(), consume(UInt8(ascii: "]"))
                else { return nil }
                points.append(OrzoClient.Point(timestamp: timestamp, granularity: granularity, value: value))
            } while consume(UInt8(ascii: ","))
            guard consume(UInt8(ascii: "]")) else { return nil }
            return points
        }
    }
}
