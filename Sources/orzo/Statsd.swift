import ArgumentParser
import OrzoClient
import Services
import Statsd

extension Orzo {
    /// The statsd bridge, as Gnocchi's gnocchi-statsd: statsd lines over UDP,
    /// flushed into Orzo at a fixed interval.
    struct StatsdCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "statsd",
            abstract: "Run a statsd bridge: UDP statsd lines in, aggregated values into Orzo every interval.",
            discussion: """
                Counters are summed over the interval (each sample scaled by 1/rate), gauges keep \
                their last value (+x and -x adjust it), timers keep every sample, sets count distinct \
                values. Metrics are created by Orzo's archive-policy rules: add a rule such as \
                'statsd.*' -> your policy, with --prefix statsd.
                """)

        @Option(help: "UDP address to listen on, HOST:PORT (or ORZO_STATSD_ENDPOINT).")
        var statsdEndpoint = environment("ORZO_STATSD_ENDPOINT") ?? "127.0.0.1:8125"
        @Option(help: "Acknowledged ingest endpoint of Orzo (or ORZO_ACK).")
        var ackEndpoint = environment("ORZO_ACK") ?? "tcp://127.0.0.1:5581"
        @Option(help: "Seconds between flushes (or ORZO_STATSD_FLUSH_INTERVAL).")
        var flushInterval = environment("ORZO_STATSD_FLUSH_INTERVAL").flatMap { Double($0) } ?? 10
        @Option(help: "Prefix added to every metric name (or ORZO_STATSD_PREFIX).")
        var prefix = environment("ORZO_STATSD_PREFIX") ?? ""

        func validate() throws {
            guard flushInterval > 0 else { throw ValidationError("--flush-interval must be positive") }
            _ = try parseHostPort(statsdEndpoint)
        }

        func run() async throws {
            bootstrapLogging()
            let (host, port) = try parseHostPort(statsdEndpoint)
            let bridge = StatsdBridge(
                options: .init(
                    host: host, port: port, flushInterval: .milliseconds(Int64(flushInterval * 1000)),
                    endpoints: .init(ack: ackEndpoint), prefix: prefix))
            let notifier = SystemdNotifier()
            try await runUntilSignalled(notifier: notifier) { group in
                group.addTask {
                    try await bridge.run { port in
                        announce("orzo statsd: ready (udp \(host):\(port), flushing to \(ackEndpoint))")
                        notifier.notify("READY=1\nSTATUS=listening on udp \(host):\(port)")
                    }
                }
                group.addTask {
                    await notifier.keepAlive {
                        let lines = bridge.aggregator.counts
                        let flushed = bridge.counts
                        return
                            "\(lines.lines) lines, \(flushed.measuresStored) measures stored, \(flushed.measuresWaiting) waiting"
                    }
                }
            }
        }
    }
}

/// "HOST:PORT", with IPv6 hosts in brackets ("[::1]:8125").
func parseHostPort(_ text: String) throws -> (String, Int) {
    guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]),
        (0...65535).contains(port)
    else { throw ValidationError("'\(text)' is not HOST:PORT") }
    var host = String(text[..<colon])
    if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
    guard !host.isEmpty else { throw ValidationError("'\(text)' has no host") }
    return (host, port)
}
