/// The omap: a sorted key-value map stored with each object.
extension RadosIOContext {
    /// Sets omap entries atomically. The corresponding C function is `rados_write_op_omap_set2`.
    public func setOmap(_ object: String, _ entries: [String: [UInt8]]) async throws(RadosError) {
        var op = RadosWriteOperation()
        op.setOmap(entries)
        try await operate(op, on: object)
    }

    /// Removes omap keys; missing keys are ignored.
    /// The corresponding C function is `rados_write_op_omap_rm_keys2`.
    public func removeOmapKeys(_ object: String, _ keys: [String]) async throws(RadosError) {
        var op = RadosWriteOperation()
        op.removeOmapKeys(keys)
        try await operate(op, on: object)
    }

    /// The values of `keys`; keys that do not exist are absent from the result.
    /// The corresponding C function is `rados_read_op_omap_get_vals_by_keys2`.
    public func omapValues(_ object: String, forKeys keys: [String]) async throws(RadosError) -> [String: [UInt8]] {
        var op = RadosReadOperation()
        let values = op.omapValues(forKeys: keys)
        return try await operate(op, on: object)[values]
    }

    /// One page of entries in key order: at most `maxCount` keys after `startAfter` that
    /// begin with `prefix`. Continue with the last key of a page while `hasMore`.
    /// The corresponding C function is `rados_read_op_omap_get_vals2`.
    public func omapPage(
        _ object: String, startAfter: String = "", prefix: String = "", maxCount: Int
    ) async throws(RadosError) -> RadosOmapPage {
        var op = RadosReadOperation()
        let page = op.omapValues(startAfter: startAfter, prefix: prefix, maxCount: maxCount)
        return try await operate(op, on: object)[page]
    }

    /// Every entry whose key begins with `prefix`, read `pageSize` entries per round trip.
    public func omapEntries(
        _ object: String, prefix: String = "", pageSize: Int = 1000
    ) async throws(RadosError) -> [RadosOmapEntry] {
        var entries: [RadosOmapEntry] = []
        var startAfter = ""
        while true {
            let page = try await omapPage(object, startAfter: startAfter, prefix: prefix, maxCount: pageSize)
            entries += page.entries
            guard page.hasMore, let last = page.entries.last else { return entries }
            startAfter = last.key
        }
    }
}
