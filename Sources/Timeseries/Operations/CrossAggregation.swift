/// One point of a cross-metric result.
public struct AggregatePoint: Hashable, Sendable {
    public let timestamp: Nanoseconds
    public let granularity: Nanoseconds
    public let value: Double
}

/// What a cross-metric aggregation returns, in Gnocchi's two shapes: one
/// `aggregated` series when the operations combined series (`aggregate`, or an
/// arithmetic between two series), else one series per reference.
public enum CrossAggregationResult: Sendable {
    case aggregated([AggregatePoint])
    case perReference([(reference: MetricReference, points: [AggregatePoint])])
}

/// Evaluates an operations expression over stored aggregates, as Gnocchi's
/// `POST /v1/aggregates` does (processor.py and operations.py).
public enum CrossAggregation {
    /// The granularities to compute: the requested one, or those every referenced
    /// policy has. Fails like Gnocchi: a method missing from a policy, no common
    /// granularity, a requested granularity some policy lacks.
    public static func granularities(
        for operations: Operations, policies: [String: ArchivePolicy], requested: Nanoseconds?
    ) throws(OperationsError) -> [Nanoseconds] {
        var common: Set<Nanoseconds>?
        for reference in operations.references {
            guard let policy = policies[reference.metric] else {
                throw .unaggregable("Unknown metric \(reference.metric)")
            }
            guard policy.aggregationMethods.contains(where: { $0.name == reference.aggregation }) else {
                throw .unknownAggregation(metric: reference.metric, method: reference.aggregation)
            }
            let available = Set(policy.granularities)
            if let requested, !available.contains(requested) {
                throw .unaggregable(
                    "Granularities are missing: \(reference) has no \(seconds(requested)) s granularity")
            }
            common = common.map { $0.intersection(available) } ?? available
        }
        if let requested { return [requested] }
        guard let common, !common.isEmpty else { throw .unaggregable("No granularity match") }
        return common.sorted(by: >)
    }

    /// Evaluates `operations`. `series[g]` holds, for each granularity, one series
    /// per reference in `operations.references` order, already read from `start`
    /// (floored) to `stop`. With `fill` nil, at least `neededOverlap` percent of the
    /// timestamps must have a point in every series.
    public static func evaluate(
        _ operations: Operations, series: [Nanoseconds: [TimeSeries]], start: Nanoseconds?, stop: Nanoseconds?,
        neededOverlap: Double, fill: Fill?
    ) throws(OperationsError) -> CrossAggregationResult {
        var results: [(granularity: Nanoseconds, evaluated: Evaluated)] = []
        var isAggregated = false
        for granularity in series.keys.sorted(by: >) {
            let inputs = series[granularity]!
            precondition(inputs.count == operations.references.count, "one series per reference")
            var (times, grid) = makeGrid(inputs, start: start, stop: stop, granularity: granularity, fill: fill)
            if fill == nil {
                try checkOverlap(&times, &grid, start: start, stop: stop, neededOverlap: neededOverlap)
            }
            let initial = Evaluated(
                granularity: granularity, timestamps: times, value: .matrix(grid), isAggregated: false)
            let evaluated = try evaluate(operations.root, initial, references: operations.references)
            guard case .matrix = evaluated.value else {
                throw .unaggregable("The operations produce a number, not a series")
            }
            isAggregated = evaluated.isAggregated
            results.append((granularity, evaluated))
        }
        let drops = fill?.dropsNonFinite ?? false
        func points(_ evaluated: Evaluated, column: Int) -> [AggregatePoint] {
            guard case .matrix(let columns) = evaluated.value, column < columns.count else { return [] }
            var points: [AggregatePoint] = []
            for (index, value) in columns[column].enumerated() where !(drops && !value.isFinite) {
                points.append(
                    AggregatePoint(
                        timestamp: evaluated.timestamps[index], granularity: evaluated.granularity, value: value))
            }
            return points
        }
        if isAggregated {
            return .aggregated(results.flatMap { points($0.evaluated, column: 0) })
        }
        return .perReference(
            operations.references.enumerated().map { index, reference in
                (reference, results.flatMap { points($0.evaluated, column: index) })
            })
    }

    // MARK: The grid

    /// The union of the series' timestamps and a column per series, with the fill
    /// value (or NaN) where a series has no point, then filled along time.
    static func makeGrid(
        _ inputs: [TimeSeries], start: Nanoseconds?, stop: Nanoseconds?, granularity: Nanoseconds, fill: Fill?
    ) -> ([Nanoseconds], [[Double]]) {
        let from = start.map { floorTimestamp($0, to: granularity) }
        let sliced = inputs.map { $0.slice(from: from, to: stop) }
        let times = Array(Set(sliced.flatMap(\.timestamps))).sorted()
        var position: [Nanoseconds: Int] = [:]
        position.reserveCapacity(times.count)
        for (index, time) in times.enumerated() { position[time] = index }
        let filler: Double = if case .value(let value) = fill { value } else { .nan }
        var grid = sliced.map { series -> [Double] in
            var column = [Double](repeating: filler, count: times.count)
            for (time, value) in zip(series.timestamps, series.values) { column[position[time]!] = value }
            return column
        }
        switch fill {
        case .forwardFill: grid = grid.map(forwardFilled)
        case .backwardFill: grid = grid.map(backwardFilled)
        case .fullForwardFill: grid = grid.map { backwardFilled(forwardFilled($0)) }
        case .fullBackwardFill: grid = grid.map { forwardFilled(backwardFilled($0)) }
        default: break
        }
        return (times, grid)
    }

    /// Gnocchi's overlap rule, for `fill` nil: cut leading and trailing times where
    /// some series has no point (unless `start`/`stop` fixes that edge), then
    /// require `neededOverlap` percent of the times to have every series.
    static func checkOverlap(
        _ times: inout [Nanoseconds], _ grid: inout [[Double]], start: Nanoseconds?, stop: Nanoseconds?,
        neededOverlap: Double
    ) throws(OperationsError) {
        let overlap = times.indices.filter { index in grid.allSatisfy { !$0[index].isNaN } }
        if overlap.isEmpty && neededOverlap > 0 { throw .unaggregable("No overlap") }
        guard !times.isEmpty else { return }
        var lower = 0
        var upper = times.count
        if stop == nil, let last = overlap.last { upper = last + 1 }
        if start == nil, let first = overlap.first { lower = first }
        times = Array(times[lower..<upper])
        grid = grid.map { Array($0[lower..<upper]) }
        let percent = Double(overlap.count) * 100 / Double(times.count)
        if percent < neededOverlap {
            throw .unaggregable(
                "Less than \(neededOverlap)% of datapoints overlap in this timespan (\((percent * 100).rounded() / 100)%)"
            )
        }
    }
}

private func forwardFilled(_ column: [Double]) -> [Double] {
    var result = column
    var last = Double.nan
    for index in result.indices {
        if result[index].isNaN { result[index] = last } else { last = result[index] }
    }
    return result
}

private func backwardFilled(_ column: [Double]) -> [Double] {
    Array(forwardFilled(column.reversed()).reversed())
}
