import CRados

/// A connection to a Ceph cluster.
///
/// Thread-safe: librados documents a `rados_t` as usable from many threads at
/// once, and nothing here changes its settings after connecting, hence
/// `@unchecked Sendable`. The connection is shut down exactly once, when the last
/// reference goes away; every ``RadosIOContext`` holds one, so the cluster
/// always outlives its I/O contexts and their operations in flight.
public final class RadosCluster: @unchecked Sendable {
    let handle: rados_t
    /// The configuration the connection was made with.
    public let configuration: RadosConfiguration

    private init(handle: rados_t, configuration: RadosConfiguration) {
        self.handle = handle
        self.configuration = configuration
    }

    deinit {
        rados_shutdown(handle)
    }

    /// Connects to the cluster that `configuration` describes.
    ///
    /// Fails after ``RadosConfiguration/connectTimeout`` when no monitor answers.
    /// The corresponding C functions are `rados_create2`, `rados_conf_read_file`,
    /// `rados_conf_set` and `rados_connect`.
    public static func connect(_ configuration: RadosConfiguration) async throws(RadosError) -> RadosCluster {
        try await runBlocking { () throws(RadosError) -> RadosCluster in
            try connectBlocking(configuration)
        }
    }

    private static func connectBlocking(_ configuration: RadosConfiguration) throws(RadosError) -> RadosCluster {
        var handle: rados_t?
        try check(rados_create2(&handle, configuration.clusterName, configuration.user, 0), "rados_create2")
        guard let handle else { throw RadosError(code: 12, operation: "rados_create2") }
        // From here on, every failure must shut the half-made handle down.
        do throws(RadosError) {
            try check(rados_conf_read_file(handle, configuration.configurationFile), "rados_conf_read_file")
            var settings: [(String, String)] = [("client_mount_timeout", configuration.connectTimeout.secondsString)]
            if let keyring = configuration.keyring { settings.append(("keyring", keyring)) }
            if let timeout = configuration.operationTimeout {
                settings.append(("rados_osd_op_timeout", timeout.secondsString))
                settings.append(("rados_mon_op_timeout", timeout.secondsString))
            }
            settings += configuration.options.sorted { $0.key < $1.key }
            for (option, value) in settings {
                try check(rados_conf_set(handle, option, value), "rados_conf_set(\(option))")
            }
            try check(rados_connect(handle), "rados_connect")
        } catch {
            rados_shutdown(handle)
            throw error
        }
        return RadosCluster(handle: handle, configuration: configuration)
    }

    /// The librados version this process runs with (major, minor, extra).
    /// The corresponding C function is `rados_version`.
    public static var libraryVersion: (major: Int, minor: Int, extra: Int) {
        var major: Int32 = 0
        var minor: Int32 = 0
        var extra: Int32 = 0
        rados_version(&major, &minor, &extra)
        return (Int(major), Int(minor), Int(extra))
    }

    /// This client's instance id, unique in the cluster while connected.
    /// The corresponding C function is `rados_get_instance_id`.
    public var instanceID: UInt64 { rados_get_instance_id(handle) }

    /// This client's entity name as lock listings show it, for example `client.4105`.
    public var clientName: String { "client.\(instanceID)" }

    /// The id of the pool named `name`, or `nil` if there is none.
    /// The corresponding C function is `rados_pool_lookup`.
    public func poolID(named name: String) throws(RadosError) -> Int64? {
        let id = rados_pool_lookup(handle, name)
        if id == -Int64(ENOENT) { return nil }
        if id < 0 { throw RadosError(returnValue: Int32(id), operation: "rados_pool_lookup", object: name) }
        return id
    }

    /// Creates a pool; fails with ``RadosError/Kind/exists`` if it is there already.
    /// The corresponding C function is `rados_pool_create`.
    public func createPool(named name: String) async throws(RadosError) {
        let handle = UnsafeSendable(self.handle)
        try await runBlocking { () throws(RadosError) in
            try check(rados_pool_create(handle.value, name), "rados_pool_create", object: name)
        }
    }

    /// Creates the pool unless it exists. Returns whether it was created.
    @discardableResult
    public func ensurePool(named name: String) async throws(RadosError) -> Bool {
        if try poolID(named: name) != nil { return false }
        do {
            try await createPool(named: name)
            return true
        } catch  where error.kind == .exists {
            return false  // another client created it meanwhile
        }
    }

    /// Deletes a pool and every object in it.
    /// The corresponding C function is `rados_pool_delete`.
    public func deletePool(named name: String) async throws(RadosError) {
        let handle = UnsafeSendable(self.handle)
        try await runBlocking { () throws(RadosError) in
            try check(rados_pool_delete(handle.value, name), "rados_pool_delete", object: name)
        }
    }

    /// Opens an I/O context on a pool, optionally confined to a namespace.
    /// The corresponding C functions are `rados_ioctx_create` and `rados_ioctx_set_namespace`.
    public func ioContext(pool: String, namespace: String? = nil) throws(RadosError) -> RadosIOContext {
        var io: rados_ioctx_t?
        try check(rados_ioctx_create(handle, pool, &io), "rados_ioctx_create", object: pool)
        guard let io else { throw RadosError(code: 12, operation: "rados_ioctx_create", object: pool) }
        if let namespace { rados_ioctx_set_namespace(io, namespace) }
        return RadosIOContext(handle: io, cluster: self, pool: pool, namespace: namespace)
    }
}

/// Carries a C handle into a `@Sendable` closure. Used only where librados
/// documents the handle as thread-safe and the owner outlives the closure.
struct UnsafeSendable<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
