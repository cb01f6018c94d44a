/// Why a client call failed.
public enum OrzoClientError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The server answered with an error body (`code` as in the wire protocol:
    /// bad_request, not_found, conflict, unavailable, unknown_metric, …).
    case server(code: String, message: String)
    /// No reply within the timeout, after every retry.
    case timeout(endpoint: String, attempts: Int)
    /// A reply that does not follow the wire protocol.
    case badReply(String)
    /// An argument the server would refuse; nothing was sent.
    case invalidArgument(String)

    public var description: String {
        switch self {
        case .server(let code, let message): "\(code): \(message)"
        case .timeout(let endpoint, let attempts):
            "no reply from \(endpoint) after \(attempts) attempt\(attempts == 1 ? "" : "s") (is the server running?)"
        case .badReply(let detail): "bad reply: \(detail)"
        case .invalidArgument(let detail): "invalid argument: \(detail)"
        }
    }

    /// The server's error code, if the server answered.
    public var code: String? {
        if case .server(let code, _) = self { return code }
        return nil
    }
}
