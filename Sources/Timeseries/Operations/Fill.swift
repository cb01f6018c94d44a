/// What takes the place of a missing point when series are combined.
public enum Fill: Hashable, Sendable {
    /// A fixed value.
    case value(Double)
    /// NaN, kept in the output (as `null` on the wire).
    case null
    /// NaN, then dropped from the output with any other NaN or infinity.
    case dropna
    /// The previous value of the same series (then dropped where there is none).
    case forwardFill
    /// The next value of the same series.
    case backwardFill
    /// Forward, then backward: no gap is left.
    case fullForwardFill
    /// Backward, then forward.
    case fullBackwardFill

    /// Parses the wire form: a number, or `null`, `dropna`, `ffill`, `bfill`,
    /// `full_ffill`, `full_bfill`.
    public init?(_ text: String) {
        switch text {
        case "null": self = .null
        case "dropna": self = .dropna
        case "ffill": self = .forwardFill
        case "bfill": self = .backwardFill
        case "full_ffill": self = .fullForwardFill
        case "full_bfill": self = .fullBackwardFill
        default:
            guard let value = Double(text) else { return nil }
            self = .value(value)
        }
    }

    /// Whether NaN and infinite results are left out of the output.
    var dropsNonFinite: Bool {
        switch self {
        case .value, .null: false
        default: true
        }
    }
}
