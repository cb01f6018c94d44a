import CZeroMQ
import Glibc

/// The client keys a server accepts, each with a role and a name: a text file,
/// one key per line (docs/security.md):
///
///     # public key (Z85, 40 characters)          role    name
///     rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7   agent   web-17
///
/// Blank lines and comment lines, whose first field is `#` alone (`# …`: Z85
/// keys may hold `#`, even first), are ignored. A line that does not parse makes
/// the whole file refused, with its line number: a reload never half-applies.
public struct AllowedKeys: Sendable, Hashable {
    public struct Entry: Sendable, Hashable {
        public let publicKey: String
        public let role: ClientRole
        public let name: String
    }

    public let entries: [String: Entry]

    public init(entries: [Entry]) {
        self.entries = Dictionary(entries.map { ($0.publicKey, $0) }) { first, _ in first }
    }

    public struct ParseError: Error, CustomStringConvertible {
        public let description: String
    }

    public static func parse(_ text: String, source: String) throws(ParseError) -> AllowedKeys {
        var entries: [Entry] = []
        var seen: Set<String> = []
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let fields = rawLine.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" })
            // Z85 keys may hold '#', even first: a comment is '#' alone as the first field.
            if fields.isEmpty || fields[0] == "#" { continue }
            let place = "\(source):\(index + 1)"
            guard fields.count >= 3 else {
                throw ParseError(description: "\(place): expected 'PUBLIC-KEY ROLE NAME', found \(fields.count) fields")
            }
            let key = String(fields[0])
            guard Z85.isKey(key) else {
                throw ParseError(description: "\(place): '\(key.prefix(48))' is not a Z85 public key (40 characters)")
            }
            guard let role = ClientRole(rawValue: String(fields[1])) else {
                throw ParseError(
                    description: "\(place): unknown role '\(fields[1].prefix(32))' (agent, reader or admin)")
            }
            guard seen.insert(key).inserted else {
                throw ParseError(description: "\(place): the key \(Z85.fingerprint(key)) is listed twice")
            }
            entries.append(Entry(publicKey: key, role: role, name: fields[2...].joined(separator: " ")))
        }
        return AllowedKeys(entries: entries)
    }

    /// Reads and parses `path`.
    public static func load(_ path: String) throws(ParseError) -> AllowedKeys {
        guard let text = readText(path) else {
            throw ParseError(
                description: "cannot read the allowed keys file \(path): \(String(cString: strerror(errno)))")
        }
        return try parse(text, source: path)
    }
}

/// Z85 text of CURVE keys (ZeroMQ RFC 32).
public enum Z85 {
    static let alphabet = Array(
        "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#".utf8)

    /// Whether `text` is a 40-character Z85 string (a 32-byte key).
    public static func isKey(_ text: String) -> Bool {
        text.utf8.count == 40 && text.utf8.allSatisfy { alphabet.contains($0) }
    }

    /// Encodes bytes whose count is a multiple of 4 (libzmq's `zmq_z85_encode`).
    public static func encode(_ bytes: [UInt8]) -> String? {
        guard bytes.count % 4 == 0 else { return nil }
        var text = [CChar](repeating: 0, count: bytes.count / 4 * 5 + 1)
        guard zmq_z85_encode(&text, bytes, bytes.count) != nil else { return nil }
        return String(decoding: text.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// What logs show of a key: its first 8 characters (public keys only; a
    /// secret never reaches a log).
    public static func fingerprint(_ publicKey: String) -> String { String(publicKey.prefix(8)) + "…" }
}

/// The whole file, or nil if it cannot be read.
func readText(_ path: String) -> String? {
    guard let file = fopen(path, "r") else { return nil }
    defer { fclose(file) }
    var bytes: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 4096)
    while true {
        let count = fread(&buffer, 1, buffer.count, file)
        if count <= 0 { break }
        bytes += buffer[0..<count]
        if bytes.count > 16 << 20 { return nil }  // not a key file
    }
    return String(decoding: bytes, as: UTF8.self)
}
