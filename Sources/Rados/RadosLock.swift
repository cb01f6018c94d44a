import CRados

/// Advisory locks of Ceph's `lock` object class (cls_lock), as leases.
///
/// A lock lives on one object under a name. An exclusive lock has one holder,
/// identified by its client instance and a cookie; with a duration it expires by
/// itself (Ceph checks expiry lazily, on the next lock request). Because they are
/// class methods, the lock steps can also go into a ``RadosWriteOperation``:
/// ``RadosWriteOperation/assertLocked(name:cookie:tag:)`` next to the writes of a
/// processing cycle fences them, so a holder that lost its lease writes nothing.
public enum RadosLockFlags: Sendable {
    /// Fail with ``RadosError/Kind/exists`` if this holder already has the lock.
    case acquire
    /// Acquire, or extend the duration if this holder already has the lock.
    case acquireOrRenew
    /// Extend the duration; fail with ``RadosError/Kind/notFound`` unless this holder has the lock.
    case renewOnly

    var rawValue: UInt8 {
        switch self {
        case .acquire: 0
        case .acquireOrRenew: UInt8(LIBRADOS_LOCK_FLAG_MAY_RENEW)
        case .renewOnly: UInt8(LIBRADOS_LOCK_FLAG_MUST_RENEW)
        }
    }
}

/// Who holds a lock, as `rados_list_lockers` reports it.
public struct RadosLocker: Sendable, Hashable {
    /// The holder's entity, for example `client.4105`.
    public let client: String
    public let cookie: String
    public let address: String
}

/// The holders of one lock.
public struct RadosLockInfo: Sendable, Hashable {
    public let isExclusive: Bool
    public let tag: String
    public let lockers: [RadosLocker]
}

private enum ClsLockType: UInt8 {
    case exclusive = 1
}

extension RadosWriteOperation {
    /// Takes (or renews) an exclusive lock as part of this operation. A holder
    /// other than this client and cookie makes the operation fail with
    /// ``RadosError/Kind/busy``. A `duration` of `nil` never expires.
    /// This is cls_lock's `lock` method (what `rados_lock_exclusive` calls).
    public mutating func lockExclusive(
        name: String, cookie: String, duration: Duration?, flags: RadosLockFlags = .acquire,
        tag: String = "", description: String = ""
    ) {
        var encoder = CephEncoder()
        encoder.versioned(1, compat: 1) { body in
            body.string(name)
            body.u8(ClsLockType.exclusive.rawValue)
            body.string(cookie)
            body.string(tag)
            body.string(description)
            body.utime(duration ?? .zero)
            body.u8(flags.rawValue)
        }
        exec(className: "lock", method: "lock", input: encoder.bytes)
    }

    /// Releases this client's lock with `cookie` as part of this operation; fails
    /// with ``RadosError/Kind/notFound`` if it does not hold it (any more).
    /// This is cls_lock's `unlock` method.
    public mutating func unlock(name: String, cookie: String) {
        var encoder = CephEncoder()
        encoder.versioned(1, compat: 1) { body in
            body.string(name)
            body.string(cookie)
        }
        exec(className: "lock", method: "unlock", input: encoder.bytes)
    }

    /// Guards the operation: it fails, with nothing applied, unless this client
    /// holds the exclusive lock `name` with `cookie` and it has not expired.
    /// This is cls_lock's `assert_locked` method.
    public mutating func assertLocked(name: String, cookie: String, tag: String = "") {
        var encoder = CephEncoder()
        encoder.versioned(1, compat: 1) { body in
            body.string(name)
            body.u8(ClsLockType.exclusive.rawValue)
            body.string(cookie)
            body.string(tag)
        }
        exec(className: "lock", method: "assert_locked", input: encoder.bytes)
    }
}

extension RadosIOContext {
    /// Takes an exclusive lock on `object` (created empty if missing) for `duration`
    /// (`nil`: until unlocked). Fails with ``RadosError/Kind/busy`` if another
    /// client or cookie holds it, with ``RadosError/Kind/exists`` if this one does
    /// and `flags` is ``RadosLockFlags/acquire``.
    public func lockExclusive(
        _ object: String, name: String, cookie: String, duration: Duration?, flags: RadosLockFlags = .acquire,
        description: String = ""
    ) async throws(RadosError) {
        var op = RadosWriteOperation()
        op.lockExclusive(name: name, cookie: cookie, duration: duration, flags: flags, description: description)
        try await operate(op, on: object)
    }

    /// Extends a lock this client holds; fails with ``RadosError/Kind/notFound``
    /// if it does not hold it any more (it expired and was taken, or was broken).
    public func renewLock(_ object: String, name: String, cookie: String, duration: Duration?) async throws(RadosError)
    {
        try await lockExclusive(object, name: name, cookie: cookie, duration: duration, flags: .renewOnly)
    }

    /// Releases a lock this client holds.
    public func unlock(_ object: String, name: String, cookie: String) async throws(RadosError) {
        var op = RadosWriteOperation()
        op.unlock(name: name, cookie: cookie)
        try await operate(op, on: object)
    }

    /// Removes another client's lock (an operator's or a janitor's tool: it does
    /// not stop that client's writes unless they are fenced with `assertLocked`).
    /// The corresponding C function is `rados_break_lock`.
    public func breakLock(_ object: String, name: String, client: String, cookie: String) async throws(RadosError) {
        let io = UnsafeSendable(handle)
        try await runBlocking { () throws(RadosError) in
            try check(rados_break_lock(io.value, object, name, client, cookie), "rados_break_lock", object: object)
        }
        withExtendedLifetime(self) {}
    }

    /// Who holds the lock `name` on `object`.
    /// The corresponding C function is `rados_list_lockers`.
    public func lockInfo(_ object: String, name: String) async throws(RadosError) -> RadosLockInfo {
        let io = UnsafeSendable(handle)
        let info = try await runBlocking { () throws(RadosError) -> RadosLockInfo in
            try Self.listLockers(io.value, object, name)
        }
        withExtendedLifetime(self) {}
        return info
    }

    private static func listLockers(
        _ io: rados_ioctx_t, _ object: String, _ name: String
    ) throws(RadosError)
        -> RadosLockInfo
    {
        var capacity = 256
        while true {
            var exclusive: Int32 = 0
            var tag = [CChar](repeating: 0, count: capacity)
            var clients = [CChar](repeating: 0, count: capacity)
            var cookies = [CChar](repeating: 0, count: capacity)
            var addresses = [CChar](repeating: 0, count: capacity)
            var tagLength = capacity
            var clientsLength = capacity
            var cookiesLength = capacity
            var addressesLength = capacity
            let count = rados_list_lockers(
                io, object, name, &exclusive, &tag, &tagLength, &clients, &clientsLength, &cookies, &cookiesLength,
                &addresses, &addressesLength)
            if count == -Int(ERANGE) {
                // The lengths now say what is needed.
                capacity = max(capacity * 2, tagLength, clientsLength, cookiesLength, addressesLength)
                continue
            }
            if count < 0 { throw RadosError(code: Int32(-count), operation: "rados_list_lockers", object: object) }
            let clientNames = splitNulSeparated(clients, length: clientsLength)
            let cookieNames = splitNulSeparated(cookies, length: cookiesLength)
            let addressNames = splitNulSeparated(addresses, length: addressesLength)
            let lockers = (0..<count).map { index in
                RadosLocker(
                    client: clientNames.indices.contains(index) ? clientNames[index] : "",
                    cookie: cookieNames.indices.contains(index) ? cookieNames[index] : "",
                    address: addressNames.indices.contains(index) ? addressNames[index] : "")
            }
            let tagString = splitNulSeparated(tag, length: tagLength).first ?? ""
            return RadosLockInfo(isExclusive: exclusive != 0, tag: tagString, lockers: lockers)
        }
    }
}

/// `a\0b\0c\0` → ["a", "b", "c"].
private func splitNulSeparated(_ buffer: [CChar], length: Int) -> [String] {
    buffer.prefix(min(length, buffer.count)).split(separator: 0, omittingEmptySubsequences: false)
        .dropLast(buffer.prefix(length).last == 0 ? 1 : 0)
        .map { String(decoding: $0.map { UInt8(bitPattern: $0) }, as: UTF8.self) }
}
