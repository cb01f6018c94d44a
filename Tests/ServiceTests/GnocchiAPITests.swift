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
