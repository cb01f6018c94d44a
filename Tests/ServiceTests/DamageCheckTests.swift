import Foundation
import Glibc
import OrzoClient
import Rados
import Storage
import Testing
import Timeseries
import WireProtocol

/// Damage found by the workers is quarantined and reported, and `orzo check`
/// finds it with the leftovers of crashes and the data of deleted metrics
/// (docs/operations.md, "Checking a store"). Real role processes, files and Ceph.
@Suite("Damage: quarantined by the workers, reported by orzo check", .serialized, .timeLimit(.minutes(3)))
struct DamageCheckTests {
    static let stores: [RoleGroup.Store] = MetricIdentityTests.stores
    private static let t0: Nanoseconds = 1_767_225_600 * nanosecondsPerSecond

    private static func minutes(_ range: Range<Int>) -> [Measure] {
        range.map { Measure(timestamp: t0 + Int64($0) * 60 * nanosecondsPerSecond, value: Double($0)) }
    }

    /// `orzo check` on the group's store.
    private func check(
        _ roles: RoleGroup, _ store: RoleGroup.Store, repair: Bool = false
    ) async throws -> (
        status: Int32, output: String
    ) {
        try await runProcessOffPool(orzoExecutable, ["check"] + roles.backendArguments + (repair ? ["--repair"] : []))
    }

    @Test(
        "a damaged metric is quarantined by the worker, the others go on; orzo check reports it, leftovers and orphans, and repairs what is safe",
        arguments: stores)
    func damage(store: RoleGroup.Store) async throws {
        let roles = try RoleGroup(store)
        defer { roles.stop() }
        let client = try OrzoClient(endpoints: roles.endpoints, timeout: .seconds(15))
        _ = try await client.put(["check.good": Self.minutes(0..<5), "check.bad": Self.minutes(0..<5)])
        for name in ["check.good", "check.bad"] {
            _ = try await client.measures(of: name, aggregation: "count", refresh: true)
        }
        let bad = try #require(MetricID(try await client.metric("check.bad").id))
        let good = try #require(MetricID(try await client.metric("check.good").id))
        let orphan = MetricID.random()

        // Damage that no crash leaves, a crash leftover, and data of an id the index does not have.
        switch store {
        case .files:
            var damagedSlots = 0
            for slot in 0..<2 {
                let path = "\(roles.dataDirectory)/metrics/\(bad.rawValue.prefix(2))/\(bad.rawValue).\(slot)"
                guard let handle = FileHandle(forWritingAtPath: path) else { continue }
                try handle.write(contentsOf: Data("XXXX".utf8))  // over the magic: the full-length header case
                try handle.close()
                damagedSlots += 1
            }
            #expect(damagedSlots > 0)
            let dead = Process()
            dead.executableURL = URL(fileURLWithPath: "/bin/true")
            try dead.run()
            dead.waitUntilExit()
            #expect(
                FileManager.default.createFile(
                    atPath: "\(roles.dataDirectory)/incoming/0/\(MetricID.random()).tmp.\(dead.processIdentifier)",
                    contents: Data([1])))
            for slot in 0..<2 {
                let from = "\(roles.dataDirectory)/metrics/\(good.rawValue.prefix(2))/\(good.rawValue).\(slot)"
                let directory = "\(roles.dataDirectory)/metrics/\(orphan.rawValue.prefix(2))"
                if FileManager.default.fileExists(atPath: from) {
                    try FileManager.default.copyItem(atPath: from, toPath: "\(directory)/\(orphan.rawValue).\(slot)")
                }
            }
        case .ceph:
            let io = try await roles.cephIOContext()
            try await io.writeFull("orzo.metric.\(bad.rawValue)", Array("not a raw buffer blob".utf8))
            try await io.writeFull("orzo.metric.\(orphan.rawValue)", [])
        }

        // The next cycle of the damaged metric quarantines it; the healthy one goes on.
        _ = try await client.put(["check.good": Self.minutes(5..<7), "check.bad": Self.minutes(5..<7)])
        let deadline = ContinuousClock.now + .seconds(60)
        var quarantined: [StatusReply.Quarantined] = []
        while quarantined.isEmpty && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(100))
            quarantined = try await client.status().quarantined
        }
        #expect(quarantined.map(\.metric) == ["check.bad"])
        #expect(quarantined.first?.reason.contains("damaged") == true, "\(quarantined)")
        let count = try await client.measures(of: "check.good", aggregation: "count", refresh: true)
        #expect(count.compactMap(\.value).reduce(0, +) == 7)

        // Read-only, beside the running roles.
        let found = try await check(roles, store)
        #expect(found.status == 1, "\(found.output)")
        #expect(found.output.contains("damaged: check.bad: "), "\(found.output)")
        #expect(found.output.contains("orphan: data of \(orphan)"), "\(found.output)")
        #expect(found.output.contains("quarantined: check.bad"), "\(found.output)")
        if store == .files {
            #expect(found.output.contains("not a state header"), "\(found.output)")
            #expect(found.output.contains("temporary file of a process that died"), "\(found.output)")
        }

        // A repair removes what is safe to remove; the damage stays, for an operator.
        roles.stop()
        let repaired = try await check(roles, store, repair: true)
        #expect(repaired.status == 1, "\(repaired.output)")
        #expect(repaired.output.contains("orphan (removed): data of \(orphan)"), "\(repaired.output)")
        let after = try await check(roles, store)
        #expect(!after.output.contains("orphan"), "\(after.output)")
        #expect(!after.output.contains("leftover"), "\(after.output)")
        #expect(after.output.contains("damaged: check.bad: "), "\(after.output)")
        #expect(after.output.contains("1 problem left"), "\(after.output)")
    }
}
