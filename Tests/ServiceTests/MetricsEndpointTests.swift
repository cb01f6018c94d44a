import Foundation
import Glibc
import OrzoClient
import Testing
import Timeseries
import WireProtocol

/// A free TCP port on 127.0.0.1 (the system's choice, released at once).
func freePort() -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withLoopbackAddress(port: 0) { bind(fd, $0, $1) }  // port 0: the system chooses
    withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { _ = getsockname(fd, $0, &length) }
    }
    return Int(UInt16(bigEndian: address.sin_port))
}

/// One HTTP/1.1 GET over a plain socket: the status line and the body.
func httpGet(port: Int, path: String) throws -> (status: String, body: String) {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    let connected = withLoopbackAddress(port: port) { connect(fd, $0, $1) }
    guard connected == 0 else { throw ServeProcess.ServeFailed(output: "cannot connect to port \(port)") }
    let request = Array("GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".utf8)
    _ = request.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
    var response: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65536)
    while true {
        let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if count <= 0 { break }
        response += buffer[..<count]
    }
    let text = String(decoding: response, as: UTF8.self)
    let parts = text.components(separatedBy: "\r\n\r\n")
    return (String(parts[0].split(separator: "\r\n").first ?? ""), parts.dropFirst().joined(separator: "\r\n\r\n"))
}

@Suite("Prometheus /metrics", .serialized, .timeLimit(.minutes(5)))
struct MetricsEndpointTests {
    /// The value of one sample line, e.g. `orzo_ingest_measures_accepted_total` or
    /// `orzo_ingest_measures_rejected_total{reason="non_finite_value"}`.
    static func sample(_ body: String, _ name: String) -> Double? {
        for line in body.split(separator: "\n") where line.hasPrefix(name + " ") {
            return Double(line.dropFirst(name.count + 1))
        }
        return nil
    }

    @Test("after a known workload the counters, histograms and storage timings hold the expected values")
    func scrape() async throws {
        let port = freePort()
        let server = try ServeProcess(extraArguments: ["--metrics-endpoint", "127.0.0.1:\(port)"])
        defer { _ = server.stop() }
        let client = try OrzoClient(endpoints: .init(push: server.push, ack: server.ack, query: server.query))
        let t0: Nanoseconds = 1_700_000_000_000_000_000
        // 9 accepted, 1 non-finite, 2 out of range; then an unknown verb and a malformed message.
        var measures = (0..<9).map { Measure(timestamp: t0 + Int64($0) * 60_000_000_000, value: Double($0)) }
        measures.append(Measure(timestamp: t0, value: .infinity))
        let result = try await client.put([
            "scraped": measures, "early": [Measure(timestamp: -1, value: 1), Measure(timestamp: -2, value: 2)],
        ])
        #expect(result.accepted == 9)
        #expect(result.rejected == 3)
        #expect(try await client.measures(of: "scraped", aggregation: "count", refresh: true).count > 0)

        var body = ""
        for _ in 0..<100 {  // the endpoint starts with the services; give it a moment
            if let response = try? httpGet(port: port, path: "/metrics"), response.status.contains("200") {
                body = response.body
                break
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(Self.sample(body, "orzo_ingest_measures_accepted_total") == 9)
        #expect(Self.sample(body, #"orzo_ingest_measures_rejected_total{reason="non_finite_value"}"#) == 1)
        #expect(Self.sample(body, #"orzo_ingest_measures_rejected_total{reason="timestamp_out_of_range"}"#) == 2)
        #expect(Self.sample(body, #"orzo_ingest_measures_rejected_total{reason="unknown_metric"}"#) == 0)
        #expect(Self.sample(body, "orzo_metricd_measures_processed_total") == 9)
        #expect(Self.sample(body, "orzo_metricd_cycles_total") == 1)
        #expect(Self.sample(body, "orzo_metricd_cycle_duration_seconds_count") == 1)
        #expect(Self.sample(body, "orzo_metricd_cycle_measures_sum") == 9)
        #expect(Self.sample(body, "orzo_metricd_measures_dropped_too_old_total") == 0)
        #expect(Self.sample(body, "orzo_metricd_lease_lost_total") == 0)
        #expect(Self.sample(body, #"orzo_storage_operation_duration_seconds_count{op="append"}"#) == 1)
        #expect(Self.sample(body, #"orzo_storage_operation_duration_seconds_count{op="commit"}"#) == 1)
        #expect(Self.sample(body, #"orzo_storage_operation_errors_total{op="commit"}"#) == 0)
        #expect(Self.sample(body, "orzo_query_requests_total")! >= 1)
        #expect(body.contains("# TYPE orzo_metricd_cycle_duration_seconds histogram"))
        // No metric name ever becomes a label.
        #expect(!body.contains("scraped"))

        let missing = try httpGet(port: port, path: "/")
        #expect(missing.status.contains("404"))
    }

    @Test("without --metrics-endpoint nothing listens")
    func off() throws {
        let port = freePort()
        let server = try ServeProcess()
        defer { _ = server.stop() }
        #expect(throws: (any Error).self) { try httpGet(port: port, path: "/metrics") }
    }
}
