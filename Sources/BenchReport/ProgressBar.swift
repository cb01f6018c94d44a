import Foundation
import Synchronization

/// A one-line progress bar on standard error, redrawn at most 10 times a
/// second, and only when standard error is a terminal: logs and CI output
/// stay clean.
public final class ProgressBar: Sendable {
    private let total: Int
    private let label: String
    private let enabled: Bool
    private let state = Mutex<(done: Int, drawn: ContinuousClock.Instant?)>((0, nil))

    public init(total: Int, label: String, enabled: Bool = isatty(STDERR_FILENO) == 1) {
        self.total = max(total, 1)
        self.label = label
        self.enabled = enabled
    }

    public func advance(by count: Int = 1) {
        guard enabled else { return }
        let line: String? = state.withLock { state in
            state.done += count
            let now = ContinuousClock.now
            if let drawn = state.drawn, now - drawn < .milliseconds(100), state.done < total { return nil }
            state.drawn = now
            let fraction = Double(min(state.done, total)) / Double(total)
            let filled = Int(fraction * 30)
            return "\r\(label) [\(String(repeating: "#", count: filled))\(String(repeating: " ", count: 30 - filled))] "
                + "\(Int(fraction * 100))% \(state.done)/\(total)"
        }
        if let line { FileHandle.standardError.write(Data(line.utf8)) }
    }

    /// Ends the line.
    public func finish() {
        guard enabled else { return }
        FileHandle.standardError.write(Data("\n".utf8))
    }
}
