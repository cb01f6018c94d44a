import Foundation
import Timeseries

/// Durations as Gnocchi reads and writes them.
enum GnocchiDurations {
    /// Gnocchi's `to_timespan`: a number of seconds (JSON number or numeric
    /// text), or text as pytimeparse reads it (`"1 hour"`, `"10s"`, `"5 minutes"`,
    /// `"1 day, 0:00:00"`, `"0:05:00"`). Nil if it cannot be read; the caller
    /// checks the sign. Bounded: at most 24 characters of number per part.
    static func parse(_ value: JSONValueLike) -> Double? {
        switch value {
        case .number(let number): return number.isFinite ? number : nil
        case .text(let text):
            let trimmed = text.trimmingCharacters(in: .whitespaces)
            if let number = Double(trimmed), number.isFinite { return number }
            return parseText(trimmed)
        }
    }

    enum JSONValueLike {
        case number(Double)
        case text(String)
    }

    /// Why a timespan was refused, in Gnocchi's words.
    enum TimespanError: Error {
        case unparsable, notPositive, tooLong

        var reason: String {
            switch self {
            case .unparsable: "Unable to parse timespan"
            case .notPositive: "Timespan must be positive"
            case .tooLong: "Timespan too long"
            }
        }
    }

    /// Gnocchi's `to_timespan` in nanoseconds, truncated as its
    /// `int(seconds * 10e8)`: at least 1 ns, at most `Limits.maxTimespan`.
    static func timespan(_ value: JSONValueLike) throws(TimespanError) -> Nanoseconds {
        guard let seconds = parse(value) else { throw .unparsable }
        let nanoseconds = (seconds * 1e9).rounded(.towardZero)
        guard nanoseconds >= 1 else { throw .notPositive }
        guard nanoseconds <= Double(Limits.maxTimespan) else { throw .tooLong }
        return Nanoseconds(nanoseconds)
    }

    private static let units: [(names: [String], seconds: Double)] = [
        (["w", "wk", "wks", "week", "weeks"], 604_800),
        (["d", "dy", "dys", "day", "days"], 86_400),
        (["h", "hr", "hrs", "hour", "hours"], 3_600),
        (["m", "min", "mins", "minute", "minutes"], 60),
        (["s", "sec", "secs", "second", "seconds"], 1),
        (["ms", "millisecond", "milliseconds"], 0.001),
    ]

    private static func parseText(_ text: String) -> Double? {
        guard !text.isEmpty, text.count <= 200 else { return nil }
        var total = 0.0
        var rest = Substring(text)
        // "[N day[s], ]H:MM[:SS[.f]]" as Python's str(timedelta) writes it.
        if let colon = rest.firstIndex(of: ":") {
            var prefix = rest[..<colon]
            if let comma = prefix.lastIndex(of: ",") {
                guard let days = parseText(String(prefix[..<comma]).trimmingCharacters(in: .whitespaces)) else {
                    return nil
                }
                total += days
                rest = rest[rest.index(after: comma)...]
                prefix = rest[..<(rest.firstIndex(of: ":") ?? rest.endIndex)]
            }
            let fields = rest.trimmingCharacters(in: .whitespaces).split(
                separator: ":", omittingEmptySubsequences: false)
            guard (2...3).contains(fields.count), fields.allSatisfy({ !$0.isEmpty && $0.count <= 24 }) else {
                return nil
            }
            var seconds = 0.0
            for field in fields {
                guard let value = Double(field), value >= 0 else { return nil }
                seconds = seconds * 60 + value
            }
            if fields.count == 2 { seconds *= 60 }  // H:MM
            return total + seconds
        }
        // "<number> <unit>" parts, with or without spaces: "1 hour", "10s", "1h 30m".
        var scanner = Array(rest.lowercased().replacingOccurrences(of: ",", with: " "))[...]
        var any = false
        while true {
            while scanner.first == " " { scanner = scanner.dropFirst() }
            if scanner.isEmpty { break }
            let numberText = scanner.prefix { $0.isNumber || $0 == "." }
            guard !numberText.isEmpty, numberText.count <= 24, let number = Double(String(numberText)) else {
                return nil
            }
            scanner = scanner.dropFirst(numberText.count)
            while scanner.first == " " { scanner = scanner.dropFirst() }
            let unitText = String(scanner.prefix { $0.isLetter })
            scanner = scanner.dropFirst(unitText.count)
            guard let unit = units.first(where: { $0.names.contains(unitText) }) else { return nil }
            total += number * unit.seconds
            any = true
        }
        return any ? total : nil
    }

    /// Python's `str(timedelta)`: `0:00:01`, `1 day, 0:00:00`, `30 days, 0:00:00`,
    /// `0:00:03.600000`.
    static func format(_ nanoseconds: Nanoseconds) -> String {
        let microseconds = nanoseconds / 1000
        let days = microseconds / 86_400_000_000
        var rest = microseconds % 86_400_000_000
        let hours = rest / 3_600_000_000
        rest %= 3_600_000_000
        let minutes = rest / 60_000_000
        rest %= 60_000_000
        let seconds = rest / 1_000_000
        let fraction = rest % 1_000_000
        func two(_ value: Int64) -> String { value < 10 ? "0\(value)" : "\(value)" }
        var text = "\(hours):\(two(minutes)):\(two(seconds))"
        if fraction != 0 {
            let digits = String(fraction)
            text += "." + String(repeating: "0", count: 6 - digits.count) + digits
        }
        if days != 0 { text = "\(days) day\(days == 1 ? "" : "s"), " + text }
        return text
    }
}
