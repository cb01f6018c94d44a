/// One granularity of an archive policy and how long its aggregates are kept.
public struct ArchivePolicyItem: Hashable, Sendable {
    /// The bucket width.
    public let granularity: Nanoseconds
    /// How many buckets are kept; `nil` keeps all of them.
    public let points: Int?
    /// `granularity × points`; `nil` keeps everything.
    public var timespan: Nanoseconds? { points.map { granularity * Nanoseconds($0) } }

    /// Builds an item from any two of granularity, points and timespan, or from
    /// the granularity alone (unbounded), with Gnocchi's rules: all three must
    /// agree; from granularity and timespan, points = ⌊timespan / granularity⌋
    /// and the timespan is rounded down to points × granularity; from points and
    /// timespan, granularity = timespan / points.
    public init(
        granularity: Nanoseconds? = nil, points: Int? = nil, timespan: Nanoseconds? = nil
    )
        throws(ArchivePolicyError)
    {
        if let granularity, granularity <= 0 { throw .invalidDefinition("Granularity should be > 0") }
        if let points, points <= 0 { throw .invalidDefinition("Number of points should be > 0") }
        if let timespan, timespan <= 0 { throw .invalidDefinition("Timespan should be > 0") }
        if let granularity, granularity > Limits.maxGranularity {
            throw .invalidDefinition("granularity must be \(Limits.granularityRangeText), not \(seconds(granularity))")
        }
        if let timespan, timespan > Limits.maxTimespan {
            throw .invalidDefinition("timespan must be \(Limits.timespanRangeText), not \(seconds(timespan))")
        }
        if let granularity, let points {
            let (product, overflow) = granularity.multipliedReportingOverflow(by: Nanoseconds(points))
            guard !overflow, product <= Limits.maxTimespan else {
                throw .invalidDefinition(
                    "points × granularity must be at most \(seconds(Limits.maxTimespan)) seconds: "
                        + "\(points) points of \(seconds(granularity)) s")
            }
            if let timespan, timespan != product { throw .invalidDefinition("timespan ≠ granularity × points") }
        }
        switch (granularity, points, timespan) {
        case (let granularity?, let points?, _):
            self.granularity = granularity
            self.points = points
        case (let granularity?, nil, let timespan?):
            let points = timespan / granularity
            guard points > 0 else {
                throw .invalidDefinition(
                    "Calculated number of points is < 0: a timespan of \(seconds(timespan)) s holds no "
                        + "\(seconds(granularity)) s bucket")
            }
            self.granularity = granularity
            self.points = Int(points)
        case (let granularity?, nil, nil):
            self.granularity = granularity
            self.points = nil
        case (nil, let points?, let timespan?):
            let granularity = timespan / Nanoseconds(points)
            guard granularity > 0 else { throw .invalidDefinition("Granularity should be > 0") }
            guard granularity <= Limits.maxGranularity else {
                throw .invalidDefinition(
                    "granularity must be \(Limits.granularityRangeText), not \(seconds(granularity))")
            }
            self.granularity = granularity
            self.points = points
        default:
            throw .invalidDefinition("At least two of granularity/points/timespan must be provided")
        }
    }
}

/// Which granularities a metric keeps, for how long, with which methods, and how
/// late a measure may arrive.
public struct ArchivePolicy: Hashable, Sendable {
    public let name: String
    /// How many blocks (of the coarsest granularity) before the current one still
    /// accept measures.
    public let backWindow: Int
    /// The granularities, finest first.
    public let definition: [ArchivePolicyItem]
    /// The methods, sorted by name.
    public let aggregationMethods: [AggregationMethod]

    public init(
        name: String, backWindow: Int = 0, definition: [ArchivePolicyItem],
        aggregationMethods: [AggregationMethod] = AggregationMethod.defaults
    ) throws(ArchivePolicyError) {
        guard !name.isEmpty else { throw .invalidDefinition("An archive policy needs a name") }
        guard backWindow >= 0 else { throw .invalidDefinition("back_window must be >= 0") }
        guard !definition.isEmpty else { throw .invalidDefinition("An archive policy needs at least one granularity") }
        guard !aggregationMethods.isEmpty else {
            throw .invalidDefinition("An archive policy needs at least one aggregation method")
        }
        var seen: Set<Nanoseconds> = []
        for item in definition where !seen.insert(item.granularity).inserted {
            // Gnocchi's message, with the granularity as Python writes a float ("60.0").
            let value = Double(item.granularity) / 1e9
            let text = value == value.rounded() ? "\(Int64(value)).0" : "\(value)"
            throw .invalidDefinition("More than one archive policy uses granularity `\(text)'")
        }
        let sorted = definition.sorted { $0.granularity < $1.granularity }
        // Orzo's deliberate difference: a granularity that does not divide the coarsest
        // one has buckets straddling two raw blocks, which Gnocchi recomputes from
        // truncated raw data (wrong counts). Refuse such a policy instead.
        let coarsest = sorted.last!.granularity
        for item in sorted where coarsest % item.granularity != 0 {
            throw .invalidDefinition(
                "Granularity \(seconds(item.granularity)) s does not divide the coarsest granularity "
                    + "\(seconds(coarsest)) s evenly; buckets would straddle raw blocks")
        }
        // The raw buffer keeps (back_window + 1 for rate: methods) blocks of the coarsest granularity.
        let (kept, overflow) = coarsest.multipliedReportingOverflow(by: Nanoseconds(backWindow) &+ 1)
        guard backWindow < Int.max, !overflow, kept <= Limits.maxTimespan else {
            throw .invalidDefinition(
                "back_window must be at most \(Limits.maxTimespan / coarsest - 1) with a coarsest granularity of "
                    + "\(seconds(coarsest)) s (its blocks must fit in \(seconds(Limits.maxTimespan)) s), not \(backWindow)"
            )
        }
        self.name = name
        self.backWindow = backWindow
        self.definition = sorted
        self.aggregationMethods = Array(Set(aggregationMethods)).sorted()
    }

    /// The block of the raw buffer: the coarsest granularity.
    public var blockSize: Nanoseconds { definition.last!.granularity }

    /// The back window the raw buffer uses: one more block when any `rate:`
    /// method needs the point before the window.
    public var effectiveBackWindow: Int {
        backWindow + (aggregationMethods.contains { $0.isRate } ? 1 : 0)
    }

    /// The granularities, finest first.
    public var granularities: [Nanoseconds] { definition.map(\.granularity) }

    /// The item for a granularity, if the policy has it.
    public func item(granularity: Nanoseconds) -> ArchivePolicyItem? {
        definition.first { $0.granularity == granularity }
    }

    /// Every (method, granularity) pair the policy stores.
    public var aggregations: [Aggregation] {
        definition.flatMap { item in
            aggregationMethods.map { Aggregation(method: $0, granularity: item.granularity, timespan: item.timespan) }
        }
    }

    /// Resolves Gnocchi's `aggregation_methods` forms against `defaults`: a plain
    /// list is used as given; if every entry is `+x` or `-x` they amend the
    /// defaults; `*` stands for every valid method, then amended by `+x`/`-x`.
    public static func resolveAggregationMethods(
        _ entries: [String], defaults: [AggregationMethod] = AggregationMethod.defaults
    ) throws(ArchivePolicyError) -> [AggregationMethod] {
        func parse(_ name: String) throws(ArchivePolicyError) -> AggregationMethod {
            guard let method = AggregationMethod(name: name) else { throw .invalidAggregationMethod(name) }
            return method
        }
        var methods: Set<AggregationMethod>
        if entries.contains("*") {
            methods = Set(AggregationMethod.all)
        } else if entries.allSatisfy({ $0.hasPrefix("+") || $0.hasPrefix("-") }) {
            methods = Set(defaults)
        } else {
            methods = []
            for entry in entries where !entry.hasPrefix("+") && !entry.hasPrefix("-") {
                methods.insert(try parse(entry))
            }
        }
        for entry in entries {
            if entry.hasPrefix("-") {
                methods.remove(try parse(String(entry.dropFirst())))
            } else if entry.hasPrefix("+") {
                methods.insert(try parse(String(entry.dropFirst())))
            }
        }
        return methods.sorted()
    }

    /// Gnocchi's default policies, created on a fresh installation.
    public static let defaults: [ArchivePolicy] = {
        func item(_ granularity: Nanoseconds, _ timespan: Nanoseconds) -> ArchivePolicyItem {
            try! ArchivePolicyItem(granularity: granularity, timespan: timespan)
        }
        let second = nanosecondsPerSecond
        let minute = 60 * second
        let hour = 60 * minute
        let day = 24 * hour
        return [
            try! ArchivePolicy(
                name: "bool", backWindow: 3600, definition: [item(second, 365 * day)], aggregationMethods: [.last]),
            try! ArchivePolicy(name: "low", definition: [item(5 * minute, 30 * day)]),
            try! ArchivePolicy(name: "medium", definition: [item(minute, 7 * day), item(hour, 365 * day)]),
            try! ArchivePolicy(
                name: "high", definition: [item(second, hour), item(minute, 7 * day), item(hour, 365 * day)]),
        ]
    }()
}

/// One stored aggregate series of a metric: a method at a granularity.
public struct Aggregation: Hashable, Sendable, Comparable {
    public let method: AggregationMethod
    public let granularity: Nanoseconds
    /// How far back from its last point the series is kept; `nil` keeps everything.
    public let timespan: Nanoseconds?

    public init(method: AggregationMethod, granularity: Nanoseconds, timespan: Nanoseconds?) {
        self.method = method
        self.granularity = granularity
        self.timespan = timespan
    }

    public static func < (lhs: Aggregation, rhs: Aggregation) -> Bool {
        (lhs.granularity, lhs.method.name) < (rhs.granularity, rhs.method.name)
    }
}

/// Why an archive policy or rule was refused.
public enum ArchivePolicyError: Error, Hashable, Sendable, CustomStringConvertible {
    case invalidDefinition(String)
    case invalidAggregationMethod(String)
    case invalidRule(String)

    public var description: String {
        switch self {
        case .invalidDefinition(let message): message
        case .invalidAggregationMethod(let name): "Invalid aggregation method: \(name)"
        case .invalidRule(let message): message
        }
    }
}

/// Seconds as text for messages: "60" or "0.5".
func seconds(_ nanoseconds: Nanoseconds) -> String {
    if nanoseconds % nanosecondsPerSecond == 0 { return String(nanoseconds / nanosecondsPerSecond) }
    return String(Double(nanoseconds) / 1e9)
}
