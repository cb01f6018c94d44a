/// How the points of one bucket become one aggregate.
public enum BaseAggregationMethod: Hashable, Sendable, Comparable {
    case mean, sum, min, max, first, last, count, median, std
    /// `Npct`, N from 1 to 99: linear interpolation at (n − 1)·N/100 of the sorted values.
    case percentile(Int)

    public var name: String {
        switch self {
        case .mean: "mean"
        case .sum: "sum"
        case .min: "min"
        case .max: "max"
        case .first: "first"
        case .last: "last"
        case .count: "count"
        case .median: "median"
        case .std: "std"
        case .percentile(let n): "\(n)pct"
        }
    }

    /// Parses a method name; `nil` if it is not one.
    public init?(name: String) {
        switch name {
        case "mean": self = .mean
        case "sum": self = .sum
        case "min": self = .min
        case "max": self = .max
        case "first": self = .first
        case "last": self = .last
        case "count": self = .count
        case "median": self = .median
        case "std": self = .std
        default:
            // Gnocchi's regex: ([1-9][0-9]?)pct
            guard name.hasSuffix("pct") else { return nil }
            let digits = name.dropLast(3)
            guard (1...2).contains(digits.count), digits.first != "0",
                digits.allSatisfy({ $0.isASCII && $0.isNumber }), let n = Int(digits)
            else { return nil }
            self = .percentile(n)
        }
    }

    /// Every base method: the nine named ones and 1pct…99pct.
    public static let all: [BaseAggregationMethod] =
        [.mean, .sum, .min, .max, .first, .last, .count, .median, .std] + (1...99).map { .percentile($0) }
}

/// An aggregation method as an archive policy names it: a base method, or
/// `rate:` and a base method (the base method applied to the differences
/// between consecutive raw points, each attributed to the later point).
public struct AggregationMethod: Hashable, Sendable, Comparable, CustomStringConvertible {
    public let base: BaseAggregationMethod
    public let isRate: Bool

    public init(_ base: BaseAggregationMethod, rate: Bool = false) {
        self.base = base
        self.isRate = rate
    }

    public init?(name: String) {
        if name.hasPrefix("rate:") {
            guard let base = BaseAggregationMethod(name: String(name.dropFirst(5))) else { return nil }
            self.init(base, rate: true)
        } else {
            guard let base = BaseAggregationMethod(name: name) else { return nil }
            self.init(base)
        }
    }

    public var name: String { isRate ? "rate:\(base.name)" : base.name }
    public var description: String { name }

    public static func < (lhs: AggregationMethod, rhs: AggregationMethod) -> Bool { lhs.name < rhs.name }

    public static let mean = AggregationMethod(.mean)
    public static let sum = AggregationMethod(.sum)
    public static let min = AggregationMethod(.min)
    public static let max = AggregationMethod(.max)
    public static let std = AggregationMethod(.std)
    public static let count = AggregationMethod(.count)
    public static let last = AggregationMethod(.last)

    /// Gnocchi's `VALID_AGGREGATION_METHODS`: every base method, and `rate:` with each.
    public static let all: [AggregationMethod] =
        (BaseAggregationMethod.all.map { AggregationMethod($0) }
        + BaseAggregationMethod.all.map { AggregationMethod($0, rate: true) }).sorted()

    /// The methods a policy gets when it names none (Gnocchi's `default_aggregation_methods`).
    public static let defaults: [AggregationMethod] = [.mean, .min, .max, .sum, .std, .count]
}
