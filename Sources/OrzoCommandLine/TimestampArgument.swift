import Timeseries
import WireProtocol

/// Timestamps as people type them on a command line: ISO 8601 (with a zone, or
/// UTC if none), seconds since the epoch, "now", or relative to now ("-1h",
/// "-30min", "-2d", "+10s", or "now-1h", which needs no "=" after an option).
/// Every result lies in the protocol's range (1970 to 2262), else it is refused.
public enum TimestampArgument {
    public struct Invalid: Error, CustomStringConvertible, Hashable {
        public let text: String
        public var description: String {
            "'\(text)' is not a timestamp from 1970 to 2262: give ISO 8601, epoch seconds, now, or now-1h, now-2d …"
        }
    }

    public static func parse(_ text: String, now: Nanoseconds) throws(Invalid) -> Nanoseconds {
        guard let value = value(text, now: now), value >= 0, value < Limits.timestampEnd else {
            throw Invalid(text: text)
        }
        return value
    }

    private static func value(_ text: String, now: Nanoseconds) -> Nanoseconds? {
        if text == "now" { return now }
        if text.hasPrefix("now-") || text.hasPrefix("now+") { return value(String(text.dropFirst(3)), now: now) }
        if let first = text.first, first == "-" || first == "+", let duration = relative(String(text.dropFirst())) {
            let (result, overflow) =
                first == "-" ? now.subtractingReportingOverflow(duration) : now.addingReportingOverflow(duration)
            return overflow ? nil : result
        }
        if let seconds = Double(text) { return Limits.nanoseconds(fromSeconds: seconds) }
        return Timestamps.parseISO8601(text) ?? Timestamps.parseISO8601(text + "Z")
    }

    /// "5min", "1h", "2d", "1w", "30s", "500ms": a non-negative duration.
    static func relative(_ text: String) -> Nanoseconds? {
        let units: [(String, Double)] = [
            ("ms", 1e-3), ("s", 1), ("sec", 1), ("min", 60), ("m", 60), ("h", 3600), ("d", 86400), ("w", 604_800),
        ]
        for (suffix, scale) in units.sorted(by: { $0.0.count > $1.0.count }) where text.hasSuffix(suffix) {
            if let number = Double(text.dropLast(suffix.count)), number >= 0 {
                return Limits.nanoseconds(fromSeconds: number * scale)
            }
        }
        return nil
    }
}

/// Measures as typed on a command line: `TIMESTAMP@VALUE`, and lines of
/// `NAME TIMESTAMP VALUE` (blank lines and `#` comments skipped).
public enum MeasureArgument {
    public struct Invalid: Error, CustomStringConvertible, Hashable {
        public let description: String
    }

    public static func parse(_ text: String, now: Nanoseconds) throws(Invalid) -> Measure {
        guard let at = text.lastIndex(of: "@"), let value = Double(text[text.index(after: at)...]) else {
            throw Invalid(description: "'\(text)': use TIMESTAMP@VALUE")
        }
        do {
            return Measure(timestamp: try TimestampArgument.parse(String(text[..<at]), now: now), value: value)
        } catch { throw Invalid(description: error.description) }
    }

    /// One line: nil for a blank line or a comment.
    public static func parseLine(
        _ line: Substring, number: Int, now: Nanoseconds
    ) throws(Invalid) -> (
        String, Measure
    )? {
        let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" })
        if fields.isEmpty || fields[0].hasPrefix("#") { return nil }
        guard fields.count == 3, let value = Double(fields[2]) else {
            throw Invalid(description: "line \(number): expected 'NAME TIMESTAMP VALUE'")
        }
        do {
            return (
                String(fields[0]),
                Measure(timestamp: try TimestampArgument.parse(String(fields[1]), now: now), value: value)
            )
        } catch { throw Invalid(description: "line \(number): \(error.description)") }
    }
}
