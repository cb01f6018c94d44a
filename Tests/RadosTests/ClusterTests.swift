import Glibc
import Rados
import Testing

@Suite("librados: cluster and pools (real Ceph)", .enabled(if: CephTestCluster.isEnabled), .timeLimit(.minutes(5)))
struct ClusterTests {
    @Test("connects from a conf file and reports a client instance id")
    func connects() async throws {
        let cluster = try await CephTestCluster.connect()
        #expect(cluster.instanceID > 0)
        #expect(cluster.clientName == "client.\(cluster.instanceID)")
        #expect(RadosCluster.libraryVersion.major >= 3)
    }

    @Test("pool lookup, create, create again (exists), ensure, delete")
    func poolLifecycle() async throws {
        let cluster = try await CephTestCluster.connect()
        let name = CephTestCluster.uniqueName("orzo-test-pool")
        #expect(try cluster.poolID(named: name) == nil)
        try await cluster.createPool(named: name)
        #expect(try cluster.poolID(named: name) != nil)
        await expectRadosError(.exists) { try await cluster.createPool(named: name) }
        #expect(try await cluster.ensurePool(named: name) == false)
        let io = try cluster.ioContext(pool: name)
        try await io.writeFull("probe", Array("x"))
        try await cluster.deletePool(named: name)
        await expectRadosError(.notFound) { try await cluster.deletePool(named: name) }
    }

    @Test("opening an I/O context on a missing pool fails with notFound")
    func missingPool() async throws {
        let cluster = try await CephTestCluster.connect()
        await expectRadosError(.notFound) { _ = try cluster.ioContext(pool: "orzo-no-such-pool") }
    }

    @Test("connecting to a cluster that does not answer fails within the connect timeout")
    func connectTimeout() async throws {
        // A conf naming a monitor port where nothing listens.
        let path = "/tmp/orzo-dead-cluster-\(UInt32.random(in: 0..<UInt32.max)).conf"
        let conf = "[global]\nmon host = v2:127.0.0.1:9\nauth client required = none\n"
        let file = try #require(fopen(path, "w"))
        fputs(conf, file)
        fclose(file)
        defer { unlink(path) }
        let start = ContinuousClock.now
        await expectRadosError(.timedOut) {
            _ = try await RadosCluster.connect(
                RadosConfiguration(configurationFile: path, connectTimeout: .seconds(1)))
        }
        // Ceph's own default is 300 s: a bound far below it shows the setting is honoured,
        // with room for a loaded 2-core CI machine (seen at 12.6 s with the whole suite running).
        #expect(ContinuousClock.now - start < .seconds(60))
    }

    @Test("a namespace isolates objects of the same name")
    func namespaces() async throws {
        let cluster = try await CephTestCluster.connect()
        try await cluster.ensurePool(named: CephTestCluster.pool)
        let name = CephTestCluster.uniqueName("ns-object")
        let a = try cluster.ioContext(pool: CephTestCluster.pool, namespace: "a")
        let b = try cluster.ioContext(pool: CephTestCluster.pool, namespace: "b")
        try await a.writeFull(name, Array("in a"))
        try await b.writeFull(name, Array("in b"))
        #expect(try await a.read(name) == Array("in a"))
        #expect(try await b.read(name) == Array("in b"))
        try await a.remove(name)
        await expectRadosError(.notFound) { _ = try await a.read(name) }
        #expect(try await b.read(name) == Array("in b"))
        try await b.remove(name)
    }
}
