import Foundation

/// One timed request of a benchmark run.
public struct Sample: Sendable, Hashable {
    /// `query`: a reader beside the writers (`orzo bench --query-under-load`).
    public enum Kind: String, Sendable, Hashable, CaseIterable { case write, read, query }

    public let client: Int
    public let index: Int
    public let kind: Kind
    /// Seconds from the start of the run to the start of the request.
    public let start: Double
    /// Milliseconds the request took.
    public let latency: Double

    public init(client: Int, index: Int, kind: Kind, start: Double, latency: Double) {
        self.client = client
        self.index = index
        self.kind = kind
        self.start = start
        self.latency = latency
    }

    public static let csvHeader = "client,index,kind,start_s,latency_ms"

    public var csvLine: String {
        "\(client),\(index),\(kind.rawValue),\(String(format: "%.6f", start)),\(String(format: "%.3f", latency))"
    }
}
