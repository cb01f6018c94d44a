import Storage
import Timeseries

/// The verbs of wire protocol v1 (../shared/spec/wire-protocol-v1.md, docs/protocol.md).
public enum Verb {
    public static let put = "orzo.v1.put"
    public static let query = "orzo.v1.query"
    public static let ok = "orzo.v1.ok"
    public static let error = "orzo.v1.error"
}

/// The error codes a reply can carry.
public enum ErrorCode: String, Sendable, Hashable, CaseIterable {
    case malformed
    case unknownVerb = "unknown_verb"
    case unknownMetric = "unknown_metric"
    case unavailable
    case badRequest = "bad_request"
    case notFound = "not_found"
    case conflict
    case `internal`
    /// The client's key has a role that may not do this (docs/security.md).
    case forbidden
}

/// Why one measure of an accepted message was rejected.
public enum RejectionReason: String, Sendable, Hashable, CaseIterable {
    case nonFiniteValue = "non_finite_value"
    case timestampOutOfRange = "timestamp_out_of_range"
}

/// A protocol-level refusal of a whole message.
public struct ProtocolError: Error, Hashable, Sendable, CustomStringConvertible {
    public let code: ErrorCode
    public let message: String

    public init(_ code: ErrorCode, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code.rawValue): \(message)" }
}

/// The measures of one metric in a put message, after validation.
public struct PutEntry: Sendable, Hashable {
    public let name: String
    public let measures: [Measure]
    /// (index in the metric's measures frame, reason) of each rejected measure.
    public let rejections: [Rejection]

    public struct Rejection: Sendable, Hashable {
        public let index: Int
        public let reason: RejectionReason
    }
}

/// A validated put message.
public struct PutMessage: Sendable, Hashable {
    /// The request id of the acknowledged form; nil for fire-and-forget.
    public let requestID: [UInt8]?
    public let entries: [PutEntry]

    public var acceptedCount: Int { entries.reduce(0) { $0 + $1.measures.count } }
    public var rejectedCount: Int { entries.reduce(0) { $0 + $1.rejections.count } }
}

public enum PutParser {
    /// Timestamps at or after 2262-01-01T00:00:00Z are refused (the spec's bound,
    /// inside Int64 nanoseconds).
    public static let timestampLimit: Nanoseconds = Limits.timestampEnd

    /// Parses a fire-and-forget message: verb, then (name, measures) pairs.
    public static func parsePush(_ frames: [[UInt8]]) throws(ProtocolError) -> PutMessage {
        guard let verb = frames.first else { throw ProtocolError(.malformed, "empty message") }
        guard verb == Array(Verb.put.utf8) else {
            throw ProtocolError(.unknownVerb, "unknown verb '\(printable(verb))'")
        }
        return PutMessage(requestID: nil, entries: try entries(frames.dropFirst()))
    }

    /// Parses an acknowledged message as the ROUTER receives it after the
    /// envelope: verb, request id, then (name, measures) pairs.
    public static func parseAcknowledged(_ frames: ArraySlice<[UInt8]>) throws(ProtocolError) -> PutMessage {
        guard let verb = frames.first else { throw ProtocolError(.malformed, "empty message") }
        guard verb == Array(Verb.put.utf8) else {
            throw ProtocolError(.unknownVerb, "unknown verb '\(printable(verb))'")
        }
        guard frames.count >= 2 else { throw ProtocolError(.malformed, "no request id") }
        let requestID = frames[frames.startIndex + 1]
        guard (1...64).contains(requestID.count) else {
            throw ProtocolError(.malformed, "a request id has 1 to 64 bytes, not \(requestID.count)")
        }
        return PutMessage(requestID: requestID, entries: try entries(frames.dropFirst(2)))
    }

    static func entries(_ frames: ArraySlice<[UInt8]>) throws(ProtocolError) -> [PutEntry] {
        guard !frames.isEmpty else { throw ProtocolError(.malformed, "no metric in the message") }
        guard frames.count % 2 == 0 else {
            throw ProtocolError(.malformed, "frames after the header come in (name, measures) pairs")
        }
        var entries: [PutEntry] = []
        var index = frames.startIndex
        while index < frames.endIndex {
            let name = try metricName(frames[index])
            let measuresFrame = frames[index + 1]
            guard !measuresFrame.isEmpty, measuresFrame.count % MeasureRecords.recordSize == 0,
                let decoded = MeasureRecords.decode(measuresFrame)
            else {
                throw ProtocolError(
                    .malformed,
                    "the measures frame of '\(name)' has \(measuresFrame.count) bytes, not a non-zero multiple of 16")
            }
            var accepted: [Measure] = []
            var rejections: [PutEntry.Rejection] = []
            accepted.reserveCapacity(decoded.count)
            for (position, measure) in decoded.enumerated() {
                if !measure.value.isFinite {
                    rejections.append(.init(index: position, reason: .nonFiniteValue))
                } else if measure.timestamp < 0 || measure.timestamp >= timestampLimit {
                    rejections.append(.init(index: position, reason: .timestampOutOfRange))
                } else {
                    accepted.append(measure)
                }
            }
            entries.append(PutEntry(name: name, measures: accepted, rejections: rejections))
            index += 2
        }
        return entries
    }

    /// A metric name: UTF-8, 1 to 255 bytes, no control characters.
    public static func metricName(_ bytes: [UInt8]) throws(ProtocolError) -> String {
        guard (1...255).contains(bytes.count) else {
            throw ProtocolError(.malformed, "a metric name has 1 to 255 bytes, not \(bytes.count)")
        }
        guard let name = String(validating: bytes, as: UTF8.self) else {
            throw ProtocolError(.malformed, "a metric name is UTF-8")
        }
        guard !name.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) else {
            throw ProtocolError(.malformed, "a metric name has no control characters")
        }
        return name
    }

    public static func printable(_ bytes: [UInt8]) -> String {
        String(decoding: bytes.prefix(40), as: UTF8.self).unicodeScalars.map {
            $0.value < 0x20 || $0.value == 0x7F ? "?" : String($0)
        }.joined()
    }
}
