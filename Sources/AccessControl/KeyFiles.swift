import CZeroMQ
import Glibc
import ZeroMQ

/// CURVE key files (docs/security.md): `NAME.secret` holds the secret key in
/// Z85 (one line, mode 0600), `NAME.public` the public key, which is what is
/// handed out (to clients for a server key, to the allowed keys file for a
/// client key).
public enum KeyFiles {
    public struct KeyFileError: Error, CustomStringConvertible {
        public let description: String
    }

    /// Writes a new key pair as `base.secret` (0600, created exclusively) and
    /// `base.public`; returns the public key.
    public static func generate(base: String) throws -> String {
        let pair = try ZMQCurveKeyPair.generate()
        try write(base + ".secret", pair.secretKey + "\n", mode: 0o600)
        try write(base + ".public", pair.publicKey + "\n", mode: 0o644)
        return pair.publicKey
    }

    /// Reads a secret key file, refusing one that the group or others may read.
    /// Returns the pair (the public key is derived from the secret).
    public static func readSecret(_ path: String) throws(KeyFileError) -> ZMQCurveKeyPair {
        var info = stat()
        guard stat(path, &info) == 0 else {
            throw KeyFileError(description: "cannot read the key file \(path): \(String(cString: strerror(errno)))")
        }
        guard info.st_mode & 0o077 == 0 else {
            throw KeyFileError(
                description:
                    "the secret key file \(path) may be read by its group or others (mode \(String(info.st_mode & 0o777, radix: 8))): "
                    + "chmod 600 it")
        }
        guard let text = readText(path) else {
            throw KeyFileError(description: "cannot read the key file \(path): \(String(cString: strerror(errno)))")
        }
        let secret = text.trimmingWhitespace
        guard Z85.isKey(secret) else {
            throw KeyFileError(description: "\(path) does not hold a Z85 secret key (40 characters)")
        }
        var publicKey = [CChar](repeating: 0, count: 41)
        guard zmq_curve_public(&publicKey, secret) == 0 else {
            throw KeyFileError(description: "\(path): not a CURVE secret key")
        }
        return ZMQCurveKeyPair(
            publicKey: String(decoding: publicKey.prefix(40).map { UInt8(bitPattern: $0) }, as: UTF8.self),
            secretKey: secret)
    }

    /// A public key given as Z85 text, or as the path of a `.public` file.
    public static func publicKey(_ textOrPath: String) throws(KeyFileError) -> String {
        // A file first: a path can be 40 characters of the Z85 alphabet too
        // ("/tmp/orzo-curve-bench/keys/server.public" is).
        if access(textOrPath, F_OK) != 0 && Z85.isKey(textOrPath) { return textOrPath }
        guard let text = readText(textOrPath) else {
            throw KeyFileError(
                description: "'\(textOrPath.prefix(64))' is neither a Z85 public key nor a readable key file")
        }
        let key = text.trimmingWhitespace
        guard Z85.isKey(key) else { throw KeyFileError(description: "\(textOrPath) does not hold a Z85 public key") }
        return key
    }

    private static func write(_ path: String, _ text: String, mode: mode_t) throws(KeyFileError) {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard fd >= 0 else {
            throw KeyFileError(description: "cannot create \(path): \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        let bytes = Array(text.utf8)
        guard bytes.withUnsafeBytes({ Glibc.write(fd, $0.baseAddress, $0.count) }) == bytes.count, fsync(fd) == 0
        else {
            throw KeyFileError(description: "cannot write \(path): \(String(cString: strerror(errno)))")
        }
    }
}

extension String {
    var trimmingWhitespace: String {
        String(
            self.drop(while: { $0.isWhitespace }).reversed().drop(while: { $0.isWhitespace }).reversed())
    }
}
