import WireProtocol

/// JSON as Gnocchi's API writes it: like the query protocol's writer, except
/// that NaN and infinities are the bare tokens `NaN`, `Infinity` and
/// `-Infinity` (Python's `json` writes them so, and Gnocchi's clients and
/// tests read them), where the ZeroMQ protocol writes `null`.
enum GnocchiJSON {
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
    /// straight to bytes: replies of many thousand points build no JSON tree
    /// and no string per point (a day's date is written once and reused).
    struct MeasureRows {
        private(set) var bytes: [UInt8]
        private var count = 0
        private var day = Int64.min
        private var dayPrefix: [UInt8] = []

        init(capacity: Int = 0) {
            bytes = []
            bytes.reserveCapacity(2 + capacity * 48)
            bytes.append(UInt8(ascii: "["))
        }

        mutating func append(timestamp: Int64, granularity: [UInt8], value: Double) {
            if count > 0 { bytes.append(contentsOf: [UInt8(ascii: ","), UInt8(ascii: " ")]) }
            count += 1
            bytes.append(contentsOf: [UInt8(ascii: "["), UInt8(ascii: "\"")])
            // Whole seconds, truncated, as numpy's datetime_as_string(unit='s').
            let (days, secondOfDay, _) = Timestamps.split(timestamp)
            if days != day {
                day = days
                dayPrefix = []
                Timestamps.appendDate(days, to: &dayPrefix)
            }
            bytes.append(contentsOf: dayPrefix)
            Timestamps.writeTimeOfDay(secondOfDay, 0) { bytes.append($0) }
            bytes.append(contentsOf: [UInt8(ascii: "\""), UInt8(ascii: ","), UInt8(ascii: " ")])
            bytes.append(contentsOf: granularity)
            bytes.append(contentsOf: [UInt8(ascii: ","), UInt8(ascii: " ")])
            if value.isFinite, value == value.rounded(), abs(value) < 1e15, !(value == 0 && value.sign == .minus) {
                JSONWriter.writeInteger(Int64(value)) { bytes.append($0) }
                bytes.append(contentsOf: [UInt8(ascii: "."), UInt8(ascii: "0")])
            } else {
                bytes.append(contentsOf: GnocchiJSON.pythonFloat(value).utf8)
            }
            bytes.append(UInt8(ascii: "]"))
        }

        func finished() -> [UInt8] { bytes + [UInt8(ascii: "]")] }
    }
}
