import ArgumentParser
import OrzoClient
import OrzoConfig
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
                their last value (+x and -x adjust it), timers (ms, h, d) keep every sample, sets \
                count distinct values. Metrics are created by Orzo's archive-policy rules: add a rule \
                such as 'statsd.*' -> your policy, and run with --prefix statsd.
                """)

        @OptionGroup var common: CommonOptions
        @Option(help: settingHelp("statsd.endpoint")) var statsdEndpoint: String?
        @Option(help: settingHelp("ingest.ack_endpoint")) var ackEndpoint: String?
        @Option(help: settingHelp("statsd.flush_interval")) var flushInterval: String?
        @Option(help: settingHelp("statsd.prefix")) var prefix: String?
        @Option(help: settingHelp("client.server_key")) var serverKey: String?
        @Option(help: settingHelp("client.secret_key_file")) var clientKey: String?

        func run() async throws {
            let configuration = try await common.load([
                "statsd.endpoint": statsdEndpoint, "ingest.ack_endpoint": ackEndpoint,
                "statsd.flush_interval": flushInterval, "statsd.prefix": prefix,
                "client.server_key": serverKey, "client.secret_key_file": clientKey,
            ])
            let metrics = MetricsExport(configuration)
            let listen = configuration.hostPort("statsd.endpoint")!
            let ack = configuration.string("ingest.ack_endpoint")!
            var options = StatsdBridge.Options(
                host: listen.host, port: listen.port,
                flushInterval: .milliseconds(Int64(configuration.double("statsd.flush_interval") * 1000)),
                endpoints: .init(ack: ack), prefix: configuration.string("statsd.prefix") ?? "")
            options.security = try clientSecurity(
                serverKey: configuration.string("client.server_key"),
                clientKeyFile: configuration.string("client.secret_key_file"))
            let bridge = StatsdBridge(options: options)
            let notifier = SystemdNotifier()
            try await runUntilSignalled(notifier: notifier) { group in
                metrics.add(to: &group)
                group.addTask("statsd bridge") {
                    try await bridge.run { port in
                        announce("orzo statsd: ready (udp \(listen.host):\(port), flushing to \(ack))")
                        notifier.notify("READY=1\nSTATUS=listening on udp \(listen.host):\(port)")
                    }
                }
                group.addTask("systemd status") {
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
