/// Why an operations expression or a cross-metric aggregation was refused.
public enum OperationsError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The text does not parse; `position` is the 0-based character offset.
    case syntax(message: String, position: Int)
    /// The expression parses but is not a valid operation (unknown operator, wrong
    /// arity, bad argument); `position` locates the offending node.
    case invalid(message: String, position: Int)
    /// The series cannot be combined (no common granularity, too little overlap, …).
    case unaggregable(String)
    /// A metric's archive policy lacks the aggregation method asked for.
    case unknownAggregation(metric: String, method: String)

    public var description: String {
        switch self {
        case .syntax(let message, let position): "\(message) at position \(position)"
        case .invalid(let message, let position): "\(message) at position \(position)"
        case .unaggregable(let message): message
        case .unknownAggregation(let metric, let method):
            "Aggregation method '\(method)' does not exist for metric \(metric)"
        }
    }
}
