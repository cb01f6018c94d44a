import Foundation

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
    public static func pointRows(timestamps: [Int64], granularity: Double, values: [Double]) -> JSONFragment {
        var output: [UInt8] = []
        output.reserveCapacity(timestamps.count * 48)
        var granularityText: [UInt8] = []
        appendDouble(granularity, to: &granularityText)
        output.append(UInt8(ascii: "["))
        for index in timestamps.indices {
            if index > 0 { output.append(UInt8(ascii: ",")) }
            output.append(contentsOf: "[\"".utf8)
            Timestamps.append(timestamps[index], to: &output)
            output.append(contentsOf: "\",".utf8)
            output.append(contentsOf: granularityText)
            output.append(UInt8(ascii: ","))
            appendDouble(values[index], to: &output)
            output.append(UInt8(ascii: "]"))
        }
        output.append(UInt8(ascii: "]"))
        return JSONFragment(bytes: output)
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
