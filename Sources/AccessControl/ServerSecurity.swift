import Synchronization
import ZeroMQ

/// A server's CURVE identity and the client keys it accepts: every socket a
/// role binds becomes a CURVE server in the `orzo` ZAP domain, and the role's
/// ``ZAPHandler`` admits only the listed keys (docs/security.md).
public final class ServerSecurity: Sendable {
    public let serverKeys: ZMQCurveKeyPair
    public let allowedKeysPath: String
    private let allowed: Mutex<AllowedKeys>

    /// The ZAP domain of Orzo's server sockets.
    public static let domain = "orzo"

    public init(secretKeyFile: String, allowedKeysFile: String) throws {
        serverKeys = try KeyFiles.readSecret(secretKeyFile)
        allowedKeysPath = allowedKeysFile
        allowed = Mutex(try AllowedKeys.load(allowedKeysFile))
    }

    /// Reads the allowed keys file again (SIGHUP). A file that does not parse
    /// changes nothing: the error says why. Returns how many keys are allowed.
    @discardableResult
    public func reload() throws -> Int {
        let keys = try AllowedKeys.load(allowedKeysPath)
        allowed.withLock { $0 = keys }
        return keys.entries.count
    }

    public var allowedCount: Int { allowed.withLock { $0.entries.count } }

    /// The entry of a client's public key, if it is allowed.
    public func entry(for publicKey: String) -> AllowedKeys.Entry? {
        allowed.withLock { $0.entries[publicKey] }
    }

    /// Makes `socket` a CURVE server with this identity, authenticated by ZAP.
    /// Call before it binds.
    public func configure(_ socket: ZMQSocket) throws {
        try socket.set(.curveServer(true))
        try socket.set(.curveSecretKey(serverKeys.secretKey))
        try socket.set(.zapDomain(Self.domain))
    }

    /// The role a received message's `User-Id` names (set by the ZAP handler as
    /// `role:name`); nil for a socket without CURVE, which has no roles.
    public static func role(ofUserID userID: String?) -> ClientRole? {
        guard let userID, let colon = userID.firstIndex(of: ":") else { return nil }
        return ClientRole(rawValue: String(userID[..<colon]))
    }
}

/// The client side: the server's public key to expect, and this client's pair.
public struct ClientSecurity: Sendable, Hashable {
    public let serverPublicKey: String
    public let clientKeys: ZMQCurveKeyPair

    public init(serverPublicKey: String, clientKeys: ZMQCurveKeyPair) {
        self.serverPublicKey = serverPublicKey
        self.clientKeys = clientKeys
    }

    /// Makes `socket` a CURVE client of that server. Call before it connects.
    public func configure(_ socket: ZMQSocket) throws {
        try socket.set(.curveServerKey(serverPublicKey))
        try socket.set(.curvePublicKey(clientKeys.publicKey))
        try socket.set(.curveSecretKey(clientKeys.secretKey))
    }
}
