import Foundation
import Timeseries

/// Reads the points of a reply (`{"measures": [["2026-…+00:00", 60, 1.5], …]}`)
/// straight from the bytes. A generic JSON decoder costs more than the
/// server's whole answer for replies of many thousand points; this scanner
/// knows the one shape and gives up (nil) on anything else, for the generic
/// path to handle.
enum PointRowsParser {
    static func parse(_ body: [UInt8], key: String) -> [MeasurePoint]? {
        body.withUnsafeBufferPointer { buffer -> [MeasurePoint]? in
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
            while position < bytes.count {
                switch bytes[position] {
                case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\n"), UInt8(ascii: "\r"): position += 1
                default: return
                }
            }
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

        /// The server's own form, "YYYY-MM-DDTHH:MM:SS[.fraction]+00:00", read in place
        /// (the day reused while it does not change); anything else through the general parser.
        mutating func timestamp(_ range: Range<Int>) -> Int64? {
            let text = UnsafeBufferPointer(rebasing: bytes[range])
            func digits(_ from: Int, _ count: Int) -> Int64? {
                var value: Int64 = 0
                for index in from..<(from + count) {
                    let digit = text[index] &- 48
                    guard digit < 10 else { return nil }
                    value = value * 10 + Int64(digit)
                }
                return value
            }
            guard text.count >= 25, text[10] == UInt8(ascii: "T"), text[13] == UInt8(ascii: ":"),
                text[16] == UInt8(ascii: ":"), text[text.count - 6] == UInt8(ascii: "+"),
                text[text.count - 5] == UInt8(ascii: "0"), text[text.count - 4] == UInt8(ascii: "0"),
                text[text.count - 2] == UInt8(ascii: "0"), text[text.count - 1] == UInt8(ascii: "0"),
                let hour = digits(11, 2), let minute = digits(14, 2), let second = digits(17, 2)
            else { return Timestamps.parseISO8601(bytes: text) }
            var nanos: Int64 = 0
            if text.count > 25 {
                guard text[19] == UInt8(ascii: "."), text.count - 26 <= 9, let fraction = digits(20, text.count - 26)
                else { return Timestamps.parseISO8601(bytes: text) }
                nanos = fraction
                for _ in 0..<(9 - (text.count - 26)) { nanos *= 10 }
            }
            if dayText.isEmpty || !(0..<10).allSatisfy({ text[$0] == dayText[$0] }) {
                guard let year = digits(0, 4), text[4] == UInt8(ascii: "-"), let month = digits(5, 2),
                    text[7] == UInt8(ascii: "-"), let day = digits(8, 2)
                else { return Timestamps.parseISO8601(bytes: text) }
                dayText = Array(text[0..<10])
                dayStart = CivilDate.days(year, month, day) * 86_400
            }
            return (dayStart + hour * 3600 + minute * 60 + second) * 1_000_000_000 + nanos
        }

        var dayText: [UInt8] = []
        var dayStart: Int64 = 0

        mutating func rows() -> [MeasurePoint]? {
            guard consume(UInt8(ascii: "[")) else { return nil }
            var points: [MeasurePoint] = []
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
                points.append(MeasurePoint(timestamp: timestamp, granularity: granularity, value: value))
            } while consume(UInt8(ascii: ","))
            guard consume(UInt8(ascii: "]")) else { return nil }
            return points
        }
    }
}
