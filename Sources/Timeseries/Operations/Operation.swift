/// A series named in an operation: a metric and one of its aggregation methods.
public struct MetricReference: Hashable, Sendable, CustomStringConvertible {
    public let metric: String
    public let aggregation: String

    public init(metric: String, aggregation: String) {
        self.metric = metric
        self.aggregation = aggregation
    }

    public var description: String { "(\(metric) \(aggregation))" }
}

/// How `aggregate` and `rolling` combine values, and what `resample` re-aggregates
/// with (Gnocchi's `AGG_MAP`): NaN-ignoring mean, median, population std and var,
/// min, max, sum, count; and `rate:` of each (the combined values, differenced in time).
public struct CrossMethod: Hashable, Sendable, CustomStringConvertible {
    public enum Base: String, Hashable, Sendable, CaseIterable {
        case mean, median, std, min, max, sum, `var`, count
    }
    public let base: Base
    public let isRate: Bool

    public init?(name: String) {
        let isRate = name.hasPrefix("rate:")
        guard let base = Base(rawValue: isRate ? String(name.dropFirst(5)) : name) else { return nil }
        self.base = base
        self.isRate = isRate
    }

    public var description: String { isRate ? "rate:\(base.rawValue)" : base.rawValue }
}

public enum UnaryOperator: String, Hashable, Sendable, CaseIterable {
    case abs, absolute, neg, negative, cos, sin, tan, floor, ceil
    /// Differences between consecutive points; the first point is dropped.
    case rateOfChange = "rateofchange"
    /// Differences per second; the first point becomes NaN.
    case rateOfChangePerSecond = "rateofchangesec"
}

public enum BinaryOperator: Hashable, Sendable {
    case equal, less, greater, lessOrEqual, greaterOrEqual, notEqual
    case modulo, add, subtract, multiply, divide, power
    case clipMin, clipMax, max

    /// Every spelling Gnocchi accepts.
    static let spellings: [String: BinaryOperator] = [
        "=": .equal, "==": .equal, "eq": .equal, "<": .less, "lt": .less, ">": .greater, "gt": .greater,
        "<=": .lessOrEqual, "≤": .lessOrEqual, "le": .lessOrEqual, ">=": .greaterOrEqual, "≥": .greaterOrEqual,
        "ge": .greaterOrEqual, "!=": .notEqual, "≠": .notEqual, "ne": .notEqual, "%": .modulo, "mod": .modulo,
        "+": .add, "add": .add, "-": .subtract, "sub": .subtract, "*": .multiply, "×": .multiply, "mul": .multiply,
        "/": .divide, "÷": .divide, "div": .divide, "**": .power, "^": .power, "pow": .power, "clip_min": .clipMin,
        "clip_max": .clipMax, "max": .max,
    ]
}

/// A parsed, validated operation of Gnocchi's operations language.
public indirect enum Operation: Hashable, Sendable {
    case number(Double)
    /// `(metric NAME AGG)` or `(metric (NAME AGG) (NAME AGG) …)`.
    case metric([MetricReference])
    /// `(aggregate METHOD OPERATION)`: combines the series into one.
    case aggregate(CrossMethod, Operation)
    /// `(rolling METHOD WINDOW OPERATION)`: a moving window of WINDOW points.
    case rolling(CrossMethod, window: Int, Operation)
    /// `(resample METHOD GRANULARITY OPERATION)`.
    case resample(CrossMethod, granularity: Nanoseconds, Operation)
    case unary(UnaryOperator, Operation)
    case binary(BinaryOperator, Operation, Operation)
    /// `(clip OPERATION MIN MAX)` or `(clip OPERATION MIN)`.
    case clip(Operation, Operation, Operation?)
}

/// An operations expression and the series it reads.
public struct Operations: Hashable, Sendable {
    public let root: Operation
    /// Every series the expression names, each once, in the order they appear.
    public let references: [MetricReference]

    /// Parses and validates an expression such as
    /// `(aggregate mean (metric (cpu.user mean) (cpu.system mean)))`.
    public init(parsing text: String) throws(OperationsError) {
        let expression = try SExpression.parse(text)
        guard case .list = expression else {
            throw .invalid(message: "Operations must be a parenthesised operation", position: expression.position)
        }
        root = try Self.operation(expression)
        var references: [MetricReference] = []
        Self.collectReferences(root, into: &references)
        self.references = references
    }

    private static func collectReferences(_ operation: Operation, into references: inout [MetricReference]) {
        switch operation {
        case .number: break
        case .metric(let named):
            for reference in named where !references.contains(reference) { references.append(reference) }
        case .aggregate(_, let inner), .rolling(_, _, let inner), .resample(_, _, let inner), .unary(_, let inner):
            collectReferences(inner, into: &references)
        case .binary(_, let left, let right):
            collectReferences(left, into: &references)
            collectReferences(right, into: &references)
        case .clip(let value, let low, let high):
            collectReferences(value, into: &references)
            collectReferences(low, into: &references)
            if let high { collectReferences(high, into: &references) }
        }
    }

    /// An operand: a nested operation or a number.
    private static func operand(_ expression: SExpression) throws(OperationsError) -> Operation {
        switch expression {
        case .list: return try operation(expression)
        case .atom(let text, let position):
            guard let number = Double(text) else {
                throw .invalid(message: "'\(text)' is neither a number nor an operation", position: position)
            }
            return .number(number)
        }
    }

    private static func operation(_ expression: SExpression) throws(OperationsError) -> Operation {
        guard case .list(let items, let position) = expression else { return try operand(expression) }
        guard let head = items.first else { throw .invalid(message: "Operation must not be empty", position: position) }
        guard case .atom(let name, let namePosition) = head else {
            throw .invalid(message: "An operation starts with its name", position: head.position)
        }
        let arguments = Array(items.dropFirst())
        func arity(_ counts: ClosedRange<Int>, _ usage: String) throws(OperationsError) {
            guard counts.contains(arguments.count) else {
                throw .invalid(message: "'\(name)' takes \(usage)", position: position)
            }
        }
        func atom(_ index: Int) throws(OperationsError) -> (String, Int) {
            guard case .atom(let text, let atPosition) = arguments[index] else {
                throw .invalid(message: "'\(name)' expects a word here", position: arguments[index].position)
            }
            return (text, atPosition)
        }
        func method(_ index: Int) throws(OperationsError) -> CrossMethod {
            let (text, at) = try atom(index)
            guard let method = CrossMethod(name: text) else {
                throw .invalid(message: "'\(text)' is not an aggregation method of '\(name)'", position: at)
            }
            return method
        }

        switch name {
        case "metric":
            guard !arguments.isEmpty else {
                throw .invalid(message: "Operation need at least one argument", position: position)
            }
            if case .atom = arguments[0] {
                try arity(2...2, "a metric and an aggregation: (metric NAME AGGREGATION)")
                return .metric([MetricReference(metric: try atom(0).0, aggregation: try atom(1).0)])
            }
            var references: [MetricReference] = []
            for argument in arguments {
                guard case .list(let pair, let pairPosition) = argument, pair.count == 2,
                    case .atom(let metric, _) = pair[0], case .atom(let aggregation, _) = pair[1]
                else {
                    throw .invalid(
                        message: "'metric' takes (NAME AGGREGATION) pairs", position: argument.position)
                }
                _ = pairPosition
                references.append(MetricReference(metric: metric, aggregation: aggregation))
            }
            return .metric(references)
        case "aggregate":
            try arity(2...2, "a method and an operation: (aggregate METHOD OPERATION)")
            return .aggregate(try method(0), try operand(arguments[1]))
        case "rolling":
            try arity(3...3, "a method, a window and an operation: (rolling METHOD WINDOW OPERATION)")
            let (text, at) = try atom(1)
            guard let window = Int(text), (1...Limits.rollingMaxWindow).contains(window) else {
                throw .invalid(
                    message: "Rolling window must be an integer from 1 to \(Limits.rollingMaxWindow), not '\(text)'",
                    position: at)
            }
            return .rolling(try method(0), window: window, try operand(arguments[2]))
        case "resample":
            try arity(3...3, "a method, a granularity and an operation: (resample METHOD GRANULARITY OPERATION)")
            let resampleMethod = try method(0)
            guard resampleMethod.base != .var else {
                throw .invalid(message: "'resample' does not support 'var'", position: arguments[0].position)
            }
            let (text, at) = try atom(1)
            guard let granularity = parseDuration(text) else {
                throw .invalid(
                    message: "'\(text)' is not a granularity of \(Limits.granularityRangeText)", position: at)
            }
            return .resample(resampleMethod, granularity: granularity, try operand(arguments[2]))
        case "clip":
            try arity(2...3, "an operation and bounds: (clip OPERATION MIN MAX) or (clip OPERATION MIN)")
            return .clip(
                try operand(arguments[0]), try operand(arguments[1]),
                arguments.count == 3 ? try operand(arguments[2]) : nil)
        default:
            if let binary = BinaryOperator.spellings[name] {
                try arity(2...2, "two operands")
                return .binary(binary, try operand(arguments[0]), try operand(arguments[1]))
            }
            if let unary = UnaryOperator(rawValue: name) {
                try arity(1...1, "one operand")
                return .unary(unary, try operand(arguments[0]))
            }
            throw .invalid(message: "'\(name)' operation invalid", position: namePosition)
        }
    }
}

/// Seconds as a number ("300", "0.5") or with a unit ("5min", "1h", "2d", "30s").
func parseDuration(_ text: String) -> Nanoseconds? {
    let units: [(String, Double)] = [
        ("ms", 1e-3), ("s", 1), ("sec", 1), ("min", 60), ("m", 60), ("h", 3600), ("hour", 3600), ("d", 86400),
        ("day", 86400),
    ]
    var seconds: Double?
    if let number = Double(text) {
        seconds = number
    } else {
        for (suffix, scale) in units.sorted(by: { $0.0.count > $1.0.count }) where text.hasSuffix(suffix) {
            if let number = Double(text.dropLast(suffix.count).trimmingCharacters(in: " ")) {
                seconds = number * scale
                break
            }
        }
    }
    guard let seconds else { return nil }
    return Limits.granularity(fromSeconds: seconds)
}

extension StringProtocol {
    fileprivate func trimmingCharacters(in set: Character) -> String {
        String(drop { $0 == set }.reversed().drop { $0 == set }.reversed())
    }
}
