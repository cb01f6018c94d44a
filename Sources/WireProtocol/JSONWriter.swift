import Foundation
import Timeseries

/// Writes JSON with doubles in their shortest exact form (Swift's `description`),
/// so every value a client reads back is bit-identical to the stored one
/// (Foundation's JSONSerialization rounds doubles to fewer digits). NaN and
/// infinities become null. Keys are sorted, for stable output.
///
/// Written straight into bytes. The large parts of replies (a metric's points)
/// come as ``JSONFragment``s made by ``pointRows(timestamps:granularity:values:)``,
/// which never box a value in `Any`.
public enum JSONWriter {
    public static func encode(_ value: Any) -> [UInt8] {
        var output: [UInt8] = []
        write(value, to: &output)
        return output
    }

    /// `[["2026-…+00:00", 60, 1.5], …]`: points as the protocol sends them.
    /// The hot path of large replies: written into one preallocated buffer, the
    /// date part of a timestamp reused while points stay on the same day.
    public static func pointRows(timestamps: [Int64], granularity: Double, values: [Double]) -> JSONFragment {
        precondition(timestamps.count == values.count, "a value per timestamp")
        var granularityText: [UInt8] = []
        appendDouble(granularity, to: &granularityText)
        // Per row: [" + timestamp (at most 36) + ", + granularity + , + value (at most 24, or more
        // for a value written by `description`, hence the check below) + ] + ,
        let rowLimit = 2 + 36 + 2 + granularityText.count + 1 + 32 + 2
        let bytes = [UInt8](unsafeUninitializedCapacity: 2 + timestamps.count * rowLimit) { buffer, count in
            var writer = RowWriter(buffer: buffer)
            writer.put(UInt8(ascii: "["))
            for index in timestamps.indices {
                if index > 0 { writer.put(UInt8(ascii: ",")) }
                writer.put(UInt8(ascii: "["))
                writer.put(UInt8(ascii: "\""))
                writer.timestamp(timestamps[index])
                writer.put(UInt8(ascii: "\""))
                writer.put(UInt8(ascii: ","))
                writer.put(granularityText)
                writer.put(UInt8(ascii: ","))
                writer.double(values[index])
                writer.put(UInt8(ascii: "]"))
            }
            writer.put(UInt8(ascii: "]"))
            count = writer.position
        }
        return JSONFragment(bytes: bytes)
    }

    /// Concatenates arrays written as fragments into one array.
    public static func concatenate(_ arrays: [JSONFragment]) -> JSONFragment {
        var output: [UInt8] = [UInt8(ascii: "[")]
        var first = true
        for array in arrays where array.bytes.count > 2 {
            if !first { output.append(UInt8(ascii: ",")) }
            output.append(contentsOf: array.bytes.dropFirst().dropLast())
            first = false
        }
        output.append(UInt8(ascii: "]"))
        return JSONFragment(bytes: output)
    }

    static func appendDouble(_ double: Double, to output: inout [UInt8]) {
        if !double.isFinite {
            output.append(contentsOf: "null".utf8)
        } else if double == double.rounded() && abs(double) < 1e15 {
            appendInteger(Int64(double), to: &output)  // 300 rather than 300.0
        } else {
            output.append(contentsOf: double.description.utf8)  // the shortest text that reads back to the same bits
        }
    }

    static func appendInteger(_ value: Int64, to output: inout [UInt8]) {
        if value < 0 { output.append(UInt8(ascii: "-")) }
        var magnitude = value.magnitude
        var divisor: UInt64 = 1
        while divisor <= magnitude / 10 { divisor *= 10 }
        repeat {
            output.append(UInt8(truncatingIfNeeded: 48 + magnitude / divisor))
            magnitude %= divisor
            divisor /= 10
        } while divisor > 0
    }

    private static func write(_ value: Any, to output: inout [UInt8]) {
        switch value {
        case let fragment as JSONFragment:
            output.append(contentsOf: fragment.bytes)
        case is NSNull:
            output.append(contentsOf: "null".utf8)
        case let bool as Bool:
            output.append(contentsOf: (bool ? "true" : "false").utf8)
        case let int as Int:
            appendInteger(Int64(int), to: &output)
        case let int as Int64:
            appendInteger(int, to: &output)
        case let double as Double:
            appendDouble(double, to: &output)
        case let number as NSNumber:
            let type = String(cString: number.objCType)
            if type == "d" || type == "f" {
                appendDouble(number.doubleValue, to: &output)
            } else {
                output.append(contentsOf: number.stringValue.utf8)
            }
        case let string as String:
            writeString(string, to: &output)
        case let array as [Any]:
            output.append(UInt8(ascii: "["))
            for (index, element) in array.enumerated() {
                if index > 0 { output.append(UInt8(ascii: ",")) }
                write(element, to: &output)
            }
            output.append(UInt8(ascii: "]"))
        case let dictionary as [String: Any]:
            output.append(UInt8(ascii: "{"))
            for (index, key) in dictionary.keys.sorted().enumerated() {
                if index > 0 { output.append(UInt8(ascii: ",")) }
                writeString(key, to: &output)
                output.append(UInt8(ascii: ":"))
                write(dictionary[key]!, to: &output)
            }
            output.append(UInt8(ascii: "}"))
        case let optional as Any? where optional == nil:
            output.append(contentsOf: "null".utf8)
        default:
            writeString(String(describing: value), to: &output)
        }
    }

    private static func writeString(_ string: String, to output: inout [UInt8]) {
        output.append(UInt8(ascii: "\""))
        for byte in string.utf8 {
            switch byte {
            case UInt8(ascii: "\""): output.append(contentsOf: "\\\"".utf8)
            case UInt8(ascii: "\\"): output.append(contentsOf: "\\\\".utf8)
            case UInt8(ascii: "\n"): output.append(contentsOf: "\\n".utf8)
            case UInt8(ascii: "\r"): output.append(contentsOf: "\\r".utf8)
            case UInt8(ascii: "\t"): output.append(contentsOf: "\\t".utf8)
            case 0..<0x20, 0x7F:
                let hex = String(byte, radix: 16)
                output.append(contentsOf: ("\\u" + String(repeating: "0", count: 4 - hex.count) + hex).utf8)
            default:
                output.append(byte)  // UTF-8 passes through: multi-byte sequences never hold these bytes
            }
        }
        output.append(UInt8(ascii: "\""))
    }
}

/// JSON text written ahead, put in place as is by ``JSONWriter``.
public struct JSONFragment: @unchecked Sendable {
    public let bytes: [UInt8]

    public init(bytes: [UInt8]) { self.bytes = bytes }
}

/// Writes rows of points into a buffer sized for them (see `pointRows`).
private struct RowWriter {
    let buffer: UnsafeMutableBufferPointer<UInt8>
    var position = 0
    /// "YYYY-MM-DDT" of `day`, the last day written.
    var day = Int64.min
    var dayPrefix: [UInt8] = []

    init(buffer: UnsafeMutableBufferPointer<UInt8>) { self.buffer = buffer }

    @inline(__always) mutating func put(_ byte: UInt8) {
        buffer[position] = byte
        position += 1
    }

    @inline(__always) mutating func put(_ bytes: [UInt8]) {
        for byte in bytes { put(byte) }
    }

    @inline(__always) mutating func twoDigits(_ value: Int64) {
        put(UInt8(truncatingIfNeeded: 48 + value / 10))
        put(UInt8(truncatingIfNeeded: 48 + value % 10))
    }

    mutating func timestamp(_ timestamp: Int64) {
        var seconds = timestamp / nanosecondsPerSecond
        var nanos = timestamp % nanosecondsPerSecond
        if nanos < 0 {
            nanos += nanosecondsPerSecond
            seconds -= 1
        }
        var days = seconds / 86_400
        var secondOfDay = seconds % 86_400
        if secondOfDay < 0 {
            secondOfDay += 86_400
            days -= 1
        }
        if days != day {
            day = days
            dayPrefix = []
            Timestamps.append(days * 86_400 * nanosecondsPerSecond, to: &dayPrefix)
            dayPrefix.removeLast(dayPrefix.count - (dayPrefix.firstIndex(of: UInt8(ascii: "T"))! + 1))
        }
        put(dayPrefix)
        twoDigits(secondOfDay / 3600)
        put(UInt8(ascii: ":"))
        twoDigits(secondOfDay / 60 % 60)
        put(UInt8(ascii: ":"))
        twoDigits(secondOfDay % 60)
        if nanos > 0 {
            var fraction = nanos
            var width = 9
            while fraction % 10 == 0 {
                fraction /= 10
                width -= 1
            }
            put(UInt8(ascii: "."))
            var divisor: Int64 = 1
            for _ in 1..<width { divisor *= 10 }
            while divisor > 0 {
                put(UInt8(truncatingIfNeeded: 48 + fraction / divisor % 10))
                divisor /= 10
            }
        }
        for byte in "+00:00".utf8 { put(byte) }
    }

    mutating func double(_ value: Double) {
        if !value.isFinite {
            for byte in "null".utf8 { put(byte) }
        } else if value == value.rounded() && abs(value) < 1e15 {
            var integer = Int64(value)
            if integer < 0 {
                put(UInt8(ascii: "-"))
                integer = -integer
            }
            var divisor: Int64 = 1
            while divisor <= integer / 10 { divisor *= 10 }
            repeat {
                put(UInt8(truncatingIfNeeded: 48 + integer / divisor))
                integer %= divisor
                divisor /= 10
            } while divisor > 0
        } else {
            var text = value.description
            text.withUTF8 { utf8 in
                precondition(utf8.count <= 32, "a double's shortest text fits in 32 bytes")
                for byte in utf8 { put(byte) }
            }
        }
    }
}
