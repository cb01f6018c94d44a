import OrzoTestSupport
import Testing

@testable import Timeseries

/// Series shapes the codec must handle, generated from a seed.
enum SeriesShape: String, CaseIterable, CustomTestStringConvertible, Sendable {
    case constant, counter, gaugeTwoDecimals, randomDoubles, specialValues, sparseIrregular, single

    var testDescription: String { rawValue }

    func values(_ count: Int, _ rng: inout SplitMix64) -> [Double] {
        switch self {
        case .constant, .single: return [Double](repeating: 3.25, count: count)
        case .counter:
            var total = 1000.0
            return (0..<count).map { _ in
                total += Double(rng.next() % 50)
                return total
            }
        case .gaugeTwoDecimals:
            var level = 5000.0
            return (0..<count).map { _ in
                level = min(10000, max(0, level + Double(Int64(rng.next() % 401) - 200)))
                return level / 100
            }
        case .randomDoubles:
            return (0..<count).map { _ in Double(bitPattern: rng.next() & 0x7FEF_FFFF_FFFF_FFFF | 0x0010_0000_0000_0000)
            }
        case .specialValues:
            let specials: [Double] = [
                -0.0, 0.0, .nan, -.nan, Double(bitPattern: 0x7FF8_0000_DEAD_BEEF), .infinity, -.infinity,
                .leastNonzeroMagnitude, -.leastNonzeroMagnitude, .leastNormalMagnitude, .greatestFiniteMagnitude,
                -.greatestFiniteMagnitude, Double(bitPattern: 0x0000_1234_5678_9ABC), 0.1, 1 / 3,
            ]
            return (0..<count).map { _ in specials[Int(rng.next() % UInt64(specials.count))] }
        case .sparseIrregular:
            return (0..<count).map { _ in Double(Int64(rng.next() % 2_000_001) - 1_000_000) / 1000 }
        }
    }
}

@Suite("Blob format", .timeLimit(.minutes(5)))
struct BlobFormatTests {
    @Test("CRC-32C matches the standard check value")
    func crcCheckValue() {
        #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
        #expect(CRC32C.checksum([]) == 0)
        let long = (0..<1000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        var bytewise: UInt32 = 0xFFFF_FFFF
        for byte in long {
            bytewise ^= UInt32(byte)
            for _ in 0..<8 { bytewise = bytewise & 1 != 0 ? (bytewise >> 1) ^ 0x82F6_3B78 : bytewise >> 1 }
        }
        #expect(CRC32C.checksum(long) == bytewise ^ 0xFFFF_FFFF, "slicing-by-8 equals the bitwise definition")
    }

    @Test("split blobs round-trip bit-exactly", arguments: SeriesShape.allCases)
    func splitRoundTrip(shape: SeriesShape) throws {
        var rng = SplitMix64(seed: 7)
        for granularity in [nanosecondsPerSecond, 60 * nanosecondsPerSecond, 1] {
            for trial in 0..<20 {
                let key = SplitKey(
                    containing: 1_767_225_600 * nanosecondsPerSecond + Int64(trial) * 977, granularity: granularity)
                let count = shape == .single ? 1 : Int(rng.next() % 3600) + 1
                var slots = Set<Int64>()
                if shape == .sparseIrregular {
                    while slots.count < min(count, 200) { slots.insert(Int64(rng.next() % 3600)) }
                } else {
                    let first = Int64(rng.next() % UInt64(3600 - count + 1))
                    slots = Set((0..<Int64(count)).map { first + $0 })
                }
                let sorted = slots.sorted()
                let points = TimeSeries(
                    timestamps: sorted.map { key.start + $0 * granularity }, values: shape.values(sorted.count, &rng))
                let blob = SplitBlob.encode(points, key: key)
                let decoded = try SplitBlob.decode(blob, key: key)
                #expect(decoded.timestamps == points.timestamps)
                #expect(decoded.values.map(\.bitPattern) == points.values.map(\.bitPattern))
            }
        }
    }

    @Test("raw buffer blobs round-trip bit-exactly, extreme timestamps included", arguments: SeriesShape.allCases)
    func rawRoundTrip(shape: SeriesShape) throws {
        var rng = SplitMix64(seed: 11)
        let starts: [Int64] = [0, 1_767_225_600 * nanosecondsPerSecond, Int64.min, Int64.max - 1_000_000_000_000, -1]
        for start in starts {
            let count = shape == .single ? 1 : Int(rng.next() % 2000) + 1
            var timestamps: [Int64] = []
            var t = start
            for _ in 0..<count {
                timestamps.append(t)
                let step = shape == .sparseIrregular ? Int64(rng.next() % 100_000_000_000) + 1 : 1_000_000_000
                if t > Int64.max - step { break }
                t += step
            }
            let series = TimeSeries(timestamps: timestamps, values: shape.values(timestamps.count, &rng))
            let decoded = try RawBufferBlob.decode(RawBufferBlob.encode(series))
            #expect(decoded.timestamps == series.timestamps)
            #expect(decoded.values.map(\.bitPattern) == series.values.map(\.bitPattern))
        }
        // The widest possible spread: the first and last Int64.
        let extremes = TimeSeries(timestamps: [Int64.min, -1, 0, Int64.max], values: [1, -0.0, .nan, 2])
        let decoded = try RawBufferBlob.decode(RawBufferBlob.encode(extremes))
        #expect(decoded.timestamps == extremes.timestamps)
        #expect(decoded.values.map(\.bitPattern) == extremes.values.map(\.bitPattern))
    }

    @Test("empty series round-trip")
    func empty() throws {
        let key = SplitKey(containing: 0, granularity: 60 * nanosecondsPerSecond)
        #expect(try SplitBlob.decode(SplitBlob.encode(TimeSeries(), key: key), key: key).isEmpty)
        #expect(try RawBufferBlob.decode(RawBufferBlob.encode(TimeSeries())).isEmpty)
    }

    @Test("every truncation of a blob is rejected", arguments: SeriesShape.allCases)
    func truncation(shape: SeriesShape) {
        var rng = SplitMix64(seed: 3)
        let (split, key) = sampleSplit(shape, &rng)
        let raw = RawBufferBlob.encode(sampleRaw(shape, &rng))
        for length in 0..<split.count {
            #expect(throws: BlobError.self) { _ = try SplitBlob.decode(Array(split.prefix(length)), key: key) }
        }
        for length in 0..<raw.count {
            #expect(throws: BlobError.self) { _ = try RawBufferBlob.decode(Array(raw.prefix(length))) }
        }
    }

    @Test("random bit flips are detected", arguments: SeriesShape.allCases)
    func bitFlips(shape: SeriesShape) {
        var rng = SplitMix64(seed: 5)
        let (split, key) = sampleSplit(shape, &rng)
        for _ in 0..<2000 {
            var corrupted = split
            let flips = Int(rng.next() % 3) + 1
            for _ in 0..<flips {
                let bit = Int(rng.next() % UInt64(corrupted.count * 8))
                corrupted[bit / 8] ^= 1 << UInt8(bit % 8)
            }
            if corrupted == split { continue }
            #expect(throws: BlobError.self) { _ = try SplitBlob.decode(corrupted, key: key) }
        }
    }

    @Test("hostile blobs with a valid checksum are rejected or decoded, never a crash or a huge allocation")
    func hostileInput() throws {
        var rng = SplitMix64(seed: 99)
        let key = SplitKey(containing: 0, granularity: nanosecondsPerSecond)
        // A declared count beyond the cap.
        var huge = ByteWriter()
        for byte: UInt8 in [0x4F, 0x5A, 1, 2] { huge.u8(byte) }
        huge.varint(UInt64(Int.max))
        #expect(throws: BlobError.self) { _ = try SplitBlob.decode(sealed(huge.bytes), key: key) }
        var hugeRaw = ByteWriter()
        for byte: UInt8 in [0x4F, 0x5A, 1, 1] { hugeRaw.u8(byte) }
        hugeRaw.varint(1 << 40)
        #expect(throws: BlobError.self) { _ = try RawBufferBlob.decode(sealed(hugeRaw.bytes)) }
        // Random mutations, re-sealed with a correct checksum.
        for shape in SeriesShape.allCases {
            let (split, _) = sampleSplit(shape, &rng)
            let raw = RawBufferBlob.encode(sampleRaw(shape, &rng))
            for _ in 0..<500 {
                for original in [split, raw] {
                    var body = Array(original.dropLast(4))
                    for _ in 0..<Int(rng.next() % 4) + 1 {
                        let index = 4 + Int(rng.next() % UInt64(max(1, body.count - 4)))
                        if index < body.count { body[index] = UInt8(truncatingIfNeeded: rng.next()) }
                    }
                    if rng.next() % 4 == 0 { body.removeLast(Int(rng.next() % UInt64(body.count - 4))) }
                    let blob = sealed(body)
                    // Either outcome is fine; what is tested is that decoding returns.
                    if let series = try? SplitBlob.decode(blob, key: key) {
                        #expect(series.count <= 3600)
                    }
                    if let series = try? RawBufferBlob.decode(blob) {
                        #expect(zip(series.timestamps, series.timestamps.dropFirst()).allSatisfy { $0 < $1 })
                    }
                }
            }
        }
    }

    @Test("a split blob is refused under another key, and the kinds are not interchangeable")
    func wrongKeyAndKind() throws {
        var rng = SplitMix64(seed: 1)
        let (split, key) = sampleSplit(.counter, &rng)
        #expect(throws: BlobError.self) { _ = try SplitBlob.decode(split, key: key.next) }
        #expect(throws: BlobError.wrongKind(expected: 1, found: 2)) { _ = try RawBufferBlob.decode(split) }
        var versioned = split
        versioned[2] = 9
        #expect(throws: BlobError.unsupportedVersion(9)) { _ = try SplitBlob.decode(versioned, key: key) }
        var magic = split
        magic[0] = 0
        #expect(throws: BlobError.badMagic) { _ = try SplitBlob.decode(magic, key: key) }
    }

    @Test(
        "compact encodings of regular series",
        arguments: [
            (SeriesShape.constant, 0.3), (.counter, 1.0), (.gaugeTwoDecimals, 2.0), (.randomDoubles, 8.5),
        ])
    func compactness(shape: SeriesShape, limit: Double) {
        var rng = SplitMix64(seed: 2026)
        let key = SplitKey(containing: 1_767_225_600 * nanosecondsPerSecond, granularity: 5 * nanosecondsPerSecond)
        let points = TimeSeries(
            timestamps: (0..<3600).map { key.start + Int64($0) * key.granularity }, values: shape.values(3600, &rng))
        let bytesPerPoint = Double(SplitBlob.encode(points, key: key).count) / 3600
        #expect(bytesPerPoint <= limit, "\(shape): \(bytesPerPoint) bytes/point")
    }
}

func sampleSplit(_ shape: SeriesShape, _ rng: inout SplitMix64) -> ([UInt8], SplitKey) {
    let key = SplitKey(containing: 1_767_225_600 * nanosecondsPerSecond, granularity: nanosecondsPerSecond)
    let count = shape == .single ? 1 : 300
    let points = TimeSeries(
        timestamps: (0..<count).map { key.start + Int64($0 * 3) * key.granularity }, values: shape.values(count, &rng))
    return (SplitBlob.encode(points, key: key), key)
}

func sampleRaw(_ shape: SeriesShape, _ rng: inout SplitMix64) -> TimeSeries {
    let count = shape == .single ? 1 : 200
    var t: Int64 = 1_767_225_600 * nanosecondsPerSecond
    let timestamps = (0..<count).map { _ in
        t += Int64(rng.next() % 5_000_000_000) + 1
        return t
    }
    return TimeSeries(timestamps: timestamps, values: shape.values(count, &rng))
}

/// `body` with a correct CRC-32C appended.
func sealed(_ body: [UInt8]) -> [UInt8] {
    var writer = ByteWriter()
    writer.append(body)
    writer.u32(CRC32C.checksum(body))
    return writer.bytes
}
