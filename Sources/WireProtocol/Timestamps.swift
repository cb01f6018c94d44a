import Timeseries

/// JSON timestamps of the protocol: ISO 8601 with a zone, or seconds since the
/// epoch, in requests; ISO 8601 UTC with `+00:00` and as many fractional digits
/// as needed, in replies.
public enum Timestamps {
    /// Parses "2026-11-24T10:00:00Z", "…+02:00", "…T10:00:00.5Z" or "2026-11-24".
    public static func parseISO8601(_ text: String) -> Nanoseconds? {
        parseISO8601(bytes: Array(text.utf8))
    }

    /// ``parseISO8601(_:)`` on UTF-8 bytes, for parsers that never make strings.
    public static func parseISO8601(bytes: some Collection<UInt8>) -> Nanoseconds? {
        let bytes = Array(bytes)
        func number(_ range: Range<Int>) -> Int64? {
            guard range.upperBound <= bytes.count else { return nil }
            var value: Int64 = 0
            for byte in bytes[range] {
                guard (48...57).contains(byte) else { return nil }
                value = value * 10 + Int64(byte - 48)
            }
            return value
        }
        guard bytes.count >= 10, bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-"),
            let year = number(0..<4), let month = number(5..<7), let day = number(8..<10),
            (1...12).contains(month), (1...31).contains(day)
        else { return nil }
        var seconds = CivilDate.days(year, month, day) * 86_400
        var nanos: Int64 = 0
        var position = 10
        if position < bytes.count {
            guard bytes[position] == UInt8(ascii: "T") || bytes[position] == UInt8(ascii: " "),
                let hour = number(11..<13), let minute = number(14..<16), let second = number(17..<19),
                bytes[13] == UInt8(ascii: ":"), bytes[16] == UInt8(ascii: ":"), hour < 24, minute < 60, second < 61
            else { return nil }
            seconds += hour * 3600 + minute * 60 + second
            position = 19
            if position < bytes.count && (bytes[position] == UInt8(ascii: ".") || bytes[position] == UInt8(ascii: ","))
            {
                position += 1
                var digits = 0
                while position < bytes.count, (48...57).contains(bytes[position]) {
                    if digits < 9 { nanos = nanos * 10 + Int64(bytes[position] - 48) }
                    digits += 1
                    position += 1
                }
                guard digits > 0 else { return nil }
                for _ in digits..<max(digits, 9) { nanos *= 10 }
            }
            guard position < bytes.count else { return nil }  // a zone is required
            if bytes[position] == UInt8(ascii: "Z") {
                position += 1
            } else if bytes[position] == UInt8(ascii: "+") || bytes[position] == UInt8(ascii: "-") {
                let sign: Int64 = bytes[position] == UInt8(ascii: "+") ? 1 : -1
                guard let zoneHour = number((position + 1)..<(position + 3)) else { return nil }
                var zoneMinute: Int64 = 0
                var end = position + 3
                if end < bytes.count && bytes[end] == UInt8(ascii: ":") {
                    guard let value = number((end + 1)..<(end + 3)) else { return nil }
                    zoneMinute = value
                    end += 3
                } else if let value = number(end..<(end + 2)) {
                    zoneMinute = value
                    end += 2
                }
                seconds -= sign * (zoneHour * 3600 + zoneMinute * 60)
                position = end
            } else {
                return nil
            }
            guard position == bytes.count else { return nil }
        }
        let (result, overflow) = seconds.multipliedReportingOverflow(by: nanosecondsPerSecond)
        guard !overflow else { return nil }
        let (sum, sumOverflow) = result.addingReportingOverflow(nanos)
        return sumOverflow ? nil : sum
    }

    /// "2026-11-24T10:00:00+00:00", or with the fractional digits needed.
    public static func format(_ timestamp: Nanoseconds) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(35)
        append(timestamp, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Appends ``format(_:)``'s text as UTF-8, with no intermediate strings:
    /// replies of many thousand points format one per point.
    public static func append(_ timestamp: Nanoseconds, to bytes: inout [UInt8]) {
        let (days, secondOfDay, nanos) = split(timestamp)
        appendDate(days, to: &bytes)
        writeTimeOfDay(secondOfDay, nanos) { bytes.append($0) }
    }

    /// Days since the epoch, the second of that day, and the nanoseconds of that second.
    public static func split(_ timestamp: Nanoseconds) -> (days: Int64, secondOfDay: Int64, nanos: Int64) {
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
        return (days, secondOfDay, nanos)
    }

    /// "YYYY-MM-DDT" of a day since the epoch.
    public static func appendDate(_ days: Int64, to bytes: inout [UInt8]) {
        let (year, month, day) = CivilDate.date(days)
        if year < 0 { bytes.append(UInt8(ascii: "-")) }
        var divisor: Int64 = 1000
        while divisor <= abs(year) / 10 { divisor *= 10 }  // years past 9999
        while divisor > 0 {
            bytes.append(UInt8(truncatingIfNeeded: 48 + abs(year) / divisor % 10))
            divisor /= 10
        }
        bytes.append(UInt8(ascii: "-"))
        writeTwoDigits(month) { bytes.append($0) }
        bytes.append(UInt8(ascii: "-"))
        writeTwoDigits(day) { bytes.append($0) }
        bytes.append(UInt8(ascii: "T"))
    }

    /// "HH:MM:SS[.fraction]+00:00", one byte at a time to `put`: shared by
    /// ``append(_:to:)`` and the row writer of large replies.
    @inline(__always)
    public static func writeTimeOfDay(_ secondOfDay: Int64, _ nanos: Int64, _ put: (UInt8) -> Void) {
        writeTwoDigits(secondOfDay / 3600, put)
        put(UInt8(ascii: ":"))
        writeTwoDigits(secondOfDay / 60 % 60, put)
        put(UInt8(ascii: ":"))
        writeTwoDigits(secondOfDay % 60, put)
        if nanos > 0 {
            var fraction = nanos
            var divisor: Int64 = 100_000_000
            put(UInt8(ascii: "."))
            while fraction > 0 {  // as many digits as needed, no trailing zeros
                put(UInt8(truncatingIfNeeded: 48 + fraction / divisor))
                fraction %= divisor
                divisor /= 10
            }
        }
        for byte in "+00:00".utf8 { put(byte) }
    }

    @inline(__always)
    public static func writeTwoDigits(_ value: Int64, _ put: (UInt8) -> Void) {
        put(UInt8(truncatingIfNeeded: 48 + value / 10))
        put(UInt8(truncatingIfNeeded: 48 + value % 10))
    }
}
