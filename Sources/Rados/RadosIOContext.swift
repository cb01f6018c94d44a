import CRados

/// I/O on the objects of one pool (and namespace).
///
/// Thread-safe and `Sendable`: librados allows concurrent I/O on an I/O context,
/// and the settings that are not thread-safe to change (namespace, locator,
/// snapshot) are fixed when it is created. Every operation is asynchronous: it
/// is submitted with a librados completion and the task suspends until
/// librados calls back, so thousands can be in flight without a thread each.
/// A Swift task that is cancelled still waits for its operation to finish:
/// librados cannot take back a write it has sent.
public final class RadosIOContext: @unchecked Sendable {
    let handle: rados_ioctx_t
    /// The connection; held so that it is shut down only after this context.
    public let cluster: RadosCluster
    public let pool: String
    public let namespace: String?

    init(handle: rados_ioctx_t, cluster: RadosCluster, pool: String, namespace: String?) {
        self.handle = handle
        self.cluster = cluster
        self.pool = pool
        self.namespace = namespace
    }

    deinit {
        // Operations in flight hold a reference to this context, so none is left.
        rados_ioctx_destroy(handle)
    }

    // MARK: Compound operations

    /// Applies a compound write atomically and returns the object's new version.
    /// The corresponding C function is `rados_aio_write_op_operate`.
    @discardableResult
    public func operate(_ operation: RadosWriteOperation, on object: String) async throws(RadosError) -> UInt64 {
        let buffers = CBuffers()
        let op = operation.makeCOperation(buffers: buffers)
        defer { rados_release_write_op(op) }
        let oid = buffers.cString(object)
        let result = await withRadosCompletion { completion in
            rados_aio_write_op_operate(op, handle, completion, oid, nil, 0)
        }
        withExtendedLifetime(buffers) {}
        try check(result.returnValue, "rados_aio_write_op_operate", object: object)
        return result.version
    }

    /// Runs a compound read and returns what its steps read.
    /// The corresponding C function is `rados_aio_read_op_operate`.
    public func operate(_ operation: RadosReadOperation, on object: String) async throws(RadosError) -> RadosReadResult
    {
        let cOperation = CReadOperation(operation)
        let oidBuffer = CBuffers()
        let oid = oidBuffer.cString(object)
        let result = await withRadosCompletion { completion in
            rados_aio_read_op_operate(cOperation.op, handle, completion, oid, 0)
        }
        withExtendedLifetime(oidBuffer) {}
        try check(result.returnValue, "rados_aio_read_op_operate", object: object)
        return try cOperation.results(version: result.version)
    }

    // MARK: Whole-object data

    /// Replaces the object's data, creating it if needed.
    /// The corresponding C function is `rados_aio_write_op_operate` with `write_full`.
    @discardableResult
    public func writeFull(_ object: String, _ data: [UInt8]) async throws(RadosError) -> UInt64 {
        var op = RadosWriteOperation()
        op.writeFull(data)
        return try await operate(op, on: object)
    }

    /// Writes `data` at `offset`, extending the object if needed.
    @discardableResult
    public func write(_ object: String, _ data: [UInt8], at offset: UInt64) async throws(RadosError) -> UInt64 {
        var op = RadosWriteOperation()
        op.write(data, at: offset)
        return try await operate(op, on: object)
    }

    /// Appends `data` to the object, creating it if needed.
    @discardableResult
    public func append(_ object: String, _ data: [UInt8]) async throws(RadosError) -> UInt64 {
        var op = RadosWriteOperation()
        op.append(data)
        return try await operate(op, on: object)
    }

    /// Reads up to `length` bytes from `offset`; fewer at the end of the object.
    public func read(_ object: String, offset: UInt64, length: Int) async throws(RadosError) -> [UInt8] {
        var op = RadosReadOperation()
        let data = op.read(offset: offset, length: length)
        return try await operate(op, on: object)[data]
    }

    /// Reads the whole object, `chunkSize` bytes per round trip. The first round
    /// trip also reads the size, so an object no larger than a chunk costs one.
    public func read(_ object: String, chunkSize: Int = 4 << 20) async throws(RadosError) -> [UInt8] {
        precondition(chunkSize > 0, "chunkSize must be positive")
        var first = RadosReadOperation()
        let stat = first.stat()
        let head = first.read(offset: 0, length: chunkSize)
        let result = try await operate(first, on: object)
        var data = result[head]
        let size = Int(result[stat].size)
        while data.count < size {
            // The object may shrink or grow meanwhile; stop at its end.
            let chunk = try await read(object, offset: UInt64(data.count), length: min(chunkSize, size - data.count))
            if chunk.isEmpty { break }
            data += chunk
        }
        return data
    }

    /// The object's size and modification time.
    /// The corresponding C function is `rados_aio_read_op_operate` with `stat`.
    public func stat(_ object: String) async throws(RadosError) -> RadosObjectStat {
        var op = RadosReadOperation()
        let stat = op.stat()
        return try await operate(op, on: object)[stat]
    }

    /// Removes the object; fails with ``RadosError/Kind/notFound`` if it does not exist.
    /// The corresponding C function is `rados_aio_remove`.
    public func remove(_ object: String) async throws(RadosError) {
        let buffers = CBuffers()
        let oid = buffers.cString(object)
        let result = await withRadosCompletion { completion in rados_aio_remove(handle, oid, completion) }
        withExtendedLifetime(buffers) {}
        try check(result.returnValue, "rados_aio_remove", object: object)
    }

    /// Runs an object class method that may write, and returns its output.
    /// The corresponding C function is `rados_aio_exec`.
    public func exec(
        _ object: String, className: String, method: String, input: [UInt8] = [], maxOutput: Int = 64 << 10
    ) async throws(RadosError) -> [UInt8] {
        let buffers = CBuffers()
        let oid = buffers.cString(object)
        let cls = buffers.cString(className)
        let name = buffers.cString(method)
        let inBuffer = buffers.copy(input)
        let outBuffer = buffers.allocate(CChar.self, count: maxOutput)
        let result = await withRadosCompletion { completion in
            rados_aio_exec(handle, oid, completion, cls, name, inBuffer, input.count, outBuffer, maxOutput)
        }
        defer { withExtendedLifetime(buffers) {} }
        try check(result.returnValue, "rados_aio_exec", object: object)
        return [UInt8](copying: outBuffer, count: Int(result.returnValue))
    }
}
