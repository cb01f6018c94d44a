/// Ceph's little-endian wire encoding, for the inputs of object class methods.
///
/// Only what cls_lock's operations need: integers, length-prefixed strings,
/// `utime_t`, and the versioned struct envelope of `ENCODE_START`
/// (struct version, compatible version, 32-bit length of the body).
struct CephEncoder {
    private(set) var bytes: [UInt8] = []

    mutating func u8(_ value: UInt8) { bytes.append(value) }

    mutating func u32(_ value: UInt32) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    mutating func string(_ value: String) {
        let utf8 = Array(value.utf8)
        u32(UInt32(utf8.count))
        bytes += utf8
    }

    /// `utime_t`: 32-bit seconds, then 32-bit nanoseconds.
    mutating func utime(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        u32(UInt32(clamping: seconds))
        u32(UInt32(attoseconds / 1_000_000_000))
    }

    /// `ENCODE_START(version, compat, bl)` … `ENCODE_FINISH(bl)`.
    mutating func versioned(_ version: UInt8, compat: UInt8, _ body: (inout CephEncoder) -> Void) {
        var inner = CephEncoder()
        body(&inner)
        u8(version)
        u8(compat)
        u32(UInt32(inner.bytes.count))
        bytes += inner.bytes
    }
}
