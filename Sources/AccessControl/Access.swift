/// Who sent a request, as far as the socket knows.
public enum Access: Sendable, Hashable {
    /// A socket without CURVE: no roles, everything allowed (such sockets bind
    /// loopback only unless the operator allows otherwise).
    case open
    /// A CURVE socket: the role the ZAP handler gave the client's key (nil if
    /// its `User-Id` names none, which is refused).
    case role(ClientRole?)

    /// From a received message's `User-Id`, on a socket with or without CURVE.
    public init(userID: String?, authenticated: Bool) {
        self = authenticated ? .role(ServerSecurity.role(ofUserID: userID)) : .open
    }

    public var mayPut: Bool {
        switch self {
        case .open: true
        case .role(let role): role?.mayPut ?? false
        }
    }

    public func mayQuery(changing changes: Bool) -> Bool {
        switch self {
        case .open: true
        case .role(let role): role?.mayQuery(changing: changes) ?? false
        }
    }

    /// The role's name for messages ("no role" when unknown; "anyone" when open).
    public var roleName: String {
        switch self {
        case .open: "anyone"
        case .role(let role): role?.rawValue ?? "no role"
        }
    }
}
