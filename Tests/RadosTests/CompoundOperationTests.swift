import Rados
import Testing

@Suite(
    "librados: compound operations and guards (real Ceph)", .enabled(if: CephTestCluster.isEnabled),
    .timeLimit(.minutes(5)))
struct CompoundOperationTests {
    @Test("a compound write applies all its steps in one operation")
    func compoundWrite() async throws {
        let io = try await CephTestCluster.ioContext()
        let name = CephTestCluster.uniqueName("compound")
        var op = RadosWriteOperation()
        op.create(exclusive: true)
        op.writeFull(Array("data"))
        op.setXattr("kind", Array("split"))
        op.setOmap(["a": Array("1"), "b": Array("2")])
        try await io.operate(op, on: name)

        var read = RadosReadOperation()
        let stat = read.stat()
        let data = read.read(length: 100)
        let xattrs = read.xattrs()
        let omap = read.omapValues(maxCount: 10)
        let result = try await io.operate(read, on: name)
        #expect(result[stat].size == 4)
        #expect(result[data] == Array("data"))
        #expect(result[xattrs] == ["kind": Array("split")])
        #expect(result[omap].entries == [.init(key: "a", value: Array("1")), .init(key: "b", value: Array("2"))])
        #expect(result.version > 0)
        try await io.remove(name)
    }

    @Test("create exclusive on an existing object fails with exists; assert_exists on a missing one with notFound")
    func existenceGuards() async throws {
        let io = try await CephTestCluster.ioContext()
        let name = CephTestCluster.uniqueName("exists")
        try await io.writeFull(name, Array("x"))
        var create = RadosWriteOperation()
        create.create(exclusive: true)
        await expectRadosError(.exists) { try await io.operate(create, on: name) }

        var guarded = RadosWriteOperation()
        guarded.assertExists()
        guarded.writeFull(Array("should not exist"))
        let missing = CephTestCluster.uniqueName("missing")
        await expectRadosError(.notFound) { try await io.operate(guarded, on: missing) }
        await expectRadosError(.notFound) { _ = try await io.stat(missing) }
        try await io.remove(name)
    }

    @Test("omap_cmp guard failure cancels every step of the operation")
    func omapCompareGuard() async throws {
        let io = try await CephTestCluster.ioContext()
        let name = CephTestCluster.uniqueName("omap-cmp")
        try await io.writeFull(name, Array("original"))
        try await io.setOmap(name, ["epoch": Array("3")])

        var stale = RadosWriteOperation()
        stale.compareOmap("epoch", .equal, Array("2"))
        stale.writeFull(Array("overwritten"))
        stale.setOmap(["epoch": Array("4")])
        await expectRadosError(.canceled) { try await io.operate(stale, on: name) }
        #expect(try await io.read(name) == Array("original"))
        #expect(try await io.omapValues(name, forKeys: ["epoch"]) == ["epoch": Array("3")])

        var current = RadosWriteOperation()
        current.compareOmap("epoch", .equal, Array("3"))
        current.writeFull(Array("updated"))
        current.setOmap(["epoch": Array("4")])
        try await io.operate(current, on: name)
        #expect(try await io.read(name) == Array("updated"))
        #expect(try await io.omapValues(name, forKeys: ["epoch"]) == ["epoch": Array("4")])
        try await io.remove(name)
    }

    @Test("cmpxattr guard: a write under the wrong owner token is refused")
    func xattrCompareGuard() async throws {
        let io = try await CephTestCluster.ioContext()
        let name = CephTestCluster.uniqueName("cmpxattr")
        try await io.writeFull(name, Array("mine"))
        try await io.setXattr(name, "owner", Array("worker-a"))

        var intruder = RadosWriteOperation()
        intruder.compareXattr("owner", .equal, Array("worker-b"))
        intruder.writeFull(Array("theirs"))
        await expectRadosError(.canceled) { try await io.operate(intruder, on: name) }
        #expect(try await io.read(name) == Array("mine"))

        var owner = RadosWriteOperation()
        owner.compareXattr("owner", .equal, Array("worker-a"))
        owner.append(Array("+more"))
        try await io.operate(owner, on: name)
        #expect(try await io.read(name) == Array("mine+more"))

        var readGuard = RadosReadOperation()
        readGuard.compareXattr("owner", .equal, Array("worker-b"))
        _ = readGuard.read(length: 10)
        await expectRadosError(.canceled) { _ = try await io.operate(readGuard, on: name) }
        try await io.remove(name)
    }

    @Test("assert_version: the current version passes, a stale one fails with versionMismatch")
    func versionGuard() async throws {
        let io = try await CephTestCluster.ioContext()
        let name = CephTestCluster.uniqueName("version")
        let first = try await io.writeFull(name, Array("v1"))
        var read = RadosReadOperation()
        let data = read.read(length: 10)
        let snapshot = try await io.operate(read, on: name)
        #expect(snapshot[data] == Array("v1"))
        #expect(snapshot.version == first)

        // Read-merge-write: a write conditioned on the version it read.
        var update = RadosWriteOperation()
        update.assertVersion(snapshot.version)
        update.writeFull(Array("v2"))
        let second = try await io.operate(update, on: name)
        #expect(second > first)

        // A second writer that read the old version loses.
        var lost = RadosWriteOperation()
        lost.assertVersion(snapshot.version)
        lost.writeFull(Array("v2-lost"))
        await expectRadosError(.versionMismatch) { try await io.operate(lost, on: name) }
        var future = RadosWriteOperation()
        future.assertVersion(second + 100)
        future.writeFull(Array("from the future"))
        await expectRadosError(.versionMismatch) { try await io.operate(future, on: name) }
        var readGuard = RadosReadOperation()
        readGuard.assertVersion(first)
        await expectRadosError(.versionMismatch) { _ = try await io.operate(readGuard, on: name) }
        #expect(try await io.read(name) == Array("v2"))
        try await io.remove(name)
    }

    @Test("exec of an object class method, in a read operation and on its own")
    func execClassMethod() async throws {
        let io = try await CephTestCluster.ioContext()
        let name = CephTestCluster.uniqueName("exec")
        try await io.lockExclusive(name, name: "orzo.lease", cookie: "c1", duration: .seconds(30))
        // cls_lock's list_locks answers ENCODE_START(1,1) + list<string>.
        var read = RadosReadOperation()
        let output = read.exec(className: "lock", method: "list_locks")
        let bytes = try await io.operate(read, on: name)[output]
        #expect(bytes.count == 6 + 4 + 4 + "orzo.lease".utf8.count)
        #expect(bytes.suffix("orzo.lease".utf8.count) == ArraySlice(Array("orzo.lease")))
        #expect(try await io.exec(name, className: "lock", method: "list_locks") == bytes)
        await expectRadosError(.other) {
            _ = try await io.exec(name, className: "lock", method: "no_such_method")
        }
        try await io.remove(name)
    }
}

@Suite(
    "librados: omap_cmp on a missing key (real Ceph)", .enabled(if: CephTestCluster.isEnabled), .timeLimit(.minutes(5)))
struct OmapMissingKeyTests {
    @Test("omap_cmp compares a missing key as an empty value: 'create if absent' in one operation")
    func missingKey() async throws {
        let io = try await CephTestCluster.ioContext()
        let name = CephTestCluster.uniqueName("omap-missing")
        try await io.setOmap(name, ["present": Array("1")])
        var equalEmpty = RadosWriteOperation()
        equalEmpty.compareOmap("absent", .equal, [])
        equalEmpty.setOmap(["created": Array("yes")])
        try await io.operate(equalEmpty, on: name)
        #expect(try await io.omapValues(name, forKeys: ["created"]) == ["created": Array("yes")])
        // The same guard on a present, non-empty key is refused: exactly one creator wins.
        var again = RadosWriteOperation()
        again.compareOmap("present", .equal, [])
        again.setOmap(["present": Array("2")])
        await expectRadosError(.canceled) { try await io.operate(again, on: name) }
        var equalValue = RadosWriteOperation()
        equalValue.compareOmap("absent", .equal, Array("x"))
        equalValue.setOmap(["never": Array("no")])
        await expectRadosError(.canceled) { try await io.operate(equalValue, on: name) }
        try await io.remove(name)
    }
}
