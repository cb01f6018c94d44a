import Foundation
import Testing

/// The `orzo` client commands, run as processes against a real `orzo serve`.
@Suite("orzo client commands", .serialized, .timeLimit(.minutes(5)))
struct CLITests {
    func orzo(
        _ arguments: [String], _ server: ServeProcess, input: String? = nil
    ) throws -> (status: Int32, output: String) {
        try runProcess(
            orzoExecutable, arguments,
            environment: ["ORZO_PUSH": server.push, "ORZO_ACK": server.ack, "ORZO_QUERY": server.query], input: input)
    }

    @Test("policies, rules, metrics, measures add/push/show, aggregates, status; errors exit non-zero")
    func commands() async throws {
        let server = try ServeProcess()
        defer { _ = server.stop() }
        var result = try orzo(
            [
                "archive-policy", "create", "minutely", "-d", "granularity:60,points:1440", "--aggregation-methods",
                "+last",
            ],
            server)
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.contains("minutely"))
        result = try orzo(
            ["archive-policy-rule", "create", "web", "--metric-pattern", "web-*", "--archive-policy-name", "minutely"],
            server)
        #expect(result.status == 0, "\(result.output)")
        result = try orzo(
            ["measures", "add", "web-01.cpu", "-m", "2026-01-01T00:00:10Z@1", "-m", "1767225620@3", "-m", "now@nan"],
            server)
        #expect(result.output.contains("accepted 2, rejected 1"), "\(result.output)")
        result = try orzo(
            ["measures", "push"], server,
            input: "web-02.cpu 2026-01-01T00:00:00Z 10\n# a comment\nweb-02.cpu 2026-01-01T00:00:30Z 20\n")
        #expect(result.output.contains("accepted 2"), "\(result.output)")
        result = try orzo(
            ["measures", "show", "web-01.cpu", "--refresh", "--aggregation", "last", "--format", "json"], server)
        #expect(result.output.contains("[\"2026-01-01T00:00:00+00:00\",60,3]"), "\(result.output)")
        result = try orzo(["metric", "show", "web-02.cpu"], server)
        #expect(result.output.contains("minutely"))
        _ = try orzo(["measures", "show", "web-02.cpu", "--refresh"], server)
        result = try orzo(["aggregates", "(aggregate sum (metric (web-01.cpu mean) (web-02.cpu mean)))"], server)
        #expect(result.output.contains("aggregated"), "\(result.output)")
        #expect(result.output.contains("17"), "(1+3)/2 + (10+20)/2 = 17: \(result.output)")
        result = try orzo(["status"], server)
        let line = result.output.split(separator: "\n").first {
            $0.hasPrefix("ingest.measures.rejected.non_finite_value")
        }
        #expect(line?.split(separator: " ").last == "1", "\(result.output)")
        // Counters of 0 and 1 stay numbers in JSON (Linux's JSONSerialization reads them as
        // NSNumbers that also cast to Bool).
        result = try orzo(["status", "--format", "json"], server)
        #expect(result.output.contains("\"ingest.measures.rejected.non_finite_value\":1"), "\(result.output)")
        #expect(result.output.contains("\"metricd.lease.lost\":0"), "\(result.output)")
        #expect(!result.output.contains("false"), "\(result.output)")
        result = try orzo(["metric", "show", "nope"], server)
        #expect(result.status != 0)
        #expect(result.output.contains("not_found"))
        result = try orzo(["measures", "add", "web-03.cpu", "-m", "yesterday-ish@1"], server)
        #expect(result.status != 0)
        #expect(result.output.contains("is not a timestamp"))
    }
}
