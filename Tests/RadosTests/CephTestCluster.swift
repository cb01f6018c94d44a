import Glibc
import Rados
import Synchronization
import Testing

/// The real Ceph cluster these tests run against.
///
/// The test command (`deploy/dev.sh test`) starts a throwaway cluster and passes
/// its conf file in `ORZO_TEST_CEPH_CONF`. Without it the tests fail: a run that
/// silently skipped them would prove nothing. A developer without Ceph can opt
/// out with `ORZO_SKIP_CEPH_TESTS=1`, which is ignored when `CI` is set.
enum CephTestCluster {
    static let pool = "orzo-test-rados"

    static var configurationFile: String? { environment("ORZO_TEST_CEPH_CONF") }

    /// Whether the Ceph suites run; false only on an explicit opt-out outside CI.
    static var isEnabled: Bool {
        environment("CI") != nil || environment("ORZO_SKIP_CEPH_TESTS") != "1"
    }

    static func environment(_ name: String) -> String? {
        guard let value = getenv(name) else { return nil }
        let string = String(cString: value)
        return string.isEmpty ? nil : string
    }

    struct Missing: Error, CustomStringConvertible {
        var description: String {
            "ORZO_TEST_CEPH_CONF is not set: run the tests with deploy/dev.sh test, which starts a throwaway Ceph "
                + "(or set ORZO_SKIP_CEPH_TESTS=1 outside CI to skip the Ceph suites)"
        }
    }

    /// A new connection: a separate client with its own instance id, as another
    /// worker process would be.
    static func connect(operationTimeout: Duration? = .seconds(30)) async throws -> RadosCluster {
        guard let configurationFile else { throw Missing() }
        return try await RadosCluster.connect(
            RadosConfiguration(configurationFile: configurationFile, operationTimeout: operationTimeout))
    }

    private static let sharedContext = Mutex<Task<RadosIOContext, any Error>?>(nil)

    /// An I/O context on the test pool through one shared connection.
    static func ioContext() async throws -> RadosIOContext {
        let task = sharedContext.withLock { task in
            if let task { return task }
            let created = Task { () async throws -> RadosIOContext in
                let cluster = try await connect()
                try await cluster.ensurePool(named: pool)
                return try cluster.ioContext(pool: pool)
            }
            task = created
            return created
        }
        return try await task.value
    }

    /// An I/O context on the test pool through a connection of its own.
    static func separateClientIOContext() async throws -> RadosIOContext {
        _ = try await ioContext()  // the pool exists
        return try await connect().ioContext(pool: pool)
    }

    /// A name no other test uses, so tests can run in parallel on one pool.
    static func uniqueName(_ label: String) -> String {
        "\(label)-\(UInt64.random(in: 0..<UInt64.max))"
    }
}

/// Asserts that `body` throws a ``RadosError`` of `kind`.
func expectRadosError(
    _ kind: RadosError.Kind, sourceLocation: SourceLocation = #_sourceLocation, _ body: () async throws -> Void
) async {
    do {
        try await body()
        Issue.record("expected RadosError.\(kind), but the operation succeeded", sourceLocation: sourceLocation)
    } catch let error as RadosError {
        #expect(error.kind == kind, "got \(error)", sourceLocation: sourceLocation)
    } catch {
        Issue.record("expected RadosError.\(kind), got \(error)", sourceLocation: sourceLocation)
    }
}

extension Array where Element == UInt8 {
    init(_ string: String) { self = Array(string.utf8) }
}
