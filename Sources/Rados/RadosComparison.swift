import CRados

/// A comparison for the `cmpxattr` and `omap_cmp` guards: the stored value is
/// the left operand, the given value the right one. Values compare as byte strings.
public enum RadosComparison: Sendable, Hashable {
    case equal, notEqual, greater, greaterOrEqual, less, lessOrEqual

    var rawValue: UInt8 {
        switch self {
        case .equal: UInt8(LIBRADOS_CMPXATTR_OP_EQ)
        case .notEqual: UInt8(LIBRADOS_CMPXATTR_OP_NE)
        case .greater: UInt8(LIBRADOS_CMPXATTR_OP_GT)
        case .greaterOrEqual: UInt8(LIBRADOS_CMPXATTR_OP_GTE)
        case .less: UInt8(LIBRADOS_CMPXATTR_OP_LT)
        case .lessOrEqual: UInt8(LIBRADOS_CMPXATTR_OP_LTE)
        }
    }
}
