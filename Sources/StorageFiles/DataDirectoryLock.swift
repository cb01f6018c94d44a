import Glibc
import Storage

/// Who may use a data directory besides this process.
public enum DataDirectorySharing: Sendable {
    /// Roles (`orzo ingest`, `metricd`, `query`) share a directory with each other.
    case shared
    /// `orzo serve` holds its directory alone: no other serve, no role. Every
    /// lease found at start then belongs to a dead process and is taken back at
    /// once (LeaseTable).
    case exclusive
    /// No lock, and nothing changed at open: for `orzo check` without `--repair`,
    /// which reads a directory whatever holds it.
    case unlocked
}

/// `flock` on `<root>/orzo.lock`, held for the life of the store: shared by
/// roles, exclusive for `orzo serve`. The kernel drops it when the process
/// dies, so a crash never leaves the directory locked. The exclusive holder
/// writes its pid into the file for the refusal message of the next one.
final class DataDirectoryLock: Sendable {
    let fd: Int32

    init(root: String, sharing: DataDirectorySharing) throws {
        let path = "\(root)/orzo.lock"
        fd = try POSIX.open(path, O_RDWR | O_CREAT | O_CLOEXEC)
        precondition(sharing != .unlocked, "an unlocked store takes no lock")
        let operation = (sharing == .exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB
        guard flock(fd, operation) == 0 else {
            let code = errno
            // Only an exclusive holder blocks a shared lock: then the pid is its.
            let holder = String(
                decoding: ((try? POSIX.readAll(fd: fd, path)) ?? []).filter { (48...57).contains($0) }, as: UTF8.self)
            close(fd)
            guard code == EWOULDBLOCK else { throw POSIX.error("flock", path) }
            switch sharing {
            case .shared:
                throw StorageError.unavailable(
                    "the data directory \(root) is held by a running orzo serve"
                        + (holder.isEmpty ? "" : " (pid \(holder))")
                        + ": stop it, or point this role at another directory")
            case .exclusive, .unlocked:
                throw StorageError.unavailable(
                    "the data directory \(root) is in use by another orzo process (an orzo serve or roles): "
                        + "orzo serve needs it alone")
            }
        }
        if sharing == .exclusive {
            let pid = Array("\(getpid())\n".utf8)
            _ = ftruncate(fd, 0)
            _ = pid.withUnsafeBytes { pwrite(fd, $0.baseAddress, pid.count, 0) }
        }
    }

    deinit { close(fd) }
}
