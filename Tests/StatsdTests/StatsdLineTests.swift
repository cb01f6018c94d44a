import Statsd
import Testing
import Timeseries

@Suite("statsd lines and intervals", .timeLimit(.minutes(5)))
struct StatsdLineTests {
    @Test(
        "lines parse as etsy's statsd defines them",
        arguments: [
            ("hits:1|c", StatsdLine(name: "hits", kind: .counter, value: .number(1), sampleRate: 1)),
            ("hits:2|c|@0.1", StatsdLine(name: "hits", kind: .counter, value: .number(2), sampleRate: 0.1)),
            ("load:0.75|g", StatsdLine(name: "load", kind: .gauge, value: .number(0.75), sampleRate: 1)),
            ("load:+3|g", StatsdLine(name: "load", kind: .gauge, value: .delta(3), sampleRate: 1)),
            ("load:-3.5|g", StatsdLine(name: "load", kind: .gauge, value: .delta(-3.5), sampleRate: 1)),
            ("rt:320|ms", StatsdLine(name: "rt", kind: .timer, value: .number(320), sampleRate: 1)),
            ("rt:12|h|#env:prod", StatsdLine(name: "rt", kind: .timer, value: .number(12), sampleRate: 1)),
            ("users:alice|s", StatsdLine(name: "users", kind: .set, value: .member("alice"), sampleRate: 1)),
            ("db:5432.q:1|c", StatsdLine(name: "db:5432.q", kind: .counter, value: .number(1), sampleRate: 1)),
        ])
    func parses(line: String, expected: StatsdLine) {
        #expect(StatsdLine.parse(Substring(line)) == .success(expected))
    }

    @Test(
        "bad lines are refused with a reason",
        arguments: [
            ("hits", StatsdLine.Rejection.malformed), ("hits:1", .malformed), (":1|c", .badName),
            ("hits:x|c", .badValue), ("hits:nan|c", .badValue), ("hits:inf|g", .badValue),
            ("hits:1|q", .unknownType), ("hits:1|c|@0", .badSampleRate), ("hits:1|c|@2", .badSampleRate),
            ("hits:1|c|junk", .malformed), ("bad\u{1}name:1|c", .badName),
            (String(repeating: "a", count: 256) + ":1|c", .badName),
        ])
    func refuses(line: String, reason: StatsdLine.Rejection) {
        #expect(StatsdLine.parse(Substring(line)) == .failure(reason))
    }

    @Test("an interval: counters summed with rates, gauges last and relative, every timer sample, distinct set members")
    func interval() {
        let aggregator = StatsdAggregator(prefix: "s.", maximumTimerSamples: 3)
        aggregator.record(datagram: "hits:1|c\nhits:2|c|@0.5\nload:10|g\nload:+5|g\nload:-2|g")
        aggregator.record(datagram: "rt:10|ms\nrt:30|ms\nrt:20|ms\nrt:99|ms\nu:a|s\nu:b|s\nu:a|s\nbogus\nhits:3|g")
        #expect(aggregator.counts.lines == 14)
        #expect(aggregator.counts.accepted == 11)
        #expect(aggregator.counts.rejected == ["malformed": 1, "type_conflict": 1, "timer_overflow": 1])
        let now: Nanoseconds = 1_000_000_000_000
        let measures = aggregator.flush(at: now)
        #expect(measures["s.hits"] == [Measure(timestamp: now, value: 5)])
        #expect(measures["s.load"] == [Measure(timestamp: now, value: 13)])
        #expect(measures["s.rt"]?.map(\.value) == [10, 30, 20])
        #expect(Set(measures["s.rt"]!.map(\.timestamp)).count == 3)
        #expect(measures["s.rt"]!.allSatisfy { $0.timestamp <= now })
        #expect(measures["s.u"] == [Measure(timestamp: now, value: 2)])

        // The next interval starts empty, but a gauge remembers its value for relative updates.
        #expect(aggregator.flush(at: now + 1).isEmpty)
        aggregator.record(line: "load:+1|g")
        #expect(aggregator.flush(at: now + 2) == ["s.load": [Measure(timestamp: now + 2, value: 14)]])
    }
}
