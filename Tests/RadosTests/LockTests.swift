import Rados
import Testing

@Suite(
    "librados: cls_lock leases and fencing (real Ceph)", .enabled(if: CephTestCluster.isEnabled),
    .timeLimit(.minutes(5)))
struct LockTests {
    let lock = "orzo.lease"

    @Test("lock contention: a second client gets busy; the holder re-locking gets exists or renews")
    func contention() async throws {
        let a = try await CephTestCluster.ioContext()
        let b = try await CephTestCluster.separateClientIOContext()
        let name = CephTestCluster.uniqueName("contended")
        try await a.lockExclusive(name, name: lock, cookie: "a", duration: .seconds(60))
        await expectRadosError(.busy) {
            try await b.lockExclusive(name, name: lock, cookie: "b", duration: .seconds(60))
        }
        await expectRadosError(.busy) {
            try await a.lockExclusive(name, name: lock, cookie: "another-cookie", duration: .seconds(60))
        }
        await expectRadosError(.exists) {
            try await a.lockExclusive(name, name: lock, cookie: "a", duration: .seconds(60))
        }
        try await a.lockExclusive(name, name: lock, cookie: "a", duration: .seconds(60), flags: .acquireOrRenew)
        try await a.renewLock(name, name: lock, cookie: "a", duration: .seconds(60))
        await expectRadosError(.notFound) {
            try await b.renewLock(name, name: lock, cookie: "b", duration: .seconds(1))
        }

        let info = try await a.lockInfo(name, name: lock)
        #expect(info.isExclusive)
        #expect(info.lockers.map(\.client) == [a.cluster.clientName])
        #expect(info.lockers.map(\.cookie) == ["a"])

        await expectRadosError(.notFound) { try await b.unlock(name, name: lock, cookie: "b") }
        try await a.unlock(name, name: lock, cookie: "a")
        #expect(try await a.lockInfo(name, name: lock).lockers.isEmpty)
        try await b.lockExclusive(name, name: lock, cookie: "b", duration: .seconds(60))
        try await b.unlock(name, name: lock, cookie: "b")
        try await a.remove(name)
    }

    @Test("a lease expires after its duration and another client takes it over")
    func leaseExpiry() async throws {
        let a = try await CephTestCluster.ioContext()
        let b = try await CephTestCluster.separateClientIOContext()
        let name = CephTestCluster.uniqueName("lease")
        // Leases of a few seconds: the whole suite runs in parallel on two cores,
        // and a lease shorter than a scheduling hiccup would make the test flaky.
        let taken = ContinuousClock.now
        try await a.lockExclusive(name, name: lock, cookie: "a", duration: .seconds(3))
        await expectRadosError(.busy) {
            try await b.lockExclusive(name, name: lock, cookie: "b", duration: .seconds(30))
        }
        // Poll as a waiting worker would; Ceph checks expiry on each attempt.
        let acquired = try await acquireWhenFree(b, name, cookie: "b", duration: .seconds(30))
        let waited = ContinuousClock.now - taken
        #expect(acquired)
        #expect(waited >= .milliseconds(2900), "taken over after \(waited)")
        // Well under b's own 30 s lease; loose enough for a loaded CI machine.
        #expect(waited < .seconds(20), "taken over after \(waited)")
        // The old holder can neither renew nor release what it lost.
        await expectRadosError(.notFound) {
            try await a.renewLock(name, name: lock, cookie: "a", duration: .seconds(5))
        }
        await expectRadosError(.notFound) { try await a.unlock(name, name: lock, cookie: "a") }
        #expect(try await b.lockInfo(name, name: lock).lockers.map(\.cookie) == ["b"])
        try await b.unlock(name, name: lock, cookie: "b")
        try await a.remove(name)
    }

    @Test("assert_locked fences writes: a holder that lost its lease writes nothing")
    func fencing() async throws {
        let a = try await CephTestCluster.ioContext()
        let b = try await CephTestCluster.separateClientIOContext()
        let name = CephTestCluster.uniqueName("fenced")
        try await a.lockExclusive(name, name: lock, cookie: "cycle-1", duration: .seconds(3))

        var write = RadosWriteOperation()
        write.assertLocked(name: lock, cookie: "cycle-1")
        write.writeFull(Array("written by a"))
        try await a.operate(write, on: name)
        #expect(try await a.read(name) == Array("written by a"))

        // b does not hold the lease: its guarded write fails and changes nothing.
        var intruder = RadosWriteOperation()
        intruder.assertLocked(name: lock, cookie: "cycle-1")
        intruder.writeFull(Array("written by b without the lease"))
        intruder.setOmap(["k": Array("v")])
        await expectRadosError(.busy) { try await b.operate(intruder, on: name) }
        #expect(try await b.read(name) == Array("written by a"))
        #expect(try await b.omapValues(name, forKeys: ["k"]).isEmpty)

        // a stalls past its lease; b takes over (as soon as the lease has expired) and writes.
        #expect(try await acquireWhenFree(b, name, cookie: "cycle-2", duration: .seconds(30)))
        var takeover = RadosWriteOperation()
        takeover.assertLocked(name: lock, cookie: "cycle-2")
        takeover.writeFull(Array("written by b"))
        try await b.operate(takeover, on: name)

        // a resumes with its stale cycle: the same guarded write now fails.
        await expectRadosError(.busy) { try await a.operate(write, on: name) }
        #expect(try await a.read(name) == Array("written by b"))
        try await b.unlock(name, name: lock, cookie: "cycle-2")
        try await a.remove(name)
    }

    @Test("an expired lease that nobody took over no longer passes assert_locked")
    func expiredLeaseFailsAssertion() async throws {
        let a = try await CephTestCluster.ioContext()
        let name = CephTestCluster.uniqueName("expired")
        try await a.lockExclusive(name, name: lock, cookie: "c", duration: .milliseconds(500))
        try await Task.sleep(for: .milliseconds(800))
        var write = RadosWriteOperation()
        write.assertLocked(name: lock, cookie: "c")
        write.writeFull(Array("late"))
        do {
            try await a.operate(write, on: name)
            Issue.record("a write under an expired lease succeeded")
        } catch {
            #expect([.busy, .notFound].contains(error.kind), "got \(error)")
        }
        #expect(try await a.read(name).isEmpty)
        try await a.remove(name)
    }

    @Test("break_lock removes another client's lock, and its fenced writes then fail")
    func breakLock() async throws {
        let a = try await CephTestCluster.ioContext()
        let b = try await CephTestCluster.separateClientIOContext()
        let name = CephTestCluster.uniqueName("broken")
        try await a.lockExclusive(name, name: lock, cookie: "stuck", duration: nil)
        await expectRadosError(.busy) { try await b.lockExclusive(name, name: lock, cookie: "b", duration: nil) }
        let holder = try #require(try await b.lockInfo(name, name: lock).lockers.first)
        #expect(holder.client == a.cluster.clientName)
        try await b.breakLock(name, name: lock, client: holder.client, cookie: holder.cookie)
        try await b.lockExclusive(name, name: lock, cookie: "b", duration: nil)
        var write = RadosWriteOperation()
        write.assertLocked(name: lock, cookie: "stuck")
        write.writeFull(Array("stale"))
        await expectRadosError(.busy) { try await a.operate(write, on: name) }
        await expectRadosError(.notFound) {
            try await b.breakLock(name, name: lock, client: holder.client, cookie: holder.cookie)
        }
        try await b.unlock(name, name: lock, cookie: "b")
        try await a.remove(name)
    }
}

/// Tries to take the lease until it is free (another holder's lease expired) or
/// `timeout` passes, as a waiting worker does. Returns whether it was taken.
func acquireWhenFree(
    _ io: RadosIOContext, _ object: String, name: String = "orzo.lease", cookie: String, duration: Duration,
    timeout: Duration = .seconds(10)
) async throws -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if let error = await attempt({ () async throws(RadosError) in
            try await io.lockExclusive(object, name: name, cookie: cookie, duration: duration)
        }) {
            guard error.kind == .busy else { throw error }
            try await Task.sleep(for: .milliseconds(100))
        } else {
            return true
        }
    }
    return false
}

/// Runs `body` and returns its error, or `nil` if it succeeded.
func attempt(_ body: () async throws(RadosError) -> Void) async -> RadosError? {
    do {
        try await body()
        return nil
    } catch {
        return error
    }
}
