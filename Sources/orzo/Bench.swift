import ArgumentParser
import BenchReport
import Foundation
import OrzoClient
import Synchronization
import Timeseries
import WireProtocol

extension Orzo {
    /// The seed's benchmark (Gnocchi's old perf tool: clients in parallel, each
    /// posting batches and reading its measures back), over the wire protocol,
    /// so it measures any Orzo deployment: `orzo serve` or a Ceph fleet.
    struct Bench: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Benchmark a running Orzo: clients in parallel writing batches and reading them back.",
            discussion: """
                Each client owns --metrics-per-client metrics and sends --batches requests (rounds), \
                each with --measures measures per metric (value 100, timestamps 1 s apart), then (unless \
                --no-read) reads its first metric's aggregates back. With --metrics-per-put a round is \
                several requests, each for a slice of the client's metrics. Every request's latency is \
                recorded. At the end the tool waits until every measure is aggregated (the count \
                aggregate at 60 s adds up) and reports how long that took. With --output DIR it \
                writes one CSV per client, summary.json, and latency-over-time graphs as SVG and, \
                when rsvg-convert is installed, PNG.
                """)

        @Option(help: "Clients in parallel, each with its own connection.") var clients = 10
        @Option(help: "Requests per client.") var batches = 100
        @Option(help: "Measures per metric in each request.") var measures = 100
        @Option(help: "Metrics per client; each request carries a batch for each.") var metricsPerClient = 1
        @Option(
            help: """
                Split each client's metrics over requests of at most this many metrics (the wide \
                workload: many metrics, few measures each); 0 puts them all in one request.
                """)
        var metricsPerPut = 0
        @Flag(
            help: """
                Create no metric beforehand: an archive policy rule matching this run's names lets \
                the first round's puts create them, as an agent's first report does.
                """)
        var createByRule = false
        @Flag(help: "Fire-and-forget writes (PUSH) instead of acknowledged puts.") var push = false
        @Flag(help: "Do not read the measures back after each write.") var noRead = false
        @Flag(help: "Read with refresh: aggregate pending measures first.") var refresh = false
        @Option(help: "Archive policy of the metrics; created if missing as 1 s x 86400 and 60 s x 10080 points.")
        var policy = "bench-1s-1m"
        @Option(help: "Directory for the CSV files, summary.json and graphs.") var output: String?
        @Option(help: "A name for this deployment in titles and summary.json.") var label = "orzo"
        @Option(help: "Give up waiting for the aggregates after this many seconds.") var settleSeconds = 300.0
        @Option(
            help: """
                A metricd process to SIGSTOP while the clients write and SIGCONT after: the wait \
                that follows is then how fast it drains the backlog alone (as the seed tool's --pause-metricd-pid).
                """)
        var pausePid: Int32?
        @Option(
            help: """
                Query mode: write this many points (1 s apart) into one metric, then time --query-repeat \
                get_measures of it at 1 s granularity.
                """)
        var queryPoints: Int?
        @Option(help: "Reads in query mode.") var queryRepeat = 1000
        @Option(
            help: """
                While the clients write, one more client reads a metric of this many points (1 s apart) \
                with get_measures at 1 s, one read after another, and reports their latency (queries \
                under load).
                """)
        var queryUnderLoad: Int?
        @Option(
            help: """
                Visibility mode: this many times, one at a time, put one measure (acknowledged) and                 read the metric (without refresh) until the point is there; reports the time from                 the put until then.
                """)
        var visibilityProbes: Int?
        @OptionGroup var client: ClientOptions

        func validate() throws {
            guard clients > 0, batches > 0, measures > 0, metricsPerClient > 0 else {
                throw ValidationError("--clients, --batches, --measures and --metrics-per-client must be positive")
            }
            guard metricsPerPut >= 0 else { throw ValidationError("--metrics-per-put must not be negative") }
            guard queryUnderLoad.map({ $0 > 0 }) ?? true else {
                throw ValidationError("--query-under-load must be positive")
            }
        }

        func run() async throws {
            let endpoints = OrzoClient.Endpoints(push: client.push, ack: client.ack, query: client.query)
            let security = try client.security()
            let admin = try OrzoClient(endpoints: endpoints, timeout: .seconds(client.timeout), security: security)
            if let queryPoints { return try await queryMode(admin, points: queryPoints) }
            if let visibilityProbes { return try await visibilityMode(admin, probes: visibilityProbes) }
            let run = String(UInt32.random(in: 0...UInt32.max), radix: 36)
            let names = (0..<clients).map { c in (0..<metricsPerClient).map { "bench.\(run).c\(c).m\($0)" } }
            try await prepare(admin, names.flatMap { $0 }, rulePattern: createByRule ? "bench.\(run).*" : nil)
            let chunk = metricsPerPut == 0 ? metricsPerClient : min(metricsPerPut, metricsPerClient)
            let requestsPerBatch = (metricsPerClient + chunk - 1) / chunk

            var probe: String?
            if let queryUnderLoad { probe = try await writeQueryMetric(admin, points: queryUnderLoad) }

            if let pausePid { kill(pausePid, SIGSTOP) }
            let progress = ProgressBar(total: clients * batches * requestsPerBatch, label: "bench")
            let clock = ContinuousClock()
            let started = clock.now
            let writing = RunningFlag()
            defer { writing.clear() }  // a writer that fails stops the reader too
            let probeMetric = probe
            let reader = probeMetric.map { metric in
                Task { [self] () throws -> [Sample] in
                    let connection = try OrzoClient(
                        endpoints: endpoints, timeout: .seconds(client.timeout), security: security)
                    var samples: [Sample] = []
                    while writing.isSet {
                        let at = clock.now
                        _ = try await connection.measures(of: metric, granularity: 1)
                        samples.append(sample(clients, samples.count, .query, started, at, clock.now))
                    }
                    return samples
                }
            }
            let base: Nanoseconds = 1_767_225_600 * 1_000_000_000  // 2026-01-01T00:00:00Z, as the seed tool
            let samples = try await withThrowingTaskGroup(of: [Sample].self) { group in
                for index in 0..<clients {
                    let metrics = names[index]
                    group.addTask { [self] in
                        let connection = try OrzoClient(
                            endpoints: endpoints, timeout: .seconds(client.timeout), security: security)
                        var samples: [Sample] = []
                        for batch in 0..<batches {
                            let first = base + Int64(batch * measures) * 1_000_000_000
                            let points = (0..<measures).map {
                                Measure(timestamp: first + Int64($0) * 1_000_000_000, value: 100)
                            }
                            for part in stride(from: 0, to: metrics.count, by: chunk) {
                                let request = Dictionary(
                                    uniqueKeysWithValues: metrics[part..<min(part + chunk, metrics.count)].map {
                                        ($0, points)
                                    })
                                var at = clock.now
                                if push {
                                    try await connection.push(request)
                                } else {
                                    try await connection.put(request)
                                }
                                samples.append(sample(index, batch, .write, started, at, clock.now))
                                if !noRead {
                                    at = clock.now
                                    _ = try await connection.measures(of: metrics[part], refresh: refresh)
                                    samples.append(sample(index, batch, .read, started, at, clock.now))
                                }
                                progress.advance()
                            }
                        }
                        return samples
                    }
                }
                return try await group.reduce(into: []) { $0 += $1 }
            }
            writing.clear()
            let querySamples = try await reader?.value ?? []
            progress.finish()
            let wall = seconds(started.duration(to: clock.now))
            if let pausePid { kill(pausePid, SIGCONT) }
            let settled = try await settle(admin, names.flatMap { $0 })
            let total = clients * batches * measures * metricsPerClient
            let report = BenchRunReport(
                label: label, samples: samples + querySamples, wall: wall, settled: settled.map { $0 + wall },
                measures: total,
                options: self)
            print(report.text)
            if let output { try report.write(to: output) }
        }

        private func sample(
            _ client: Int, _ index: Int, _ kind: Sample.Kind, _ origin: ContinuousClock.Instant,
            _ from: ContinuousClock.Instant, _ to: ContinuousClock.Instant
        ) -> Sample {
            Sample(
                client: client, index: index, kind: kind, start: seconds(origin.duration(to: from)),
                latency: seconds(from.duration(to: to)) * 1000)
        }

        /// Times each of `probes` measures from its put (acknowledged, sent when the last
        /// one was visible) until a read without refresh returns it: the workers' latency.
        private func visibilityMode(_ admin: OrzoClient, probes: Int) async throws {
            let metric = "bench.visibility.\(String(UInt32.random(in: 0...UInt32.max), radix: 36))"
            try await prepare(admin, [metric])
            let base: Nanoseconds = 1_767_225_600 * 1_000_000_000
            let clock = ContinuousClock()
            var latencies: [Double] = []
            let progress = ProgressBar(total: probes, label: "probes")
            for probe in 0..<probes {
                let timestamp = base + Int64(probe) * 1_000_000_000
                let started = clock.now
                try await admin.put([metric: [Measure(timestamp: timestamp, value: Double(probe))]])
                while try await !admin.measures(of: metric, granularity: 1, start: timestamp).contains(where: {
                    $0.timestamp == timestamp
                }) {
                    guard started.duration(to: clock.now) < .seconds(settleSeconds) else {
                        throw ValidationError("probe \(probe) not queryable after --settle-seconds \(settleSeconds)")
                    }
                    try await Task.sleep(for: .milliseconds(1))
                }
                latencies.append(seconds(started.duration(to: clock.now)) * 1000)
                progress.advance()
            }
            progress.finish()
            let summary = LatencySummary(latencies)!
            print(
                "\(label): acknowledged put of one measure → readable without refresh, \(probes) probes one at a time")
            print("visible: \(summary.formatted())")
            if let output {
                try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true)
                let object: [String: Any] = [
                    "label": label, "count": summary.count, "mean_ms": summary.mean, "p50_ms": summary.p50,
                    "p95_ms": summary.p95, "p99_ms": summary.p99, "max_ms": summary.max,
                ]
                try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
                    .write(to: URL(fileURLWithPath: "\(output)/visibility.json"))
            }
        }

        /// Writes `points` measures into a metric, aggregates them, and times reads of all of them.
        private func queryMode(_ admin: OrzoClient, points: Int) async throws {
            let metric = try await writeQueryMetric(admin, points: points)
            let read = try await admin.measures(of: metric, granularity: 1)
            let clock = ContinuousClock()
            var latencies: [Double] = []
            let progress = ProgressBar(total: queryRepeat, label: "queries")
            for _ in 0..<queryRepeat {
                let started = clock.now
                _ = try await admin.measures(of: metric, granularity: 1)
                latencies.append(seconds(started.duration(to: clock.now)) * 1000)
                progress.advance()
            }
            progress.finish()
            let summary = LatencySummary(latencies)!
            print("\(label): get_measures of \(read.count) points at 1 s, \(queryRepeat) times, one client")
            print("read: \(summary.formatted())")
            if let output {
                try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true)
                let object: [String: Any] = [
                    "label": label, "points": read.count, "count": summary.count, "mean_ms": summary.mean,
                    "p50_ms": summary.p50, "p95_ms": summary.p95, "p99_ms": summary.p99, "max_ms": summary.max,
                ]
                try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
                    .write(to: URL(fileURLWithPath: "\(output)/query-\(read.count).json"))
            }
        }

        /// A new metric with `points` measures 1 s apart, aggregated: what query mode
        /// and --query-under-load read.
        private func writeQueryMetric(_ admin: OrzoClient, points: Int) async throws -> String {
            let metric = "bench.query.\(String(UInt32.random(in: 0...UInt32.max), radix: 36))"
            try await prepare(admin, [metric])
            let base: Nanoseconds = 1_767_225_600 * 1_000_000_000
            for chunk in stride(from: 0, to: points, by: 10_000) {
                try await admin.put([
                    metric: (chunk..<min(chunk + 10_000, points)).map {
                        Measure(timestamp: base + Int64($0) * 1_000_000_000, value: Double($0 % 97))
                    }
                ])
            }
            let read = try await admin.measures(of: metric, granularity: 1, refresh: true)
            guard read.count == min(points, 86_400) else {
                throw ValidationError("expected \(min(points, 86_400)) points at 1 s, read \(read.count)")
            }
            return metric
        }

        /// The policy (if missing) and either the metrics, or a rule that lets the
        /// puts create them.
        private func prepare(_ admin: OrzoClient, _ metrics: [String], rulePattern: String? = nil) async throws {
            do {
                try await admin.createArchivePolicy(
                    name: policy,
                    definition: [.init(granularity: 1, points: 86_400), .init(granularity: 60, points: 10_080)])
            } catch let error as OrzoClientError where error.code == "conflict" {}
            if let rulePattern {
                try await admin.createArchivePolicyRule(
                    name: "rule-\(rulePattern.dropLast(2))", metricPattern: rulePattern, archivePolicy: policy)
                return
            }
            // Eight connections at once: 100,000 metrics one by one would take minutes.
            let endpoints = admin.endpoints
            let timeout = admin.timeout
            let security = admin.security
            try await withThrowingTaskGroup(of: Void.self) { group in
                for part in 0..<8 {
                    group.addTask { [policy] in
                        let connection = try OrzoClient(endpoints: endpoints, timeout: timeout, security: security)
                        for metric in stride(from: part, to: metrics.count, by: 8) {
                            try await connection.createMetric(name: metrics[metric], archivePolicy: policy)
                        }
                    }
                }
                try await group.waitForAll()
            }
        }

        /// Seconds after the clients finished until every measure is aggregated; nil if
        /// the policy has no count or it did not happen within --settle-seconds.
        ///
        /// The time is taken when `status` first shows no backlog (a cheap poll, as the
        /// seed tool polls Gnocchi's status), then confirmed, untimed, by the count
        /// aggregate of every metric adding up. Where a backend keeps idle entries in
        /// its backlog for a while (Ceph), a full count check every 0.5 s decides instead.
        private func settle(_ admin: OrzoClient, _ metrics: [String]) async throws -> Double? {
            let expected = Double(batches * measures)
            let clock = ContinuousClock()
            let started = clock.now
            // Metrics are checked in order and the check stops at the first one not done:
            // the verified ones are always the first `verified` (no rescan of a million names).
            var verified = 0
            func allCounted() async throws -> Bool? {
                for metric in metrics[verified...] {
                    let counts: [OrzoClient.Point]
                    do {
                        counts = try await admin.measures(of: metric, aggregation: "count", granularity: 60)
                    } catch let error as OrzoClientError where error.code == "not_found" {
                        return nil  // the policy has no count aggregate at 60 s
                    }
                    guard counts.compactMap(\.value).reduce(0, +) == expected else { return false }
                    verified += 1
                }
                return true
            }
            var lastFullCheck = clock.now
            while seconds(started.duration(to: clock.now)) <= settleSeconds {
                let backlog: Int? = try await admin.status().backlogMetrics
                let at = seconds(started.duration(to: clock.now))
                if backlog == 0 {
                    guard let counted = try await allCounted() else { return nil }
                    if counted { return at }
                } else if lastFullCheck.duration(to: clock.now) > .milliseconds(500) {
                    lastFullCheck = clock.now
                    guard let counted = try await allCounted() else { return nil }
                    if counted { return seconds(started.duration(to: clock.now)) }
                }
                try await Task.sleep(for: .milliseconds(10))
            }
            return nil
        }
    }
}

/// Set until the writers are done; the reader beside them checks it.
final class RunningFlag: Sendable {
    private let value = Atomic<Bool>(true)
    var isSet: Bool { value.load(ordering: .relaxed) }
    func clear() { value.store(false, ordering: .relaxed) }
}

func seconds(_ duration: Duration) -> Double {
    let (whole, fraction) = duration.components
    return Double(whole) + Double(fraction) / 1e18
}

/// What `orzo bench` prints and writes.
struct BenchRunReport {
    let label: String
    let samples: [Sample]
    let wall: Double
    let settled: Double?
    let measures: Int
    let parameters: [String: Any]

    init(label: String, samples: [Sample], wall: Double, settled: Double?, measures: Int, options: Orzo.Bench) {
        self.label = label
        self.samples = samples
        self.wall = wall
        self.settled = settled
        self.measures = measures
        parameters = [
            "clients": options.clients, "batches": options.batches, "measures": options.measures,
            "metrics_per_client": options.metricsPerClient, "mode": options.push ? "push" : "ack",
            "read": !options.noRead, "refresh": options.refresh, "policy": options.policy,
            "metrics_per_put": options.metricsPerPut, "create_by_rule": options.createByRule,
        ]
        let writes = Dictionary(grouping: samples.filter { $0.kind == .write }, by: \.index)
        let spans = writes.keys.sorted().map { index -> Double in
            let rows = writes[index]!
            return rows.map { $0.start + $0.latency / 1000 }.max()! - rows.map(\.start).min()!
        }
        rounds = spans.count > 1 ? spans.map { ($0, Double(measures / spans.count) / $0) } : []
    }

    /// Each round's span, from its first write's start to its last write's end
    /// over all clients (rounds overlap a little: clients do not wait for each
    /// other), and its measures per second; empty for a single round.
    let rounds: [(seconds: Double, measuresPerSecond: Double)]

    func summary(_ kind: Sample.Kind) -> LatencySummary? {
        LatencySummary(samples.filter { $0.kind == kind }.map(\.latency))
    }

    var text: String {
        var lines = [
            "\(label): \(parameters["clients"]!) clients x \(parameters["batches"]!) x "
                + "(\(parameters["mode"]!) \(parameters["measures"]!) measures x \(parameters["metrics_per_client"]!) metrics"
                + "\(parameters["read"] as! Bool ? " + read" : ""))",
            String(
                format: "wall (clients): %.3f s; %d measures, %.0f measures/s", wall, measures, Double(measures) / wall),
        ]
        for kind in Sample.Kind.allCases {
            if let summary = summary(kind) { lines.append("\(kind.rawValue): \(summary.formatted())") }
        }
        for (index, round) in rounds.enumerated() {
            lines.append(
                String(
                    format: "round %d: %.3f s, %.0f measures/s accepted", index + 1, round.seconds,
                    round.measuresPerSecond))
        }
        if let settled {
            lines.append(
                String(
                    format: "all aggregated %.3f s after the start (%.3f s after the clients); %.0f measures/s overall",
                    settled, settled - wall, Double(measures) / settled))
        } else {
            lines.append("aggregation not confirmed (no count aggregate in the policy, or --settle-seconds passed)")
        }
        return lines.joined(separator: "\n")
    }

    func write(to directory: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let byClient = Dictionary(grouping: samples, by: \.client)
        for (client, rows) in byClient {
            let text = ([Sample.csvHeader] + rows.sorted { $0.start < $1.start }.map(\.csvLine)).joined(separator: "\n")
            try (text + "\n").write(toFile: "\(directory)/client-\(client).csv", atomically: true, encoding: .utf8)
        }
        var summary: [String: Any] = [
            "label": label, "parameters": parameters, "wall_seconds": wall, "measures": measures,
            "measures_per_second": Double(measures) / wall,
        ]
        summary["settled_seconds"] = settled
        if !rounds.isEmpty {
            summary["rounds"] = rounds.map { ["seconds": $0.seconds, "measures_per_second": $0.measuresPerSecond] }
        }
        for kind in Sample.Kind.allCases {
            guard let s = self.summary(kind) else { continue }
            summary[kind.rawValue] = [
                "count": s.count, "mean_ms": s.mean, "std_ms": s.std, "min_ms": s.min, "max_ms": s.max, "p50_ms": s.p50,
                "p95_ms": s.p95, "p99_ms": s.p99,
            ]
        }
        try JSONSerialization.data(withJSONObject: summary, options: [.prettyPrinted, .sortedKeys])
            .write(to: URL(fileURLWithPath: "\(directory)/summary.json"))
        for kind in Sample.Kind.allCases {
            let rows = samples.filter { $0.kind == kind }
            guard !rows.isEmpty else { continue }
            let series = Dictionary(grouping: rows, by: \.client).mapValues {
                $0.sorted { $0.start < $1.start }.map { ($0.start, $0.latency) }
            }
            let svg = LatencyPlot(title: "\(label): \(kind.rawValue) latency over time", series: series).svg()
            let path = "\(directory)/\(kind.rawValue)-latency.svg"
            try svg.write(toFile: path, atomically: true, encoding: .utf8)
            renderPNG(path)
        }
    }

    /// PNG through rsvg-convert (Debian's librsvg2-bin), when it is installed.
    private func renderPNG(_ svg: String) {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/rsvg-convert") else { return }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/rsvg-convert")
        process.arguments = ["-o", svg.replacingOccurrences(of: ".svg", with: ".png"), svg]
        try? process.run()
        process.waitUntilExit()
    }
}
