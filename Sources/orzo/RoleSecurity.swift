import AccessControl
import ArgumentParser
import Dispatch
import Foundation
import Logging
import OrzoConfig
import Services
import ZeroMQ

/// The security flags of the roles that bind sockets (serve, ingest, query).
struct SecurityOptions: ParsableArguments {
    @Option(help: settingHelp("security.server_secret_key_file")) var serverSecretKeyFile: String?
    @Option(help: settingHelp("security.allowed_keys_file")) var allowedKeysFile: String?
    @Option(help: settingHelp("security.allow_insecure")) var allowInsecure: String?

    var flags: [String: String?] {
        [
            "security.server_secret_key_file": serverSecretKeyFile, "security.allowed_keys_file": allowedKeysFile,
            "security.allow_insecure": allowInsecure,
        ]
    }
}

/// A role's sockets: CURVE with a ZAP handler when a server key is configured;
/// otherwise loopback only, unless the operator allows more (docs/security.md).
struct RoleSecurity {
    let security: ServerSecurity?
    let zap: ZAPHandler?

    /// Checks the settings against the endpoints the role will bind and, with a
    /// server key, starts the ZAP handler on `context` before anything binds.
    init(
        _ configuration: OrzoConfiguration, endpoints: [String], context: ZMQContext, counters: ServiceCounters
    ) throws {
        let logger = Logger(label: "orzo.security")
        guard let secretKeyFile = configuration.string("security.server_secret_key_file") else {
            security = nil
            zap = nil
            let exposed = endpoints.filter { !Self.isLoopback($0) }
            guard !exposed.isEmpty else { return }
            guard configuration.bool("security.allow_insecure") else {
                throw ValidationError(
                    "refusing to bind \(exposed.joined(separator: ", ")) without CURVE: anyone who reaches it could "
                        + "do anything. Set security.server_secret_key_file and security.allowed_keys_file "
                        + "(docs/security.md), or security.allow_insecure: true to accept that.")
            }
            logger.warning(
                "INSECURE: binding without CURVE beyond loopback (security.allow_insecure); anyone who reaches these endpoints may put, read and delete",
                metadata: ["endpoints": "\(exposed.joined(separator: ", "))"])
            return
        }
        guard let allowedKeysFile = configuration.string("security.allowed_keys_file") else {
            throw ValidationError(
                "security.server_secret_key_file is set but security.allowed_keys_file is not: no client could connect")
        }
        do {
            let security = try ServerSecurity(secretKeyFile: secretKeyFile, allowedKeysFile: allowedKeysFile)
            self.security = security
            zap = try ZAPHandler(context: context, security: security) { counters.add(.connectionsRefused) }
            logger.notice(
                "CURVE on every socket",
                metadata: [
                    "server_key": "\(Z85.fingerprint(security.serverKeys.publicKey))",
                    "allowed_keys": "\(security.allowedCount)",
                ])
        } catch {
            throw ValidationError("\(error)")
        }
    }

    /// Whether an endpoint is reachable from this host only.
    static func isLoopback(_ endpoint: String) -> Bool {
        if endpoint.hasPrefix("ipc://") || endpoint.hasPrefix("inproc://") { return true }
        guard endpoint.hasPrefix("tcp://"), let hostPort = HostPort(endpoint.dropFirst(6)) else { return false }
        return hostPort.host == "localhost" || hostPort.host == "::1" || hostPort.host.hasPrefix("127.")
    }

    /// Re-reads the allowed keys on each SIGHUP, as a role service.
    func addReload(to services: inout RoleServices) {
        guard let security else { return }
        signal(SIGHUP, SIG_IGN)
        let hangups = SignalWatcher([SIGHUP])
        services.addTask("allowed keys reload") {
            let logger = Logger(label: "orzo.security")
            while !Task.isCancelled {
                await hangups.wait()
                if Task.isCancelled { return }
                do {
                    let count = try security.reload()
                    logger.notice(
                        "allowed keys reloaded", metadata: ["file": "\(security.allowedKeysPath)", "keys": "\(count)"])
                } catch {
                    logger.error("allowed keys not reloaded; the previous list stays", metadata: ["error": "\(error)"])
                }
            }
        }
    }
}

/// The client side of the CLI and the statsd bridge: the server's public key
/// and this client's secret key file, from flags or the environment.
func clientSecurity(serverKey: String?, clientKeyFile: String?) throws -> ClientSecurity? {
    switch (serverKey, clientKeyFile) {
    case (nil, nil): return nil
    case (let server?, let client?):
        do {
            return ClientSecurity(
                serverPublicKey: try KeyFiles.publicKey(server), clientKeys: try KeyFiles.readSecret(client))
        } catch {
            throw ValidationError("\(error)")
        }
    default:
        throw ValidationError("a CURVE client needs both the server's key (--server-key) and its own (--client-key)")
    }
}
