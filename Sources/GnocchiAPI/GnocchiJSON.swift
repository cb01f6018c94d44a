import Foundation
import WireProtocol

/// JSON as Gnocchi's API writes it: like the query protocol's writer, except
/// that NaN and infinities are the bare tokens `NaN`, `Infinity` and
/// `-Infinity` (Python's `json` writes them so, and Gnocchi's clients and
/// tests read them), where the ZeroMQ protocol writes `null`.
enum GnocchiJSON {
    /// A request body. Foundation's `JSONSerialization` (its scanner bounds
    /// nesting at 512) rather than the `Codable` path of `JSONValue.decode`,
    /// which throws and catches for every value it tries: that path was a
    /// quarter of `orzo serve`'s CPU in the REST seed workload.
    static func decode(_ bytes: [UInt8]) throws -> JSONValue {
        convert(try JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed]))
    }

    private static func convert(_ value: Any) -> JSONValue {
        switch value {
        case let string as String: return .string(string)
        case let number as NSNumber:
            // Booleans are NSNumbers of type "c" (char).
            if String(cString: number.objCType) == "c" { return .bool(number.boolValue) }
            return .number(number.doubleValue)
        case let array as [Any]: return .array(array.map(convert))
        case let object as [String: Any]: return .object(object.mapValues(convert))
        default: return .null
        }
    }

    static func encode(_ value: JSONValue) -> [UInt8] {
        var output: [UInt8] = []
        write(value, to: &output)
        return output
    }

    static func write(_ value: JSONValue, to output: inout [UInt8]) {
        switch value {
        case .number(let number) where !number.isFinite:
            output.append(contentsOf: (number.isNaN ? "NaN" : number < 0 ? "-Infinity" : "Infinity").utf8)
        case .array(let array):
            output.append(UInt8(ascii: "["))
            for (index, element) in array.enumerated() {
                if index > 0 { output.append(contentsOf: ", ".utf8) }
                write(element, to: &output)
            }
            output.append(UInt8(ascii: "]"))
        case .object(let object):
            output.append(UInt8(ascii: "{"))
            for (index, key) in object.keys.sorted().enumerated() {
                if index > 0 { output.append(contentsOf: ", ".utf8) }
                output.append(contentsOf: JSONValue.string(key).encoded())
                output.append(contentsOf: ": ".utf8)
                write(object[key]!, to: &output)
            }
            output.append(UInt8(ascii: "}"))
        default:
            output.append(contentsOf: value.encoded())
        }
    }
}

extension GnocchiJSON {
    /// A float as Python's `repr` writes it (`60.0`, `43.1`, `1e-05`, `NaN`):
    /// Gnocchi's measures are numpy floats, never integers.
    static func pythonFloat(_ value: Double) -> String {
        if !value.isFinite { return value.isNaN ? "NaN" : value < 0 ? "-Infinity" : "Infinity" }
        if value == 0 && value.sign == .minus { return "-0.0" }
        if value == value.rounded(), abs(value) < 1e16 { return "\(Int64(value)).0" }
        return value.description
    }

    /// Measure rows `[["2015-03-06T14:33:00+00:00", 60.0, 43.1], …]`, written
    /// straight into one buffer sized for them, like the ZeroMQ row writer:
    /// replies of many thousand points build no JSON tree, no string and no
    /// array per point, and a day's date is written once.
    struct MeasureRows {
        private var segments: [(timestamps: [Int64], values: [Double], granularity: [UInt8])] = []
        private var count = 0

        /// Points of one granularity (its text already written: `60.0`, `"M"`).
        mutating func append(timestamps: [Int64], values: [Double], granularity: [UInt8]) {
            precondition(timestamps.count == values.count, "one value per timestamp")
            segments.append((timestamps, values, granularity))
            count += timestamps.count
        }

        func finished() -> [UInt8] {
            // Per row at most: 4 brackets and separators, a quoted 25-byte time,
            // the granularity, and a float's 32-byte shortest text.
            let widest = segments.map(\.granularity.count).max() ?? 0
            let capacity = 2 + count * (8 + 27 + widest + 32)
            return [UInt8](unsafeUninitializedCapacity: capacity) { buffer, initialized in
                var output = RowBuffer(buffer: buffer)
                var day = Int64.min
                var dayPrefix: [UInt8] = []
                output.put(UInt8(ascii: "["))
                var first = true
                for segment in segments {
                    for (timestamp, value) in zip(segment.timestamps, segment.values) {
                        if !first { output.put(UInt8(ascii: ","), UInt8(ascii: " ")) }
                        first = false
                        output.put(UInt8(ascii: "["), UInt8(ascii: "\""))
                        // Whole seconds, truncated, as numpy's datetime_as_string(unit='s').
                        let (days, secondOfDay, _) = Timestamps.split(timestamp)
                        if days != day {
                            day = days
                            dayPrefix = []
                            Timestamps.appendDate(days, to: &dayPrefix)
                        }
                        output.put(dayPrefix)
                        Timestamps.writeTimeOfDay(secondOfDay, 0) { output.put($0) }
                        output.put(UInt8(ascii: "\""), UInt8(ascii: ","))
                        output.put(UInt8(ascii: " "))
                        output.put(segment.granularity)
                        output.put(UInt8(ascii: ","), UInt8(ascii: " "))
                        if value.isFinite, value == value.rounded(), abs(value) < 1e15,
                            !(value == 0 && value.sign == .minus)
                        {
                            JSONWriter.writeInteger(Int64(value)) { output.put($0) }
                            output.put(UInt8(ascii: "."), UInt8(ascii: "0"))
                        } else {
                            var text = GnocchiJSON.pythonFloat(value)
                            text.withUTF8 { utf8 in
                                precondition(utf8.count <= 32, "a double's shortest text fits in 32 bytes")
                                for byte in utf8 { output.put(byte) }
                            }
                        }
                        output.put(UInt8(ascii: "]"))
                    }
                }
                output.put(UInt8(ascii: "]"))
                initialized = output.position
            }
        }
    }

    /// Bytes into a buffer sized beforehand (a struct: no closure captures, so
    /// no dynamic exclusivity checks per byte).
    private struct RowBuffer {
        let buffer: UnsafeMutableBufferPointer<UInt8>
        var position = 0

        @inline(__always) mutating func put(_ byte: UInt8) {
            buffer[position] = byte
            position += 1
        }

        @inline(__always) mutating func put(_ first: UInt8, _ second: UInt8) {
            put(first)
            put(second)
        }

        @inline(__always) mutating func put(_ bytes: [UInt8]) {
            for byte in bytes { put(byte) }
        }
    }
}
