import CRados
import Glibc

/// A failed librados call: the errno it returned and the operation that returned it.
///
/// librados reports failures as negative errno values. This keeps the code (never
/// only a string) and names the cases Orzo's storage layer decides on through
/// ``kind``. Match with `catch let error as RadosError where error.kind == .busy`.
public struct RadosError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The positive errno value (librados returns its negation).
    public let code: Int32
    /// The librados operation that failed, for example `rados_write_op_operate`.
    public let operation: String
    /// The object the operation addressed, when there was one.
    public let object: String?

    public init(code: Int32, operation: String, object: String? = nil) {
        self.code = code
        self.operation = operation
        self.object = object
    }

    /// Builds an error from a librados return value (a negative errno).
    init(returnValue: Int32, operation: String, object: String? = nil) {
        self.init(code: -returnValue, operation: operation, object: object)
    }

    /// The meaning of an error, for the decisions callers make on it.
    public enum Kind: Sendable, Hashable {
        /// The object, pool, key or lock does not exist (`ENOENT`).
        case notFound
        /// The object, pool or lock already exists (`EEXIST`).
        case exists
        /// Another client holds the lock (`EBUSY`).
        case busy
        /// The operation timed out (`ETIMEDOUT`); a write may or may not have been applied.
        case timedOut
        /// `assert_version` failed: the object is newer (`ERANGE`) or older (`EOVERFLOW`).
        case versionMismatch
        /// A guard (`cmpxattr`, `omap_cmp`) did not hold, so nothing was applied (`ECANCELED`).
        case canceled
        /// The caller lacks the capability (`EPERM`, `EACCES`).
        case permissionDenied
        /// The extended attribute does not exist (`ENODATA`).
        case noData
        /// Any other errno.
        case other
    }

    public var kind: Kind {
        switch code {
        case ENOENT: .notFound
        case EEXIST: .exists
        case EBUSY: .busy
        case ETIMEDOUT: .timedOut
        case ERANGE, EOVERFLOW: .versionMismatch
        case ECANCELED: .canceled
        case EPERM, EACCES: .permissionDenied
        case ENODATA: .noData
        default: .other
        }
    }

    public var description: String {
        let reason = String(cString: strerror(code))
        if let object {
            return "\(operation) on '\(object)': \(reason) (errno \(code))"
        }
        return "\(operation): \(reason) (errno \(code))"
    }
}

/// Throws a ``RadosError`` if a librados return value is negative, else returns it.
@discardableResult
func check(
    _ returnValue: Int32, _ operation: String, object: String? = nil
) throws(RadosError) -> Int32 {
    if returnValue < 0 {
        throw RadosError(returnValue: returnValue, operation: operation, object: object)
    }
    return returnValue
}
