/// One statsd sample: `name:value|type[|@rate][|#tags]`, as etsy's statsd
/// defines it and Gnocchi's gnocchi-statsd reads it.
public struct StatsdLine: Sendable, Hashable {
    public enum Kind: String, Sendable, Hashable, CaseIterable {
        /// Summed over the flush interval, each sample scaled by 1/rate.
        case counter = "c"
        /// The last value in the interval; `+x` and `-x` adjust the previous value.
        case gauge = "g"
        /// Every sample kept, so the archive policy's methods see them all.
        case timer = "ms"
        /// The number of distinct values seen in the interval.
        case set = "s"
    }

    public enum Value: Sendable, Hashable {
        case number(Double)
        /// A gauge's `+x` or `-x`.
        case delta(Double)
        /// A set member, kept as text.
        case member(String)
    }

    public var name: String
    public var kind: Kind
    public var value: Value
    public var sampleRate: Double

    public init(name: String, kind: Kind, value: Value, sampleRate: Double = 1) {
        self.name = name
        self.kind = kind
        self.value = value
        self.sampleRate = sampleRate
    }

    /// Why a line is refused; each reason has its own counter.
    public enum Rejection: String, Error, Sendable, Hashable, CaseIterable {
        case malformed
        case badName = "bad_name"
        case badValue = "bad_value"
        case unknownType = "unknown_type"
        case badSampleRate = "bad_sample_rate"
    }

    /// Parses one line (no newline). Tags (`|#a:b`, DogStatsD) are accepted and ignored.
    public static func parse(_ line: Substring) -> Result<StatsdLine, Rejection> {
        // The name may itself hold colons (e.g. host:port), the value cannot, and tags after the first "|" may.
        guard let bar = line.firstIndex(of: "|"), let colon = line[..<bar].lastIndex(of: ":") else {
            return .failure(.malformed)
        }
        let name = String(line[..<colon])
        let utf8 = Array(name.utf8)
        guard (1...255).contains(utf8.count),
            !name.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F })
        else { return .failure(.badName) }
        let valueText = line[line.index(after: colon)..<bar]
        let fields = line[line.index(after: bar)...].split(separator: "|", omittingEmptySubsequences: false)
        guard let kindText = fields.first else { return .failure(.malformed) }
        let kind: Kind
        switch kindText {
        case "c": kind = .counter
        case "g": kind = .gauge
        case "ms", "h", "d": kind = .timer  // histograms and distributions: every sample too
        case "s": kind = .set
        default: return .failure(.unknownType)
        }
        var sampleRate = 1.0
        for field in fields.dropFirst() {
            if field.hasPrefix("@") {
                guard let rate = Double(field.dropFirst()), rate > 0, rate <= 1 else { return .failure(.badSampleRate) }
                sampleRate = rate
            } else if !field.hasPrefix("#") && !field.hasPrefix("c:") && !field.hasPrefix("T") {
                return .failure(.malformed)
            }
        }
        let value: Value
        if kind == .set {
            guard !valueText.isEmpty else { return .failure(.badValue) }
            value = .member(String(valueText))
        } else {
            guard let number = Double(valueText), number.isFinite else { return .failure(.badValue) }
            let signed = valueText.first == "+" || valueText.first == "-"
            value = kind == .gauge && signed ? .delta(number) : .number(number)
        }
        return .success(StatsdLine(name: name, kind: kind, value: value, sampleRate: sampleRate))
    }
}
