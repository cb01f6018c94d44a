import Rados
import Synchronization
import Testing

@Suite("librados: watch and notify (real Ceph)", .enabled(if: CephTestCluster.isEnabled), .timeLimit(.minutes(2)))
struct WatchTests {
    @Test(
        "a notify from another client reaches the watcher with its payload; none after unwatch; a missing object cannot be watched"
    )
    func watchNotify() async throws {
        let io = try await CephTestCluster.ioContext()
        let other = try await CephTestCluster.separateClientIOContext()
        let name = CephTestCluster.uniqueName("watched")
        try await io.writeFull(name, [])
        let received = Mutex<[[UInt8]]>([])
        let watch = try await io.watch(name) { event in
            if case .notified(let payload) = event { received.withLock { $0.append(payload) } }
        }
        try watch.check()
        // notify returns once every watcher acked: the payload has arrived by then.
        try await other.notify(name, payload: Array("one"), timeout: .seconds(10))
        try await other.notify(name, payload: [], timeout: .seconds(10))
        #expect(received.withLock { $0 } == [Array("one"), []])
        await watch.unwatch()
        try await other.notify(name, payload: Array("late"), timeout: .seconds(10))
        #expect(received.withLock { $0.count } == 2, "no notify after unwatch")
        await expectRadosError(.notFound) {
            _ = try await io.watch(CephTestCluster.uniqueName("missing")) { _ in }
        }
        try await io.remove(name)
    }
}
