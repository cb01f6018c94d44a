import CZeroMQ

/// A CURVE key pair, each key in Z85 text (40 characters).
public struct ZMQCurveKeyPair: Sendable, Hashable {
    public let publicKey: String
    public let secretKey: String

    /// A pair from its two keys, Z85 (a stored pair, whose public key was derived
    /// from its secret with `zmq_curve_public`).
    public init(publicKey: String, secretKey: String) {
        self.publicKey = publicKey
        self.secretKey = secretKey
    }

    /// Generates a new key pair; fails unless libzmq was built with CURVE.
    /// The corresponding C function is `zmq_curve_keypair`.
    public static func generate() throws(ZMQError) -> ZMQCurveKeyPair {
        var publicKey = [CChar](repeating: 0, count: 41)
        var secretKey = [CChar](repeating: 0, count: 41)
        guard zmq_curve_keypair(&publicKey, &secretKey) == 0 else { throw ZMQError.last("zmq_curve_keypair") }
        return ZMQCurveKeyPair(
            publicKey: String(decoding: publicKey.prefix(40).map { UInt8(bitPattern: $0) }, as: UTF8.self),
            secretKey: String(decoding: secretKey.prefix(40).map { UInt8(bitPattern: $0) }, as: UTF8.self))
    }
}
