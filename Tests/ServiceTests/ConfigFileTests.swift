import Foundation
import OrzoClient
import Testing
import Timeseries
import WireProtocol

/// The configuration file through the real executable: `orzo config check`,
/// and a role started with `--config`, a flag overriding the file.
@Suite("configuration file with the real orzo", .serialized, .timeLimit(.minutes(5)))
struct ConfigFileTests {
    static func run(_ arguments: [String], environment extra: [String: String] = [:]) throws -> (Int32, String) {
        try runProcess(orzoExecutable, arguments, environment: extra)
    }

    static func write(_ text: String) throws -> String {
        let path = "/tmp/orzo-config-test-\(UInt64.random(in: 0..<UInt64.max)).yaml"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test("config check: a good file prints every setting with its source; a bad one exits 1 with each problem")
    func check() throws {
        let good = try Self.write("data_dir: /srv/orzo\nmetricd:\n  workers: 8\n")
        let (status, output) = try Self.run(["config", "check", good], environment: ["ORZO_LEASE_SECONDS": "12"])
        #expect(status == 0, "\(output)")
        #expect(output.contains("valid"))
        #expect(output.range(of: #"metricd\.workers\s+8\s+file"#, options: .regularExpression) != nil, "\(output)")
        #expect(output.range(of: #"metricd\.lease_seconds\s+12\s+environment"#, options: .regularExpression) != nil)
        #expect(
            output.range(of: #"query\.endpoint\s+tcp://127\.0\.0\.1:5582\s+default"#, options: .regularExpression)
                != nil)

        let bad = try Self.write("metricd:\n  wokers: 8\nlog:\n  level: chatty\n")
        let (badStatus, badOutput) = try Self.run(["config", "check", bad])
        #expect(badStatus == 1)
        #expect(badOutput.contains("unknown key 'metricd.wokers' (did you mean 'metricd.workers'?)"), "\(badOutput)")
        #expect(badOutput.contains("log.level: 'chatty' is not a log level"), "\(badOutput)")

        // A role refuses to start on a bad file, saying why.
        let (roleStatus, roleOutput) = try Self.run(["serve", "--config", bad])
        #expect(roleStatus != 0)
        #expect(roleOutput.contains("metricd.wokers"), "\(roleOutput)")
    }

    @Test("orzo serve --config: endpoints and data directory from the file, the flag wins over it")
    func serveFromFile() async throws {
        let id = UInt64.random(in: 0..<UInt64.max)
        let base = "ipc:///tmp/orzo-config-\(id)"
        let file = try Self.write(
            """
            data_dir: /tmp/orzo-storage-tests/config-\(id)
            ingest:
              push_endpoint: \(base)-file-push
              ack_endpoint: \(base)-ack
            query:
              endpoint: \(base)-query
            metricd:
              workers: 1
            """)
        let server = try RoleProcess([
            "serve", "--config", file, "--push-endpoint", "\(base)-flag-push", "--http-endpoint", "off",
        ])
        defer { server.stop() }
        #expect(server.readyLine.contains("push \(base)-flag-push"), "\(server.readyLine)")
        #expect(server.readyLine.contains("ack \(base)-ack"))
        let client = try OrzoClient(
            endpoints: .init(push: "\(base)-flag-push", ack: "\(base)-ack", query: "\(base)-query"))
        #expect(
            try await client.put(["from-config": [.init(timestamp: 1_700_000_000_000_000_000, value: 1)]]).accepted == 1
        )
        #expect(FileManager.default.fileExists(atPath: "/tmp/orzo-storage-tests/config-\(id)/index.sqlite"))
    }
}
