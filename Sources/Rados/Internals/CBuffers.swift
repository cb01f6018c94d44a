import Glibc

/// C memory that must outlive an asynchronous librados operation.
///
/// librados keeps the pointers it is given (data to write, keys, output slots)
/// until the operation completes, which is after the Swift call that built the
/// operation has returned. Every such pointer is allocated here and freed when
/// the owner, held across the `await`, is released.
final class CBuffers {
    private var allocations: [UnsafeMutableRawPointer] = []

    deinit {
        for pointer in allocations { free(pointer) }
    }

    /// Allocates zeroed memory for `count` values of `T`.
    func allocate<T>(_: T.Type, count: Int = 1) -> UnsafeMutablePointer<T> {
        let bytes = max(1, MemoryLayout<T>.stride * count)
        guard let raw = calloc(1, bytes) else { fatalError("out of memory allocating \(bytes) bytes") }
        allocations.append(raw)
        return raw.bindMemory(to: T.self, capacity: count)
    }

    /// Allocates `count` values of `T` without zeroing them, for output buffers
    /// that librados fills and of which only what it reports written is read. A
    /// read's buffer is as large as the largest object expected (4 MiB for a raw
    /// buffer): zeroing it cost a third of a Ceph worker's CPU.
    func allocateUninitialized<T>(_: T.Type, count: Int) -> UnsafeMutablePointer<T> {
        let bytes = max(1, MemoryLayout<T>.stride * count)
        guard let raw = malloc(bytes) else { fatalError("out of memory allocating \(bytes) bytes") }
        allocations.append(raw)
        return raw.bindMemory(to: T.self, capacity: count)
    }

    /// A copy of `bytes`, valid until this owner is released.
    func copy(_ bytes: [UInt8]) -> UnsafePointer<CChar> {
        let pointer = allocate(CChar.self, count: bytes.count)
        bytes.withUnsafeBytes { source in
            if let base = source.baseAddress { memcpy(pointer, base, bytes.count) }
        }
        return UnsafePointer(pointer)
    }

    /// A NUL-terminated copy of `string`.
    func cString(_ string: String) -> UnsafePointer<CChar> {
        let utf8 = Array(string.utf8)
        let pointer = allocate(CChar.self, count: utf8.count + 1)
        utf8.withUnsafeBytes { source in
            if let base = source.baseAddress { memcpy(pointer, base, utf8.count) }
        }
        return UnsafePointer(pointer)
    }

    /// An array of NUL-terminated copies and a parallel array of their lengths,
    /// as `rados_*_omap_*2` calls take them.
    func cStrings(_ strings: [String]) -> (UnsafePointer<UnsafePointer<CChar>?>, UnsafePointer<Int>) {
        let pointers = allocate(UnsafePointer<CChar>?.self, count: strings.count)
        let lengths = allocate(Int.self, count: strings.count)
        for (index, string) in strings.enumerated() {
            pointers[index] = cString(string)
            lengths[index] = string.utf8.count
        }
        return (UnsafePointer(pointers), UnsafePointer(lengths))
    }

    /// Copies of `values` and their lengths.
    func byteArrays(_ values: [[UInt8]]) -> (UnsafePointer<UnsafePointer<CChar>?>, UnsafePointer<Int>) {
        let pointers = allocate(UnsafePointer<CChar>?.self, count: values.count)
        let lengths = allocate(Int.self, count: values.count)
        for (index, value) in values.enumerated() {
            pointers[index] = copy(value)
            lengths[index] = value.count
        }
        return (UnsafePointer(pointers), UnsafePointer(lengths))
    }
}

extension [UInt8] {
    /// Bytes copied out of C memory.
    init(copying pointer: UnsafePointer<CChar>?, count: Int) {
        guard let pointer, count > 0 else {
            self = []
            return
        }
        self = Array(UnsafeRawBufferPointer(start: pointer, count: count))
    }
}
