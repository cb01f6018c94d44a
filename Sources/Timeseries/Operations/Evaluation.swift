import Foundation

/// A value during evaluation: a number, or series as columns over shared timestamps.
enum EvaluatedValue {
    case scalar(Double)
    /// `columns[series][time]`.
    case matrix([[Double]])
}

struct Evaluated {
    var granularity: Nanoseconds
    var timestamps: [Nanoseconds]
    var value: EvaluatedValue
    /// Whether series were combined: decides the output shape.
    var isAggregated: Bool
}

extension CrossAggregation {
    static func evaluate(
        _ operation: Operation, _ input: Evaluated, references: [MetricReference]
    ) throws(OperationsError) -> Evaluated {
        switch operation {
        case .number(let number):
            var result = input
            result.value = .scalar(number)
            return result

        case .metric(let named):
            guard case .matrix(let columns) = input.value else { preconditionFailure("the input is the grid") }
            var result = input
            result.value = .matrix(references.indices.filter { named.contains(references[$0]) }.map { columns[$0] })
            return result

        case .aggregate(let method, let inner):
            var result = try evaluate(inner, input, references: references)
            let columns = try matrix(result, "aggregate")
            let count = result.timestamps.count
            var combined = (0..<count).map { time in reduceAcross(method.base, columns.map { $0[time] }) }
            if method.isRate {
                combined = differences(combined)
                result.timestamps = Array(result.timestamps.dropFirst())
            }
            result.value = .matrix([combined])
            result.isAggregated = true
            return result

        case .rolling(let method, let window, let inner):
            var result = try evaluate(inner, input, references: references)
            let columns = try matrix(result, "rolling")
            let count = result.timestamps.count
            guard window <= count else {
                throw .unaggregable("Rolling window '\(window)' is greater than serie length '\(count)'")
            }
            result.timestamps = Array(result.timestamps.dropFirst(window - 1))
            var rolled = columns.map { column in
                (window - 1..<count).map { end in reduceAcross(method.base, Array(column[(end - window + 1)...end])) }
            }
            if method.isRate {
                rolled = rolled.map(differences)
                result.timestamps = Array(result.timestamps.dropFirst())
            }
            result.value = .matrix(rolled)
            return result

        case .resample(let method, let sampling, let inner):
            var result = try evaluate(inner, input, references: references)
            let columns = try matrix(result, "resample")
            let carbonaraMethod = AggregationMethod(carbonaraBase(method.base), rate: method.isRate)
            var timestamps: [Nanoseconds] = []
            var resampled: [[Double]] = []
            for column in columns {
                let series = GroupedSeries(
                    TimeSeries(timestamps: result.timestamps, values: column), granularity: sampling
                ).aggregate(carbonaraMethod)
                timestamps = series.timestamps
                resampled.append(series.values)
            }
            result.timestamps = timestamps
            result.granularity = sampling
            result.value = .matrix(resampled)
            return result

        case .unary(let op, let inner):
            var result = try evaluate(inner, input, references: references)
            switch op {
            case .rateOfChange:
                let columns = try matrix(result, op.rawValue)
                result.timestamps = Array(result.timestamps.dropFirst())
                result.value = .matrix(columns.map(differences))
            case .rateOfChangePerSecond:
                let columns = try matrix(result, op.rawValue)
                let times = result.timestamps
                result.value = .matrix(
                    columns.map { column in
                        column.indices.map { index in
                            index == 0
                                ? .nan
                                : (column[index] - column[index - 1]) / (Double(times[index] - times[index - 1]) / 1e9)
                        }
                    })
            default:
                result.value = map(result.value) { unary(op, $0) }
            }
            return result

        case .binary(let op, let left, let right):
            let a = try evaluate(left, input, references: references)
            let b = try evaluate(right, input, references: references)
            var result = try alignOperands(a, b)
            result.value = try combine(a.value, b.value) { binary(op, $0, $1) }
            return result

        case .clip(let value, let low, let high):
            let a = try evaluate(value, input, references: references)
            let b = try evaluate(low, input, references: references)
            let c = try high.map { (operation) throws(OperationsError) in
                try evaluate(operation, input, references: references)
            }
            var result: Evaluated
            if case .matrix = a.value, case .matrix = b.value, let c, case .matrix = c.value {
                if (a.timestamps != b.timestamps || a.granularity != b.granularity)
                    && (b.timestamps != c.timestamps || b.granularity != c.granularity)
                {
                    throw .unaggregable("Can't compute timeseries with different granularity")
                }
                result = a
                result.isAggregated = true
            } else if case .matrix = b.value {
                result = b
            } else if let c, case .matrix = c.value {
                result = c
            } else {
                result = a
            }
            result.isAggregated = result.isAggregated || a.isAggregated || b.isAggregated || (c?.isAggregated ?? false)
            let lowered = try combine(a.value, b.value) { x, lowBound in nanPropagatingMax(x, lowBound) }
            if let c {
                result.value = try combine(lowered, c.value) { x, highBound in nanPropagatingMin(x, highBound) }
            } else {
                result.value = lowered
            }
            return result
        }
    }

    /// Gnocchi's binary-operator rule for which operand gives the timestamps; two
    /// series must share them, and combining two series counts as aggregating.
    private static func alignOperands(_ a: Evaluated, _ b: Evaluated) throws(OperationsError) -> Evaluated {
        switch (a.value, b.value) {
        case (.matrix, .matrix):
            guard a.timestamps == b.timestamps, a.granularity == b.granularity else {
                throw .unaggregable("Can't compute timeseries with different granularity")
            }
            var result = a
            result.isAggregated = true
            return result
        case (_, .matrix):
            var result = b
            result.isAggregated = a.isAggregated || b.isAggregated
            return result
        default:
            var result = a
            result.isAggregated = a.isAggregated || b.isAggregated
            return result
        }
    }

    private static func matrix(_ evaluated: Evaluated, _ name: String) throws(OperationsError) -> [[Double]] {
        guard case .matrix(let columns) = evaluated.value else {
            throw .unaggregable("'\(name)' needs series, not a number")
        }
        return columns
    }

    private static func map(_ value: EvaluatedValue, _ transform: (Double) -> Double) -> EvaluatedValue {
        switch value {
        case .scalar(let number): .scalar(transform(number))
        case .matrix(let columns): .matrix(columns.map { $0.map(transform) })
        }
    }

    /// Element-wise, with numpy's broadcasting of a number, or of one series
    /// against several.
    private static func combine(
        _ a: EvaluatedValue, _ b: EvaluatedValue, _ op: (Double, Double) -> Double
    ) throws(OperationsError) -> EvaluatedValue {
        switch (a, b) {
        case (.scalar(let x), .scalar(let y)): return .scalar(op(x, y))
        case (.scalar(let x), .matrix(let columns)): return .matrix(columns.map { $0.map { op(x, $0) } })
        case (.matrix(let columns), .scalar(let y)): return .matrix(columns.map { $0.map { op($0, y) } })
        case (.matrix(let left), .matrix(let right)):
            if left.count == right.count {
                return .matrix(zip(left, right).map { zip($0, $1).map(op) })
            }
            if left.count == 1 { return .matrix(right.map { zip(left[0], $0).map(op) }) }
            if right.count == 1 { return .matrix(left.map { zip($0, right[0]).map(op) }) }
            throw .unaggregable("Can't combine \(left.count) series with \(right.count) series")
        }
    }

    private static func carbonaraBase(_ base: CrossMethod.Base) -> BaseAggregationMethod {
        switch base {
        case .mean: .mean
        case .median: .median
        case .std: .std
        case .min: .min
        case .max: .max
        case .sum: .sum
        case .count: .count
        case .var: preconditionFailure("resample with var is refused when parsing")
        }
    }
}

/// numpy's NaN-ignoring reductions across series (`nanmean`, `nanstd`, …).
func reduceAcross(_ method: CrossMethod.Base, _ values: [Double]) -> Double {
    let present = values.filter { !$0.isNaN }
    switch method {
    case .count: return Double(present.count)
    case .sum: return present.reduce(0, +)
    case .min: return present.min() ?? .nan
    case .max: return present.max() ?? .nan
    case .mean: return present.isEmpty ? .nan : present.reduce(0, +) / Double(present.count)
    case .median:
        guard !present.isEmpty else { return .nan }
        let sorted = present.sorted()
        let middle = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
    case .std, .var:
        guard !present.isEmpty else { return .nan }
        let mean = present.reduce(0, +) / Double(present.count)
        let variance = present.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(present.count)
        return method == .std ? variance.squareRoot() : variance
    }
}

private func differences(_ values: [Double]) -> [Double] {
    values.count < 2 ? [] : (1..<values.count).map { values[$0] - values[$0 - 1] }
}

private func unary(_ op: UnaryOperator, _ x: Double) -> Double {
    switch op {
    case .abs, .absolute: Swift.abs(x)
    case .neg, .negative: -x
    case .cos: Foundation.cos(x)
    case .sin: Foundation.sin(x)
    case .tan: Foundation.tan(x)
    case .floor: x.rounded(.down)
    case .ceil: x.rounded(.up)
    case .rateOfChange, .rateOfChangePerSecond: preconditionFailure("handled on series")
    }
}

private func binary(_ op: BinaryOperator, _ x: Double, _ y: Double) -> Double {
    switch op {
    case .equal: x == y ? 1 : 0
    case .less: x < y ? 1 : 0
    case .greater: x > y ? 1 : 0
    case .lessOrEqual: x <= y ? 1 : 0
    case .greaterOrEqual: x >= y ? 1 : 0
    case .notEqual: x != y ? 1 : 0
    case .modulo: pythonModulo(x, y)
    case .add: x + y
    case .subtract: x - y
    case .multiply: x * y
    case .divide: x / y
    case .power: Foundation.pow(x, y)
    case .clipMin: nanPropagatingMax(x, y)
    case .clipMax: nanPropagatingMin(x, y)
    case .max: x.isNaN ? y : (y.isNaN ? x : Swift.max(x, y))  // numpy.fmax: NaN only if both are
    }
}

/// numpy.mod: the remainder has the sign of the divisor.
private func pythonModulo(_ x: Double, _ y: Double) -> Double {
    let remainder = Foundation.fmod(x, y)
    if remainder != 0 && (remainder < 0) != (y < 0) { return remainder + y }
    return remainder
}

/// numpy.maximum / numpy.minimum (what numpy.clip uses): NaN in, NaN out.
private func nanPropagatingMax(_ x: Double, _ y: Double) -> Double {
    x.isNaN || y.isNaN ? .nan : Swift.max(x, y)
}

private func nanPropagatingMin(_ x: Double, _ y: Double) -> Double {
    x.isNaN || y.isNaN ? .nan : Swift.min(x, y)
}
