import AccessControl
import Foundation
import Glibc
import Storage
import StorageFiles
import Testing
import Timeseries
import WireProtocol
import ZeroMQ

/// Where a running Orzo listens.
protocol OrzoEndpoints: Sendable {
    var push: String { get }
    var ack: String { get }
    var query: String { get }
    /// CURVE keys for a server whose sockets need them; nil for open sockets.
    var clientSecurity: ClientSecurity? { get }
}

extension OrzoEndpoints {
    var clientSecurity: ClientSecurity? { nil }
}

/// `orzo serve` as a real process, spoken to over real ZeroMQ sockets.
final class ServeProcess: OrzoEndpoints, @unchecked Sendable {
    let process = Process()
    let push: String
    let ack: String
    let query: String
    let dataDirectory: String
    /// The REST API's port (bound on 127.0.0.1, port 0: tests run in parallel).
    let httpPort: Int?

    init(
        extraArguments: [String] = [], id: UInt64 = .random(in: 0..<UInt64.max),
        environment: [String: String] = [:]
    ) throws {
        dataDirectory = "/tmp/orzo-storage-tests/serve-\(id)"
        push = "ipc:///tmp/orzo-e2e-\(id)-push"
        ack = "ipc:///tmp/orzo-e2e-\(id)-ack"
        query = "ipc:///tmp/orzo-e2e-\(id)-query"
        process.executableURL = orzoExecutable
        process.arguments =
            [
                "serve", "--data-dir", dataDirectory, "--push-endpoint", push, "--ack-endpoint", ack,
                "--query-endpoint",
                query, "--http-endpoint", "127.0.0.1:0",
            ] + extraArguments
        if !environment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        // Ready once it says so.
        let line = String(decoding: output.fileHandleForReading.availableDataUntilNewline(), as: UTF8.self)
        guard line.contains("ready") else { throw ServeFailed(output: line) }
        httpPort = line.range(of: #"http 127\.0\.0\.1:(\d+)"#, options: .regularExpression).flatMap {
            Int(line[$0].split(separator: ":").last!)
        }
    }

    struct ServeFailed: Error { let output: String }

    func stop() -> Int32 { stopProcess(process) }

    /// SIGKILL, for a test whose subject is not the shutdown (a stalled disk would
    /// make a graceful one long).
    func kill() {
        Glibc.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }
}

/// SIGTERM, and the exit status once the process is gone; SIGKILL after 10 s.
/// Called from `defer`, so it blocks its thread: the bound keeps a slow
/// shutdown from holding one of the test process's two pool threads for long.
func stopProcess(_ process: Process) -> Int32 {
    stopProcesses([process])[0]
}

/// ``stopProcess(_:)`` for several at once: all are asked to stop first, so the
/// wait is the slowest one's, not the sum.
@discardableResult
func stopProcesses(_ processes: [Process]) -> [Int32] {
    for process in processes where process.isRunning { process.terminate() }
    let deadline = ContinuousClock.now + .seconds(10)
    while processes.contains(where: \.isRunning) && ContinuousClock.now < deadline { usleep(10_000) }
    for process in processes where process.isRunning { Glibc.kill(process.processIdentifier, SIGKILL) }
    return processes.map { process in
        process.waitUntilExit()
        return process.terminationStatus
    }
}

extension FileHandle {
    func availableDataUntilNewline() -> [UInt8] {
        var bytes: [UInt8] = []
        while true {
            let chunk = readData(ofLength: 1)
            if chunk.isEmpty || chunk.first == 10 { return bytes }
            bytes += chunk
        }
    }
}

/// A client over the real sockets.
struct Client {
    let context: ZMQContext
    let server: any OrzoEndpoints

    func put(_ frames: [[UInt8]]) async throws -> (String, [UInt8], [String: Any]) {
        let dealer = try ZMQSocket(context, type: .dealer)
        try server.clientSecurity?.configure(dealer)
        try dealer.connect(server.ack)
        #expect(try await dealer.send(frames, timeout: .seconds(5)))
        let reply = try #require(try await dealer.receive(timeout: .seconds(10)))
        let body = try JSONSerialization.jsonObject(with: Data(reply[2])) as? [String: Any] ?? [:]
        return (String(decoding: reply[0], as: UTF8.self), reply[1], body)
    }

    func query(_ request: [String: Any]) async throws -> (String, Any) {
        let req = try ZMQSocket(context, type: .req)
        try server.clientSecurity?.configure(req)
        try req.connect(server.query)
        let body = try JSONSerialization.data(withJSONObject: request)
        #expect(try await req.send([Array(Verb.query.utf8), Array(body)], timeout: .seconds(5)))
        let reply = try #require(try await req.receive(timeout: .seconds(20)))
        return (String(decoding: reply[0], as: UTF8.self), try JSONSerialization.jsonObject(with: Data(reply[1])))
    }

    /// The rows of a get_measures reply, decoded exactly (JSONDecoder reads doubles
    /// bit for bit; JSONSerialization on Linux rounds them).
    func measures(_ request: [String: Any]) async throws -> [Row] {
        let req = try ZMQSocket(context, type: .req)
        try server.clientSecurity?.configure(req)
        try req.connect(server.query)
        let body = try JSONSerialization.data(withJSONObject: request)
        #expect(try await req.send([Array(Verb.query.utf8), Array(body)], timeout: .seconds(5)))
        let reply = try #require(try await req.receive(timeout: .seconds(20)))
        #expect(String(decoding: reply[0], as: UTF8.self) == Verb.ok)
        return try JSONDecoder().decode(Rows.self, from: Data(reply[1])).measures
    }

    struct Rows: Decodable { let measures: [Row] }
    struct Row: Decodable {
        let timestamp: String
        let granularity: Double
        let value: Double?
        init(from decoder: any Decoder) throws {
            var container = try decoder.unkeyedContainer()
            timestamp = try container.decode(String.self)
            granularity = try container.decode(Double.self)
            value = try container.decode(Double?.self)
        }
    }

    func errorCode(_ request: [String: Any]) async throws -> String? {
        let (verb, body) = try await query(request)
        guard verb == Verb.error else { return nil }
        return (body as? [String: Any])?["code"] as? String
    }
}

private let t0: Nanoseconds = 1_767_225_600 * nanosecondsPerSecond

@Suite("orzo serve, end to end (a real process, real sockets)", .serialized, .timeLimit(.minutes(5)))
struct ServeEndToEndTests {
    @Test("measures pushed and put are aggregated as the engine computes them; refresh makes them queryable")
    func pushPutQuery() async throws {
        let server = try ServeProcess()
        defer { #expect(server.stop() == 0, "a clean exit on SIGTERM") }
        let client = Client(context: try ZMQContext(), server: server)
        let measures = (0..<300).map {
            Measure(timestamp: t0 + Int64($0) * 7 * nanosecondsPerSecond, value: Double($0 % 23) / 4)
        }
        let (verb, id, body) = try await client.put(
            [Array(Verb.put.utf8), Array("r1".utf8), Array("e2e.put".utf8), MeasureRecords.encode(measures)])
        #expect(verb == Verb.ok)
        #expect(id == Array("r1".utf8))
        #expect(body["accepted"] as? Int == 300)
        let pusher = try ZMQSocket(client.context, type: .push)
        try pusher.connect(server.ack.replacingOccurrences(of: "-ack", with: "-push"))
        #expect(
            try await pusher.send(
                [Array(Verb.put.utf8), Array("e2e.push".utf8), MeasureRecords.encode(measures)], timeout: .seconds(5)))

        let policy = ArchivePolicy.defaults.first { $0.name == "low" }!
        let expected = MetricProcessor.process(raw: RawBuffer(policy: policy), received: measures, policy: policy)
        for method in ["mean", "max", "count", "std"] {
            let aggregation = expected.updates.first { $0.aggregation.method.name == method }!
            let rows = try await client.measures(
                ["op": "get_measures", "metric": "e2e.put", "aggregation": method, "refresh": true])
            #expect(rows.map(\.value) == aggregation.points.values, "\(method)")
            #expect(rows.map(\.timestamp) == aggregation.points.timestamps.map(Timestamps.format))
        }
        // The pushed metric becomes queryable without refresh, through metricd.
        var rows: [[Any]] = []
        let deadline = ContinuousClock.now + .seconds(10)
        while rows.isEmpty && ContinuousClock.now < deadline {
            let (_, reply) = try await client.query(["op": "get_measures", "metric": "e2e.push"])
            rows = ((reply as? [String: Any])?["measures"] as? [[Any]]) ?? []
            if rows.isEmpty { try await Task.sleep(for: .milliseconds(50)) }
        }
        #expect(rows.count == expected.updates.first { $0.aggregation.method.name == "mean" }!.points.count)
    }

    @Test("aggregates: the operations language over the wire")
    func aggregatesOverTheWire() async throws {
        let server = try ServeProcess()
        defer { _ = server.stop() }
        let client = Client(context: try ZMQContext(), server: server)
        for (name, scale) in [("agg.a", 1.0), ("agg.b", 10.0)] {
            let measures = (0..<60).map {
                Measure(timestamp: t0 + Int64($0) * 30 * nanosecondsPerSecond, value: Double($0) * scale)
            }
            _ = try await client.put([
                Array(Verb.put.utf8), Array("r".utf8), Array(name.utf8), MeasureRecords.encode(measures),
            ])
            _ = try await client.query(["op": "get_measures", "metric": name, "refresh": true])
        }
        let (verb, body) = try await client.query(
            ["op": "aggregates", "operations": "(aggregate sum (metric (agg.a mean) (agg.b mean)))"])
        #expect(verb == Verb.ok)
        let aggregated = ((body as? [String: Any])?["aggregated"] as? [[Any]]) ?? []
        #expect(aggregated.count == 6)
        // The first 5-minute bucket holds points 0…9: means 4.5 and 45.
        #expect((aggregated.first?[2] as? Double) == 49.5)
        let (perVerb, per) = try await client.query(["op": "aggregates", "operations": "(metric agg.a mean)"])
        #expect(perVerb == Verb.ok)
        #expect((((per as? [String: Any])?["agg.a"] as? [String: Any])?["mean"] as? [[Any]])?.count == 6)
        #expect(
            try await client.errorCode(["op": "aggregates", "operations": "(notexist (metric agg.a mean))"])
                == "bad_request")
        #expect(try await client.errorCode(["op": "aggregates", "operations": "(metric missing mean)"]) == "not_found")
        #expect(try await client.errorCode(["op": "aggregates", "operations": "(metric agg.a 95pct)"]) == "not_found")
    }

    @Test("refresh of a metric whose lease another worker holds answers unavailable after its timeout")
    func refreshUnavailable() async throws {
        // Roles, not serve: serve holds its directory alone, and takes every lease in
        // it as a dead predecessor's. This test process is the other worker.
        let server = try RoleGroup(.files, roles: [.query, .ingest])
        defer { server.stop() }
        let client = Client(context: try ZMQContext(), server: server)
        let one = MeasureRecords.encode([Measure(timestamp: t0, value: 1)])
        _ = try await client.put([Array(Verb.put.utf8), Array("r".utf8), Array("locked".utf8), one])
        let (_, described) = try await client.query(["op": "get_metric", "name": "locked"])
        let id = try #require(MetricID(((described as? [String: Any])?["id"] as? String) ?? ""))
        // Another process on the same host holds the metric's lease.
        let storage = try FileStorage(root: server.dataDirectory)
        let lease = try #require(try await storage.acquireLease(id, duration: .seconds(60)))
        let started = ContinuousClock.now
        #expect(
            try await client.errorCode(["op": "get_measures", "metric": "locked", "refresh": true]) == "unavailable")
        #expect(ContinuousClock.now - started >= .seconds(9))
        try await storage.releaseLease(lease)
        #expect(try await client.errorCode(["op": "get_measures", "metric": "locked", "refresh": true]) == nil)
    }

    @Test("a metric whose stored data is corrupt answers internal, and the others still answer")
    func corruptData() async throws {
        let server = try ServeProcess()
        defer { _ = server.stop() }
        let client = Client(context: try ZMQContext(), server: server)
        let one = MeasureRecords.encode([Measure(timestamp: t0, value: 1)])
        for name in ["healthy", "damaged"] {
            _ = try await client.put([Array(Verb.put.utf8), Array("r".utf8), Array(name.utf8), one])
            #expect(try await client.errorCode(["op": "get_measures", "metric": name, "refresh": true]) == nil)
        }
        let (_, described) = try await client.query(["op": "get_metric", "name": "damaged"])
        let id = try #require(((described as? [String: Any])?["id"] as? String))
        // Flip a byte in the middle of the metric's only state slot (docs/storage-files.md).
        let path = "\(server.dataDirectory)/metrics/\(id.prefix(2))/\(id).0"
        var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        bytes[bytes.count / 2] ^= 0xFF
        try bytes.write(to: URL(fileURLWithPath: path))
        #expect(try await client.errorCode(["op": "get_measures", "metric": "damaged"]) == "internal")
        #expect(try await client.errorCode(["op": "get_measures", "metric": "healthy"]) == nil)
    }

    @Test("the error codes of the spec")
    func errorCodes() async throws {
        let server = try ServeProcess()
        defer { _ = server.stop() }
        let client = Client(context: try ZMQContext(), server: server)
        let one = MeasureRecords.encode([Measure(timestamp: t0, value: 1)])
        #expect(
            try await client.put([Array("orzo.v9.put".utf8), Array("r".utf8), Array("m".utf8), one]).2["code"]
                as? String == "unknown_verb")
        #expect(
            try await client.put([Array(Verb.put.utf8), Array("r".utf8), Array("m".utf8), [1, 2, 3]]).2["code"]
                as? String == "malformed")
        #expect(try await client.errorCode(["op": "nope"]) == "bad_request")
        #expect(try await client.errorCode(["op": "get_metric", "name": "missing"]) == "not_found")
        #expect(
            try await client.errorCode(["op": "create_metric", "name": "dup", "archive_policy_name": "low"]) == nil)
        #expect(
            try await client.errorCode(["op": "create_metric", "name": "dup", "archive_policy_name": "low"])
                == "conflict")
        #expect(
            try await client.errorCode(["op": "get_measures", "metric": "dup", "aggregation": "95pct"]) == "not_found")
        #expect(
            try await client.errorCode([
                "op": "create_archive_policy", "name": "bad",
                "definition": [["granularity": 7, "points": 10], ["granularity": 60, "points": 10]],
            ]) == "bad_request")
        // Without any rule, a new name is an unknown metric.
        #expect(try await client.errorCode(["op": "delete_archive_policy_rule", "name": "default"]) == nil)
        #expect(
            try await client.put([Array(Verb.put.utf8), Array("r".utf8), Array("never.seen".utf8), one]).2["code"]
                as? String == "unknown_metric")
        // A query frame that is not a JSON object.
        let req = try ZMQSocket(client.context, type: .req)
        try req.connect(server.query)
        _ = try await req.send([Array(Verb.query.utf8), Array("[1,2]".utf8)], timeout: .seconds(5))
        let reply = try #require(try await req.receive(timeout: .seconds(5)))
        #expect(String(decoding: reply[1], as: UTF8.self).contains("bad_request"))
    }

    @Test("a burst of 10,000 malformed messages leaves the service answering and the data unchanged")
    func malformedBurst() async throws {
        let server = try ServeProcess()
        defer { _ = server.stop() }
        let client = Client(context: try ZMQContext(), server: server)
        let measures = (0..<50).map { Measure(timestamp: t0 + Int64($0) * nanosecondsPerSecond, value: Double($0)) }
        _ = try await client.put([
            Array(Verb.put.utf8), Array("r".utf8), Array("steady".utf8), MeasureRecords.encode(measures),
        ])
        let (_, before) = try await client.query(["op": "get_measures", "metric": "steady", "refresh": true])
        let pusher = try ZMQSocket(client.context, type: .push)
        try pusher.connect(server.push)
        for index in 0..<10_000 {
            let frames: [[UInt8]] =
                switch index % 4 {
                case 0: [Array(Verb.put.utf8), Array("steady".utf8), [1, 2, 3]]
                case 1: [Array(Verb.put.utf8), Array("steady".utf8)]
                case 2: [Array("garbage".utf8)]
                default: [Array(Verb.put.utf8), [0x00], MeasureRecords.encode(measures)]
                }
            _ = try await pusher.send(frames, timeout: .seconds(5))
        }
        var counted = 0
        let deadline = ContinuousClock.now + .seconds(30)
        while counted < 10_000 && ContinuousClock.now < deadline {
            let (_, status) = try await client.query(["op": "status"])
            let counters = ((status as? [String: Any])?["counters"] as? [String: Int]) ?? [:]
            counted = (counters["ingest.messages.malformed"] ?? 0) + (counters["ingest.messages.unknown_verb"] ?? 0)
            if counted < 10_000 { try await Task.sleep(for: .milliseconds(100)) }
        }
        #expect(counted == 10_000, "every malformed message is counted")
        let (_, after) = try await client.query(["op": "get_measures", "metric": "steady", "refresh": true])
        #expect(
            (try JSONSerialization.data(withJSONObject: before, options: .sortedKeys))
                == (try JSONSerialization.data(withJSONObject: after, options: .sortedKeys)))
    }
}
