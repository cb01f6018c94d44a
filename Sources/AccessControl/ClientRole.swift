/// What a client's key may do (docs/security.md). A socket without CURVE has no
/// roles: anyone who reaches it may do anything, which is why such sockets bind
/// loopback only unless the operator says otherwise.
public enum ClientRole: String, Sendable, Hashable, CaseIterable {
    /// Puts measures (acknowledged or pushed), creating metrics through the rules.
    case agent
    /// Queries that change nothing.
    case reader
    /// Everything: queries, and the creation and deletion of metrics, archive
    /// policies and rules, and quarantine actions.
    case admin

    /// Whether this role may put measures.
    public var mayPut: Bool { self == .agent || self == .admin }

    /// Whether this role may send a query that changes nothing (`changes` false)
    /// or one that does.
    public func mayQuery(changing changes: Bool) -> Bool {
        switch self {
        case .agent: false
        case .reader: !changes
        case .admin: true
        }
    }
}
