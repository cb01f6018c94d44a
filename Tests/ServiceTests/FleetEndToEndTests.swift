import AccessControl
import Foundation
import Glibc
import Storage
import Testing
import Timeseries
import WireProtocol
import ZeroMQ

/// A role process of the fleet, on the test cluster.
final class RoleProcess: @unchecked Sendable {
    let process = Process()
    /// What the role printed when it became ready.
    let readyLine: String

    init(_ arguments: [String]) throws {
        process.executableURL = orzoExecutable
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        readyLine = String(decoding: output.fileHandleForReading.availableDataUntilNewline(), as: UTF8.self)
        guard readyLine.contains("ready") else { throw ServeProcess.ServeFailed(output: readyLine) }
    }

    func kill(_ signal: Int32) { Glibc.kill(process.processIdentifier, signal) }

    func stop() { _ = stopProcess(process) }
}

/// A fleet on the test cluster: one query, two ingest and three metricd
/// processes, in a namespace of their own. `ack`/`push` are the first ingest's.
final class Fleet: OrzoEndpoints, @unchecked Sendable {
    let id = UInt64.random(in: 0..<UInt64.max)
    private(set) var processes: [RoleProcess] = []
    private(set) var metricds: [RoleProcess] = []

    func endpoint(_ name: String) -> String { "ipc:///tmp/orzo-fleet-\(id)-\(name)" }
    var push: String { endpoint("push0") }
    var ack: String { endpoint("ack0") }
    var query: String { endpoint("query") }

    /// With `curve`, every socket the fleet binds is a CURVE server admitting one
    /// admin key, which ``clientSecurity`` holds (docs/security.md).
    private(set) var clientSecurity: ClientSecurity?

    init(curve: Bool = false) throws {
        guard let conf = cephConf() else { throw ServeProcess.ServeFailed(output: "ORZO_TEST_CEPH_CONF is not set") }
        let backend = ["--ceph-conf", conf, "--pool", "orzo-test-services", "--namespace", "fleet-\(id)"]
        var security: [String] = []
        if curve {
            let directory = "/tmp/orzo-fleet-\(id)-keys"
            mkdir(directory, 0o700)
            let server = try KeyFiles.generate(base: "\(directory)/server")
            let admin = try KeyFiles.generate(base: "\(directory)/admin")
            try "\(admin) admin fleet-test\n".write(
                toFile: "\(directory)/allowed-keys", atomically: true, encoding: .utf8)
            clientSecurity = ClientSecurity(
                serverPublicKey: server, clientKeys: try KeyFiles.readSecret("\(directory)/admin.secret"))
            security = [
                "--server-secret-key-file", "\(directory)/server.secret", "--allowed-keys-file",
                "\(directory)/allowed-keys",
            ]
        }
        processes.append(try RoleProcess(["query"] + backend + security + ["--query-endpoint", endpoint("query")]))
        for index in 0..<2 {
            processes.append(
                try RoleProcess(
                    ["ingest"] + backend + security + [
                        "--push-endpoint", endpoint("push\(index)"), "--ack-endpoint", endpoint("ack\(index)"),
                    ]))
        }
        for _ in 0..<3 {
            metricds.append(try RoleProcess(["metricd"] + backend + ["--workers", "2", "--lease-seconds", "3"]))
        }
        processes += metricds
    }

    func stop() { stopProcesses(processes.map(\.process)) }
}

func cephConf() -> String? {
    guard let value = getenv("ORZO_TEST_CEPH_CONF") else { return nil }
    let conf = String(cString: value)
    return conf.isEmpty ? nil : conf
}

let fleetEnabled = getenv("CI") != nil || getenv("ORZO_SKIP_CEPH_TESTS").map { String(cString: $0) } != "1"
private let t0: Nanoseconds = 1_767_225_600 * nanosecondsPerSecond

@Suite(
    "A fleet on Ceph: 2 ingest, 3 metricd, 1 query processes", .enabled(if: fleetEnabled), .serialized,
    .timeLimit(.minutes(5)))
struct FleetEndToEndTests {
    @Test(
        "agents push over both ingest sockets; a metricd is killed mid-ingest; every acknowledged measure is aggregated exactly once"
    )
    func fleet() async throws {
        let fleet = try Fleet()
        defer { fleet.stop() }
        let endpoint = fleet.endpoint
        let metricds = fleet.metricds
        let context = try ZMQContext()
        let metrics = (0..<12).map { "fleet.host-\($0).load" }
        var sent: [String: [Measure]] = [:]
        // 40 rounds: each metric gets 25 measures a round, alternately acknowledged
        // (through either ROUTER) or pushed (through either PULL, then confirmed by
        // an acknowledged put of the same measures: resending is harmless).
        let dealers = try (0..<2).map { index -> ZMQSocket in
            let socket = try ZMQSocket(context, type: .dealer)
            try socket.connect(endpoint("ack\(index)"))
            return socket
        }
        let pushers = try (0..<2).map { index -> ZMQSocket in
            let socket = try ZMQSocket(context, type: .push)
            try socket.connect(endpoint("push\(index)"))
            return socket
        }
        for round in 0..<40 {
            if round == 15 { metricds[0].kill(SIGKILL) }  // mid-ingest
            var frames: [[UInt8]] = [Array(Verb.put.utf8), Array("round-\(round)".utf8)]
            for (index, metric) in metrics.enumerated() {
                let measures = (0..<25).map { offset in
                    let step = Int64(round * 25 + offset)
                    return Measure(
                        timestamp: t0 + step * 13 * nanosecondsPerSecond,
                        value: Double((step * 7 + Int64(index)) % 101) / 4)
                }
                sent[metric, default: []] += measures
                frames += [Array(metric.utf8), MeasureRecords.encode(measures)]
            }
            if round % 2 == 1 {
                var pushFrames = frames
                pushFrames.remove(at: 1)
                _ = try await pushers[round / 2 % 2].send(pushFrames, timeout: .seconds(5))
            }
            let dealer = dealers[round % 2]
            #expect(try await dealer.send(frames, timeout: .seconds(10)))
            let reply = try #require(try await dealer.receive(timeout: .seconds(30)), "no acknowledgement")
            #expect(String(decoding: reply[0], as: UTF8.self) == Verb.ok)
        }

        // Wait until the surviving workers have aggregated everything, then compare.
        let policy = ArchivePolicy.defaults.first { $0.name == "low" }!
        let query = try ZMQSocket(context, type: .req)
        try query.connect(endpoint("query"))
        func ask(_ request: [String: Any]) async throws -> [String: Any] {
            _ = try await query.send(
                [Array(Verb.query.utf8), Array(try JSONSerialization.data(withJSONObject: request))],
                timeout: .seconds(5))
            let reply = try #require(try await query.receive(timeout: .seconds(30)))
            return (try JSONSerialization.jsonObject(with: Data(reply[1])) as? [String: Any]) ?? [:]
        }
        let deadline = ContinuousClock.now + .seconds(60)
        var backlog = -1
        while backlog != 0 && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(200))
            backlog = ((try await ask(["op": "status"])["backlog"] as? [String: Any])?["metrics"] as? Int) ?? -1
            if backlog != 0 {
                // Idle entries linger for the idle grace; a metric is done when its count is complete.
                var complete = true
                for metric in metrics {
                    let rows =
                        (try await ask(["op": "get_measures", "metric": metric, "aggregation": "count"])["measures"]
                            as? [[Any]]) ?? []
                    if rows.compactMap({ $0[2] as? Double }).reduce(0, +) != Double(sent[metric]!.count) {
                        complete = false
                    }
                }
                if complete { backlog = 0 }
            }
        }
        for metric in metrics {
            let expected = MetricProcessor.process(
                raw: RawBuffer(policy: policy), received: sent[metric]!, policy: policy)
            for method in ["count", "sum"] {
                let rows =
                    (try await ask(["op": "get_measures", "metric": metric, "aggregation": method])["measures"]
                        as? [[Any]]) ?? []
                let want = expected.updates.first { $0.aggregation.method.name == method }!.points.values
                #expect(rows.compactMap { $0[2] as? Double }.reduce(0, +) == want.reduce(0, +), "\(metric) \(method)")
                #expect(rows.count == want.count, "\(metric) \(method)")
            }
            let described = try await ask(["op": "get_metric", "name": metric])
            let processed = (described["counters"] as? [String: Any])?["measures_processed"] as? Int ?? -1
            // Pushed rounds were sent twice (push, then put): each copy is processed once.
            #expect(processed == 25 * (40 + 20), "\(metric): processed \(processed)")
        }
    }
}
