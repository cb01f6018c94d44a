import Foundation
import OrzoClient
import Testing
import Timeseries
import WireProtocol

/// A minimal HTTP/1.1 client over a real socket (one request per connection),
/// run on a thread of its own: tests of the REST API need no HTTP library.
struct HTTPTestClient: Sendable {
    let port: Int
    var user = "admin"

    struct Reply: Sendable {
        let status: Int
        let headers: [String: String]
        let body: String

        var json: JSONValue { (try? JSONValue.decode(Array(body.utf8))) ?? .null }
    }

    func send(_ method: String, _ path: String, json body: String? = nil) async throws -> Reply {
        let port = port
        let auth = Data("\(user):".utf8).base64EncodedString()
        var request = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nAuthorization: basic \(auth)\r\n"
        request += "Accept: application/json\r\nConnection: close\r\n"
        if let body {
            request += "Content-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)"
        } else {
            request += "\r\n"
        }
        let bytes = Array(request.utf8)
        let raw: [UInt8] = try await withCheckedThrowingContinuation { continuation in
            Thread {
                continuation.resume(
                    with: Result {
                        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
                        guard fd >= 0 else { throw POSIXError(.EIO) }
                        defer { close(fd) }
                        var timeout = timeval(tv_sec: 30, tv_usec: 0)
                        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
                        guard withLoopbackAddress(port: port, { connect(fd, $0, $1) }) == 0 else {
                            throw POSIXError(.ECONNREFUSED)
                        }
                        var sent = 0
                        while sent < bytes.count {
                            let count = bytes[sent...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
                            guard count > 0 else { throw POSIXError(.EPIPE) }
                            sent += count
                        }
                        var reply: [UInt8] = []
                        var buffer = [UInt8](repeating: 0, count: 65_536)
                        while true {
                            let count = read(fd, &buffer, buffer.count)
                            guard count >= 0 else { throw POSIXError(.ETIMEDOUT) }
                            if count == 0 { break }
                            reply += buffer[0..<count]
                        }
                        return reply
                    })
            }.start()
        }
        let text = String(decoding: raw, as: UTF8.self)
        guard let split = text.range(of: "\r\n\r\n") else { throw POSIXError(.EBADMSG) }
        let head = text[..<split.lowerBound].split(separator: "\r\n")
        let status = Int(head.first?.split(separator: " ").dropFirst().first ?? "") ?? 0
        var headers: [String: String] = [:]
        for line in head.dropFirst() {
            let parts = line.split(separator: ":", maxSplits: 1)
            if parts.count == 2 { headers[parts[0].lowercased()] = parts[1].trimmingCharacters(in: .whitespaces) }
        }
        return Reply(status: status, headers: headers, body: String(text[split.upperBound...]))
    }
}

@Suite("REST API in orzo serve: one store for both protocols", .timeLimit(.minutes(2)))
struct RESTEndToEndTests {
    @Test("measures put over ZeroMQ are read over HTTP, and measures posted over HTTP are read over ZeroMQ")
    func crossProtocol() async throws {
        let server = try ServeProcess()
        defer { _ = server.stop() }
        let port = try #require(server.httpPort, "orzo serve announces its REST port")
        let http = HTTPTestClient(port: port)
        let client = try OrzoClient(endpoints: .init(push: server.push, ack: server.ack, query: server.query))
        _ = try await client.createArchivePolicy(
            name: "one", definition: [.init(granularity: 1, points: 3600)])
        let base: Int64 = 1_425_652_437_000_000_000  // 2015-03-06T14:33:57Z

        // ZeroMQ → HTTP.
        _ = try await client.createMetric(name: "cross.zmq", archivePolicy: "one")
        _ = try await client.put([
            "cross.zmq": [Measure(timestamp: base, value: 43.1), Measure(timestamp: base + 15_000_000_000, value: 12)]
        ])
        let listed = try await http.send("GET", "/v1/metric?name=cross.zmq")
        guard case .array(let metrics) = listed.json, case .object(let metric) = metrics.first,
            case .string(let id) = metric["id"]
        else {
            Issue.record("no metric listed: \(listed.body)")
            return
        }
        #expect(metric["creator"] == .null, "made over ZeroMQ: no creator")
        let read = try await http.send("GET", "/v1/metric/\(id)/measures?refresh=true&granularity=1")
        #expect(read.status == 200)
        #expect(
            read.body == #"[["2015-03-06T14:33:57+00:00", 1.0, 43.1], ["2015-03-06T14:34:12+00:00", 1.0, 12.0]]"#,
            "\(read.body)")

        // HTTP → ZeroMQ, by name, and a nameless metric by its id.
        var alice = http
        alice.user = "alice"
        for (name, body) in [
            ("cross.http", #"{"name": "cross.http", "archive_policy_name": "one"}"#),
            (nil, #"{"archive_policy_name": "one"}"#),
        ] {
            let created = try await alice.send("POST", "/v1/metric", json: body)
            #expect(created.status == 201, "\(created.body)")
            guard case .object(let document) = created.json, case .string(let newID) = document["id"] else {
                Issue.record("no id: \(created.body)")
                return
            }
            #expect(created.headers["location"] == "http://127.0.0.1:\(port)/v1/metric/\(newID)")
            let posted = try await alice.send(
                "POST", "/v1/metric/\(newID)/measures",
                json:
                    #"[{"timestamp": "2015-03-06T14:33:57", "value": 7}, {"timestamp": "2015-03-06T14:34:12Z", "value": 9.5}]"#
            )
            #expect(posted.status == 202)
            let points = try await client.measures(of: name ?? newID, granularity: 1, refresh: true)
            #expect(points.map(\.value) == [7, 9.5], "\(name ?? newID)")
            #expect(points.map(\.timestamp) == [base, base + 15_000_000_000])
        }
        // The metric HTTP named is the one ZeroMQ finds by that name.
        #expect(try await client.metric("cross.http").archivePolicyName == "one")
        let status = try await http.send("GET", "/v1/status?details=false")
        #expect(status.status == 200, "\(status.body)")
        #expect(try await alice.send("GET", "/v1/status").status == 403)
    }

    @Test("calendar resampling gives the same points over ZeroMQ as over HTTP, and Gnocchi's numbers")
    func calendarBothProtocols() async throws {
        let server = try ServeProcess()
        defer { _ = server.stop() }
        let port = try #require(server.httpPort)
        let http = HTTPTestClient(port: port)
        let client = try OrzoClient(endpoints: .init(push: server.push, ack: server.ack, query: server.query))
        _ = try await client.createArchivePolicy(
            name: "days", definition: [.init(granularity: 86_400, points: 1000)],
            aggregationMethods: ["mean", "rate:mean"])
        _ = try await client.createMetric(name: "calendar", archivePolicy: "days")
        // resample-calendar.yaml's measures, whose expected figures are Gnocchi's.
        let measures: [(String, Double)] = [
            ("2015-03-01T14:34:12Z", 10), ("2015-03-06T14:34:12Z", 12), ("2015-04-01T14:34:12Z", 2),
            ("2015-04-06T14:34:12Z", 4), ("2015-10-06T14:34:12Z", 7), ("2016-01-06T14:34:12Z", 12),
            ("2016-02-06T14:34:12Z", 4),
        ]
        _ = try await client.put([
            "calendar": measures.map { Measure(timestamp: Timestamps.parseISO8601($0.0)!, value: $0.1) }
        ])
        let expected: [CalendarPeriod: [(String, Double)]] = [
            .year: [("2015-01-01T00:00:00+00:00", 7), ("2016-01-01T00:00:00+00:00", 8)],
            .quarter: [
                ("2015-01-01T00:00:00+00:00", 11), ("2015-04-01T00:00:00+00:00", 3), ("2015-10-01T00:00:00+00:00", 7),
                ("2016-01-01T00:00:00+00:00", 8),
            ],
            .week: [
                ("2015-03-01T00:00:00+00:00", 11), ("2015-03-29T00:00:00+00:00", 2), ("2015-04-05T00:00:00+00:00", 4),
                ("2015-10-04T00:00:00+00:00", 7), ("2016-01-03T00:00:00+00:00", 12), ("2016-01-31T00:00:00+00:00", 4),
            ],
        ]
        guard case .array(let listed) = try await http.send("GET", "/v1/metric?name=calendar").json,
            case .object(let metric) = listed.first, case .string(let id) = metric["id"]
        else {
            Issue.record("the metric is not listed over HTTP")
            return
        }
        for (period, rows) in expected {
            let points = try await client.measures(of: "calendar", granularity: 86_400, calendar: period, refresh: true)
            #expect(points.map { Timestamps.format($0.timestamp) } == rows.map(\.0), "\(period) over ZeroMQ")
            #expect(points.map(\.value) == rows.map { Optional($0.1) }, "\(period) over ZeroMQ")
            #expect(points.allSatisfy { $0.period == period })
            let reply = try await http.send(
                "GET", "/v1/metric/\(id)/measures?resample=\(period.rawValue)&granularity=86400")
            let written = rows.map { "[\"\($0.0)\", \"\(period.rawValue)\", \($0.1)]" }.joined(separator: ", ")
            #expect(reply.body == "[\(written)]", "\(period) over HTTP")
        }
        await #expect {
            _ = try await client.measures(
                of: "calendar", aggregation: "rate:mean", granularity: 86_400, calendar: .month)
        } throws: { error in
            "\(error)".contains("Cannot derive aggregates on calendar granularities")
        }
    }

    @Test("a reply of 30,000 points arrives whole, written in slices")
    func largeReply() async throws {
        let server = try ServeProcess()
        defer { _ = server.stop() }
        let http = HTTPTestClient(port: try #require(server.httpPort))
        let client = try OrzoClient(endpoints: .init(push: server.push, ack: server.ack, query: server.query))
        _ = try await client.createArchivePolicy(name: "fine", definition: [.init(granularity: 1, points: 40_000)])
        _ = try await client.createMetric(name: "large", archivePolicy: "fine")
        let base: Int64 = 1_425_652_437_000_000_000
        for chunk in 0..<3 {
            let measures = (0..<10_000).map { index in
                Measure(timestamp: base + Int64(chunk * 10_000 + index) * 1_000_000_000, value: Double(index) + 0.25)
            }
            _ = try await client.put(["large": measures])
        }
        guard case .array(let listed) = try await http.send("GET", "/v1/metric?name=large").json,
            case .object(let metric) = listed.first, case .string(let id) = metric["id"]
        else {
            Issue.record("the metric is not listed")
            return
        }
        let reply = try await http.send("GET", "/v1/metric/\(id)/measures?refresh=true")
        #expect(reply.status == 200)
        #expect(Int(reply.headers["content-length"] ?? "") == reply.body.utf8.count)
        guard case .array(let rows) = reply.json else {
            Issue.record("not a list of rows")
            return
        }
        #expect(rows.count == 30_000)
        #expect(rows.last == [.string("2015-03-06T22:53:56+00:00"), 1.0, 9999.25])
    }
}
