import Foundation

/// Writes JSON with doubles in their shortest exact form (Swift's `description`),
/// so every value a client reads back is bit-identical to the stored one
/// (Foundation's JSONSerialization rounds doubles to fewer digits). NaN and
/// infinities become null. Keys are sorted, for stable output.
public enum JSONWriter {
    public static func encode(_ value: Any) -> [UInt8] {
        var output = ""
        write(value, to: &output)
        return Array(output.utf8)
    }

    private static func write(_ value: Any, to output: inout String) {
        switch value {
        case is NSNull:
            output += "null"
        case let bool as Bool:
            output += bool ? "true" : "false"
        case let int as Int:
            output += String(int)
        case let int as Int64:
            output += String(int)
        case let double as Double:
            if !double.isFinite {
                output += "null"
            } else if double == double.rounded() && abs(double) < 1e15 {
                output += String(Int64(double))  // 300 rather than 300.0
            } else {
                output += double.description  // the shortest text that reads back to the same bits
            }
        case let number as NSNumber:
            let type = String(cString: number.objCType)
            if type == "d" || type == "f" {
                write(number.doubleValue, to: &output)
            } else {
                output += number.stringValue
            }
        case let string as String:
            writeString(string, to: &output)
        case let array as [Any]:
            output += "["
            for (index, element) in array.enumerated() {
                if index > 0 { output += "," }
                write(element, to: &output)
            }
            output += "]"
        case let dictionary as [String: Any]:
            output += "{"
            for (index, key) in dictionary.keys.sorted().enumerated() {
                if index > 0 { output += "," }
                writeString(key, to: &output)
                output += ":"
                write(dictionary[key]!, to: &output)
            }
            output += "}"
        case let optional as Any? where optional == nil:
            output += "null"
        default:
            writeString(String(describing: value), to: &output)
        }
    }

    private static func writeString(_ string: String, to output: inout String) {
        output += "\""
        for scalar in string.unicodeScalars {
            switch scalar {
            case "\"": output += "\\\""
            case "\\": output += "\\\\"
            case "\n": output += "\\n"
            case "\r": output += "\\r"
            case "\t": output += "\\t"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F {
                    let hex = String(scalar.value, radix: 16)
                    output += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    output.unicodeScalars.append(scalar)
                }
            }
        }
        output += "\""
    }
}
