/// One configuration key: its place in the file, its environment variable,
/// its flag, its default and what it means. ``Setting/all`` is the single list
/// that the loader, `orzo config check` and docs/configuration.md follow.
public struct Setting: Sendable, Hashable {
    /// Dotted path in the file: `ingest.ack_endpoint` is `ack_endpoint:` under `ingest:`.
    public let key: String
    public let environment: String
    /// The long flag, without the dashes.
    public let flag: String
    /// Nil: unset unless given (e.g. `ceph.conf`, whose presence selects Ceph).
    public let defaultValue: String?
    public let kind: Kind
    public let help: String
    /// The commands that read it.
    public let roles: [String]

    public enum Kind: String, Sendable, Hashable {
        case path, text
        /// A ZeroMQ endpoint: tcp://HOST:PORT, ipc://PATH or inproc://NAME.
        case zmqEndpoint = "ZeroMQ endpoint"
        /// HOST:PORT, IPv6 hosts in brackets.
        case hostPort = "HOST:PORT"
        /// HOST:PORT, or `off` for a listener a role may go without.
        case hostPortOrOff = "HOST:PORT or off"
        case positiveInteger = "positive integer"
        case positiveNumber = "positive number"
        case logLevel = "log level"
        case boolean = "true or false"
    }

    /// Checks a value of this setting; the message says what is expected.
    public func validate(_ value: String) -> String? {
        switch kind {
        case .path: return value.isEmpty ? "an empty path" : nil
        case .text: return nil
        case .zmqEndpoint:
            let schemes = ["tcp://", "ipc://", "inproc://", "pgm://", "epgm://", "vmci://"]
            guard let scheme = schemes.first(where: value.hasPrefix), value.count > scheme.count else {
                return "'\(value)' is not a ZeroMQ endpoint (tcp://HOST:PORT, ipc://PATH or inproc://NAME)"
            }
            if scheme == "tcp://", HostPort(value.dropFirst(scheme.count)) == nil, !value.hasSuffix(":*") {
                return "'\(value)' needs a host and a port (tcp://HOST:PORT)"
            }
            return nil
        case .hostPort:
            return HostPort(Substring(value)) == nil ? "'\(value)' is not HOST:PORT" : nil
        case .hostPortOrOff:
            return value == "off" || HostPort(Substring(value)) != nil ? nil : "'\(value)' is not HOST:PORT or off"
        case .positiveInteger:
            guard let number = Int(value), number > 0 else { return "'\(value)' is not a positive integer" }
            return nil
        case .positiveNumber:
            guard let number = Double(value), number > 0, number.isFinite else {
                return "'\(value)' is not a positive number"
            }
            return nil
        case .boolean:
            return value == "true" || value == "false" ? nil : "'\(value)' is not true or false"
        case .logLevel:
            return Self.logLevels.contains(value)
                ? nil : "'\(value)' is not a log level (\(Self.logLevels.joined(separator: ", ")))"
        }
    }

    public static let logLevels = ["trace", "debug", "info", "notice", "warning", "error", "critical"]
}

/// HOST:PORT, with IPv6 hosts in brackets ("[::1]:8125"); port 0 asks the
/// system for a free one.
public struct HostPort: Sendable, Hashable {
    public let host: String
    public let port: Int

    public init?(_ text: Substring) {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]),
            (0...65535).contains(port)
        else { return nil }
        var host = String(text[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty else { return nil }
        self.host = host
        self.port = port
    }
}

extension Setting {
    static let servers = ["serve", "ingest", "metricd", "query", "http"]
    static let fleet = ["ingest", "metricd", "query", "http"]

    public static let all: [Setting] = [
        Setting(
            key: "data_dir", environment: "ORZO_DATA_DIR", flag: "data-dir", defaultValue: "./orzo-data", kind: .path,
            help: "Directory of the file storage and the SQLite indexer, when not on Ceph.", roles: servers),
        Setting(
            key: "ceph.conf", environment: "ORZO_CEPH_CONF", flag: "ceph-conf", defaultValue: nil, kind: .path,
            help: "ceph.conf of the cluster; when set, the roles use Ceph and the RADOS indexer.", roles: fleet),
        Setting(
            key: "ceph.pool", environment: "ORZO_POOL", flag: "pool", defaultValue: "orzo", kind: .text,
            help: "RADOS pool, created if missing.", roles: fleet),
        Setting(
            key: "ceph.namespace", environment: "ORZO_NAMESPACE", flag: "namespace", defaultValue: "", kind: .text,
            help: "RADOS namespace within the pool (several deployments can share a pool).", roles: fleet),
        Setting(
            key: "ceph.user", environment: "ORZO_CEPH_USER", flag: "ceph-user", defaultValue: "client.admin",
            kind: .text, help: "Ceph user, as an entity name.", roles: fleet),
        Setting(
            key: "ceph.keyring", environment: "ORZO_KEYRING", flag: "keyring", defaultValue: nil, kind: .path,
            help: "Keyring file of the Ceph user (default: as ceph.conf says).", roles: fleet),
        Setting(
            key: "ingest.push_endpoint", environment: "ORZO_PUSH", flag: "push-endpoint",
            defaultValue: "tcp://127.0.0.1:5580", kind: .zmqEndpoint,
            help: "Fire-and-forget ingest endpoint (PULL; agents connect PUSH sockets).", roles: ["serve", "ingest"]),
        Setting(
            key: "ingest.ack_endpoint", environment: "ORZO_ACK", flag: "ack-endpoint",
            defaultValue: "tcp://127.0.0.1:5581", kind: .zmqEndpoint,
            help:
                "Acknowledged ingest endpoint (ROUTER; agents connect DEALER or REQ sockets). The statsd bridge sends here.",
            roles: ["serve", "ingest", "statsd"]),
        Setting(
            key: "query.endpoint", environment: "ORZO_QUERY", flag: "query-endpoint",
            defaultValue: "tcp://127.0.0.1:5582", kind: .zmqEndpoint,
            help: "Query endpoint (ROUTER; clients connect REQ or DEALER sockets).", roles: ["serve", "query"]),
        Setting(
            key: "index.default_policies", environment: "ORZO_DEFAULT_POLICIES", flag: "default-policies",
            defaultValue: "true", kind: .boolean,
            help:
                "Create Gnocchi's default archive policies (bool, low, medium, high) and the default rule in an empty index, as gnocchi-upgrade does.",
            roles: servers),
        Setting(
            key: "http.endpoint", environment: "ORZO_HTTP", flag: "http-endpoint", defaultValue: "127.0.0.1:8041",
            kind: .hostPortOrOff,
            help:
                "HOST:PORT of Gnocchi's REST API v1 (docs/http-api.md), or off (serve); beyond loopback only with security.allow_insecure.",
            roles: ["serve", "http"]),
        Setting(
            key: "http.prefix", environment: "ORZO_HTTP_PREFIX", flag: "http-prefix", defaultValue: "", kind: .text,
            help: "Path the REST API is mounted under, for example /gnocchi; empty for the root.",
            roles: ["serve", "http"]),
        Setting(
            key: "http.admin_users", environment: "ORZO_HTTP_ADMIN_USERS", flag: "http-admin-users",
            defaultValue: "admin", kind: .text,
            help: "Comma-separated users of the REST API's basic mode allowed Gnocchi's admin-only actions.",
            roles: ["serve", "http"]),
        Setting(
            key: "ingest.max_puts_in_flight", environment: "ORZO_MAX_PUTS_IN_FLIGHT", flag: "max-puts-in-flight",
            defaultValue: "32", kind: .positiveInteger,
            help:
                "Acknowledged puts stored at once (one peer's in order); at the limit the socket is not read and senders are pushed back.",
            roles: ["serve", "ingest"]),
        Setting(
            key: "query.max_concurrent_requests", environment: "ORZO_MAX_CONCURRENT_REQUESTS",
            flag: "max-concurrent-requests", defaultValue: "64", kind: .positiveInteger,
            help: "Queries answered at once; one more is answered unavailable (busy) at once instead of waiting.",
            roles: ["serve", "query"]),
        Setting(
            key: "query.request_deadline_seconds", environment: "ORZO_REQUEST_DEADLINE_SECONDS",
            flag: "request-deadline-seconds", defaultValue: "15", kind: .positiveInteger,
            help: "The longest a query may take (a refresh waiting on a lease); then it is answered unavailable.",
            roles: ["serve", "query"]),
        Setting(
            key: "metricd.workers", environment: "ORZO_WORKERS", flag: "workers", defaultValue: "2",
            kind: .positiveInteger, help: "Aggregation workers in this process.", roles: ["serve", "metricd"]),
        Setting(
            key: "metricd.lease_seconds", environment: "ORZO_LEASE_SECONDS", flag: "lease-seconds",
            defaultValue: "10", kind: .positiveInteger,
            help:
                "Lease on a metric during a cycle, renewed every third of it while the cycle runs: how long a crashed or stalled worker's metrics wait for another (on files, a dead process's are taken at once).",
            roles: ["serve", "metricd"]),
        Setting(
            key: "metricd.cycles_in_flight", environment: "ORZO_CYCLES_IN_FLIGHT", flag: "cycles-in-flight",
            defaultValue: "4", kind: .positiveInteger,
            help:
                "Metrics each worker processes at once, each under its own lease: overlaps one cycle's I/O with the next's work.",
            roles: ["serve", "metricd"]),
        Setting(
            key: "metrics.endpoint", environment: "ORZO_METRICS_ENDPOINT", flag: "metrics-endpoint",
            defaultValue: nil, kind: .hostPort,
            help: "HOST:PORT to serve Prometheus metrics on (GET /metrics); off when unset.",
            roles: servers + ["statsd"]),
        Setting(
            key: "log.level", environment: "ORZO_LOG_LEVEL", flag: "log-level", defaultValue: "info", kind: .logLevel,
            help: "Lowest level logged: trace, debug, info, notice, warning, error or critical.",
            roles: servers + ["statsd"]),
        Setting(
            key: "statsd.endpoint", environment: "ORZO_STATSD_ENDPOINT", flag: "statsd-endpoint",
            defaultValue: "127.0.0.1:8125", kind: .hostPort, help: "UDP HOST:PORT the statsd bridge listens on.",
            roles: ["statsd"]),
        Setting(
            key: "statsd.flush_interval", environment: "ORZO_STATSD_FLUSH_INTERVAL", flag: "flush-interval",
            defaultValue: "10", kind: .positiveNumber, help: "Seconds between the statsd bridge's flushes.",
            roles: ["statsd"]),
        Setting(
            key: "statsd.prefix", environment: "ORZO_STATSD_PREFIX", flag: "prefix", defaultValue: "", kind: .text,
            help: "Prefix added to every metric name the statsd bridge sends.", roles: ["statsd"]),
        Setting(
            key: "security.server_secret_key_file", environment: "ORZO_SERVER_SECRET_KEY_FILE",
            flag: "server-secret-key-file", defaultValue: nil, kind: .path,
            help:
                "This server's CURVE secret key (orzo keys generate; mode 0600). When set, every socket the role binds is a CURVE server admitting only the allowed keys.",
            roles: ["serve", "ingest", "query"]),
        Setting(
            key: "security.allowed_keys_file", environment: "ORZO_ALLOWED_KEYS_FILE", flag: "allowed-keys-file",
            defaultValue: nil, kind: .path,
            help:
                "Client keys admitted, one 'PUBLIC-KEY ROLE NAME' per line (roles: agent, reader, admin); re-read on SIGHUP. Needed with a server key.",
            roles: ["serve", "ingest", "query"]),
        Setting(
            key: "security.allow_insecure", environment: "ORZO_ALLOW_INSECURE", flag: "allow-insecure",
            defaultValue: "false", kind: .boolean,
            help:
                "Bind addresses other than loopback without CURVE (anyone who reaches them may do anything); every start then logs a warning.",
            roles: ["serve", "ingest", "query", "http"]),
        Setting(
            key: "client.server_key", environment: "ORZO_SERVER_KEY", flag: "server-key", defaultValue: nil,
            kind: .text, help: "The server's CURVE public key (Z85, or a .public file) for a client of a CURVE server.",
            roles: ["statsd"]),
        Setting(
            key: "client.secret_key_file", environment: "ORZO_CLIENT_KEY", flag: "client-key", defaultValue: nil,
            kind: .path, help: "This client's CURVE secret key file (mode 0600), with client.server_key.",
            roles: ["statsd"]),
    ]

    public static func named(_ key: String) -> Setting? { all.first { $0.key == key } }
}
