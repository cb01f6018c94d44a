import Foundation
import StorageFiles
import Timeseries

/// The binary seeds of the `blobs` and `state` corpora, from the real encoders,
/// in the shape those targets read: the bytes between the header and the checksum.
func writeBinarySeeds(_ directory: String) {
    func write(_ target: String, _ name: String, _ bytes: [UInt8]) {
        let folder = "\(directory)/\(target)"
        try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: "\(folder)/\(name)", contents: Data(bytes))
    }
    let minute = 60 * nanosecondsPerSecond
    let start: Nanoseconds = 1_767_225_600 * nanosecondsPerSecond
    var irregular = TimeSeries()
    for index in 0..<50 { irregular.append(start + Nanoseconds(index * index) * 1_000_003, Double(index) * 0.1) }
    var regular = TimeSeries()
    for index in 0..<60 { regular.append(start + Nanoseconds(index) * minute, index % 7 == 0 ? .nan : Double(index)) }
    let key = SplitKey(containing: start, granularity: minute)
    // Blob body: "OZ", version and kind (4 bytes) off the front, the CRC (4) off the end.
    func body(_ blob: [UInt8]) -> [UInt8] { Array(blob[4..<(blob.count - 4)]) }
    write("blobs", "raw-irregular", [0] + body(RawBufferBlob.encode(irregular)))
    write("blobs", "raw-empty", [0] + body(RawBufferBlob.encode(TimeSeries())))
    write("blobs", "split-regular", [1] + body(SplitBlob.encode(regular, key: key)))
    write("blobs", "split-one", [1] + body(SplitBlob.encode(TimeSeries(timestamps: [start], values: [-0.0]), key: key)))
    // State body: the 17-byte header off the front, the CRC off the end.
    let state = StateSlotFormat.encode(
        ["raw": RawBufferBlob.encode(irregular), "s.mean.60.x": SplitBlob.encode(regular, key: key), "c": [1, 2, 3]],
        generation: 3)
    write("state", "three-entries", Array(state[17..<(state.count - 4)]))
    write("state", "whole-slot", state)
}
