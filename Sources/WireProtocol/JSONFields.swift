import Timeseries

/// Strict reading of one JSON object's fields: each read names its field and
/// its allowed type and range in the error, and ``finish()`` refuses any field
/// that was not read. Nothing is silently defaulted: an optional field that is
/// absent (or `null`) is nil, one that is present must be right.
struct JSONFields {
    /// Where the object sits in the request, for messages: "" at the top, "definition[1]." inside.
    let path: String
    private let object: [String: JSONValue]
    private var read: Set<String> = []

    init(_ value: JSONValue, path: String = "", what: String = "the request") throws(ProtocolError) {
        guard case .object(let object) = value else {
            throw ProtocolError(.badRequest, "\(what) must be a JSON object")
        }
        self.path = path
        self.object = object
    }

    private func name(_ key: String) -> String { "\"\(path)\(key)\"" }

    private func bad(_ key: String, _ expectation: String) -> ProtocolError {
        ProtocolError(.badRequest, "\(name(key)) must be \(expectation)")
    }

    /// The field's value; nil when absent or null.
    private mutating func value(_ key: String) -> JSONValue? {
        read.insert(key)
        guard let value = object[key], value != .null else { return nil }
        return value
    }

    /// Refuses the fields nobody asked for.
    func finish() throws(ProtocolError) {
        let unknown = object.keys.filter { !read.contains($0) }.sorted()
        guard unknown.isEmpty else {
            let names = unknown.prefix(5).map { "\"\(path)\(ProtocolError.printable($0))\"" }.joined(separator: ", ")
            throw ProtocolError(.badRequest, "unknown field\(unknown.count == 1 ? "" : "s") \(names)")
        }
    }

    // MARK: Strings

    mutating func string(_ key: String, maxBytes: Int = 255) throws(ProtocolError) -> String {
        guard let text = try optionalString(key, maxBytes: maxBytes) else {
            throw bad(key, "a non-empty string of at most \(maxBytes) bytes")
        }
        return text
    }

    mutating func optionalString(_ key: String, maxBytes: Int = 255) throws(ProtocolError) -> String? {
        guard let value = value(key) else { return nil }
        guard case .string(let text) = value, !text.isEmpty, text.utf8.count <= maxBytes else {
            throw bad(key, "a non-empty string of at most \(maxBytes) bytes")
        }
        return text
    }

    /// A metric name as the put frames carry it: 1 to 255 bytes of UTF-8, no control characters.
    mutating func metricName(_ key: String) throws(ProtocolError) -> String {
        let text = try string(key)
        guard !text.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) else {
            throw bad(key, "a metric name: 1 to 255 bytes of UTF-8 without control characters")
        }
        return text
    }

    // MARK: Numbers

    mutating func optionalBool(_ key: String) throws(ProtocolError) -> Bool? {
        guard let value = value(key) else { return nil }
        guard case .bool(let flag) = value else { throw bad(key, "true or false") }
        return flag
    }

    mutating func optionalNumber(_ key: String, in range: ClosedRange<Double>) throws(ProtocolError) -> Double? {
        guard let value = value(key) else { return nil }
        guard case .number(let number) = value, range.contains(number) else {
            throw bad(key, "a number from \(Self.text(range.lowerBound)) to \(Self.text(range.upperBound))")
        }
        return number
    }

    mutating func optionalInt(_ key: String, in range: ClosedRange<Int>) throws(ProtocolError) -> Int? {
        guard let value = value(key) else { return nil }
        guard case .number(let number) = value, let integer = Int(exactly: number), range.contains(integer) else {
            throw bad(key, "an integer from \(range.lowerBound) to \(range.upperBound)")
        }
        return integer
    }

    /// A granularity or resample period: seconds, 1 ns to 28 days once rounded to nanoseconds.
    mutating func optionalGranularity(_ key: String) throws(ProtocolError) -> Nanoseconds? {
        guard let value = value(key) else { return nil }
        guard case .number(let seconds) = value, let granularity = Limits.granularity(fromSeconds: seconds) else {
            throw bad(key, "a number of seconds from \(Limits.granularityRangeText)")
        }
        return granularity
    }

    /// Whether `key` holds a string.
    func isString(_ key: String) -> Bool {
        if case .string = object[key] { return true }
        return false
    }

    /// A calendar period's letter (`Y`, `H`, `Q`, `M`, `W`); nil when absent or a number.
    mutating func optionalCalendarPeriod(_ key: String) throws(ProtocolError) -> CalendarPeriod? {
        guard case .string(let text) = value(key) else { return nil }
        guard let period = CalendarPeriod(rawValue: text) else {
            throw bad(key, "a number of seconds from \(Limits.granularityRangeText), or Y, H, Q, M or W")
        }
        return period
    }

    /// A timespan: seconds, 1 ns to the whole timestamp range.
    mutating func optionalTimespan(_ key: String) throws(ProtocolError) -> Nanoseconds? {
        guard let value = value(key) else { return nil }
        guard case .number(let seconds) = value, let timespan = Limits.timespan(fromSeconds: seconds) else {
            throw bad(key, "a number of seconds from \(Limits.timespanRangeText)")
        }
        return timespan
    }

    /// A timestamp: ISO 8601 with a zone, or seconds since the epoch, from
    /// 1970-01-01 to 2262-01-01 (exclusive).
    mutating func optionalTimestamp(_ key: String) throws(ProtocolError) -> Nanoseconds? {
        guard let value = value(key) else { return nil }
        var timestamp: Nanoseconds?
        switch value {
        case .string(let text) where text.utf8.count <= 64: timestamp = Timestamps.parseISO8601(text)
        case .number(let seconds): timestamp = Limits.nanoseconds(fromSeconds: seconds)
        default: break
        }
        guard let timestamp, timestamp >= 0, timestamp < Limits.timestampEnd else {
            throw bad(
                key,
                "an ISO 8601 timestamp with a zone, or seconds since the epoch, from 1970-01-01 to 2262-01-01 "
                    + "(0 to 9214646400 seconds)")
        }
        return timestamp
    }

    // MARK: Nested values

    mutating func optionalStringList(
        _ key: String, maxCount: Int, maxBytes: Int = 64
    ) throws(ProtocolError) -> [String]? {
        guard let value = value(key) else { return nil }
        let expectation = "a list of at most \(maxCount) non-empty strings of at most \(maxBytes) bytes"
        guard case .array(let items) = value, items.count <= maxCount else { throw bad(key, expectation) }
        var strings: [String] = []
        for item in items {
            guard case .string(let text) = item, !text.isEmpty, text.utf8.count <= maxBytes else {
                throw bad(key, expectation)
            }
            strings.append(text)
        }
        return strings
    }

    /// A required non-empty list of objects, each read by `element` through its own fields.
    mutating func objectList<T>(
        _ key: String, maxCount: Int, _ element: (inout JSONFields) throws(ProtocolError) -> T
    ) throws(ProtocolError) -> [T] {
        let expectation = "a list of 1 to \(maxCount) objects"
        guard let value = value(key), case .array(let items) = value, (1...maxCount).contains(items.count) else {
            throw bad(key, expectation)
        }
        var result: [T] = []
        for (index, item) in items.enumerated() {
            var fields = try JSONFields(item, path: "\(path)\(key)[\(index)].", what: "\(name(key)) entries")
            result.append(try element(&fields))
            try fields.finish()
        }
        return result
    }

    /// The raw value, for fields of several shapes (`fill`).
    mutating func optionalRaw(_ key: String) -> JSONValue? { value(key) }

    static func text(_ number: Double) -> String {
        number == number.rounded() && abs(number) < 1e15 ? String(Int64(number)) : String(number)
    }
}

extension ProtocolError {
    /// Client text made safe for a message: at most 40 characters, control characters as "?".
    public static func printable(_ text: String) -> String {
        PutParser.printable(Array(text.utf8))
    }
}
