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

    /// The start of the period holding `timestamp`.
    public func start(of timestamp: Nanoseconds) -> Nanoseconds {
        let days = floorDivide(timestamp, Self.day)
        switch self {
        case .week:
            // numpy's weeks start on Thursdays (1970-01-01); Gnocchi shifts them to Sundays.
            return (floorDivide(days + 4, 7) * 7 - 4) * Self.day
        case .year, .half, .quarter, .month:
            let (year, month, _) = Self.civil(days)
            let months: Int64 =
                switch self {
                case .year: 12
                case .half: 6
                case .quarter: 3
                default: 1
                }
            let first = (month - 1) / months * months + 1
            return Self.days(year, first, 1) * Self.day
        }
    }

    /// The start of the period after the one starting at `start`.
    public func next(after start: Nanoseconds) -> Nanoseconds {
        let days = floorDivide(start, Self.day)
        switch self {
        case .week: return start + 7 * Self.day
        case .year, .half, .quarter, .month:
            let (year, month, _) = Self.civil(days)
            let step: Int64 =
                switch self {
                case .year: 12
                case .half: 6
                case .quarter: 3
                default: 1
                }
            let index = year * 12 + (month - 1) + step
            return Self.days(floorDivide(index, 12), index - floorDivide(index, 12) * 12 + 1, 1) * Self.day
        }
    }

    private func floorDivide(_ value: Int64, _ divisor: Int64) -> Int64 {
        Self.floorDivide(value, divisor)
    }

    static func floorDivide(_ value: Int64, _ divisor: Int64) -> Int64 {
        let quotient = value / divisor
        return value % divisor < 0 ? quotient - 1 : quotient
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
    static func days(_ year: Int64, _ month: Int64, _ day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = floorDivide(y, 400)
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    /// The date of a day since 1970-01-01.
    static func civil(_ days: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let z = days + 719_468
        let era = floorDivide(z, 146_097)
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthPart = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthPart + 2) / 5 + 1
        let month = monthPart < 10 ? monthPart + 3 : monthPart - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}
