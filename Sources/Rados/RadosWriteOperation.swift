import CRados

/// Several writes to one object, applied atomically: all of them or none.
///
/// Guards (``assertExists()``, ``assertVersion(_:)``, ``compareXattr(_:_:_:)``,
/// ``compareOmap(_:_:_:)``, ``assertLocked(name:cookie:tag:)``) make the whole
/// operation fail, with nothing applied, when they do not hold. This is a value:
/// build it, then run it with ``RadosIOContext/operate(_:on:)``. The C operation
/// and every buffer it points to exist only while it runs.
public struct RadosWriteOperation: Sendable {
    enum Step: Sendable {
        case create(exclusive: Bool)
        case assertExists
        case assertVersion(UInt64)
        case compareXattr(name: String, comparison: RadosComparison, value: [UInt8])
        case compareOmap(key: String, comparison: RadosComparison, value: [UInt8])
        case writeFull([UInt8])
        case write([UInt8], offset: UInt64)
        case append([UInt8])
        case truncate(UInt64)
        case remove
        case setXattr(name: String, value: [UInt8])
        case removeXattr(name: String)
        case setOmap(keys: [String], values: [[UInt8]])
        case removeOmapKeys([String])
        case removeOmapRange(from: String, to: String)
        case clearOmap
        case exec(className: String, method: String, input: [UInt8])
    }

    private(set) var steps: [Step] = []

    public init() {}

    /// Whether the operation has no step.
    public var isEmpty: Bool { steps.isEmpty }

    /// Creates the object; with `exclusive`, fails with ``RadosError/Kind/exists`` if it exists.
    /// The corresponding C function is `rados_write_op_create`.
    public mutating func create(exclusive: Bool) { steps.append(.create(exclusive: exclusive)) }

    /// Fails with ``RadosError/Kind/notFound`` unless the object exists.
    /// The corresponding C function is `rados_write_op_assert_exists`.
    public mutating func assertExists() { steps.append(.assertExists) }

    /// Fails with ``RadosError/Kind/versionMismatch`` unless the object's version is `version`.
    /// The corresponding C function is `rados_write_op_assert_version`.
    public mutating func assertVersion(_ version: UInt64) { steps.append(.assertVersion(version)) }

    /// Fails with ``RadosError/Kind/canceled`` unless `stored xattr <comparison> value`.
    /// The corresponding C function is `rados_write_op_cmpxattr`.
    public mutating func compareXattr(_ name: String, _ comparison: RadosComparison, _ value: [UInt8]) {
        steps.append(.compareXattr(name: name, comparison: comparison, value: value))
    }

    /// Fails with ``RadosError/Kind/canceled`` unless `stored omap value <comparison> value`.
    /// A missing key compares as an empty value.
    /// The corresponding C function is `rados_write_op_omap_cmp2`.
    public mutating func compareOmap(_ key: String, _ comparison: RadosComparison, _ value: [UInt8]) {
        steps.append(.compareOmap(key: key, comparison: comparison, value: value))
    }

    /// Replaces the object's data. The corresponding C function is `rados_write_op_write_full`.
    public mutating func writeFull(_ data: [UInt8]) { steps.append(.writeFull(data)) }

    /// Writes at an offset. The corresponding C function is `rados_write_op_write`.
    public mutating func write(_ data: [UInt8], at offset: UInt64) { steps.append(.write(data, offset: offset)) }

    /// Appends to the object's data. The corresponding C function is `rados_write_op_append`.
    public mutating func append(_ data: [UInt8]) { steps.append(.append(data)) }

    /// Truncates the object's data. The corresponding C function is `rados_write_op_truncate`.
    public mutating func truncate(to size: UInt64) { steps.append(.truncate(size)) }

    /// Removes the object. The corresponding C function is `rados_write_op_remove`.
    public mutating func remove() { steps.append(.remove) }

    /// Sets an extended attribute. The corresponding C function is `rados_write_op_setxattr`.
    public mutating func setXattr(_ name: String, _ value: [UInt8]) {
        steps.append(.setXattr(name: name, value: value))
    }

    /// Removes an extended attribute. The corresponding C function is `rados_write_op_rmxattr`.
    public mutating func removeXattr(_ name: String) { steps.append(.removeXattr(name: name)) }

    /// Sets omap entries. The corresponding C function is `rados_write_op_omap_set2`.
    public mutating func setOmap(_ entries: [(key: String, value: [UInt8])]) {
        guard !entries.isEmpty else { return }
        steps.append(.setOmap(keys: entries.map(\.key), values: entries.map(\.value)))
    }

    /// Sets omap entries. The corresponding C function is `rados_write_op_omap_set2`.
    public mutating func setOmap(_ entries: [String: [UInt8]]) {
        setOmap(entries.sorted { $0.key < $1.key }.map { (key: $0.key, value: $0.value) })
    }

    /// Removes omap keys; missing keys are ignored.
    /// The corresponding C function is `rados_write_op_omap_rm_keys2`.
    public mutating func removeOmapKeys(_ keys: [String]) {
        guard !keys.isEmpty else { return }
        steps.append(.removeOmapKeys(keys))
    }

    /// Removes the omap keys in `[from, to)`.
    /// The corresponding C function is `rados_write_op_omap_rm_range2`.
    public mutating func removeOmapRange(from: String, to: String) {
        steps.append(.removeOmapRange(from: from, to: to))
    }

    /// Removes every omap entry. The corresponding C function is `rados_write_op_omap_clear`.
    public mutating func clearOmap() { steps.append(.clearOmap) }

    /// Runs a method of an object class on the OSD, as part of this operation.
    /// The corresponding C function is `rados_write_op_exec`.
    public mutating func exec(className: String, method: String, input: [UInt8] = []) {
        steps.append(.exec(className: className, method: method, input: input))
    }

    /// Builds the C operation; every pointer it holds lives in `buffers`.
    func makeCOperation(buffers: CBuffers) -> rados_write_op_t {
        let op = rados_create_write_op()!
        for step in steps {
            switch step {
            case .create(let exclusive):
                rados_write_op_create(op, exclusive ? LIBRADOS_CREATE_EXCLUSIVE : LIBRADOS_CREATE_IDEMPOTENT, nil)
            case .assertExists:
                rados_write_op_assert_exists(op)
            case .assertVersion(let version):
                rados_write_op_assert_version(op, version)
            case .compareXattr(let name, let comparison, let value):
                rados_write_op_cmpxattr(
                    op, buffers.cString(name), comparison.rawValue, buffers.copy(value), value.count)
            case .compareOmap(let key, let comparison, let value):
                rados_write_op_omap_cmp2(
                    op, buffers.cString(key), comparison.rawValue, buffers.copy(value), key.utf8.count, value.count,
                    buffers.allocate(Int32.self))
            case .writeFull(let data):
                rados_write_op_write_full(op, buffers.copy(data), data.count)
            case .write(let data, let offset):
                rados_write_op_write(op, buffers.copy(data), data.count, offset)
            case .append(let data):
                rados_write_op_append(op, buffers.copy(data), data.count)
            case .truncate(let size):
                rados_write_op_truncate(op, size)
            case .remove:
                rados_write_op_remove(op)
            case .setXattr(let name, let value):
                rados_write_op_setxattr(op, buffers.cString(name), buffers.copy(value), value.count)
            case .removeXattr(let name):
                rados_write_op_rmxattr(op, buffers.cString(name))
            case .setOmap(let keys, let values):
                let (keyPointers, keyLengths) = buffers.cStrings(keys)
                let (valuePointers, valueLengths) = buffers.byteArrays(values)
                rados_write_op_omap_set2(op, keyPointers, valuePointers, keyLengths, valueLengths, keys.count)
            case .removeOmapKeys(let keys):
                let (keyPointers, keyLengths) = buffers.cStrings(keys)
                rados_write_op_omap_rm_keys2(op, keyPointers, keyLengths, keys.count)
            case .removeOmapRange(let from, let to):
                rados_write_op_omap_rm_range2(
                    op, buffers.cString(from), from.utf8.count, buffers.cString(to), to.utf8.count)
            case .clearOmap:
                rados_write_op_omap_clear(op)
            case .exec(let className, let method, let input):
                rados_write_op_exec(
                    op, buffers.cString(className), buffers.cString(method), buffers.copy(input), input.count,
                    buffers.allocate(Int32.self))
            }
        }
        return op
    }
}
