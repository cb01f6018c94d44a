import OrzoCommandLine
import Testing
import Timeseries
import WireProtocol

@Suite(.timeLimit(.minutes(1)))
struct CommandLineFormatTests {
    let now: Nanoseconds = 1_800_000_000 * nanosecondsPerSecond

    @Test func timestampForms() throws {
        #expect(try TimestampArgument.parse("now", now: now) == now)
        #expect(try TimestampArgument.parse("now-1h", now: now) == now - 3600 * nanosecondsPerSecond)
        #expect(try TimestampArgument.parse("-30min", now: now) == now - 1800 * nanosecondsPerSecond)
        #expect(try TimestampArgument.parse("+10s", now: now) == now + 10 * nanosecondsPerSecond)
        #expect(try TimestampArgument.parse("1700000000.5", now: now) == 1_700_000_000_500_000_000)
        #expect(try TimestampArgument.parse("2026-11-24T10:00:00Z", now: now) == 1_795_514_400 * nanosecondsPerSecond)
        // No zone: UTC.
        #expect(try TimestampArgument.parse("2026-11-24T10:00:00", now: now) == 1_795_514_400 * nanosecondsPerSecond)
    }

    @Test(arguments: [
        "", "yesterday", "1e300", "-1e30d", "9300000000", "-1", "now-100000000d", "nan", "2262-01-01T00:00:00Z",
    ])
    func timestampsOutOfRangeAreRefused(_ text: String) {
        #expect(throws: TimestampArgument.Invalid.self) { try TimestampArgument.parse(text, now: now) }
    }

    @Test func measures() throws {
        #expect(try MeasureArgument.parse("now@1.5", now: now) == Measure(timestamp: now, value: 1.5))
        #expect(throws: MeasureArgument.Invalid.self) { try MeasureArgument.parse("now", now: now) }
        let line = try MeasureArgument.parseLine("web.cpu now-1min 40", number: 1, now: now)
        #expect(line?.0 == "web.cpu")
        #expect(line?.1 == Measure(timestamp: now - 60 * nanosecondsPerSecond, value: 40))
        #expect(try MeasureArgument.parseLine("# comment", number: 2, now: now) == nil)
        #expect(try MeasureArgument.parseLine("   ", number: 3, now: now) == nil)
        #expect(throws: MeasureArgument.Invalid.self) { try MeasureArgument.parseLine("a b", number: 4, now: now) }
    }

    @Test func tableLines() {
        let table = Table(header: ["name", "value"], rows: [["a", "1"], ["longer", "22"]])
        #expect(table.lines == ["name    value", "------  -----", "a       1", "longer  22"])
    }

    @Test func pointsTable() {
        let points = [
            MeasurePoint(timestamp: now, granularity: 300, value: 1.5),
            MeasurePoint(timestamp: now, granularity: 0.5, value: nil),
            MeasurePoint(timestamp: now, granularity: 60, value: -0.0),
        ]
        #expect(
            Table(points: points).rows == [
                ["2027-01-15T08:00:00+00:00", "300", "1.5"], ["2027-01-15T08:00:00+00:00", "0.5", ""],
                ["2027-01-15T08:00:00+00:00", "60", "-0.0"],
            ])
    }

    @Test func statusTable() {
        let status = StatusReply(
            backlogMetrics: 2, backlogMeasures: 7, workers: [], counters: ["b": 2, "a": 1],
            quarantined: [.init(metric: "m", reason: "crashed twice")])
        #expect(
            Table(status: status).rows == [
                ["backlog.metrics", "2"], ["backlog.measures", "7"], ["a", "1"], ["b", "2"],
                ["quarantined m", "crashed twice"],
            ])
    }
}
