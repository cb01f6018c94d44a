import Testing

@testable import Timeseries

private let second = nanosecondsPerSecond
private let minute = 60 * second
private let hour = 60 * minute

@Suite("Archive policies and rules", .timeLimit(.minutes(5)))
struct ArchivePolicyTests {
    @Test("an item from any two of granularity, points and timespan")
    func itemDefinitions() throws {
        #expect(try ArchivePolicyItem(granularity: minute, points: 60).timespan == hour)
        let fromTimespan = try ArchivePolicyItem(granularity: 7 * second, timespan: hour)
        #expect(fromTimespan.points == 514, "⌊3600 / 7⌋, as Gnocchi")
        #expect(fromTimespan.timespan == 3598 * second, "the timespan is rounded down to points × granularity")
        let fromPoints = try ArchivePolicyItem(points: 1000, timespan: hour)
        #expect(fromPoints.granularity == 3_600_000_000, "3.6 s")
        #expect(try ArchivePolicyItem(granularity: second).timespan == nil, "granularity alone keeps everything")
        #expect(try ArchivePolicyItem(granularity: minute, points: 60, timespan: hour).points == 60)
    }

    @Test("invalid items are refused with Gnocchi's reasons")
    func invalidItems() {
        func message(_ body: () throws -> ArchivePolicyItem) -> String? {
            do {
                _ = try body()
                return nil
            } catch {
                return (error as? ArchivePolicyError)?.description ?? "\(error)"
            }
        }
        #expect(
            message { try ArchivePolicyItem(granularity: minute, points: 60, timespan: 2 * hour) }
                == "timespan ≠ granularity × points")
        #expect(message { try ArchivePolicyItem(granularity: 0, points: 10) } == "Granularity should be > 0")
        #expect(message { try ArchivePolicyItem(granularity: -minute, points: 10) } == "Granularity should be > 0")
        #expect(message { try ArchivePolicyItem(granularity: minute, points: 0) } == "Number of points should be > 0")
        #expect(
            message { try ArchivePolicyItem(granularity: 2 * hour, timespan: hour) }?.hasPrefix(
                "Calculated number of points is < 0") == true)
        #expect(
            message { try ArchivePolicyItem(points: 10) }
                == "At least two of granularity/points/timespan must be provided")
        #expect(
            message { try ArchivePolicyItem(timespan: hour) }
                == "At least two of granularity/points/timespan must be provided")
    }

    @Test("policies: duplicate granularities and granularities that do not divide the coarsest are refused")
    func policyValidation() throws {
        let item = try ArchivePolicyItem(granularity: minute, points: 10)
        #expect(throws: ArchivePolicyError.invalidDefinition("More than one archive policy uses granularity `60.0'")) {
            _ = try ArchivePolicy(name: "p", definition: [item, item])
        }
        // Orzo's deliberate difference: 7 s does not divide 60 s.
        #expect(throws: ArchivePolicyError.self) {
            _ = try ArchivePolicy(
                name: "p", definition: [try ArchivePolicyItem(granularity: 7 * second, points: 10), item])
        }
        #expect(throws: ArchivePolicyError.self) {
            _ = try ArchivePolicy(name: "p", backWindow: -1, definition: [item])
        }
        #expect(throws: ArchivePolicyError.self) { _ = try ArchivePolicy(name: "", definition: [item]) }
        #expect(throws: ArchivePolicyError.self) { _ = try ArchivePolicy(name: "p", definition: []) }
        let policy = try ArchivePolicy(
            name: "p", definition: [try ArchivePolicyItem(granularity: hour, points: 24), item],
            aggregationMethods: [.mean, AggregationMethod(name: "rate:max")!])
        #expect(policy.granularities == [minute, hour], "finest first")
        #expect(policy.blockSize == hour)
        #expect(policy.effectiveBackWindow == 1, "one more block with a rate: method")
        #expect(policy.aggregations.count == 4)
    }

    @Test("aggregation method names: every valid one parses, others do not")
    func methodNames() {
        #expect(AggregationMethod.all.count == 2 * (9 + 99))
        for method in AggregationMethod.all { #expect(AggregationMethod(name: method.name) == method) }
        for bad in ["", "avg", "0pct", "100pct", "05pct", "1.5pct", "rate:", "rate:rate:mean", "Mean", "pct", "-mean"] {
            #expect(AggregationMethod(name: bad) == nil, "\(bad)")
        }
        #expect(AggregationMethod(name: "95pct")?.base == .percentile(95))
        #expect(AggregationMethod(name: "rate:last")?.isRate == true)
    }

    @Test("aggregation_methods forms: a list, '*', '+x' and '-x'")
    func methodForms() throws {
        func names(_ entries: [String]) throws -> [String] {
            try ArchivePolicy.resolveAggregationMethods(entries).map(\.name)
        }
        #expect(try names(["mean", "max"]) == ["max", "mean"])
        #expect(try names(["*", "-mean"]).count == AggregationMethod.all.count - 1)
        #expect(try !names(["*", "-mean"]).contains("mean"))
        #expect(try names(["-mean", "-last"]) == ["count", "max", "min", "std", "sum"])
        #expect(try names(["+12pct"]) == ["12pct", "count", "max", "mean", "min", "std", "sum"])
        #expect(try names(["+rate:last"]).contains("rate:last"))
        #expect(throws: ArchivePolicyError.invalidAggregationMethod("nope")) { _ = try names(["nope"]) }
        #expect(throws: ArchivePolicyError.invalidAggregationMethod("nope")) { _ = try names(["+nope"]) }
    }

    @Test("the default policies and rule")
    func defaults() throws {
        let byName = Dictionary(uniqueKeysWithValues: ArchivePolicy.defaults.map { ($0.name, $0) })
        #expect(Set(byName.keys) == ["bool", "low", "medium", "high"])
        #expect(byName["bool"]?.aggregationMethods == [.last])
        #expect(byName["bool"]?.backWindow == 3600)
        #expect(byName["low"]?.definition.map(\.points) == [8640])
        #expect(byName["medium"]?.definition.map(\.points) == [10080, 8760])
        #expect(byName["high"]?.definition.map(\.points) == [3600, 10080, 8760])
        #expect(byName["high"]?.aggregationMethods.map(\.name) == ["count", "max", "mean", "min", "std", "sum"])
        #expect(ArchivePolicyRule.match("anything.at.all", in: [.default])?.archivePolicyName == "low")
    }

    @Test("rules: globs, longest pattern first, then name")
    func rules() throws {
        let rules = [
            try ArchivePolicyRule(name: "default", metricPattern: "*", archivePolicyName: "low"),
            try ArchivePolicyRule(name: "disk", metricPattern: "disk.*", archivePolicyName: "medium"),
            try ArchivePolicyRule(name: "disk-io", metricPattern: "disk.io.*", archivePolicyName: "high"),
            try ArchivePolicyRule(name: "b-web", metricPattern: "web-0?.*", archivePolicyName: "high"),
            try ArchivePolicyRule(name: "a-web", metricPattern: "web-[0-4]?.*", archivePolicyName: "bool"),
        ]
        #expect(ArchivePolicyRule.match("disk.io.read", in: rules)?.name == "disk-io")
        #expect(ArchivePolicyRule.match("disk.used", in: rules)?.name == "disk")
        #expect(ArchivePolicyRule.match("web-01.cpu", in: rules)?.name == "a-web", "longer pattern first")
        #expect(ArchivePolicyRule.match("web-91.cpu", in: rules)?.name == "default")
        #expect(ArchivePolicyRule.match("cpu", in: Array(rules.dropFirst())) == nil)
        let same = [
            try ArchivePolicyRule(name: "zeta", metricPattern: "a*", archivePolicyName: "low"),
            try ArchivePolicyRule(name: "alpha", metricPattern: "*b", archivePolicyName: "high"),
        ]
        #expect(ArchivePolicyRule.match("ab", in: same)?.name == "alpha", "same length: by name")
    }

    @Test(
        "glob matching as fnmatch reads it",
        arguments: [
            ("*", "", true), ("*", "anything", true), ("a*c", "abc", true), ("a*c", "ac", true), ("a*c", "abd", false),
            ("a?c", "abc", true), ("a?c", "ac", false), ("[abc]x", "bx", true), ("[!abc]x", "bx", false),
            ("[!abc]x", "dx", true), ("[a-c]", "b", true), ("[a-c]", "d", false), ("[]]", "]", true),
            ("[", "[", true), ("a[", "a[", true), ("*.cpu.*", "web.cpu.user", true), ("*.cpu.*", "web.cpu", false),
            ("CPU", "cpu", false), ("**a", "bba", true), ("a*b*c*d", "axxbxxcxxd", true),
            ("a*b*c*d", "axxbxxcxx", false),
        ])
    func glob(pattern: String, text: String, matches: Bool) {
        #expect(Glob(pattern).matches(text) == matches)
    }
}
