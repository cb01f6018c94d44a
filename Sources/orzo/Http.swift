import ArgumentParser
import Foundation
import GnocchiAPI
import OrzoConfig
import Services

extension Orzo {
    /// Gnocchi's REST API v1 over HTTP, on the same backend as the other roles.
    struct Http: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "http", abstract: "Serve Gnocchi's REST API v1 over HTTP (docs/http-api.md).")
        @OptionGroup var common: CommonOptions
        @OptionGroup var backend: BackendOptions
        @Option(help: settingHelp("http.endpoint")) var httpEndpoint: String?
        @Option(help: settingHelp("http.prefix")) var httpPrefix: String?
        @Option(help: settingHelp("http.admin_users")) var httpAdminUsers: String?
        @Option(help: settingHelp("security.allow_insecure")) var allowInsecure: String?

        func run() async throws {
            let configuration = try await common.load(
                backend.flags.merging(
                    [
                        "http.endpoint": httpEndpoint, "http.prefix": httpPrefix, "http.admin_users": httpAdminUsers,
                        "security.allow_insecure": allowInsecure,
                    ]) { $1 })
            guard let endpoint = configuration.string("http.endpoint").flatMap({ HostPort($0[...]) }) else {
                throw ValidationError("http.endpoint must be HOST:PORT")
            }
            // Gnocchi's basic mode authenticates nobody: the name in the header is
            // taken as given. Loopback only, unless the operator accepts that.
            if !RoleSecurity.isLoopback("tcp://\(endpoint.host):\(endpoint.port)") {
                guard configuration.bool("security.allow_insecure") else {
                    throw ValidationError(
                        "refusing to bind the REST API on \(endpoint.host):\(endpoint.port): its basic mode trusts "
                            + "any user name sent. Bind loopback behind an authenticating proxy, or set "
                            + "security.allow_insecure: true to accept that.")
                }
            }
            let metrics = MetricsExport(configuration)
            let (storage, indexer) = try await BackendOptions.open(configuration)
            let admins = Set(
                (configuration.string("http.admin_users") ?? "").split(separator: ",").map {
                    $0.trimmingCharacters(in: .whitespaces)
                }.filter { !$0.isEmpty })
            let api = GnocchiAPI(
                directory: MetricDirectory(indexer: indexer), storage: metrics.wrap(storage),
                configuration: GnocchiAPIConfiguration(adminUsers: admins), counters: ServiceCounters())
            let server = GnocchiHTTPServer(
                host: endpoint.host, port: endpoint.port, prefix: configuration.string("http.prefix") ?? "", api: api)
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
