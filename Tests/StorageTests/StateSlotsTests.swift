import Foundation
import Storage
import Testing

@testable import StorageFiles

/// The reading rules of docs/storage-files.md ("State slots"), one case each,
/// on slot files damaged by hand as a crash or a disk would leave them.
@Suite("file storage: state slots", .timeLimit(.minutes(5)))
struct StateSlotsTests {
    let metric = MetricID.random()
    let path = temporaryDirectory() + "/state"

    func state(_ value: UInt8) -> StateFile {
        StateFile(entries: ["raw": [UInt8](repeating: value, count: 300), "c.counters": [value]])
    }

    func write(_ slot: Int, generation: UInt64, value: UInt8) throws {
        try StateSlots.write(path, slot: slot, state(value).encode(generation: generation))
    }

    func bytes(_ slot: Int) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: URL(fileURLWithPath: StateSlots.slotPath(path, slot))))
    }

    func replace(_ slot: Int, _ bytes: [UInt8]) throws {
        try Data(bytes).write(to: URL(fileURLWithPath: StateSlots.slotPath(path, slot)))
    }

    @Test("no slot: no state; the newer valid slot wins")
    func newerWins() throws {
        #expect(try StateSlots.read(path, metric: metric)?.generation == nil)
        try write(0, generation: 1, value: 1)
        try write(1, generation: 2, value: 2)
        let loaded = try #require(try StateSlots.read(path, metric: metric))
        #expect(loaded.generation == 2 && loaded.slot == 1 && loaded.state.entries["c.counters"] == [2])
        try write(0, generation: 3, value: 3)
        #expect(try StateSlots.read(path, metric: metric)?.slot == 0)
    }

    @Test("an overwrite cut short (full length, checksum fails) falls back to the other slot")
    func tornOverwrite() throws {
        try write(0, generation: 1, value: 1)
        try write(1, generation: 2, value: 2)
        var torn = try bytes(1)
        torn[torn.count / 2] ^= 0xFF
        try replace(1, torn)
        #expect(try StateSlots.read(path, metric: metric)?.generation == 1)
    }

    @Test("a new header over an older body of the same length does not pass: the CRC covers the generation")
    func generationCovered() throws {
        try write(0, generation: 1, value: 1)
        try write(1, generation: 2, value: 1)
        var relabelled = try bytes(0)
        relabelled[5] = 9  // generation 9, body of generation 1
        try replace(0, relabelled)
        #expect(try StateSlots.read(path, metric: metric)?.generation == 2)
    }

    @Test("a first write cut short (shorter than its length, or empty) is no state, not damage")
    func firstWriteCutShort() throws {
        try write(0, generation: 1, value: 1)
        try replace(0, Array(try bytes(0).prefix(100)))
        #expect(try StateSlots.read(path, metric: metric)?.generation == nil)
        try replace(0, [])
        #expect(try StateSlots.read(path, metric: metric)?.generation == nil)
        // With a valid older slot beside it, that one is the state.
        try write(1, generation: 4, value: 4)
        try write(0, generation: 5, value: 5)
        try replace(0, Array(try bytes(0).prefix(50)))
        #expect(try StateSlots.read(path, metric: metric)?.generation == 4)
    }

    @Test("the only slot damaged is corrupt, reported as such")
    func damaged() throws {
        try write(0, generation: 1, value: 1)
        var damaged = try bytes(0)
        damaged[damaged.count - 10] ^= 0x01
        try replace(0, damaged)
        #expect(throws: StorageError.corrupt(metric, "state slots \(path).0 and .1: no checksum holds")) {
            try StateSlots.read(path, metric: metric)
        }
    }

    @Test("a slot of zeros is a first write cut short; a damaged header is corrupt, even beside a valid slot")
    func damagedHeader() throws {
        try write(0, generation: 1, value: 1)
        let length = try bytes(0).count
        try replace(0, [UInt8](repeating: 0, count: length))
        #expect(try StateSlots.read(path, metric: metric)?.generation == nil, "zeros: the data never reached the disk")
        try write(0, generation: 1, value: 1)
        try write(1, generation: 2, value: 2)
        var damaged = try bytes(1)
        damaged[0] ^= 0xFF  // the magic
        try replace(1, damaged)
        #expect(throws: StorageError.corrupt(metric, "state slot \(path).1: not a state header")) {
            try StateSlots.read(path, metric: metric)
        }
        // Both headers damaged (the case that read as an empty metric with its counters reset).
        var other = try bytes(0)
        other[4] = 9  // the version
        try replace(0, other)
        #expect(throws: StorageError.self) { try StateSlots.read(path, metric: metric) }
    }

    @Test("a slot longer than its state (overwritten in place by a smaller one) reads its state")
    func longerFile() throws {
        try StateSlots.write(
            path, slot: 0,
            StateFile(entries: ["raw": [UInt8](repeating: 7, count: 500)]).encode(generation: 1))
        try write(0, generation: 3, value: 3)
        #expect(try bytes(0).count > state(3).encode(generation: 3).count)
        #expect(try StateSlots.read(path, metric: metric)?.state.entries["c.counters"] == [3])
    }
}
