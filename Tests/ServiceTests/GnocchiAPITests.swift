import Foundation
import Services
import Storage
import Testing
import WireProtocol

@testable import GnocchiAPI

/// Gnocchi's REST API without sockets: ``GnocchiAPI/respond(to:)`` on an
/// in-memory index. deploy/gabbits/run.sh runs Gnocchi's own tests on the real server.
@Suite("Gnocchi REST API: archive policies, rules, checks", .timeLimit(.minutes(1)))
struct GnocchiAPITests {
    static let admin = ("authorization", "basic " + Data("admin:".utf8).base64EncodedString())
    static let user = ("authorization", "basic " + Data("foobar:".utf8).base64EncodedString())
    static let json = ("content-type", "application/json")

    private func api() -> GnocchiAPI {
        GnocchiAPI(
            directory: MetricDirectory(indexer: MemoryIndexer()), storage: MemoryStorage(sackCount: 2),
            configuration: GnocchiAPIConfiguration(adminUsers: ["admin"]))
    }

    private func request(
        _ method: String, _ path: String, _ headers: [(String, String)], body: String = ""
    ) -> APIRequest {
        APIRequest(
            method: method, path: path, headers: headers.map { (name: $0.0, value: $0.1) }, body: Array(body.utf8),
            base: "http://example:8041/gnocchi")
    }

    @Test("durations are read as Gnocchi reads them and written as Python's str(timedelta)")
    func durations() {
        let second: Int64 = 1_000_000_000
        #expect(GnocchiDurations.format(second) == "0:00:01")
        #expect(GnocchiDurations.format(3_600_000_000) == "0:00:03.600000")
        #expect(GnocchiDurations.format(86_400 * second) == "1 day, 0:00:00")
        #expect(GnocchiDurations.format(30 * 86_400 * second + 61 * second) == "30 days, 0:01:01")
        #expect(GnocchiDurations.parse(.text("1 hour")) == 3600)
        #expect(GnocchiDurations.parse(.text("10s")) == 10)
        #expect(GnocchiDurations.parse(.text("2 second")) == 2)
        #expect(GnocchiDurations.parse(.text("0:05:00")) == 300)
        #expect(GnocchiDurations.parse(.text("1 day, 0:00:00")) == 86_400)
        #expect(GnocchiDurations.parse(.text("60")) == 60)
        #expect(GnocchiDurations.parse(.number(0.5)) == 0.5)
        #expect(GnocchiDurations.parse(.text("1 shenanigan")) == nil)
        #expect(GnocchiDurations.parse(.text(String(repeating: "9", count: 500) + "s")) == nil)
    }

    @Test("NaN and infinities are written as Gnocchi writes them, bare tokens")
    func nanTokens() {
        let bytes = GnocchiJSON.encode([.number(.nan), .number(.infinity), .number(-.infinity), 1.5])
        #expect(String(decoding: bytes, as: UTF8.self) == "[NaN, Infinity, -Infinity, 1.5]")
    }

    @Test("401 without a user, 403 for a non-admin, 406, 415 and 405 as Gnocchi answers them")
    func refusals() async throws {
        let api = api()
        let body = #"{"name": "p", "definition": [{"granularity": "1 second"}]}"#
        #expect(await api.respond(to: request("GET", "/v1/archive_policy", [])).status == 401)
        #expect(
            await api.respond(to: request("POST", "/v1/archive_policy", [Self.user, Self.json], body: body)).status
                == 403)
        #expect(
            await api.respond(to: request("GET", "/v1/archive_policy", [Self.user, ("accept", "text/html")])).status
                == 406)
        #expect(
            await api.respond(
                to: request("POST", "/v1/archive_policy", [Self.admin, ("content-type", "text/plain")], body: body)
            ).status == 415)
        #expect(await api.respond(to: request("PUT", "/v1/archive_policy", [Self.admin])).status == 405)
        #expect(await api.respond(to: request("GET", "/v1/nothing", [Self.user])).status == 404)
    }

    @Test("an archive policy is created, read, listed and deleted; invalid input gets voluptuous' messages")
    func archivePolicyLifecycle() async throws {
        let api = api()
        let created = await api.respond(
            to: request(
                "POST", "/v1/archive_policy", [Self.admin, Self.json],
                body: #"{"name": "✔é", "definition": [{"granularity": "1 second", "points": 20}, {"granularity": 2}]}"#)
        )
        #expect(created.status == 201)
        #expect(created.header("location") == "http://example:8041/gnocchi/v1/archive_policy/%E2%9C%94%C3%A9")
        let shown = await api.respond(to: request("GET", "/v1/archive_policy/%E2%9C%94%C3%A9", [Self.user]))
        let document = try JSONValue.decode(shown.body)
        #expect(document["name"] == "✔é")
        #expect(document["definition"]?.arrayValue?.first?["timespan"] == "0:00:20")
        #expect(document["definition"]?.arrayValue?.last?["points"] == .null)
        let duplicate = await api.respond(
            to: request(
                "POST", "/v1/archive_policy", [Self.admin, Self.json],
                body: #"{"name": "✔é", "definition": [{"granularity": 1}]}"#))
        #expect(duplicate.status == 409)
        #expect(String(decoding: duplicate.body, as: UTF8.self).contains("Archive policy ✔é already exists"))
        let extra = await api.respond(
            to: request("POST", "/v1/archive_policy", [Self.admin, Self.json], body: #"{"cowsay": "moo"}"#))
        let error = try JSONValue.decode(extra.body)
        #expect(extra.status == 400)
        #expect(error["description"]?["cause"] == "Invalid input")
        #expect(error["description"]?["detail"] == ["cowsay"])
        #expect(error["description"]?["reason"]?.stringValue?.hasPrefix("extra keys not allowed") == true)
        let zero = await api.respond(
            to: request(
                "POST", "/v1/archive_policy", [Self.admin, Self.json],
                body: #"{"name": "z", "definition": [{"granularity": 0, "points": 60}]}"#))
        #expect(try JSONValue.decode(zero.body)["description"]?["detail"] == ["definition", "0", "granularity"])
        #expect(
            await api.respond(to: request("DELETE", "/v1/archive_policy/%E2%9C%94%C3%A9", [Self.admin])).status == 204)
        #expect(await api.respond(to: request("GET", "/v1/archive_policy/%E2%9C%94%C3%A9", [Self.user])).status == 404)
    }
}

@Suite("Gnocchi REST API: metrics and measures", .timeLimit(.minutes(1)))
struct GnocchiMetricAPITests {
    static let admin = ("authorization", "basic " + Data("admin:".utf8).base64EncodedString())
    static let alice = ("authorization", "basic " + Data("alice:".utf8).base64EncodedString())
    static let bob = ("authorization", "basic " + Data("bob:".utf8).base64EncodedString())
    static let json = ("content-type", "application/json")

    private func request(
        _ method: String, _ target: String, _ headers: [(String, String)], body: String = ""
    ) -> APIRequest {
        let (path, query) = APIRequest.splitTarget(target)
        return APIRequest(
            method: method, path: path, query: query, headers: headers.map { (name: $0.0, value: $0.1) },
            body: Array(body.utf8), base: "http://example:8041/gnocchi")
    }

    private func object(_ response: APIResponse) throws -> [String: JSONValue] {
        guard case .object(let object) = try JSONValue.decode(response.body) else {
            Issue.record("not an object: \(String(decoding: response.body, as: UTF8.self))")
            return [:]
        }
        return object
    }

    private func array(_ response: APIResponse) throws -> [JSONValue] {
        guard case .array(let array) = try JSONValue.decode(response.body) else {
            Issue.record("not an array: \(String(decoding: response.body, as: UTF8.self))")
            return []
        }
        return array
    }

    /// An API on a fresh in-memory index holding policy `p` (1 s and 60 s).
    private func api() async throws -> (GnocchiAPI, MemoryIndexer) {
        let indexer = MemoryIndexer()
        let api = GnocchiAPI(
            directory: MetricDirectory(indexer: indexer), storage: MemoryStorage(sackCount: 2),
            configuration: GnocchiAPIConfiguration(adminUsers: ["admin"], maxLimit: 3))
        let policy = #"{"name": "p", "definition": [{"granularity": "1s"}, {"granularity": 60}]}"#
        #expect(
            await api.respond(to: request("POST", "/v1/archive_policy", [Self.admin, Self.json], body: policy)).status
                == 201)
        return (api, indexer)
    }

    @Test("timestamps: one kind per list chosen by the first, numpy's ISO forms, relative durations, the epoch bound")
    func timestamps() throws {
        let now: Int64 = 1_700_000_000_000_000_000
        #expect(try GnocchiTimestamps.parse([.number(1425652437)], now: now) == [1_425_652_437_000_000_000])
        #expect(try GnocchiTimestamps.parse([.string("1425652440")], now: now) == [1_425_652_440_000_000_000])
        #expect(GnocchiTimestamps.iso8601("2015-03-06T14:34") == 1_425_652_440_000_000_000)
        #expect(GnocchiTimestamps.iso8601("2015-03-06T14:33:57") == 1_425_652_437_000_000_000)
        #expect(GnocchiTimestamps.iso8601("2015-03-06T16:33:57+02:00") == 1_425_652_437_000_000_000)
        #expect(GnocchiTimestamps.iso8601("2015-03-06T14:33:57.5Z") == 1_425_652_437_500_000_000)
        #expect(GnocchiTimestamps.iso8601("2015") == 1_420_070_400_000_000_000)
        #expect(GnocchiTimestamps.iso8601("1915-100-06T14:33:57") == nil)
        #expect(GnocchiTimestamps.iso8601("2015-02-29") == nil)
        #expect(try GnocchiTimestamps.parse([.string("-5 minutes")], now: now) == [now - 300_000_000_000])
        #expect(throws: GnocchiTimestamps.Failure.unconvertible) {
            try GnocchiTimestamps.parse([.number(1478012832), .string("-5 minutes")], now: now)
        }
        #expect(throws: GnocchiTimestamps.Failure.beforeEpoch) {
            try GnocchiTimestamps.parse([.string("1915-03-06T14:33:57")], now: now)
        }
        #expect(throws: GnocchiTimestamps.Failure.unconvertible) { try GnocchiTimestamps.parse([.number(1e300)]) }
        #expect(GnocchiTimestamps.format(1_425_652_437_999_000_000) == "2015-03-06T14:33:57+00:00")
    }

    @Test("metrics: a free name is the address, a taken one or none gets the id; documents as Gnocchi's")
    func identity() async throws {
        let (api, indexer) = try await api()
        let first = try object(
            await api.respond(
                to: request(
                    "POST", "/v1/metric", [Self.alice, Self.json],
                    body: #"{"name": "disk", "archive_policy_name": "p", "unit": "B"}"#)))
        let second = try object(
            await api.respond(
                to: request(
                    "POST", "/v1/metric", [Self.bob, Self.json], body: #"{"name": "disk", "archive_policy_name": "p"}"#)
            ))
        let nameless = try object(
            await api.respond(
                to: request("POST", "/v1/metric", [Self.bob, Self.json], body: #"{"archive_policy_name": "p"}"#)))
        #expect(first["name"] == "disk")
        #expect(first["creator"] == "alice")
        #expect(first["created_by_user_id"] == "alice")
        #expect(first["created_by_project_id"] == "")
        #expect(first["archive_policy_name"] == "p")
        #expect(second["name"] == "disk")
        #expect(nameless["name"] == .null)
        guard case .string(let firstID) = first["id"], case .string(let secondID) = second["id"],
            case .string(let namelessID) = nameless["id"]
        else { throw APIError.badRequest("no ids") }
        // The ZeroMQ view: the first holds the name, the others their ids.
        #expect(try await indexer.metric(named: "disk")?.id.uuidString == firstID)
        #expect(try await indexer.metric(named: secondID)?.gnocchiName == "disk")
        #expect(try await indexer.metric(named: namelessID)?.gnocchiName == nil)
        let shown = try object(await api.respond(to: request("GET", "/v1/metric/\(secondID.uppercased())", [Self.bob])))
        #expect(shown["resource"] == .null)
        guard case .object(let policy) = shown["archive_policy"] else { throw APIError.badRequest("no policy") }
        #expect(policy["name"] == "p")
        // Creators and admins only.
        #expect(await api.respond(to: request("GET", "/v1/metric/\(secondID)", [Self.alice])).status == 403)
        #expect(await api.respond(to: request("DELETE", "/v1/metric/\(secondID)", [Self.alice])).status == 403)
        #expect(await api.respond(to: request("DELETE", "/v1/metric/\(secondID)", [Self.admin])).status == 204)
        #expect(await api.respond(to: request("DELETE", "/v1/metric/\(secondID)", [Self.admin])).status == 404)
        #expect(await api.respond(to: request("GET", "/v1/metric/nope", [Self.admin])).status == 404)
        let slash = await api.respond(
            to: request(
                "POST", "/v1/metric", [Self.bob, Self.json], body: #"{"name": "a/b", "archive_policy_name": "p"}"#))
        #expect(slash.status == 400)
        let long = await api.respond(
            to: request(
                "POST", "/v1/metric", [Self.bob, Self.json],
                body: #"{"archive_policy_name": "p", "unit": "\#(String(repeating: "u", count: 32))"}"#))
        #expect(long.status == 400)
    }

    @Test("listings: filters, sorts, limits clamped to max_limit, and an absolute next link with the marker")
    func listing() async throws {
        let (api, _) = try await api()
        for index in 0..<5 {
            let body = #"{"name": "m\#(index % 2)", "archive_policy_name": "p"}"#
            #expect(
                await api.respond(to: request("POST", "/v1/metric", [Self.alice, Self.json], body: body)).status == 201)
        }
        let page = await api.respond(to: request("GET", "/v1/metric?name=m0&sort=name:desc", [Self.alice]))
        #expect(try array(page).count == 3)
        let link = try #require(page.header("Link"))
        #expect(link.hasPrefix("<http://example:8041/gnocchi/v1/metric?limit=3&marker="))
        #expect(link.hasSuffix("&name=m0&sort=name%3Adesc>; rel=\"next\""))
        let all = await api.respond(to: request("GET", "/v1/metric?limit=100", [Self.alice]))
        #expect(try array(all).count == 3, "clamped to max_limit")
        let bad = await api.respond(to: request("GET", "/v1/metric?sort=nonexistent_key:asc", [Self.alice]))
        #expect(String(decoding: bad.body, as: UTF8.self).contains("Sort key supplied is invalid: nonexistent_key"))
        #expect(await api.respond(to: request("GET", "/v1/metric?limit=0", [Self.alice])).status == 400)
    }

    @Test("measures: posted, refreshed and read coarsest first with whole-second timestamps; bad input refused whole")
    func measures() async throws {
        let (api, _) = try await api()
        let created = try object(
            await api.respond(
                to: request("POST", "/v1/metric", [Self.alice, Self.json], body: #"{"archive_policy_name": "p"}"#)))
        guard case .string(let id) = created["id"] else { throw APIError.badRequest("no id") }
        let body =
            #"[{"timestamp": "2015-03-06T14:33:57", "value": 43.1}, {"timestamp": "2015-03-06T14:34:12", "value": "12"}]"#
        let posted = await api.respond(
            to: request("POST", "/v1/metric/\(id)/measures", [Self.alice, Self.json], body: body))
        #expect(posted.status == 202)
        #expect(posted.body.isEmpty)
        let read = await api.respond(to: request("GET", "/v1/metric/\(id)/measures?refresh=true", [Self.alice]))
        #expect(
            String(decoding: read.body, as: UTF8.self)
                == #"[["2015-03-06T14:33:00+00:00", 60.0, 43.1], ["2015-03-06T14:34:00+00:00", 60.0, 12.0], "#
                + #"["2015-03-06T14:33:57+00:00", 1.0, 43.1], ["2015-03-06T14:34:12+00:00", 1.0, 12.0]]"#)
        let resampled = await api.respond(
            to: request(
                "GET", "/v1/metric/\(id)/measures?granularity=1&resample=120&start=2015-03-06T14:34", [Self.alice]))
        #expect(String(decoding: resampled.body, as: UTF8.self) == #"[["2015-03-06T14:34:00+00:00", 120.0, 12.0]]"#)
        for bad in [
            #"[["2015-03-06T14:33:57", 1]]"#, "1", #"[{"timestamp": 1, "value": "x"}]"#,
            #"[{"timestamp": "1915-03-06", "value": 1}]"#,
        ] {
            #expect(
                await api.respond(to: request("POST", "/v1/metric/\(id)/measures", [Self.alice, Self.json], body: bad))
                    .status == 400, "\(bad)")
        }
        // Bodies nested past the scanner's bound, or not JSON, are 400, not a crash.
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        for body in [deep, "[{\"timestamp\": 1, \"value\": NaN}]", "{"] {
            #expect(
                await api.respond(
                    to: request("POST", "/v1/metric/\(id)/measures", [Self.alice, Self.json], body: body)
                )
                .status == 400)
        }
        #expect(
            try GnocchiJSON.decode(Array(#"[true, 1, "x", null, {"a": [1.5]}]"#.utf8)) == [
                true, 1, "x", .null, ["a": [1.5]],
            ])
        let missing = await api.respond(to: request("GET", "/v1/metric/\(id)/measures?granularity=42", [Self.alice]))
        #expect(
            String(decoding: missing.body, as: UTF8.self).contains(
                "Aggregation method 'mean' at granularity '42.0' for metric \(id) does not exist"))
        let method = await api.respond(to: request("GET", "/v1/metric/\(id)/measures?aggregation=wtf", [Self.alice]))
        #expect(method.status == 404)
        #expect(
            await api.respond(to: request("GET", "/v1/metric/\(id)/measures?refresh=maybe", [Self.alice])).status == 400
        )
        #expect(
            await api.respond(to: request("GET", "/v1/metric/\(id)/measures?start=never", [Self.alice])).status == 400)
    }

    @Test("numbers past the engine's range are refused, not trapped on; refused measures are counted")
    func ranges() async throws {
        let counters = ServiceCounters()
        let indexer = MemoryIndexer()
        let api = GnocchiAPI(
            directory: MetricDirectory(indexer: indexer), storage: MemoryStorage(sackCount: 2),
            configuration: GnocchiAPIConfiguration(adminUsers: ["admin"]), counters: counters)
        let policy = #"{"name": "p", "definition": [{"granularity": "1s"}]}"#
        #expect(
            await api.respond(to: request("POST", "/v1/archive_policy", [Self.admin, Self.json], body: policy)).status
                == 201)
        let created = try object(
            await api.respond(
                to: request("POST", "/v1/metric", [Self.alice, Self.json], body: #"{"archive_policy_name": "p"}"#)))
        guard case .string(let id) = created["id"] else { throw APIError.badRequest("no id") }
        // A resample period of 100 years, a relative time of 3,000 years, a time past 2262: 400.
        let huge = await api.respond(
            to: request("GET", "/v1/metric/\(id)/measures?granularity=1&resample=3153600000", [Self.alice]))
        #expect(huge.status == 400)
        for body in [#"[{"timestamp": "-100000000000 seconds", "value": 1}]"#, #"[{"timestamp": 9.3e9, "value": 1}]"#] {
            let refused = await api.respond(
                to: request("POST", "/v1/metric/\(id)/measures", [Self.alice, Self.json], body: body))
            #expect(refused.status == 400, "\(body)")
        }
        #expect(counters.value(.measuresRejectedTimestamp) == 2)
        let nan = #"[{"timestamp": 1, "value": "nan"}, {"timestamp": 2, "value": 1}]"#
        #expect(
            await api.respond(to: request("POST", "/v1/metric/\(id)/measures", [Self.alice, Self.json], body: nan))
                .status == 400)
        #expect(counters.value(.measuresRejectedNonFinite) == 2)
        // A name that could not be a ZeroMQ address.
        let control = await api.respond(
            to: request(
                "POST", "/v1/metric", [Self.alice, Self.json],
                body: #"{"name": "a\u0001b", "archive_policy_name": "p"}"#))
        #expect(control.status == 400)
    }
}
