/// How to reach a Ceph cluster.
///
/// Every field maps to a librados configuration option; ``options`` passes any
/// other one through unchanged (`rados_conf_set`).
public struct RadosConfiguration: Sendable, Hashable {
    /// The ceph.conf to read. `nil` reads `$CEPH_CONF` or librados' default search path.
    public var configurationFile: String?
    /// The entity to authenticate as, for example `client.admin` or `client.orzo`.
    public var user: String
    /// A keyring file with the user's key; `nil` uses the one the conf file names.
    public var keyring: String?
    /// The cluster name, used by librados to find default conf and keyring paths.
    public var clusterName: String
    /// How long connecting may take before it fails (`client_mount_timeout`).
    /// librados' default of 300 s would make a dead cluster look like a hang.
    public var connectTimeout: Duration
    /// How long one operation may wait for an OSD or monitor before it fails with
    /// ``RadosError/Kind/timedOut`` (`rados_osd_op_timeout`, `rados_mon_op_timeout`).
    /// `nil` waits forever, librados' default. A timed-out write may or may not
    /// have been applied.
    public var operationTimeout: Duration?
    /// Further librados options, applied last.
    public var options: [String: String]

    public init(
        configurationFile: String? = nil,
        user: String = "client.admin",
        keyring: String? = nil,
        clusterName: String = "ceph",
        connectTimeout: Duration = .seconds(10),
        operationTimeout: Duration? = .seconds(30),
        options: [String: String] = [:]
    ) {
        self.configurationFile = configurationFile
        self.user = user
        self.keyring = keyring
        self.clusterName = clusterName
        self.connectTimeout = connectTimeout
        self.operationTimeout = operationTimeout
        self.options = options
    }
}

extension Duration {
    /// Seconds as librados' option parser expects them ("2.5").
    var secondsString: String {
        let (seconds, attoseconds) = components
        if attoseconds == 0 { return String(seconds) }
        return String(Double(seconds) + Double(attoseconds) / 1e18)
    }
}
