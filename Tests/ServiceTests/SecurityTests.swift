import AccessControl
import Foundation
import Glibc
import OrzoClient
import Testing
import Timeseries
import WireProtocol

/// CURVE and client roles with real keys, made by `orzo keys generate`, against
/// a real `orzo serve` (docs/security.md).
@Suite("Security: CURVE, ZAP and client roles", .serialized, .timeLimit(.minutes(3)))
struct SecurityTests {
    /// A directory of keys: the server's, and one client key per role plus an unknown one.
    struct Keys {
        let directory = "/tmp/orzo-keys-\(UInt64.random(in: 0..<UInt64.max))"
        var publicKeys: [String: String] = [:]

        init() throws {
            #expect(mkdir(directory, 0o700) == 0)
            for name in ["server", "agent", "reader", "admin", "stranger"] {
                let made = try runProcess(orzoExecutable, ["keys", "generate", "\(directory)/\(name)"])
                try #require(made.status == 0, "\(made.output)")
                publicKeys[name] = made.output.trimmingCharacters(in: .whitespacesAndNewlines)
            }
        }

        var allowedKeysFile: String { "\(directory)/allowed-keys" }

        func writeAllowed(_ roles: [String]) throws {
            let lines = roles.map { "\(publicKeys[$0]!) \($0) test-\($0)" }
            try ("# key role name\n" + lines.joined(separator: "\n") + "\n").write(
                toFile: allowedKeysFile, atomically: true, encoding: .utf8)
        }

        func client(_ name: String, _ server: ServeProcess, timeout: Duration = .seconds(10)) throws -> OrzoClient {
            try OrzoClient(
                endpoints: .init(push: server.push, ack: server.ack, query: server.query), timeout: timeout,
                attempts: 1,
                security: ClientSecurity(
                    serverPublicKey: publicKeys["server"]!,
                    clientKeys: try KeyFiles.readSecret("\(directory)/\(name).secret")))
        }

        var serverArguments: [String] {
            ["--server-secret-key-file", "\(directory)/server.secret", "--allowed-keys-file", allowedKeysFile]
        }
    }

    private static let t0: Nanoseconds = 1_767_225_600 * nanosecondsPerSecond

    private func code(_ body: () async throws -> Void) async -> String? {
        do {
            try await body()
            return nil
        } catch let error as OrzoClientError {
            if case .timeout = error { return "timeout" }
            return error.code ?? "\(error)"
        } catch {
            return "\(error)"
        }
    }

    @Test("unknown keys are refused and counted; agent puts only, reader reads only, admin does all; SIGHUP revokes")
    func roles() async throws {
        let keys = try Keys()
        try keys.writeAllowed(["agent", "reader", "admin"])
        let server = try ServeProcess(extraArguments: keys.serverArguments)
        defer { _ = server.stop() }
        let agent = try keys.client("agent", server)
        let reader = try keys.client("reader", server)
        let admin = try keys.client("admin", server)
        let one = [Measure(timestamp: Self.t0, value: 1)]

        // The agent: puts (creating the metric by rule), nothing else.
        #expect(await code { _ = try await agent.put(["sec.cpu": one]) } == nil)
        #expect(await code { _ = try await agent.status() } == "forbidden")
        #expect(await code { try await agent.deleteMetric("sec.cpu") } == "forbidden")
        // The reader: reads, nothing else.
        #expect(await code { _ = try await reader.measures(of: "sec.cpu", aggregation: "count", refresh: true) } == nil)
        #expect(await code { _ = try await reader.status() } == nil)
        #expect(await code { _ = try await reader.put(["sec.cpu": one]) } == "forbidden")
        #expect(await code { try await reader.deleteMetric("sec.cpu") } == "forbidden")
        #expect(await code { _ = try await reader.createMetric(name: "sec.other") } == "forbidden")
        // The admin: everything.
        #expect(await code { _ = try await admin.put(["sec.mem": one]) } == nil)
        #expect(await code { _ = try await admin.createMetric(name: "sec.disk") } == nil)
        #expect(await code { try await admin.deleteMetric("sec.disk") } == nil)
        #expect(try await admin.metric("sec.cpu").name == "sec.cpu", "the refused delete changed nothing")

        // A key not listed, and a client without CURVE, never get an answer.
        let stranger = try keys.client("stranger", server, timeout: .seconds(2))
        #expect(await code { _ = try await stranger.status() } == "timeout")
        let plain = try OrzoClient(
            endpoints: .init(push: server.push, ack: server.ack, query: server.query), timeout: .seconds(2),
            attempts: 1)
        #expect(await code { _ = try await plain.status() } == "timeout")
        let counters = try await admin.status().counters
        // The stranger, refused by the ZAP handler (a client without CURVE fails the
        // handshake in libzmq itself, before any handler sees it).
        #expect((counters["security.connections.refused"] ?? 0) >= 1, "\(counters)")
        #expect(counters["security.requests.forbidden"] == 5, "\(counters)")

        // The reader's key removed from the file, and SIGHUP: new connections with it are refused.
        try keys.writeAllowed(["agent", "admin"])
        kill(server.process.processIdentifier, SIGHUP)
        let deadline = ContinuousClock.now + .seconds(20)
        var revoked = false
        while !revoked && ContinuousClock.now < deadline {
            let fresh = try keys.client("reader", server, timeout: .seconds(1))
            revoked = await code { _ = try await fresh.status() } == "timeout"
        }
        #expect(revoked, "the removed key still connects after SIGHUP")
        #expect(await code { _ = try await keys.client("admin", server).status() } == nil, "the others still do")
    }

    @Test("the CLI and the Python examples speak CURVE with their keys")
    func clientsWithKeys() async throws {
        let keys = try Keys()
        try keys.writeAllowed(["agent", "reader", "admin"])
        let server = try ServeProcess(extraArguments: keys.serverArguments)
        defer { _ = server.stop() }
        let endpoints = [
            "--push-endpoint", server.push, "--ack-endpoint", server.ack, "--query-endpoint", server.query,
        ]
        func keyArguments(_ name: String) -> [String] {
            ["--server-key", "\(keys.directory)/server.public", "--client-key", "\(keys.directory)/\(name).secret"]
        }
        let created = try await runProcessOffPool(
            orzoExecutable, ["metric", "create", "cli.cpu"] + endpoints + keyArguments("admin"))
        #expect(created.status == 0, "\(created.output)")
        let refused = try await runProcessOffPool(
            orzoExecutable, ["metric", "delete", "cli.cpu"] + endpoints + keyArguments("reader"))
        #expect(refused.status != 0 && refused.output.contains("forbidden"), "\(refused.output)")
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let agent = try await runProcessOffPool(
            URL(fileURLWithPath: "/usr/bin/python3"),
            [root.appendingPathComponent("examples/python/agent.py").path, "--ack", server.ack, "--push", server.push]
                + keyArguments("agent") + ["py.cpu", "1.5"])
        #expect(agent.status == 0 && agent.output.contains("accepted 1"), "\(agent.output)")
        let query = try await runProcessOffPool(
            URL(fileURLWithPath: "/usr/bin/python3"),
            [root.appendingPathComponent("examples/python/query.py").path, "--query", server.query]
                + keyArguments("reader") + [#"{"op": "get_metric", "name": "py.cpu"}"#])
        #expect(query.status == 0 && query.output.contains("py.cpu"), "\(query.output)")
    }

    @Test("a bind beyond loopback without keys is refused at start; with allow_insecure it starts, with a warning")
    func insecureBind() async throws {
        let directory = "/tmp/orzo-storage-tests/insecure-\(UInt64.random(in: 0..<UInt64.max))"
        let port = Int.random(in: 20_000..<40_000)
        let arguments = [
            "serve", "--data-dir", directory, "--push-endpoint", "ipc://\(directory).push", "--ack-endpoint",
            "tcp://0.0.0.0:\(port)", "--query-endpoint", "ipc://\(directory).query", "--http-endpoint", "off",
        ]
        let refused = try await runProcessOffPool(orzoExecutable, arguments)
        #expect(refused.status != 0)
        #expect(refused.output.contains("refusing to bind tcp://0.0.0.0:\(port) without CURVE"), "\(refused.output)")
        let allowed = try ServeProcess(extraArguments: [
            "--allow-insecure", "true", "--ack-endpoint", "tcp://0.0.0.0:\(port)",
        ])
        #expect(allowed.stop() == 0)
    }

    @Test("a secret key file that the group or others may read is refused at start")
    func secretKeyMode() async throws {
        let keys = try Keys()
        try keys.writeAllowed(["admin"])
        chmod("\(keys.directory)/server.secret", 0o644)
        let directory = "/tmp/orzo-storage-tests/keymode-\(UInt64.random(in: 0..<UInt64.max))"
        let result = try await runProcessOffPool(
            orzoExecutable,
            [
                "serve", "--data-dir", directory, "--push-endpoint", "ipc://\(directory).push", "--ack-endpoint",
                "ipc://\(directory).ack", "--query-endpoint", "ipc://\(directory).query", "--http-endpoint", "off",
            ] + keys.serverArguments)
        #expect(result.status != 0)
        #expect(result.output.contains("may be read by its group or others"), "\(result.output)")
    }
}
