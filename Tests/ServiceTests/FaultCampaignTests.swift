import Foundation
import Glibc
import Testing

/// The short fault campaign (docs/reliability.md, "Fault campaign"): separate
/// role processes on the test cluster, an acknowledged writer, and a fault each
/// round; every acknowledged measure aggregated exactly once.
@Suite("Fault campaign, short", .enabled(if: fleetEnabled), .serialized, .timeLimit(.minutes(6)))
struct FaultCampaignTests {
    @Test("kills of every role, a metricd paused past its lease, re-created metrics: nothing lost, nothing twice")
    func shortCampaign() async throws {
        let conf = try #require(cephConf(), "ORZO_TEST_CEPH_CONF is not set")
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let json = "/tmp/orzo-campaign-\(UInt64.random(in: 0..<UInt64.max)).json"
        defer { unlink(json) }
        let result = try await runProcessOffPool(
            URL(fileURLWithPath: "/usr/bin/python3"),
            [
                root.appendingPathComponent("deploy/fault-campaign.py").path, "--ceph-conf", conf, "--orzo",
                orzoExecutable.path, "--rounds", "15", "--metrics", "6", "--faults",
                "kill-ingest,kill-metricd,recreate,pause-metricd,kill-query", "--json", json,
            ])
        print(result.output)
        #expect(result.status == 0, "\(result.output)")
        let data = try Data(contentsOf: URL(fileURLWithPath: json))
        let report = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(report["lost"] as? Int == 0)
        #expect(report["duplicated"] as? Int == 0)
        let kills = report["kills"] as? [String: Int] ?? [:]
        #expect(kills["ingest"] ?? 0 >= 3 && kills["metricd"] ?? 0 >= 3 && kills["query"] ?? 0 >= 2, "\(kills)")
        #expect((report["expected_measures"] as? Int ?? 0) > 0)
    }
}
