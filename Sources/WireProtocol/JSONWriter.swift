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

    /// Points of one granularity: parallel timestamps and values.
    public struct PointSegment: Sendable {
        public let timestamps: [Int64]
        public let granularity: Double
        public let values: [Double]
        /// Calendar resampling: the period's letter is written in place of the granularity.
        public let period: CalendarPeriod?

        public init(timestamps: [Int64], granularity: Double, values: [Double], period: CalendarPeriod? = nil) {
            precondition(timestamps.count == values.count, "a value per timestamp")
            self.timestamps = timestamps
            self.granularity = granularity
            self.values = values
            self.period = period
        }
    }

    /// `[["2026-…+00:00", 60, 1.5], …]`: points as the protocol sends them.
    public static func pointRows(timestamps: [Int64], granularity: Double, values: [Double]) -> JSONFragment {
        pointRows([PointSegment(timestamps: timestamps, granularity: granularity, values: values)])
    }

    /// The rows of several segments as one array, in order. The hot path of large
    /// replies: written once into one preallocated buffer, the date part of a
    /// timestamp reused while points stay on the same day.
    public static func pointRows(_ segments: [PointSegment]) -> JSONFragment {
        let granularityTexts = segments.map { segment in
            if let period = segment.period { return Array("\"\(period.rawValue)\"".utf8) }
            var text: [UInt8] = []
            appendDouble(segment.granularity, to: &text)
            return text
        }
        // Per row: [" + timestamp (at most 36) + ", + granularity + , + value (at most 32,
        // checked where it is written) + ] + ,
        let capacity = zip(segments, granularityTexts).reduce(2) {
            $0 + $1.0.timestamps.count * (2 + 36 + 2 + $1.1.count + 1 + 32 + 2)
        }
        let bytes = [UInt8](unsafeUninitializedCapacity: capacity) { buffer, count in
            var writer = RowWriter(buffer: buffer)
            writer.put(UInt8(ascii: "["))
            var first = true
            for (segment, granularityText) in zip(segments, granularityTexts) {
                for index in segment.timestamps.indices {
                    if !first { writer.put(UInt8(ascii: ",")) }
                    first = false
                    writer.put(UInt8(ascii: "["))
                    writer.put(UInt8(ascii: "\""))
                    writer.timestamp(segment.timestamps[index])
                    writer.put(UInt8(ascii: "\""))
                    writer.put(UInt8(ascii: ","))
                    writer.put(granularityText)
                    writer.put(UInt8(ascii: ","))
                    writer.double(segment.values[index])
                    writer.put(UInt8(ascii: "]"))
                }
            }
            writer.put(UInt8(ascii: "]"))
            count = writer.position
        }
        return JSONFragment(bytes: bytes)
    }

    static func appendDouble(_ double: Double, to output: inout [UInt8]) {
        if !double.isFinite {
            output.append(contentsOf: "null".utf8)
        } else if double == 0 && double.sign == .minus {
            output.append(contentsOf: "-0.0".utf8)  // the integer form would lose the sign
        } else if double == double.rounded() && abs(double) < 1e15 {
            appendInteger(Int64(double), to: &output)  // 300 rather than 300.0
        } else {
            output.append(contentsOf: double.description.utf8)  // the shortest text that reads back to the same bits
        }
    }

    static func appendInteger(_ value: Int64, to output: inout [UInt8]) {
        writeInteger(value) { output.append($0) }
    }

    /// The decimal digits of `value`, one byte at a time to `put`.
    @inline(__always)
    public static func writeInteger(_ value: Int64, _ put: (UInt8) -> Void) {
        if value < 0 { put(UInt8(ascii: "-")) }
        var magnitude = value.magnitude
        var divisor: UInt64 = 1
        while divisor <= magnitude / 10 { divisor *= 10 }
        repeat {
            put(UInt8(truncatingIfNeeded: 48 + magnitude / divisor))
            magnitude %= divisor
            divisor /= 10
        } while divisor > 0
    }

    private static func isNonBooleanNumber(_ value: Any) -> Bool {
        guard let number = value as? NSNumber else { return false }
        return String(cString: number.objCType) != "c"
    }

    private static func write(_ value: Any, to output: inout [UInt8]) {
        switch value {
        case let fragment as JSONFragment:
            output.append(contentsOf: fragment.bytes)
        case let json as JSONValue:
            json.write(to: &output)
        case is NSNull:
            output.append(contentsOf: "null".utf8)
        // On Linux an NSNumber read by JSONSerialization casts to Bool even when the
        // text was a number (0 printed as false): only a boolean's stored type counts.
        case let bool as Bool where !isNonBooleanNumber(value):
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

    static func writeString(_ string: String, to output: inout [UInt8]) {
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

    mutating func timestamp(_ timestamp: Int64) {
        let (days, secondOfDay, nanos) = Timestamps.split(timestamp)
        if days != day {
            day = days
            dayPrefix = []
            Timestamps.appendDate(days, to: &dayPrefix)
        }
        put(dayPrefix)
        Timestamps.writeTimeOfDay(secondOfDay, nanos) { put($0) }
    }

    mutating func double(_ value: Double) {
        if !value.isFinite {
            for byte in "null".utf8 { put(byte) }
        } else if value == 0 && value.sign == .minus {
            for byte in "-0.0".utf8 { put(byte) }  // the integer form would lose the sign
        } else if value == value.rounded() && abs(value) < 1e15 {
            JSONWriter.writeInteger(Int64(value)) { put($0) }
        } else {
            var text = value.description
            text.withUTF8 { utf8 in
                precondition(utf8.count <= 32, "a double's shortest text fits in 32 bytes")
                for byte in utf8 { put(byte) }
            }
        }
    }
}
