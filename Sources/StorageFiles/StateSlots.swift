import Glibc
import Storage

/// A metric's state in two slot files, `<path>.0` and `<path>.1`, overwritten in
/// place by turns. A cycle writes the slot that does not hold the state it
/// loaded, so the last durable state is never touched while the next one is
/// written, and one `syncfs` makes the new one durable: no file is created,
/// renamed or freed per cycle. (A temporary file renamed over the old one cost an
/// inode allocation, the old inode's eviction with its discards, and a second
/// journal commit per cycle: a third of a worker's time.) The state is the valid
/// slot with the higher generation. docs/storage-files.md has the crash analysis.
enum StateSlots {
    struct Loaded {
        var state: StateFile
        var generation: UInt64
        var slot: Int
    }

    static func slotPath(_ path: String, _ slot: Int) -> String { "\(path).\(slot)" }

    /// Bytes read at once from each slot: small states are read in one call.
    private static let firstRead = 4096

    /// The metric's state; nil if it has none yet.
    ///
    /// A slot that holds a whole state whose checksum holds is valid. Only what a
    /// crash provably leaves counts as no state: a slot that is empty or reads as
    /// zeros (a first write whose blocks never reached the disk), or whose header
    /// announces more bytes than it has (a first write cut short). Bytes that are
    /// not a header at all are damage, whatever the other slot holds: no write of
    /// ours leaves them, and using the other slot would silently roll back. A slot
    /// of full length whose checksum fails is an overwrite cut short when the other
    /// slot is valid, and damage when no slot is. Readers take no lock, so a reader
    /// can meet a slot a cycle is overwriting; it then uses the other one, and looks
    /// again if neither holds (a reader slower than two cycles).
    static func read(_ path: String, metric: MetricID) throws -> Loaded? {
        var attempt = 0
        while true {
            var damaged = false
            var notAHeader: [Int] = []
            var candidates: [(slot: Int, generation: UInt64, bytes: [UInt8])] = []
            for slot in 0..<2 {
                let name = slotPath(path, slot)
                guard let fd = try POSIX.openIfExists(name, O_RDONLY) else { continue }
                defer { close(fd) }
                var bytes = try POSIX.read(fd, count: firstRead, at: 0, name)
                guard let header = StateFile.header(bytes) else {
                    if !bytes.allSatisfy({ $0 == 0 }) { notAHeader.append(slot) }
                    continue
                }
                if header.length > bytes.count {
                    bytes += try POSIX.read(fd, count: header.length - bytes.count, at: bytes.count, name)
                }
                if bytes.count < header.length { continue }  // cut short
                candidates.append((slot, header.generation, bytes))
            }
            if notAHeader.isEmpty {
                for candidate in candidates.sorted(by: { $0.generation > $1.generation }) {
                    if let (state, generation) = StateFile.decode(candidate.bytes), generation == candidate.generation {
                        return Loaded(state: state, generation: generation, slot: candidate.slot)
                    }
                    damaged = true
                }
                if !damaged { return nil }
            }
            attempt += 1
            if attempt == 5 {
                if let slot = notAHeader.first {
                    throw StorageError.corrupt(metric, "state slot \(slotPath(path, slot)): not a state header")
                }
                throw StorageError.corrupt(metric, "state slots \(path).0 and .1: no checksum holds")
            }
            usleep(1000)
        }
    }

    /// Overwrites `slot` with `bytes`, creating it (and its directory) if needed.
    /// Not synced: the caller's group commit makes it durable. The file is cut
    /// down only when it is more than twice what it holds, so a state that
    /// shrinks and grows again does not free and allocate blocks every cycle.
    static func write(_ path: String, slot: Int, _ bytes: [UInt8]) throws {
        let name = slotPath(path, slot)
        var fd = Glibc.open(name, O_WRONLY | O_CREAT | O_CLOEXEC, 0o644)
        if fd < 0 && errno == ENOENT {
            try POSIX.makeDirectories(String(path[..<path.lastIndex(of: "/")!]))
            fd = try POSIX.open(name, O_WRONLY | O_CREAT)
        } else if fd < 0 {
            throw POSIX.error("open", name)
        }
        defer { close(fd) }
        try POSIX.write(fd, bytes, at: 0, name)
        var info = stat()
        if fstat(fd, &info) == 0, Int(info.st_size) > 2 * bytes.count {
            guard ftruncate(fd, off_t(bytes.count)) == 0 else { throw POSIX.error("ftruncate", name) }
        }
    }

    /// Makes both slots durable (for a holder that died or stalled between
    /// writing a slot and its group commit).
    static func sync(_ path: String) throws {
        for slot in 0..<2 {
            let name = slotPath(path, slot)
            guard let fd = try POSIX.openIfExists(name, O_RDONLY) else { continue }
            defer { close(fd) }
            try POSIX.fsync(fd, name)
        }
    }

    static func remove(_ path: String) throws {
        for slot in 0..<2 {
            let name = slotPath(path, slot)
            if unlink(name) != 0 && errno != ENOENT { throw POSIX.error("unlink", name) }
        }
    }
}
