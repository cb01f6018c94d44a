import Glibc
import Synchronization

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
    /// The file store's group commit: the new state slot written, before the shared syncfs.
    case filesStateWritten = "files.state-written"
    /// The file store's group commit: durable, before the consumed measures are removed.
    case filesStateDurable = "files.state-durable"

    private static let armed: String? = {
        guard let value = getenv("ORZO_FAILPOINT") else { return nil }
        return String(cString: value)
    }()

    /// With `ORZO_FAILPOINT_ACTION=stop` the process stops itself (SIGSTOP) at the
    /// point's first hit instead, for a test to resume it later: a holder stalled
    /// right there.
    public static let stops: Bool = {
        guard let value = getenv("ORZO_FAILPOINT_ACTION") else { return false }
        return String(cString: value) == "stop"
    }()

    private static let stopped = Atomic<Bool>(false)

    public func hit() {
        guard Self.armed == rawValue else { return }
        guard Self.stops else { return _ = kill(getpid(), SIGKILL) }
        // Once: resumed, the process goes on through later hits. raise() signals this
        // very thread, so it stops before running another line.
        if !Self.stopped.exchange(true, ordering: .relaxed) { raise(SIGSTOP) }
    }
}
