import CRados

extension RadosIOContext {
    /// The names of the objects in this context's namespace whose name starts
    /// with `prefix`, in no particular order. Listing walks every placement
    /// group of the pool: an administrative operation (`orzo check`), not one
    /// for a request path. The corresponding C functions are
    /// `rados_nobjects_list_open`, `rados_nobjects_list_next2` and
    /// `rados_nobjects_list_close`, run off the concurrency pool (librados has
    /// no asynchronous listing).
    public func objectNames(prefix: String = "") async throws(RadosError) -> [String] {
        try await runBlocking { () throws(RadosError) -> [String] in
            var list: rados_list_ctx_t?
            try check(rados_nobjects_list_open(self.handle, &list), "rados_nobjects_list_open")
            guard let list else { return [] }
            defer { rados_nobjects_list_close(list) }
            var names: [String] = []
            while true {
                var entry: UnsafePointer<CChar>?
                var entrySize = 0
                let result = rados_nobjects_list_next2(list, &entry, nil, nil, &entrySize, nil, nil)
                if result == -ENOENT { break }
                try check(result, "rados_nobjects_list_next2")
                guard let entry else { continue }
                let name = entry.withMemoryRebound(to: UInt8.self, capacity: entrySize) {
                    String(decoding: UnsafeBufferPointer(start: $0, count: entrySize), as: UTF8.self)
                }
                if name.hasPrefix(prefix) { names.append(name) }
            }
            return names
        }
    }
}
