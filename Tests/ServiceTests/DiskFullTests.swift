import Foundation
import Glibc
import OrzoClient
import Testing
import Timeseries
import WireProtocol

/// Root, and allowed to mount (a container without CAP_SYS_ADMIN is not).
let canMountTmpfs: Bool = {
    guard getuid() == 0 else { return false }
    let probe = "/tmp/orzo-mount-probe-\(getpid())"
    mkdir(probe, 0o755)
    defer { rmdir(probe) }
    guard
        (try? runProcess(URL(fileURLWithPath: "/bin/mount"), ["-t", "tmpfs", "-o", "size=1m", "tmpfs", probe]))?
            .status == 0
    else { return false }
    _ = try? runProcess(URL(fileURLWithPath: "/bin/umount"), [probe])
    return true
}()

/// A data directory on a full filesystem (a small tmpfs, so root only): puts get
/// a clear `unavailable`, a cycle that cannot commit fails visibly, and once
/// space is back every acknowledged measure is aggregated.
@Suite("Disk full on the files backend", .enabled(if: canMountTmpfs), .serialized, .timeLimit(.minutes(2)))
struct DiskFullTests {
    private static let t0: Nanoseconds = 1_767_225_600 * nanosecondsPerSecond

    @Test(
        "ENOSPC: puts are refused with the cause, a refresh's cycle fails and is counted; freed, nothing acknowledged is lost"
    )
    func diskFull() async throws {
        let mountPoint = "/tmp/orzo-disk-full-\(UInt64.random(in: 0..<UInt64.max))"
        #expect(mkdir(mountPoint, 0o755) == 0)
        let mounted = try runProcess(
            URL(fileURLWithPath: "/bin/mount"), ["-t", "tmpfs", "-o", "size=16m", "tmpfs", mountPoint])
        try #require(mounted.status == 0, "mount: \(mounted.output)")
        defer {
            _ = try? runProcess(URL(fileURLWithPath: "/bin/umount"), ["-l", mountPoint])
            rmdir(mountPoint)
        }
        // No metricd: measures wait until a refresh processes them, so the test
        // decides when the commit runs.
        let roles = try RoleGroup(.files, roles: [.query, .ingest], dataDirectory: "\(mountPoint)/data")
        defer { roles.stop() }
        let client = try OrzoClient(endpoints: roles.endpoints, timeout: .seconds(15), attempts: 1)
        var acknowledged: [Measure] = []
        func minutes(_ range: Range<Int>) -> [Measure] {
            range.map { Measure(timestamp: Self.t0 + Int64($0) * 60 * nanosecondsPerSecond, value: Double($0)) }
        }
        _ = try await client.put(["full.a": minutes(0..<100)])
        acknowledged += minutes(0..<100)
        _ = try await client.measures(of: "full.a", aggregation: "count", refresh: true)
        _ = try await client.put(["full.a": minutes(100..<200)])
        acknowledged += minutes(100..<200)

        // Fill the filesystem.
        let filler = "\(mountPoint)/filler"
        let fd = open(filler, O_WRONLY | O_CREAT, 0o644)
        try #require(fd >= 0)
        let chunk = [UInt8](repeating: 7, count: 64 << 10)
        while chunk.withUnsafeBytes({ write(fd, $0.baseAddress, $0.count) }) > 0 {}
        close(fd)

        // A put is refused with the cause, and the service goes on answering.
        var refused: String?
        for round in 0..<20 where refused == nil {
            do {
                _ = try await client.put(["full.a": minutes((200 + round * 10)..<(210 + round * 10))])
                acknowledged += minutes((200 + round * 10)..<(210 + round * 10))
            } catch {
                refused = "\(error)"
            }
        }
        let refusal = try #require(refused, "a put on a full disk was acknowledged 20 times")
        #expect(refusal.contains("No space left on device"), "\(refusal)")
        // The cycle of the acknowledged measures cannot commit: a clear error, counted.
        do {
            _ = try await client.measures(of: "full.a", aggregation: "count", refresh: true)
            Issue.record("a refresh committed on a full disk")
        } catch {
            #expect("\(error)".contains("No space left on device"), "\(error)")
        }
        let status = try await client.status()
        #expect((status.counters["metricd.cycles.failed.unavailable"] ?? 0) >= 1, "\(status.counters)")

        // Space back: every acknowledged measure is there, once.
        #expect(unlink(filler) == 0)
        let points = try await client.measures(of: "full.a", aggregation: "count", granularity: 300, refresh: true)
        let expected = Set(acknowledged.map(\.timestamp)).count
        #expect(points.compactMap(\.value).reduce(0, +) == Double(expected))
    }
}
