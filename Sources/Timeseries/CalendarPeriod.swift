/// Gnocchi's calendar resampling (`resample=Y|H|Q|M|W`, its `calendar.GROUPINGS`):
/// points grouped by the Gregorian year, half-year, quarter or month they fall
/// in, or by week starting on Sunday, all in UTC.
public enum CalendarPeriod: String, Sendable, CaseIterable {
    case year = "Y"
    case half = "H"
    case quarter = "Q"
    case month = "M"
    case week = "W"

    private static let day: Int64 = 86_400_000_000_000

    /// The length in months of the periods counted in months (all but weeks).
    private var months: Int64 {
        switch self {
        case .year: 12
        case .half: 6
        case .quarter: 3
        case .month, .week: 1
        }
    }

    /// The start of the period holding `timestamp`.
    public func start(of timestamp: Nanoseconds) -> Nanoseconds {
        let days = Self.floorDivide(timestamp, Self.day)
        if self == .week {
            // numpy's weeks start on Thursdays (1970-01-01); Gnocchi shifts them to Sundays.
            return (Self.floorDivide(days + 4, 7) * 7 - 4) * Self.day
        }
        let (year, month, _) = CivilDate.date(days)
        return CivilDate.days(year, (month - 1) / months * months + 1, 1) * Self.day
    }

    /// The start of the period after the one starting at `start`.
    public func next(after start: Nanoseconds) -> Nanoseconds {
        if self == .week { return start + 7 * Self.day }
        let (year, month, _) = CivilDate.date(Self.floorDivide(start, Self.day))
        let index = year * 12 + (month - 1) + months  // months since year 0
        return CivilDate.days(Self.floorDivide(index, 12), index - Self.floorDivide(index, 12) * 12 + 1, 1) * Self.day
    }

    private static func floorDivide(_ value: Int64, _ divisor: Int64) -> Int64 {
        let quotient = value / divisor
        return value % divisor < 0 ? quotient - 1 : quotient
    }
}
