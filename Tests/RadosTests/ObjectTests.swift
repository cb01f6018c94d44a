import OrzoTestSupport
import Rados
import Synchronization
import Testing

@Suite("librados: objects, omap, xattrs (real Ceph)", .enabled(if: CephTestCluster.isEnabled), .timeLimit(.minutes(5)))
struct ObjectTests {
    @Test("write_full, write at offset, append, read, stat, remove")
    func dataLifecycle() async throws {
        let io = try await CephTestCluster.ioContext()
        let name = CephTestCluster.uniqueName("object")
        try await io.writeFull(name, Array("hello world"))
        #expect(try await io.read(name) == Array("hello world"))
        try await io.write(name, Array("HELLO"), at: 0)
        try await io.append(name, Array("!"))
        #expect(try await io.read(name) == Array("HELLO world!"))
        #expect(try await io.read(name, offset: 6, length: 100) == Array("world!"))
        #expect(try await io.stat(name).size == 12)
        try await io.writeFull(name, Array("short"))
        #expect(try await io.read(name) == Array("short"), "write_full replaces, not overlays")
        try await io.remove(name)
        await expectRadosError(.notFound) { _ = try await io.read(name) }
        await expectRadosError(.notFound) { _ = try await io.stat(name) }
        await expectRadosError(.notFound) { try await io.remove(name) }
    }

    @Test("a large object is read whole in chunks", arguments: [1, 7, 1 << 20])
    func chunkedRead(chunkSize: Int) async throws {
        let io = try await CephTestCluster.ioContext()
        let name = CephTestCluster.uniqueName("large")
        let size = chunkSize < 1024 ? 1000 : 3 << 20 | 12345
        var generator = SplitMix64(seed: UInt64(chunkSize))
        let data = (0..<size).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
        try await io.writeFull(name, data)
        let read = try await io.read(name, chunkSize: chunkSize)
        #expect(read.count == data.count)
        #expect(read == data)
        try await io.remove(name)
    }

    @Test("omap: set, get by keys (missing keys absent), remove keys")
    func omapKeys() async throws {
        let io = try await CephTestCluster.ioContext()
        let name = CephTestCluster.uniqueName("omap")
        try await io.setOmap(name, ["k1": Array("v1"), "k2": Array("v2"), "k3": []])
        let values = try await io.omapValues(name, forKeys: ["k1", "k3", "missing"])
        #expect(values == ["k1": Array("v1"), "k3": []])
        try await io.removeOmapKeys(name, ["k1", "never-there"])
        var range = RadosWriteOperation()
        range.setOmap(["r/1": [1], "r/2": [2], "r/3": [3]])
        try await io.operate(range, on: name)
        var removeRange = RadosWriteOperation()
        removeRange.removeOmapRange(from: "r/1", to: "r/3")
        try await io.operate(removeRange, on: name)
        #expect(try await io.omapEntries(name, prefix: "r/").map(\.key) == ["r/3"], "[from, to)")
        try await io.removeOmapKeys(name, ["r/3"])
        #expect(try await io.omapValues(name, forKeys: ["k1", "k2"]) == ["k2": Array("v2")])
        try await io.remove(name)
    }

    @Test("omap paging: pages of a fixed size, by prefix, resumed after the last key")
    func omapPaging() async throws {
        let io = try await CephTestCluster.ioContext()
        let name = CephTestCluster.uniqueName("omap-pages")
        var entries: [String: [UInt8]] = [:]
        for index in 0..<250 { entries["a/\(padded(index))"] = Array("value \(index)") }
        for index in 0..<40 { entries["b/\(padded(index))"] = Array("other \(index)") }
        try await io.setOmap(name, entries)

        let first = try await io.omapPage(name, prefix: "a/", maxCount: 100)
        #expect(first.entries.count == 100)
        #expect(first.hasMore)
        #expect(first.entries.first?.key == "a/00000")
        let second = try await io.omapPage(
            name, startAfter: first.entries.last!.key, prefix: "a/", maxCount: 100)
        #expect(second.entries.first?.key == "a/00100")
        let all = try await io.omapEntries(name, prefix: "a/", pageSize: 100)
        #expect(all.count == 250)
        #expect(all.map(\.key) == entries.keys.filter { $0.hasPrefix("a/") }.sorted())
        #expect(all.allSatisfy { entries[$0.key] == $0.value })
        let last = try await io.omapPage(name, startAfter: "a/00199", prefix: "a/", maxCount: 100)
        #expect(last.entries.count == 50)
        #expect(!last.hasMore)
        #expect(try await io.omapEntries(name, prefix: "b/", pageSize: 7).count == 40)
        #expect(try await io.omapEntries(name, pageSize: 1000).count == 290)
        try await io.remove(name)
    }

    @Test("xattrs: set, get, list, remove; removing a missing one is a no-op")
    func xattrs() async throws {
        let io = try await CephTestCluster.ioContext()
        let name = CephTestCluster.uniqueName("xattrs")
        try await io.writeFull(name, [])
        try await io.setXattr(name, "owner", Array("worker-1"))
        try await io.setXattr(name, "format", [1, 0, 255])
        #expect(try await io.xattr(name, "owner") == Array("worker-1"))
        #expect(try await io.xattrs(name) == ["owner": Array("worker-1"), "format": [1, 0, 255]])
        try await io.removeXattr(name, "owner")
        #expect(try await io.xattr(name, "owner") == nil)
        try await io.removeXattr(name, "owner")
        try await io.remove(name)
    }

    @Test("many asynchronous operations are in flight at once without a thread each")
    func asyncCompletions() async throws {
        let io = try await CephTestCluster.ioContext()
        let prefix = CephTestCluster.uniqueName("aio")
        let counters = InFlightCounter()
        let count = 2000
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<count {
                group.addTask {
                    counters.begin()
                    try await io.writeFull("\(prefix)-\(index % 50)", Array("\(index)"))
                    try await io.setOmap("\(prefix)-index", ["\(padded(index))": Array("\(index)")])
                    counters.end()
                }
            }
            try await group.waitForAll()
        }
        // The cooperative pool has as many threads as cores (2 here). Had each
        // operation blocked a thread, no more than that could be in flight.
        #expect(counters.peak > 100, "peak in flight: \(counters.peak)")
        #expect(try await io.omapEntries("\(prefix)-index").count == count)
        for index in 0..<50 { try await io.remove("\(prefix)-\(index)") }
        try await io.remove("\(prefix)-index")
    }
}

/// Counts operations in flight and remembers the most there were at once.
final class InFlightCounter: Sendable {
    private let current = Atomic<Int>(0)
    private let highest = Atomic<Int>(0)

    func begin() {
        let now = current.add(1, ordering: .relaxed).newValue
        _ = highest.max(now, ordering: .relaxed)
    }

    func end() { current.subtract(1, ordering: .relaxed) }

    var peak: Int { highest.load(ordering: .relaxed) }

    @Test("listing names the objects of a namespace with a prefix, and only those")
    func listing() async throws {
        let shared = try await CephTestCluster.ioContext()
        try await shared.cluster.ensurePool(named: CephTestCluster.pool)
        let namespace = CephTestCluster.uniqueName("listing")
        let io = try shared.cluster.ioContext(pool: CephTestCluster.pool, namespace: namespace)
        let other = try shared.cluster.ioContext(pool: CephTestCluster.pool, namespace: namespace + "-other")
        let names = (0..<5).map { "list.\($0)" }
        for name in names { try await io.writeFull(name, Array(name.utf8)) }
        try await io.writeFull("unlisted", [1])
        try await other.writeFull("list.other", [1])
        #expect(try await io.objectNames(prefix: "list.").sorted() == names)
        #expect(try await io.objectNames().count == 6)
        for name in names + ["unlisted"] { try await io.remove(name) }
        try await other.remove("list.other")
        #expect(try await io.objectNames().isEmpty)
    }
}

/// Zero-padded to five digits, so that keys sort numerically.
func padded(_ index: Int) -> String {
    let digits = String(index)
    return String(repeating: "0", count: Swift.max(0, 5 - digits.count)) + digits
}
