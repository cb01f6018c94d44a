/// Extended attributes: small named values stored with each object.
extension RadosIOContext {
    /// Sets an extended attribute. The corresponding C function is `rados_write_op_setxattr`.
    public func setXattr(_ object: String, _ name: String, _ value: [UInt8]) async throws(RadosError) {
        var op = RadosWriteOperation()
        op.setXattr(name, value)
        try await operate(op, on: object)
    }

    /// Removes an extended attribute; removing one that is not set succeeds (the OSD treats
    /// `rmxattr` in a compound write as idempotent).
    /// The corresponding C function is `rados_write_op_rmxattr`.
    public func removeXattr(_ object: String, _ name: String) async throws(RadosError) {
        var op = RadosWriteOperation()
        op.removeXattr(name)
        try await operate(op, on: object)
    }

    /// Every extended attribute of the object.
    /// The corresponding C function is `rados_read_op_getxattrs`.
    public func xattrs(_ object: String) async throws(RadosError) -> [String: [UInt8]] {
        var op = RadosReadOperation()
        let xattrs = op.xattrs()
        return try await operate(op, on: object)[xattrs]
    }

    /// One extended attribute, or `nil` if it is not set.
    public func xattr(_ object: String, _ name: String) async throws(RadosError) -> [UInt8]? {
        try await xattrs(object)[name]
    }
}
