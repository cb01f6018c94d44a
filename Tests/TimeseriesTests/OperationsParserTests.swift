import Testing

@testable import Timeseries

@Suite("Operations language: parsing", .timeLimit(.minutes(5)))
struct OperationsParserTests {
    @Test("parses Gnocchi's examples and extracts references in order, once each")
    func parses() throws {
        let operations = try Operations(parsing: "(aggregate mean (metric (a mean) (b mean)))")
        #expect(
            operations.references == [.init(metric: "a", aggregation: "mean"), .init(metric: "b", aggregation: "mean")])
        let nested = try Operations(
            parsing: "(- (rolling max 3 (metric b max)) (clip (resample mean 5min (metric (a mean) (b max))) 0 10))")
        #expect(nested.references.map(\.metric) == ["b", "a"])
        #expect(try Operations(parsing: "  (metric \"web 01.cpu\" mean)  ").references[0].metric == "web 01.cpu")
        #expect(
            try Operations(parsing: "(* (metric a mean) 1e3)").root
                == .binary(.multiply, .metric([.init(metric: "a", aggregation: "mean")]), .number(1000)))
    }

    @Test(
        "bad expressions give a precise error with the position",
        arguments: [
            ("", "Operation must not be empty", 0),
            ("metric a mean", "Operations must start with '('", 0),
            ("(metric a mean", "Unclosed parenthesis opened", 0),
            ("(metric a mean))", "Unexpected text after the operations", 15),
            ("(aggregate mean (metric a mean)", "Unclosed parenthesis opened", 0),
            ("(notexist (metric a mean))", "'notexist' operation invalid", 1),
            ("(aggregate avg (metric a mean))", "'avg' is not an aggregation method of 'aggregate'", 11),
            ("(rolling mean 0 (metric a mean))", "Rolling window must be an integer from 1 to 1000000, not '0'", 14),
            ("(rolling mean x (metric a mean))", "Rolling window must be an integer from 1 to 1000000, not 'x'", 14),
            (
                "(resample mean -5 (metric a mean))",
                "'-5' is not a granularity of 0.000000001 to 2419200 seconds (1 ns to 28 days)", 15
            ),
            ("(resample var 60 (metric a mean))", "'resample' does not support 'var'", 10),
            ("(+ (metric a mean))", "'+' takes two operands", 0),
            ("(abs (metric a mean) 2)", "'abs' takes one operand", 0),
            ("(metric)", "Operation need at least one argument", 0),
            ("(metric a)", "'metric' takes a metric and an aggregation: (metric NAME AGGREGATION)", 0),
            ("(metric (a mean) (b))", "'metric' takes (NAME AGGREGATION) pairs", 17),
            ("(+ (metric a mean) two)", "'two' is neither a number nor an operation", 19),
            ("()", "Operation must not be empty", 0),
            ("(\"unclosed)", "Unclosed string", 1),
            // Hostile input (docs/reliability.md): durations outside what Int64 nanoseconds hold,
            // periods that round to 0 ns, windows too large, nesting and text beyond the limits.
            (
                "(resample mean 9500000000 (metric a mean))",
                "'9500000000' is not a granularity of 0.000000001 to 2419200 seconds (1 ns to 28 days)", 15
            ),
            (
                "(resample mean 1e-12 (metric a mean))",
                "'1e-12' is not a granularity of 0.000000001 to 2419200 seconds (1 ns to 28 days)", 15
            ),
            (
                "(resample mean 4e-10 (metric a mean))",
                "'4e-10' is not a granularity of 0.000000001 to 2419200 seconds (1 ns to 28 days)", 15
            ),
            (
                "(resample mean 1e300d (metric a mean))",
                "'1e300d' is not a granularity of 0.000000001 to 2419200 seconds (1 ns to 28 days)", 15
            ),
            (
                "(rolling mean 99999999999999999999 (metric a mean))",
                "Rolling window must be an integer from 1 to 1000000, not '99999999999999999999'", 14
            ),
            (
                String(repeating: "(abs ", count: 40_000) + "(metric a mean)" + String(repeating: ")", count: 40_000),
                "Operations are at most 65536 bytes, not 240015", 0
            ),
            (
                String(repeating: "(abs ", count: 33) + "(metric a mean)" + String(repeating: ")", count: 33),
                "Operations nest at most 32 parentheses deep", 160
            ),
        ])
    func errors(text: String, message: String, position: Int) {
        do {
            _ = try Operations(parsing: text)
            Issue.record("'\(text)' parsed")
        } catch {
            switch error {
            case .syntax(let actual, let at), .invalid(let actual, let at):
                #expect(actual == message)
                #expect(at == position)
            default:
                Issue.record("unexpected \(error)")
            }
        }
    }

    @Test("granularity selection: common ones, a requested one, and Gnocchi's refusals")
    func granularitySelection() throws {
        let minute = 60 * nanosecondsPerSecond
        let a = try ArchivePolicy(
            name: "a",
            definition: [
                try ArchivePolicyItem(granularity: minute, points: 10),
                try ArchivePolicyItem(granularity: 5 * minute, points: 10),
            ])
        let b = try ArchivePolicy(name: "b", definition: [try ArchivePolicyItem(granularity: 5 * minute, points: 10)])
        let operations = try Operations(parsing: "(aggregate mean (metric (x mean) (y mean)))")
        #expect(
            try CrossAggregation.granularities(for: operations, policies: ["x": a, "y": b], requested: nil) == [
                5 * minute
            ])
        #expect(throws: OperationsError.self) {
            _ = try CrossAggregation.granularities(for: operations, policies: ["x": a, "y": b], requested: minute)
        }
        let c = try ArchivePolicy(name: "c", definition: [try ArchivePolicyItem(granularity: 2 * minute, points: 10)])
        #expect(throws: OperationsError.unaggregable("No granularity match")) {
            _ = try CrossAggregation.granularities(for: operations, policies: ["x": a, "y": c], requested: nil)
        }
        let lastOnly = try Operations(parsing: "(metric x last)")
        #expect(throws: OperationsError.unknownAggregation(metric: "x", method: "last")) {
            _ = try CrossAggregation.granularities(for: lastOnly, policies: ["x": a], requested: nil)
        }
    }
}
