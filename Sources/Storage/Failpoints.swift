import Glibc

/// Named points in the processing cycle where a crash test can kill the process.
///
/// With `ORZO_FAILPOINT=<name>` in the environment, reaching that point sends
/// SIGKILL to the process itself: the harshest crash, with nothing flushed.
/// Without the variable this costs one comparison.
public enum Failpoint: String, Sendable, CaseIterable {
    case afterLease = "cycle.after-lease"
    case afterLoad = "cycle.after-load"
    case beforeCommit = "cycle.before-commit"
    case afterCommit = "cycle.after-commit"
    case afterAppendMark = "ingest.after-mark"
    /// The file store's group commit: the new state written, before the shared syncfs.
    case filesStateWritten = "files.state-written"
    /// The file store's group commit: renamed into place, before the second syncfs.
    case filesStateRenamed = "files.state-renamed"
    /// The file store's group commit: durable, before the consumed measures are removed.
    case filesStateDurable = "files.state-durable"

    private static let armed: String? = {
        guard let value = getenv("ORZO_FAILPOINT") else { return nil }
        return String(cString: value)
    }()

    public func hit() {
        if Self.armed == rawValue { kill(getpid(), SIGKILL) }
    }
}
