import CRados

/// Several reads of one object in one round trip, with optional guards.
///
/// Each read step returns a ``Slot`` that names its value in the
/// ``RadosReadResult``. A failing guard or step fails the whole operation.
/// Run it with ``RadosIOContext/operate(_:on:)``.
public struct RadosReadOperation: Sendable {
    /// Where a step's value appears in the result.
    public struct Slot<Value: Sendable>: Sendable {
        let index: Int
    }

    enum Step: Sendable {
        case assertExists
        case assertVersion(UInt64)
        case compareXattr(name: String, comparison: RadosComparison, value: [UInt8])
        case compareOmap(key: String, comparison: RadosComparison, value: [UInt8])
        case stat
        case read(offset: UInt64, length: Int)
        case omapValues(startAfter: String, prefix: String, maxCount: UInt64)
        case omapKeys(startAfter: String, maxCount: UInt64)
        case omapValuesForKeys([String])
        case xattrs
        case exec(className: String, method: String, input: [UInt8])
    }

    private(set) var steps: [Step] = []

    public init() {}

    private mutating func add<Value>(_ step: Step) -> Slot<Value> {
        steps.append(step)
        return Slot(index: steps.count - 1)
    }

    /// Fails with ``RadosError/Kind/notFound`` unless the object exists.
    /// The corresponding C function is `rados_read_op_assert_exists`.
    public mutating func assertExists() { steps.append(.assertExists) }

    /// Fails with ``RadosError/Kind/versionMismatch`` unless the object's version is `version`.
    /// The corresponding C function is `rados_read_op_assert_version`.
    public mutating func assertVersion(_ version: UInt64) { steps.append(.assertVersion(version)) }

    /// Fails with ``RadosError/Kind/canceled`` unless `stored xattr <comparison> value`.
    /// The corresponding C function is `rados_read_op_cmpxattr`.
    public mutating func compareXattr(_ name: String, _ comparison: RadosComparison, _ value: [UInt8]) {
        steps.append(.compareXattr(name: name, comparison: comparison, value: value))
    }

    /// Fails with ``RadosError/Kind/canceled`` unless `stored omap value <comparison> value`.
    /// The corresponding C function is `rados_read_op_omap_cmp2`.
    public mutating func compareOmap(_ key: String, _ comparison: RadosComparison, _ value: [UInt8]) {
        steps.append(.compareOmap(key: key, comparison: comparison, value: value))
    }

    /// The object's size and modification time. The corresponding C function is `rados_read_op_stat`.
    public mutating func stat() -> Slot<RadosObjectStat> { add(.stat) }

    /// Up to `length` bytes from `offset`; fewer at the end of the object.
    /// The corresponding C function is `rados_read_op_read`.
    public mutating func read(offset: UInt64 = 0, length: Int) -> Slot<[UInt8]> {
        add(.read(offset: offset, length: length))
    }

    /// A page of omap entries in key order: at most `maxCount` keys after `startAfter`
    /// (exclusive) that begin with `prefix`.
    /// The corresponding C function is `rados_read_op_omap_get_vals2`.
    public mutating func omapValues(
        startAfter: String = "", prefix: String = "", maxCount: Int
    ) -> Slot<RadosOmapPage> {
        add(.omapValues(startAfter: startAfter, prefix: prefix, maxCount: UInt64(maxCount)))
    }

    /// A page of omap keys (values empty) after `startAfter`.
    /// The corresponding C function is `rados_read_op_omap_get_keys2`.
    public mutating func omapKeys(startAfter: String = "", maxCount: Int) -> Slot<RadosOmapPage> {
        add(.omapKeys(startAfter: startAfter, maxCount: UInt64(maxCount)))
    }

    /// The omap entries for `keys`; missing keys are simply absent.
    /// The corresponding C function is `rados_read_op_omap_get_vals_by_keys2`.
    public mutating func omapValues(forKeys keys: [String]) -> Slot<[String: [UInt8]]> {
        add(.omapValuesForKeys(keys))
    }

    /// Every extended attribute. The corresponding C function is `rados_read_op_getxattrs`.
    public mutating func xattrs() -> Slot<[String: [UInt8]]> { add(.xattrs) }

    /// Runs a read-only object class method and returns its output.
    /// The corresponding C function is `rados_read_op_exec`.
    public mutating func exec(className: String, method: String, input: [UInt8] = []) -> Slot<[UInt8]> {
        add(.exec(className: className, method: method, input: input))
    }
}

/// The size and modification time of an object.
public struct RadosObjectStat: Sendable, Hashable {
    public let size: UInt64
    /// Seconds since the epoch.
    public let modificationTime: Int
}

/// One page of omap entries, in key order.
public struct RadosOmapPage: Sendable, Hashable {
    public var entries: [RadosOmapEntry]
    /// Whether more entries follow the last one of this page.
    public var hasMore: Bool
}

public struct RadosOmapEntry: Sendable, Hashable {
    public var key: String
    public var value: [UInt8]
    public init(key: String, value: [UInt8]) {
        self.key = key
        self.value = value
    }
}

/// The values a ``RadosReadOperation`` produced, by slot, and the object's version.
public struct RadosReadResult: Sendable {
    let values: [Int: any Sendable]
    /// The object's version when it was read.
    public let version: UInt64

    public subscript<Value>(slot: RadosReadOperation.Slot<Value>) -> Value {
        guard let value = values[slot.index] as? Value else {
            preconditionFailure("slot \(slot.index) does not belong to the operation that produced this result")
        }
        return value
    }
}

/// The C operation and the output locations librados fills in while it runs.
final class CReadOperation {
    let op: rados_read_op_t
    private let buffers: CBuffers
    private var outputs: [(index: Int, output: Output)] = []

    private enum Output {
        case stat(size: UnsafeMutablePointer<UInt64>, time: UnsafeMutablePointer<time_t>)
        case read(buffer: UnsafeMutablePointer<CChar>, capacity: Int, bytesRead: UnsafeMutablePointer<Int>)
        case omap(iterator: UnsafeMutablePointer<rados_omap_iter_t?>, more: UnsafeMutablePointer<UInt8>?)
        case omapByKeys(iterator: UnsafeMutablePointer<rados_omap_iter_t?>)
        case xattrs(iterator: UnsafeMutablePointer<rados_xattrs_iter_t?>)
        case exec(buffer: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>, length: UnsafeMutablePointer<Int>)
    }

    init(_ operation: RadosReadOperation) {
        let buffers = CBuffers()
        let op = rados_create_read_op()!
        self.op = op
        self.buffers = buffers
        for (index, step) in operation.steps.enumerated() {
            switch step {
            case .assertExists:
                rados_read_op_assert_exists(op)
            case .assertVersion(let version):
                rados_read_op_assert_version(op, version)
            case .compareXattr(let name, let comparison, let value):
                rados_read_op_cmpxattr(
                    op, buffers.cString(name), comparison.rawValue, buffers.copy(value), value.count)
            case .compareOmap(let key, let comparison, let value):
                rados_read_op_omap_cmp2(
                    op, buffers.cString(key), comparison.rawValue, buffers.copy(value), key.utf8.count, value.count,
                    buffers.allocate(Int32.self))
            case .stat:
                let size = buffers.allocate(UInt64.self)
                let time = buffers.allocate(time_t.self)
                rados_read_op_stat(op, size, time, buffers.allocate(Int32.self))
                outputs.append((index, .stat(size: size, time: time)))
            case .read(let offset, let length):
                let buffer = buffers.allocateUninitialized(CChar.self, count: length)
                let bytesRead = buffers.allocate(Int.self)
                rados_read_op_read(op, offset, length, buffer, bytesRead, buffers.allocate(Int32.self))
                outputs.append((index, .read(buffer: buffer, capacity: length, bytesRead: bytesRead)))
            case .omapValues(let startAfter, let prefix, let maxCount):
                let iterator = buffers.allocate(rados_omap_iter_t?.self)
                let more = buffers.allocate(UInt8.self)
                rados_read_op_omap_get_vals2(
                    op, buffers.cString(startAfter), buffers.cString(prefix), maxCount, iterator, more,
                    buffers.allocate(Int32.self))
                outputs.append((index, .omap(iterator: iterator, more: more)))
            case .omapKeys(let startAfter, let maxCount):
                let iterator = buffers.allocate(rados_omap_iter_t?.self)
                let more = buffers.allocate(UInt8.self)
                rados_read_op_omap_get_keys2(
                    op, buffers.cString(startAfter), maxCount, iterator, more, buffers.allocate(Int32.self))
                outputs.append((index, .omap(iterator: iterator, more: more)))
            case .omapValuesForKeys(let keys):
                let iterator = buffers.allocate(rados_omap_iter_t?.self)
                let (keyPointers, keyLengths) = buffers.cStrings(keys)
                rados_read_op_omap_get_vals_by_keys2(
                    op, keyPointers, keys.count, keyLengths, iterator, buffers.allocate(Int32.self))
                outputs.append((index, .omapByKeys(iterator: iterator)))
            case .xattrs:
                let iterator = buffers.allocate(rados_xattrs_iter_t?.self)
                rados_read_op_getxattrs(op, iterator, buffers.allocate(Int32.self))
                outputs.append((index, .xattrs(iterator: iterator)))
            case .exec(let className, let method, let input):
                let buffer = buffers.allocate(UnsafeMutablePointer<CChar>?.self)
                let length = buffers.allocate(Int.self)
                rados_read_op_exec(
                    op, buffers.cString(className), buffers.cString(method), buffers.copy(input), input.count,
                    buffer, length, buffers.allocate(Int32.self))
                outputs.append((index, .exec(buffer: buffer, length: length)))
            }
        }
    }

    /// Frees what librados allocated for the outputs (iterators, exec buffers)
    /// and the operation itself. Must run after completion, success or not.
    deinit {
        for (_, output) in outputs {
            switch output {
            case .omap(let iterator, _), .omapByKeys(let iterator):
                if let iter = iterator.pointee { rados_omap_get_end(iter) }
            case .xattrs(let iterator):
                if let iter = iterator.pointee { rados_getxattrs_end(iter) }
            case .exec(let buffer, _):
                if let data = buffer.pointee { rados_buffer_free(data) }
            case .stat, .read:
                break
            }
        }
        rados_release_read_op(op)
    }

    /// Reads the outputs of a successfully completed operation.
    func results(version: UInt64) throws(RadosError) -> RadosReadResult {
        var values: [Int: any Sendable] = [:]
        for (index, output) in outputs {
            switch output {
            case .stat(let size, let time):
                values[index] = RadosObjectStat(size: size.pointee, modificationTime: Int(time.pointee))
            case .read(let buffer, let capacity, let bytesRead):
                // Only what librados reports written, and never past the buffer.
                values[index] = [UInt8](copying: buffer, count: min(max(0, bytesRead.pointee), capacity))
            case .omap(let iterator, let more):
                let entries = try Self.drainOmap(iterator.pointee)
                values[index] = RadosOmapPage(entries: entries, hasMore: (more?.pointee ?? 0) != 0)
            case .omapByKeys(let iterator):
                let entries = try Self.drainOmap(iterator.pointee)
                values[index] = Dictionary(entries.map { ($0.key, $0.value) }, uniquingKeysWith: { _, last in last })
            case .xattrs(let iterator):
                values[index] = try Self.drainXattrs(iterator.pointee)
            case .exec(let buffer, let length):
                values[index] = [UInt8](copying: buffer.pointee, count: length.pointee)
            }
        }
        return RadosReadResult(values: values, version: version)
    }

    private static func drainOmap(_ iterator: rados_omap_iter_t?) throws(RadosError) -> [RadosOmapEntry] {
        guard let iterator else { return [] }
        var entries: [RadosOmapEntry] = []
        while true {
            var key: UnsafeMutablePointer<CChar>?
            var value: UnsafeMutablePointer<CChar>?
            var keyLength = 0
            var valueLength = 0
            try check(
                rados_omap_get_next2(iterator, &key, &value, &keyLength, &valueLength), "rados_omap_get_next2")
            guard let key else { break }
            let keyBytes = [UInt8](copying: key, count: keyLength)
            entries.append(
                RadosOmapEntry(
                    key: String(decoding: keyBytes, as: UTF8.self),
                    value: [UInt8](copying: value, count: valueLength)))
        }
        return entries
    }

    private static func drainXattrs(_ iterator: rados_xattrs_iter_t?) throws(RadosError) -> [String: [UInt8]] {
        guard let iterator else { return [:] }
        var result: [String: [UInt8]] = [:]
        while true {
            var name: UnsafePointer<CChar>?
            var value: UnsafePointer<CChar>?
            var length = 0
            try check(rados_getxattrs_next(iterator, &name, &value, &length), "rados_getxattrs_next")
            guard let name else { break }
            result[String(cString: name)] = [UInt8](copying: value, count: length)
        }
        return result
    }
}
