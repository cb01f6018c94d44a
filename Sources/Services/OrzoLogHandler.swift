import Foundation
import Logging
import Synchronization

/// Orzo's log lines on standard error. Under systemd (`JOURNAL_STREAM` or
/// `NOTIFY_SOCKET` set) each line starts with the syslog priority `<N>` and has
/// no timestamp, so journald records the level and the time itself; at a
/// terminal a line starts with an ISO 8601 timestamp and the level. Metadata
/// follows as key=value. Never log measure values or secrets at info.
public struct OrzoLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level
    private let label: String
    private let journal: Bool

    public init(
        label: String, level: Logger.Level = .info, environment: [String: String] = ProcessInfo.processInfo.environment
    ) {
        self.label = label
        self.logLevel = level
        self.journal = environment["JOURNAL_STREAM"] != nil || environment["NOTIFY_SOCKET"] != nil
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        let merged = metadata.merging(event.metadata ?? [:]) { $1 }
        let fields = merged.keys.sorted().map { "\($0)=\(merged[$0]!)" }.joined(separator: " ")
        let line: String
        if journal {
            line = "<\(Self.priority(event.level))>\(label): \(event.message)\(fields.isEmpty ? "" : " " + fields)"
        } else {
            let timestamp = ISO8601DateFormatter().string(from: Date())
            line = "\(timestamp) \(event.level) \(label): \(event.message)\(fields.isEmpty ? "" : " " + fields)"
        }
        Self.output.withLock { _ in FileHandle.standardError.write(Data((line + "\n").utf8)) }
    }

    /// One line at a time from any thread.
    private static let output = Mutex(())

    /// syslog priorities: 3 error, 4 warning, 5 notice, 6 info, 7 debug.
    static func priority(_ level: Logger.Level) -> Int {
        switch level {
        case .trace, .debug: 7
        case .info: 6
        case .notice: 5
        case .warning: 4
        case .error: 3
        case .critical: 2
        }
    }
}
