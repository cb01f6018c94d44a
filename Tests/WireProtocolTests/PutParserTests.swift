import Foundation
import Storage
import Testing
import Timeseries
import WireProtocol

private func frame(_ measures: [Measure]) -> [UInt8] { MeasureRecords.encode(measures) }
private let put = Array(Verb.put.utf8)
private let t0: Nanoseconds = 1_767_225_600 * nanosecondsPerSecond

@Suite("Wire protocol: put messages", .timeLimit(.minutes(5)))
struct PutParserTests {
    @Test("a push message with several metrics")
    func push() throws {
        let message = try PutParser.parsePush([
            put, Array("web-01.cpu".utf8),
            frame([Measure(timestamp: t0, value: 1), Measure(timestamp: t0 + 1, value: 2)]),
            Array("web-01.mem".utf8), frame([Measure(timestamp: t0, value: 3)]),
        ])
        #expect(message.requestID == nil)
        #expect(message.entries.map(\.name) == ["web-01.cpu", "web-01.mem"])
        #expect(message.acceptedCount == 3)
        #expect(message.rejectedCount == 0)
    }

    @Test("an acknowledged message keeps its request id; bad ids are malformed")
    func acknowledged() throws {
        let message = try PutParser.parseAcknowledged(
            [put, Array("req-1".utf8), Array("m".utf8), frame([Measure(timestamp: t0, value: 1)])][...])
        #expect(message.requestID == Array("req-1".utf8))
        for id in [[UInt8](), [UInt8](repeating: 1, count: 65)] {
            #expect(throws: ProtocolError.self) {
                _ = try PutParser.parseAcknowledged(
                    [put, id, Array("m".utf8), frame([Measure(timestamp: t0, value: 1)])][...])
            }
        }
    }

    @Test("non-finite values and out-of-range timestamps are rejected one by one")
    func rejections() throws {
        let measures = [
            Measure(timestamp: t0, value: 1), Measure(timestamp: t0 + 1, value: .nan),
            Measure(timestamp: -1, value: 2), Measure(timestamp: PutParser.timestampLimit, value: 3),
            Measure(timestamp: PutParser.timestampLimit - 1, value: 4), Measure(timestamp: t0 + 2, value: -.infinity),
            Measure(timestamp: 0, value: 5),
        ]
        let message = try PutParser.parsePush([put, Array("m".utf8), frame(measures)])
        let entry = try #require(message.entries.first)
        #expect(entry.measures.map(\.value) == [1, 4, 5])
        #expect(entry.rejections.map(\.index) == [1, 2, 3, 5])
        #expect(
            entry.rejections.map(\.reason) == [
                .nonFiniteValue, .timestampOutOfRange, .timestampOutOfRange, .nonFiniteValue,
            ])
    }

    @Test("malformed messages are refused whole", arguments: malformedMessages)
    func malformed(_ frames: [[UInt8]]) {
        #expect(throws: ProtocolError.self) { _ = try PutParser.parsePush(frames) }
    }

    @Test("an unknown verb is its own error")
    func unknownVerb() {
        #expect(throws: ProtocolError(.unknownVerb, "unknown verb 'orzo.v2.put'")) {
            _ = try PutParser.parsePush([
                Array("orzo.v2.put".utf8), Array("m".utf8), frame([Measure(timestamp: t0, value: 1)]),
            ])
        }
    }

    @Test("metric names: 1 to 255 bytes of UTF-8 without control characters")
    func names() throws {
        #expect(try PutParser.metricName(Array("web-01.cpu.user".utf8)) == "web-01.cpu.user")
        #expect(try PutParser.metricName(Array("température.°C".utf8)) == "température.°C")
        #expect(try PutParser.metricName([UInt8](repeating: 97, count: 255)).count == 255)
        for bad in [[], [UInt8](repeating: 97, count: 256), [0x61, 0x0A], [0x61, 0x7F], [0xFF, 0xFE], [0x00]]
            as [[UInt8]]
        {
            #expect(throws: ProtocolError.self) { _ = try PutParser.metricName(bad) }
        }
    }
}

let malformedMessages: [[[UInt8]]] = [
    [],
    [put],
    [put, Array("m".utf8)],
    [put, Array("m".utf8), []],
    [put, Array("m".utf8), [UInt8](repeating: 0, count: 15)],
    [put, Array("m".utf8), [UInt8](repeating: 0, count: 17)],
    [put, [], [UInt8](repeating: 0, count: 16)],
    [put, Array("m".utf8), [UInt8](repeating: 0, count: 16), Array("n".utf8)],
    [put, [0x61, 0x00], [UInt8](repeating: 0, count: 16)],
]

@Suite("Wire protocol: JSON timestamps", .timeLimit(.minutes(5)))
struct TimestampTests {
    @Test("ISO 8601 with a zone, fractional seconds, offsets")
    func parse() {
        #expect(Timestamps.parseISO8601("2026-01-01T00:00:00Z") == t0)
        #expect(Timestamps.parseISO8601("2026-01-01T02:00:00+02:00") == t0)
        #expect(Timestamps.parseISO8601("2025-12-31T19:00:00-0500") == t0)
        #expect(Timestamps.parseISO8601("2026-01-01T00:00:00.5Z") == t0 + 500_000_000)
        #expect(Timestamps.parseISO8601("2026-01-01T00:00:00.123456789Z") == t0 + 123_456_789)
        #expect(Timestamps.parseISO8601("1970-01-01T00:00:00Z") == 0)
        #expect(Timestamps.parseISO8601("2026-01-01") == t0)
        for bad in [
            "2026-01-01T00:00:00", "2026-13-01T00:00:00Z", "yesterday", "2026-01-01T00:00:00.Z", "2026-01-01T00:00Z",
        ] {
            #expect(Timestamps.parseISO8601(bad) == nil, "\(bad)")
        }
    }

    @Test("formatting: UTC, +00:00, only the fractional digits needed, round trip")
    func format() {
        #expect(Timestamps.format(t0) == "2026-01-01T00:00:00+00:00")
        #expect(Timestamps.format(t0 + 500_000_000) == "2026-01-01T00:00:00.5+00:00")
        #expect(Timestamps.format(t0 + 1) == "2026-01-01T00:00:00.000000001+00:00")
        #expect(Timestamps.format(0) == "1970-01-01T00:00:00+00:00")
        for value in [t0, t0 + 123, 951_782_400 * nanosecondsPerSecond, 4_107_542_400 * nanosecondsPerSecond + 7] {
            #expect(
                Timestamps.parseISO8601(Timestamps.format(value).replacingOccurrences(of: "+00:00", with: "Z")) == value
            )
        }
    }
}
