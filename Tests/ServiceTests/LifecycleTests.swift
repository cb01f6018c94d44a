import Foundation
import Testing

/// Roles run under swift-service-lifecycle: SIGTERM stops them cleanly, and a
/// service that ends on its own stops the process, visibly.
@Suite("Role lifecycle", .timeLimit(.minutes(2)))
struct LifecycleTests {
    @Test("a service that ends on its own stops the role with exit 70 and a critical log line")
    func serviceEndsOnItsOwn() async throws {
        let directory = "/tmp/orzo-storage-tests/lifecycle-\(UInt64.random(in: 0..<UInt64.max))"
        let result = try await runProcessOffPool(
            orzoExecutable,
            ["query", "--data-dir", directory, "--query-endpoint", "ipc://\(directory).query"],
            environment: ["ORZO_TEST_END_SERVICE": "query"])
        #expect(result.status == 70, "\(result.output)")
        #expect(result.output.contains("a service stopped on its own; the process stops"), "\(result.output)")
    }

    @Test("SIGTERM right after ready: every service shuts down in order and the role exits 0")
    func gracefulStop() async throws {
        let server = try ServeProcess()
        #expect(server.stop() == 0)
    }
}
