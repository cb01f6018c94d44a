import Foundation
import OrzoClient
import Storage
import Testing
import Timeseries
import WireProtocol

/// Roles as separate processes on one store: a metric deleted and created again
/// through the query role, while an ingest role and a metricd role that knew the
/// old one keep running (docs/storage-files.md, "Metric identity").
@Suite("Metric identity across processes", .serialized, .timeLimit(.minutes(3)))
struct MetricIdentityTests {
    static let stores: [RoleGroup.Store] =
        cephConf() == nil && !fleetEnabled ? [.files] : RoleGroup.Store.allCases

    /// Waits (without `refresh`: the metricd process must do the work) until the
    /// metric's counts add up to `count`, and returns its points.
    func waitForCount(_ client: OrzoClient, _ metric: String, _ count: Double) async throws -> [OrzoClient.Point] {
        let deadline = ContinuousClock.now + .seconds(30)
        while true {
            let points = try await client.measures(of: metric, aggregation: "count")
            let total = points.compactMap(\.value).reduce(0, +)
            if total == count || ContinuousClock.now > deadline {
                #expect(total == count, "\(metric): \(total) measures aggregated, expected \(count)")
                return points
            }
            try await Task.sleep(for: .milliseconds(100))
        }
    }

    private static let t0: Nanoseconds = 1_767_225_600 * nanosecondsPerSecond
    private static func minutes(_ range: Range<Int>) -> [Measure] {
        range.map { Measure(timestamp: t0 + Int64($0) * 60 * nanosecondsPerSecond, value: Double($0)) }
    }

    @Test(
        "delete and re-create through the query role: ingest and metricd roles that knew the old metric and policy store and aggregate the new one's measures, nothing of the old one comes back",
        arguments: stores)
    func recreate(store: RoleGroup.Store) async throws {
        let roles = try RoleGroup(store)
        defer { roles.stop() }
        let client = try OrzoClient(endpoints: roles.endpoints, timeout: .seconds(15))
        _ = try await client.createArchivePolicy(
            name: "identity", definition: [.init(granularity: 60, points: 100)], aggregationMethods: ["count", "mean"])
        _ = try await client.createMetric(name: "identity.p", archivePolicy: "identity")
        // Every process learns the old metrics and the old policy.
        _ = try await client.put(["identity.m": Self.minutes(0..<3), "identity.p": Self.minutes(0..<3)])
        _ = try await waitForCount(client, "identity.m", 3)
        #expect(try await waitForCount(client, "identity.p", 3).allSatisfy { $0.granularity == 60 })

        try await client.deleteMetric("identity.m")
        _ = try await client.createMetric(name: "identity.m")
        try await client.deleteMetric("identity.p")
        try await client.deleteArchivePolicy("identity")
        _ = try await client.createArchivePolicy(
            name: "identity", definition: [.init(granularity: 300, points: 100)], aggregationMethods: ["count"])
        _ = try await client.createMetric(name: "identity.p", archivePolicy: "identity")

        // Acknowledged through the ingest process that cached the old ids.
        _ = try await client.put(["identity.m": Self.minutes(10..<12), "identity.p": Self.minutes(10..<12)])
        let m = try await waitForCount(client, "identity.m", 2)
        #expect(m.allSatisfy { $0.timestamp >= Self.t0 + 600 * nanosecondsPerSecond }, "no bucket of the old measures")
        // Aggregated by the worker that cached the old policy: the new one's 5-minute buckets.
        let p = try await waitForCount(client, "identity.p", 2)
        #expect(p.map(\.granularity) == [300], "aggregated with the policy that exists now")

        // Nothing of the old metrics is listed or counted under the new ones.
        #expect(try await client.metric("identity.m").counters.measuresProcessed == 2)
        #expect(try await client.metric("identity.p").counters.measuresProcessed == 2)
    }
}
