/// Why a stored blob could not be decoded. A decoder never crashes, loops or
/// over-allocates on bad input: it throws one of these.
public enum BlobError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The blob ends before its declared content does.
    case truncated
    /// The blob does not start with Orzo's magic bytes.
    case badMagic
    /// A format version this build does not read.
    case unsupportedVersion(UInt8)
    /// The blob is of another kind than asked for (a raw buffer read as a split…).
    case wrongKind(expected: UInt8, found: UInt8)
    /// The CRC-32C does not match: the bytes were altered.
    case checksumMismatch
    /// The content is inconsistent (an impossible width, count or timestamp).
    case corrupt(String)

    public var description: String {
        switch self {
        case .truncated: "blob truncated"
        case .badMagic: "not an Orzo blob (bad magic)"
        case .unsupportedVersion(let version): "unsupported blob format version \(version)"
        case .wrongKind(let expected, let found): "blob kind \(found), expected \(expected)"
        case .checksumMismatch: "blob checksum mismatch"
        case .corrupt(let reason): "corrupt blob: \(reason)"
        }
    }
}
