import Glibc
import Synchronization

/// Named points in the processing cycle where a crash test can kill the process.
///
/// With `ORZO_FAILPOINT=<name>` in the environment, reaching that point sends
/// SIGKILL to the process itself: the harshest crash, with nothing flushed.
/// Without the variable this costs one comparison. Compiled into debug builds
/// (the tests') and into release builds only with `-Xswiftc -DORZO_FAILPOINTS`:
/// a production binary cannot be made to kill itself by its environment.
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
    /// Every `syncfs` and `fdatasync` of the file store, on the blocking I/O pool.
    /// With `ORZO_FAILPOINT_ACTION=stall`, each one first blocks its thread for
    /// `ORZO_FAILPOINT_STALL_MS` (default 3000): a disk that has stopped answering.
    case filesSync = "files.sync"

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

    /// With `ORZO_FAILPOINT_ACTION=stall`, how long each hit blocks its thread.
    public static let stallMicroseconds: UInt32? = {
        guard let value = getenv("ORZO_FAILPOINT_ACTION"), String(cString: value) == "stall" else { return nil }
        let milliseconds = getenv("ORZO_FAILPOINT_STALL_MS").flatMap { UInt32(String(cString: $0)) } ?? 3000
        return min(milliseconds, 600_000) * 1000
    }()

    public func hit() {
        #if DEBUG || ORZO_FAILPOINTS
            guard Self.armed == rawValue else { return }
            if let stall = Self.stallMicroseconds { return _ = usleep(stall) }
            guard Self.stops else { return _ = kill(getpid(), SIGKILL) }
            // Once: resumed, the process goes on through later hits. raise() signals this
            // very thread, so it stops before running another line.
            if !Self.stopped.exchange(true, ordering: .relaxed) { raise(SIGSTOP) }
        #endif
    }
}
