import Testing

@testable import WireProtocol

@Suite("the client's fast reader of points", .timeLimit(.minutes(5)))
struct PointRowsParserTests {
    @Test("reads exactly what the generic decoder reads, and declines other shapes")
    func sameAsGeneric() throws {
        let rows = JSONWriter.pointRows(
            timestamps: [-1_500_000_000, 0, 1_767_225_600_123_456_789, 1_767_225_660_000_000_000],
            granularity: 0.5, values: [-0.1, .nan, 1e-300, 123_456_789.125])
        let body = JSONWriter.encode(["measures": rows, "x": 1])
        let fast = try #require(PointRowsParser.parse(body, key: "measures"))
        let generic = try MeasurePoint.rows(JSONValue.decode(body)["measures"])
        #expect(fast == generic)
        #expect(fast.map(\.value) == [-0.1, nil, 1e-300, 123_456_789.125])
        #expect(try MeasuresReply.decode(body) == fast)
        #expect(fast.map(\.timestamp) == [-1_500_000_000, 0, 1_767_225_600_123_456_789, 1_767_225_660_000_000_000])
        #expect(PointRowsParser.parse(JSONWriter.encode(["measures": [Any]()]), key: "measures") == [])
        #expect(PointRowsParser.parse(Array(#"{"measures":[["bad",1,2]]}"#.utf8), key: "measures") == nil)
        #expect(PointRowsParser.parse(Array(#"{"other":[]}"#.utf8), key: "measures") == nil)
        for value in [0.1, 2.0 / 3, -1e308, Double.leastNonzeroMagnitude, 1e15, 1e16, 12_345_678_901_234_568, -0.0] {
            let text = JSONWriter.encode([
                "measures": JSONWriter.pointRows(timestamps: [0], granularity: 1, values: [value])
            ])
            let fast = PointRowsParser.parse(text, key: "measures")?.first?.value
            let generic = try MeasurePoint.rows(JSONValue.decode(text)["measures"]).first?.value
            // Bit for bit, −0.0 included: the sign of zero survives both readers.
            #expect(fast?.bitPattern == value.bitPattern)
            #expect(generic?.bitPattern == value.bitPattern)
        }
    }

    @Test("rows write each timestamp as Timestamps.format does, across days and with fractions")
    func timestampsAsFormat() throws {
        var generator = SystemRandomNumberGenerator()
        var timestamps: [Int64] = (0..<2000).map { _ in
            Int64.random(in: -2_000_000_000_000_000_000...9_000_000_000_000_000_000, using: &generator)
        }
        timestamps += (0..<200).map { 1_767_225_600_000_000_000 + Int64($0) * 999_999_999_937 }  // runs within days
        let rows = JSONWriter.pointRows(timestamps: timestamps, granularity: 1, values: timestamps.map { _ in 1 })
        let expected = "[" + timestamps.map { "[\"\(Timestamps.format($0))\",1,1]" }.joined(separator: ",") + "]"
        #expect(String(decoding: rows.bytes, as: UTF8.self) == expected)
        // And the client reads them all back.
        let parsed = PointRowsParser.parse(JSONWriter.encode(["measures": rows]), key: "measures")
        #expect(parsed?.map(\.timestamp) == timestamps)
    }
}
