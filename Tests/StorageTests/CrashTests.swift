import Foundation
import OrzoTestSupport
import Storage
import StorageCeph
import StorageFiles
import Testing
import Timeseries

/// Real processes against the real cluster: a worker killed with SIGKILL at
/// each step of a cycle, an ingest killed halfway, and a lease holder paused
/// with SIGSTOP past its lease. The harness is `orzo-storage-harness`, built
/// with the tests (`swift build --build-tests`).
@Suite("Crash safety and leases across processes (files and real Ceph)", .timeLimit(.minutes(5)))
struct CrashTests {
    @Test(
        "a worker killed at any step of a cycle loses nothing: the next run ends as an uninterrupted one",
        arguments: processBackends,
        [
            Failpoint.afterLease, .afterLoad, .beforeCommit, .afterCommit, .filesStateWritten, .filesStateDurable,
        ])
    func killedWorker(backend: Backend, failpoint: Failpoint) async throws {
        // The group commit's steps exist only in the file store.
        if failpoint.rawValue.hasPrefix("files.") && backend != .files { return }
        let (storage, namespace) = try await Harness.store(backend)
        let metric = MetricID.random()
        let first = StorageFixtures.measures(0..<300)
        let second = StorageFixtures.measures(300..<600)
        try await storage.appendMeasures([metric: first])
        #expect(try await ProcessingCycle(storage: storage).process(metric, policy: StorageFixtures.policy) != .busy)
        try await storage.appendMeasures([metric: second])

        let killed = try await Harness.run(["process", metric.rawValue], namespace: namespace, failpoint: failpoint)
        #expect(killed.signal == SIGKILL, "the harness was to die at \(failpoint.rawValue): \(killed)")
        let rerun = try await Harness.run(["process", metric.rawValue], namespace: namespace)
        #expect(rerun.status == 0, "\(rerun)")

        expectSameAggregates(
            try await storedAggregates(storage, metric, policy: StorageFixtures.policy),
            expectedAggregates([first, second], policy: StorageFixtures.policy), policy: StorageFixtures.policy)
        let counters = try await storage.counters(metric)
        #expect(counters.measuresProcessed == 600, "every acknowledged measure processed exactly once")
        #expect(try await ProcessingCycle(storage: storage).process(metric, policy: StorageFixtures.policy) == .idle)
        // What a worker does after an idle cycle; then the backlog is exact: no
        // consumed file left under its pending name, no entry that never drains.
        let sack = metric.sack(of: storage.sackCount)
        for entry in try await storage.metricsWithPendingMeasures(inSack: sack) where entry.metric == metric {
            try await storage.forgetIfIdle(entry)
        }
        #expect(
            try await storage.metricsWithPendingMeasures(inSack: sack).allSatisfy { $0.metric != metric },
            "after a kill at \(failpoint.rawValue), the metric still shows as pending")
    }

    @Test("files: temporary files of dead processes are removed when a store opens, a live process's kept")
    func temporaryLeftovers() async throws {
        let directory = temporaryDirectory()
        _ = try FileStorage(root: directory, defaultSackCount: 4)
        let dead = Process()
        dead.executableURL = URL(fileURLWithPath: "/bin/true")
        try dead.run()
        dead.waitUntilExit()
        let leftovers = [
            "\(directory)/incoming/1/\(MetricID.random()).tmp.\(dead.processIdentifier)",
            "\(directory)/quarantine/\(MetricID.random()).tmp.\(dead.processIdentifier)",
        ]
        let live = "\(directory)/incoming/2/\(MetricID.random()).tmp.\(getpid())"
        for path in leftovers + [live] { #expect(FileManager.default.createFile(atPath: path, contents: Data([1]))) }
        let reopened = try FileStorage(root: directory)
        #expect(reopened.temporaryFilesRemoved == 2)
        #expect(leftovers.allSatisfy { !FileManager.default.fileExists(atPath: $0) })
        #expect(FileManager.default.fileExists(atPath: live))
    }

    @Test(
        "a metric whose processing kills its worker twice is quarantined before a third attempt; released, it is processed",
        arguments: processBackends)
    func poisonGuard(backend: Backend) async throws {
        let (storage, namespace) = try await Harness.store(backend)
        let metric = MetricID.random()
        let healthy = MetricID.random()
        try await storage.appendMeasures([metric: StorageFixtures.measures(0..<300)])
        try await storage.appendMeasures([healthy: StorageFixtures.measures(0..<100)])
        for attempt in 1...2 {
            let killed = try await Harness.run(
                ["process", metric.rawValue], namespace: namespace, failpoint: .afterLoad)
            #expect(killed.signal == SIGKILL, "attempt \(attempt) was to die: \(killed)")
        }
        // The third attempt, still armed to die, sets the metric aside instead.
        let third = try await Harness.run(["process", metric.rawValue], namespace: namespace, failpoint: .afterLoad)
        #expect(third.status == 4, "the third attempt quarantines: \(third)")
        #expect(try await storage.quarantinedMetrics()[metric] != nil)
        // The rest of the fleet keeps working.
        let other = try await Harness.run(["process", healthy.rawValue], namespace: namespace)
        #expect(other.status == 0, "\(other)")
        #expect(try await storage.counters(healthy).measuresProcessed == 100)
        // After a fix, an operator releases it; nothing it held was lost.
        try await storage.releaseQuarantine(metric)
        let released = try await Harness.run(["process", metric.rawValue], namespace: namespace)
        #expect(released.status == 0, "\(released)")
        #expect(try await storage.counters(metric).measuresProcessed == 300)
        #expect(try await storage.quarantinedMetrics().isEmpty)
    }

    @Test("an ingest killed after marking its sack strands nothing, and its retry is processed")
    func killedIngest() async throws {
        guard processBackends.contains(.ceph) else { return }  // a file ingest is one step: nothing between
        let (storage, namespace) = try await Harness.store(.ceph)
        let metric = MetricID.random()
        let killed = try await Harness.run(
            ["ingest", metric.rawValue, "0", "100"], namespace: namespace, failpoint: .afterAppendMark)
        #expect(killed.signal == SIGKILL, "\(killed)")
        let sack = metric.sack(of: storage.sackCount)
        let entry = try #require(
            try await storage.metricsWithPendingMeasures(inSack: sack).first { $0.metric == metric })
        #expect(try await ProcessingCycle(storage: storage).process(metric, policy: StorageFixtures.policy) == .idle)
        try await storage.forgetIfIdle(entry)
        #expect(!(try await storage.metricsWithPendingMeasures(inSack: sack).contains { $0.metric == metric }))
        // The client got no acknowledgement and retries.
        let retried = try await Harness.run(["ingest", metric.rawValue, "0", "100"], namespace: namespace)
        #expect(retried.status == 0)
        #expect(try await storage.metricsWithPendingMeasures(inSack: sack).contains { $0.metric == metric })
        let processed = try await Harness.run(["process", metric.rawValue], namespace: namespace)
        #expect(processed.status == 0)
        #expect(try await storage.counters(metric).measuresProcessed == 100)
    }

    @Test("a holder paused between its commit and its cleanup leaves the cleanup to the one that took over")
    func pausedBeforeCleanup() async throws {
        // Files only: the Ceph commit removes consumed measures in the same atomic operation.
        guard processBackends.contains(.files) else { return }
        let (storage, namespace) = try await Harness.store(.files)
        let metric = MetricID.random()
        let batches = [0..<100, 100..<200, 200..<300].map { StorageFixtures.measures($0) }
        try await storage.appendMeasures([metric: batches[0]])
        // The holder commits the first batch durably, then stalls before removing it.
        let holder = try Harness.start(
            ["process", metric.rawValue], namespace: namespace, failpoint: .filesStateDurable, stopping: true)
        let deadline = ContinuousClock.now + .seconds(30)
        while Harness.state(holder.processIdentifier) != "T" && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(10))
        }
        #expect(Harness.state(holder.processIdentifier) == "T", "the holder should have stopped itself")
        // Another worker waits out the 1 s lease, consumes the second batch and cleans
        // up; a third batch then takes the incoming file back from idle/, same generation.
        try await storage.appendMeasures([metric: batches[1]])
        let cycle = ProcessingCycle(storage: storage)
        var outcome = CycleOutcome.busy
        while outcome == .busy && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(100))
            outcome = try await cycle.process(metric, policy: StorageFixtures.policy)
        }
        #expect(outcome == .processed(measures: 100, droppedTooOld: 0, more: false))
        try await storage.appendMeasures([metric: batches[2]])
        // Resumed, the stale holder must not cut the file at its own, older offset: the
        // rest, rewritten under a new generation, would be read again from its start.
        kill(holder.processIdentifier, SIGCONT)
        let status = await Harness.wait(holder)
        #expect(status.status == 0, "\(status)")
        while try await cycle.process(metric, policy: StorageFixtures.policy) != .idle {}
        #expect(try await storage.counters(metric).measuresProcessed == 300, "every measure processed exactly once")
        expectSameAggregates(
            try await storedAggregates(storage, metric, policy: StorageFixtures.policy),
            expectedAggregates(batches, policy: StorageFixtures.policy), policy: StorageFixtures.policy)
    }

    @Test("files: a killed holder's lease is taken over at once (its pid is gone); a stopped one's is not")
    func deadHolderTakenOver() async throws {
        let (storage, namespace) = try await Harness.store(.files)
        let killed = MetricID.random()
        let stopped = MetricID.random()
        try await storage.appendMeasures([
            killed: StorageFixtures.measures(0..<50), stopped: StorageFixtures.measures(0..<50),
        ])
        // Both hold a 60 s lease: one dies after loading, the other stops itself there.
        let dead = try Harness.start(
            ["process", killed.rawValue], namespace: namespace, failpoint: .afterLoad, leaseMilliseconds: 60_000)
        let exit = await Harness.wait(dead)
        #expect(exit.signal == SIGKILL, "\(exit)")
        let paused = try Harness.start(
            ["process", stopped.rawValue], namespace: namespace, failpoint: .afterLoad, stopping: true,
            leaseMilliseconds: 60_000)
        defer {
            kill(paused.processIdentifier, SIGKILL)
            kill(paused.processIdentifier, SIGCONT)
        }
        let deadline = ContinuousClock.now + .seconds(30)
        while Harness.state(paused.processIdentifier) != "T" && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(10))
        }
        #expect(Harness.state(paused.processIdentifier) == "T", "the holder should have stopped itself")

        let taken = try await storage.acquireLease(killed, duration: .seconds(30))
        #expect(taken != nil, "the dead holder's lease is taken at once, 60 s before it expires")
        #expect(try await storage.acquireLease(stopped, duration: .seconds(30)) == nil, "a live holder keeps its lease")
        let cycle = ProcessingCycle(storage: storage)
        try await storage.releaseLease(try #require(taken))
        #expect(
            try await cycle.process(killed, policy: StorageFixtures.policy)
                == .processed(measures: 50, droppedTooOld: 0, more: false))
    }

    @Test("a cycle three times longer than its lease keeps it by renewing, and commits", arguments: processBackends)
    func renewal(backend: Backend) async throws {
        let (storage, namespace) = try await Harness.store(backend)
        let metric = MetricID.random()
        try await storage.appendMeasures([metric: StorageFixtures.measures(0..<100)])
        // A 1 s lease; the cycle stalls 3 s after loading (a slow disk or OSD).
        var environment = ProcessInfo.processInfo.environment
        environment["ORZO_FAILPOINT"] = Failpoint.afterLoad.rawValue
        environment["ORZO_FAILPOINT_ACTION"] = "stall"
        environment["ORZO_FAILPOINT_STALL_MS"] = "3000"
        let holder = try Harness.start(["process", metric.rawValue], namespace: namespace, environment: environment)
        // Another worker finds the metric busy after the first lease would have ended
        // (1 s) and while the holder still stalls (until about 3 s after it started).
        let started = ContinuousClock.now
        var busyAfterExpiry = 0
        var attemptsInWindow = 0
        try await Task.sleep(for: .milliseconds(1500))
        while ContinuousClock.now - started < .milliseconds(2800) {
            let asked = ContinuousClock.now
            let taken = try await storage.acquireLease(metric, duration: .seconds(1))
            // An answer that came after the window (a loaded machine) proves nothing.
            guard ContinuousClock.now - started < .milliseconds(2800), ContinuousClock.now - asked < .milliseconds(500)
            else {
                if let taken { try await storage.releaseLease(taken) }
                break
            }
            attemptsInWindow += 1
            if let taken {
                try await storage.releaseLease(taken)
                Issue.record("the lease was taken while its holder was renewing it")
                break
            }
            busyAfterExpiry += 1
            try await Task.sleep(for: .milliseconds(200))
        }
        let exit = await Harness.wait(holder)
        // The commit itself shows the renewal: an expired lease's commit is refused (exit 3).
        #expect(exit.status == 0, "\(exit)")
        print(
            "renewal: the metric was busy at \(busyAfterExpiry) of \(attemptsInWindow) attempts after the first lease")
        #expect(try await storage.counters(metric).measuresProcessed == 100, "the long cycle committed")
    }

    @Test("a holder paused past its lease resumes and none of its writes land", arguments: processBackends)
    func pausedHolder(backend: Backend) async throws {
        let (storage, namespace) = try await Harness.store(backend)
        let metric = MetricID.random()
        let batch = StorageFixtures.measures(0..<200)
        try await storage.appendMeasures([metric: batch])
        let pidFile = "/tmp/orzo-storage-tests/holder-\(metric.rawValue)"
        try? FileManager.default.createDirectory(atPath: "/tmp/orzo-storage-tests", withIntermediateDirectories: true)
        let holder = try Harness.start(["--pid-file", pidFile, "hold", metric.rawValue], namespace: namespace)
        // The holder loads under its 1 s lease, writes its pid, then stops itself (SIGSTOP).
        let deadline = ContinuousClock.now + .seconds(30)
        var pid: Int32?
        while ContinuousClock.now < deadline {
            if let text = try? String(contentsOfFile: pidFile, encoding: .utf8),
                let written = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)), Harness.state(written) == "T"
            {
                pid = written
                break
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        let stopped = try #require(pid, "the holder should have stopped itself")
        // Another worker waits out the lease, takes over and processes.
        let cycle = ProcessingCycle(storage: storage)
        var outcome = CycleOutcome.busy
        while outcome == .busy && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(100))
            outcome = try await cycle.process(metric, policy: StorageFixtures.policy)
        }
        #expect(outcome == .processed(measures: 200, droppedTooOld: 0, more: false))
        kill(stopped, SIGCONT)
        let status = await Harness.wait(holder)
        #expect(status.status == 3, "the resumed holder must find its lease lost: \(status)")
        #expect(try await storage.counters(metric).measuresProcessed == 200, "the stale commit did not land")
        expectSameAggregates(
            try await storedAggregates(storage, metric, policy: StorageFixtures.policy),
            expectedAggregates([batch], policy: StorageFixtures.policy), policy: StorageFixtures.policy)
    }
}

/// Starts `orzo-storage-harness` against the test cluster.
enum Harness {
    struct Exit: CustomStringConvertible {
        let status: Int32?
        let signal: Int32?
        var description: String { status.map { "exit \($0)" } ?? "signal \(signal ?? -1)" }
    }

    static var executable: URL {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent(
            "orzo-storage-harness")
    }

    /// A fresh store, and how the harness reaches it: a Ceph namespace, or a
    /// directory (passed as "dir:<path>").
    static func store(_ backend: Backend) async throws -> (any MetricStorage, String) {
        switch backend {
        case .ceph:
            let (storage, namespace) = try await CephTestPool.storageAndNamespace()
            return (storage, namespace)
        default:
            let directory = temporaryDirectory()
            return (try FileStorage(root: directory, defaultSackCount: 4), "dir:" + directory)
        }
    }

    /// With `stopping`, the process stops itself at `failpoint` instead of dying there.
    static func start(
        _ arguments: [String], namespace: String, failpoint: Failpoint? = nil, stopping: Bool = false,
        output: Pipe? = nil, leaseMilliseconds: Int = 1000, environment given: [String: String]? = nil
    ) throws -> Process {
        let location: [String]
        if namespace.hasPrefix("dir:") {
            location = ["--data-dir", String(namespace.dropFirst(4))]
        } else {
            guard let conf = CephTestPool.environment("ORZO_TEST_CEPH_CONF") else { throw CephTestPool.Missing() }
            location = ["--ceph-conf", conf, "--pool", CephTestPool.pool, "--namespace", namespace]
        }
        let process = Process()
        process.executableURL = executable
        process.arguments = location + ["--lease-ms", "\(leaseMilliseconds)"] + arguments
        var environment = given ?? ProcessInfo.processInfo.environment
        if given == nil {
            environment["ORZO_FAILPOINT"] = failpoint?.rawValue
            environment["ORZO_FAILPOINT_ACTION"] = stopping ? "stop" : nil
        }
        process.environment = environment
        process.standardOutput = output ?? FileHandle.nullDevice
        try process.run()
        return process
    }

    /// Starts the harness with its standard output on a pipe.
    static func startCapturing(_ arguments: [String], namespace: String) throws -> (Process, Pipe) {
        let pipe = Pipe()
        let process = try start(arguments, namespace: namespace, output: pipe)
        return (process, pipe)
    }

    static func wait(_ process: Process) async -> Exit {
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                process.waitUntilExit()
                let exit =
                    process.terminationReason == .uncaughtSignal
                    ? Exit(status: nil, signal: process.terminationStatus)
                    : Exit(status: process.terminationStatus, signal: nil)
                continuation.resume(returning: exit)
            }
        }
    }

    static func run(_ arguments: [String], namespace: String, failpoint: Failpoint? = nil) async throws -> Exit {
        await wait(try start(arguments, namespace: namespace, failpoint: failpoint))
    }

    /// The process state letter from /proc (R, S, T for stopped, Z…).
    static func state(_ pid: Int32) -> String? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return nil }
        return stat[stat.index(close, offsetBy: 2)...].split(separator: " ").first.map(String.init)
    }
}

/// The backends that live outside one process, so real processes can share them.
let processBackends: [Backend] = backends.filter { $0 != .memory }
