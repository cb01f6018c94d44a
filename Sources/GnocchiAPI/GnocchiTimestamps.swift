import Foundation
import Storage
import Timeseries
import WireProtocol

/// Timestamps as Gnocchi's API reads and writes them (its `utils.to_timestamps`
/// and JSON encoder).
enum GnocchiTimestamps {
    /// Why timestamps were refused, in Gnocchi's words.
    enum Failure: Error, Equatable {
        case unconvertible  // "Unable to convert timestamps"
        case beforeEpoch  // "Timestamp must be after Epoch"

        var message: String {
            switch self {
            case .unconvertible: "Unable to convert timestamps"
            case .beforeEpoch: "Timestamp must be after Epoch"
            }
        }
    }

    /// One kind of timestamp for a whole list, chosen by its first value as
    /// Gnocchi chooses it: seconds since the epoch if it reads as a number,
    /// else ISO 8601 (numpy's reading: parts may be left out, no zone is UTC),
    /// else a duration relative to now (`"-5 minutes"`). A later value of
    /// another kind fails the list.
    static func parse(_ values: [JSONValue], now: Nanoseconds = wallClockNanoseconds()) throws(Failure) -> [Nanoseconds]
    {
        guard let first = values.first else { return [] }
        var result: [Nanoseconds] = []
        result.reserveCapacity(values.count)
        if seconds(first) != nil {
            for value in values {
                guard let seconds = seconds(value) else { throw .unconvertible }
                result.append(try fromSeconds(seconds))
            }
        } else if case .string(let text) = first, iso8601(text) != nil {
            for value in values {
                guard case .string(let text) = value, let timestamp = iso8601(text) else { throw .unconvertible }
                result.append(timestamp)
            }
        } else {
            for value in values {
                let offset: Double?
                switch value {
                case .string(let text): offset = signedDuration(text)
                case .number(let number): offset = number
                default: offset = nil
                }
                guard let offset, let nanoseconds = Limits.nanoseconds(fromSeconds: offset) else {
                    throw .unconvertible
                }
                let (sum, overflow) = now.addingReportingOverflow(nanoseconds)
                guard !overflow else { throw .unconvertible }
                result.append(sum)
            }
        }
        if result.contains(where: { $0 < 0 }) { throw .beforeEpoch }
        // The protocol's range (numpy's nanoseconds end in 2262 too): the engine's
        // arithmetic on timestamps is checked against it (Limits).
        if result.contains(where: { $0 >= Limits.timestampEnd }) { throw .unconvertible }
        return result
    }

    /// One timestamp (a query's `start` or `stop`).
    static func parse(_ text: String, now: Nanoseconds = wallClockNanoseconds()) throws(Failure) -> Nanoseconds {
        try parse([.string(text)], now: now)[0]
    }

    /// A number, or text Python's `float()` reads; nil otherwise.
    private static func seconds(_ value: JSONValue) -> Double? {
        switch value {
        case .number(let number): return number
        case .bool(let flag): return flag ? 1 : 0
        case .string(let text):
            let trimmed = text.trimmingCharacters(in: .whitespaces)
            guard trimmed.utf8.count <= 64, let number = Double(trimmed) else { return nil }
            return number
        default: return nil
        }
    }

    /// Seconds since the epoch to nanoseconds, range-checked (years 1678–2262 fit).
    private static func fromSeconds(_ seconds: Double) throws(Failure) -> Nanoseconds {
        guard seconds.isFinite, abs(seconds) < 9.2e9 else { throw .unconvertible }
        return Nanoseconds((seconds * 1e9).rounded(.towardZero))
    }

    /// `[+-]duration`: pytimeparse's reading with a sign.
    private static func signedDuration(_ text: String) -> Double? {
        var body = Substring(text.trimmingCharacters(in: .whitespaces))
        var sign = 1.0
        if body.first == "-" || body.first == "+" {
            sign = body.first == "-" ? -1 : 1
            body = body.dropFirst()
        }
        return GnocchiDurations.parse(.text(String(body))).map { $0 * sign }
    }

    /// numpy's `datetime64(text)`: `YYYY[-MM[-DD[(T| )hh[:mm[:ss[.f]]]]]]`, then
    /// an optional `Z` or `±hh[[:]mm]` zone (none is UTC).
    static func iso8601(_ text: String) -> Nanoseconds? {
        let bytes = Array(text.utf8)
        guard bytes.count <= 64 else { return nil }
        var position = 0
        func digits(_ count: Int) -> Int64? {
            guard position + count <= bytes.count else { return nil }
            var value: Int64 = 0
            for byte in bytes[position..<(position + count)] {
                guard (48...57).contains(byte) else { return nil }
                value = value * 10 + Int64(byte - 48)
            }
            position += count
            return value
        }
        func skip(_ character: Character) -> Bool {
            guard position < bytes.count, bytes[position] == character.asciiValue! else { return false }
            position += 1
            return true
        }
        guard let year = digits(4) else { return nil }
        var (month, day, hour, minute, second, nanos): (Int64, Int64, Int64, Int64, Int64, Int64) = (1, 1, 0, 0, 0, 0)
        if skip("-") {
            guard let value = digits(2), (1...12).contains(value) else { return nil }
            month = value
            if skip("-") {
                guard let value = digits(2), (1...31).contains(value) else { return nil }
                day = value
                if skip("T") || skip(" ") {
                    guard let value = digits(2), value < 24 else { return nil }
                    hour = value
                    if skip(":") {
                        guard let value = digits(2), value < 60 else { return nil }
                        minute = value
                        if skip(":") {
                            guard let value = digits(2), value < 60 else { return nil }
                            second = value
                            if skip(".") {
                                var count = 0
                                while position < bytes.count, (48...57).contains(bytes[position]) {
                                    if count < 9 { nanos = nanos * 10 + Int64(bytes[position] - 48) }
                                    count += 1
                                    position += 1
                                }
                                guard count > 0 else { return nil }
                                for _ in count..<max(count, 9) { nanos *= 10 }
                            }
                        }
                    }
                }
            }
        }
        let daysInMonth: [Int64] = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
        let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
        guard day <= daysInMonth[Int(month - 1)], month != 2 || day <= 28 || leap else { return nil }
        var zone: Int64 = 0
        if skip("Z") {
        } else if position < bytes.count, bytes[position] == UInt8(ascii: "+") || bytes[position] == UInt8(ascii: "-") {
            let sign: Int64 = bytes[position] == UInt8(ascii: "+") ? 1 : -1
            position += 1
            guard let zoneHour = digits(2), zoneHour < 24 else { return nil }
            var zoneMinute: Int64 = 0
            if position < bytes.count {
                _ = skip(":")
                guard let value = digits(2), value < 60 else { return nil }
                zoneMinute = value
            }
            zone = sign * (zoneHour * 3600 + zoneMinute * 60)
        }
        guard position == bytes.count, (1678...2261).contains(year) else { return nil }
        let seconds = CivilDate.days(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second - zone
        return seconds * 1_000_000_000 + nanos
    }

    /// As Gnocchi writes a point's time: whole seconds, UTC, `+00:00`
    /// (numpy's `datetime_as_string(unit='s')`, which truncates).
    static func format(_ timestamp: Nanoseconds) -> String {
        let seconds = timestamp >= 0 ? timestamp / 1_000_000_000 : (timestamp - 999_999_999) / 1_000_000_000
        return Timestamps.format(seconds * 1_000_000_000)
    }
}
