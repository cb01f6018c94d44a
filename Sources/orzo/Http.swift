import ArgumentParser
import Foundation
import GnocchiAPI
import OrzoConfig
import Services
import Storage

extension Orzo {
    /// Gnocchi's REST API v1 over HTTP, on the same backend as the other roles.
    struct Http: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "http", abstract: "Serve Gnocchi's REST API v1 over HTTP (docs/http-api.md).")
        @OptionGroup var common: CommonOptions
        @OptionGroup var backend: BackendOptions
        @OptionGroup var http: HTTPOptions
        @Option(help: settingHelp("security.allow_insecure")) var allowInsecure: String?

        func run() async throws {
            let configuration = try await common.load(
                backend.flags.merging(http.flags) { $1 }.merging(["security.allow_insecure": allowInsecure]) { $1 })
            guard let endpoint = try HTTPOptions.endpoint(configuration) else {
                throw ValidationError("http.endpoint is off: orzo http has nothing to serve")
            }
            let metrics = MetricsExport(configuration)
            let (storage, indexer) = try await BackendOptions.open(configuration)
            let server = HTTPOptions.server(
                configuration, endpoint: endpoint, directory: MetricDirectory(indexer: indexer),
                storage: metrics.wrap(storage), counters: ServiceCounters(), metricd: nil)
            let notifier = SystemdNotifier()
            try await runUntilSignalled(notifier: notifier) { group in
                metrics.add(to: &group)
                group.addTask("http") {
                    try await server.run { port in
                        announce("orzo http: ready on \(endpoint.host):\(port)")
                        notifier.notify("READY=1\nSTATUS=serving Gnocchi's REST API")
                    }
                }
            }
        }
    }
}

/// The REST API's options (serve and http).
struct HTTPOptions: ParsableArguments {
    @Option(help: settingHelp("http.endpoint")) var httpEndpoint: String?
    @Option(help: settingHelp("http.prefix")) var httpPrefix: String?
    @Option(help: settingHelp("http.admin_users")) var httpAdminUsers: String?

    var flags: [String: String?] {
        ["http.endpoint": httpEndpoint, "http.prefix": httpPrefix, "http.admin_users": httpAdminUsers]
    }

    /// Where to listen; nil when `off`. Gnocchi's basic mode authenticates
    /// nobody (the name in the header is taken as given): loopback only,
    /// unless the operator accepts that.
    static func endpoint(_ configuration: OrzoConfiguration) throws -> HostPort? {
        let text = configuration.string("http.endpoint") ?? "off"
        if text == "off" { return nil }
        guard let endpoint = HostPort(text[...]) else {
            throw ValidationError("http.endpoint must be HOST:PORT or off")
        }
        if !RoleSecurity.isLoopback("tcp://\(endpoint.host):\(endpoint.port)") {
            guard configuration.bool("security.allow_insecure") else {
                throw ValidationError(
                    "refusing to bind the REST API on \(endpoint.host):\(endpoint.port): its basic mode trusts "
                        + "any user name sent. Bind loopback behind an authenticating proxy, or set "
                        + "security.allow_insecure: true to accept that.")
            }
        }
        return endpoint
    }

    static func server(
        _ configuration: OrzoConfiguration, endpoint: HostPort, directory: MetricDirectory,
        storage: any MetricStorage, counters: ServiceCounters, metricd: MetricdService?
    ) -> GnocchiHTTPServer {
        let admins = Set(
            (configuration.string("http.admin_users") ?? "").split(separator: ",").map {
                $0.trimmingCharacters(in: .whitespaces)
            }.filter { !$0.isEmpty })
        let api = GnocchiAPI(
            directory: directory, storage: storage, configuration: GnocchiAPIConfiguration(adminUsers: admins),
            counters: counters, metricd: metricd)
        return GnocchiHTTPServer(
            host: endpoint.host, port: endpoint.port, prefix: configuration.string("http.prefix") ?? "", api: api)
    }
}
