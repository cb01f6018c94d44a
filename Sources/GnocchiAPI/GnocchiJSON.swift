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
