import Glibc
import Storage
import Timeseries

/// A metric's pending measures: one append-only file per metric with pending
/// batches, in its sack's directory. Its existence is the sack index entry.
///
///     header:  "OZIN" | version u8 = 1 | generation u64 LE          (13 bytes)
///     frame:   "OZBF" | payload length u32 LE | CRC-32C of payload u32 LE | payload
///     payload: 16-byte measure records
///
/// A batch is one frame, appended and fdatasync'd (and the directory fsync'd when
/// the file was created) before the append returns. A frame cut short by a crash
/// fails its checksum and is skipped; the reader resynchronises on the next magic.
enum PendingFile {
    static let header: [UInt8] = Array("OZIN".utf8) + [1]
    static let headerSize = 13
    static let frameMagic: [UInt8] = Array("OZBF".utf8)

    /// A fully consumed file no larger than this is kept (moved to the sack's
    /// `idle/` directory) for the metric's next batch, instead of being removed:
    /// on a filesystem without a journal every freed inode slows the allocation of
    /// new ones for a minute or more (ext4's recently-deleted check), and a metric
    /// that receives a batch per cycle freed and allocated one per cycle.
    static let keepLimit = 64 * 1024

    /// Where a metric's fully consumed pending file waits for its next batch.
    static func idlePath(_ path: String) -> String {
        let slash = path.lastIndex(of: "/")!
        return "\(path[..<slash])/idle\(path[slash...])"
    }

    /// Appends one batch. The file lock (flock) excludes a concurrent rewrite; a
    /// file replaced, moved or removed while we waited for the lock is reopened.
    /// A metric without a pending file gets its idle one back (a rename, which
    /// keeps the inode) or a new one. With `sync` false the caller makes it
    /// durable (one `syncfs` for many files).
    /// `afterOpen` (tests only) runs after the file is opened and before it is
    /// locked, where a worker may move the file away or remove it.
    static func append(
        _ measures: [Measure], to path: String, directory: String, sync: Bool = true,
        afterOpen: ((String) -> Void)? = nil
    ) throws {
        let payload = MeasureRecords.encode(measures)
        var frame = frameMagic
        appendUInt32(UInt32(payload.count), to: &frame)
        appendUInt32(CRC32C.checksum(payload), to: &frame)
        frame += payload
        while true {
            var created = false
            var named = false  // the pending name was (re)created: the directory changed
            var descriptor = Glibc.open(path, O_WRONLY | O_APPEND | O_CLOEXEC)
            if descriptor < 0 && errno == EINTR { continue }
            if descriptor < 0 && errno != ENOENT { throw POSIX.error("open", path) }
            if descriptor >= 0 { afterOpen?(path) }
            // No pending file: the idle one back (a rename, never over a pending file:
            // it is tried only when there is none, and the other appender racing on it
            // takes the idle file or creates one with O_EXCL).
            if descriptor < 0 {
                if rename(idlePath(path), path) == 0 {
                    named = true
                    descriptor = Glibc.open(path, O_WRONLY | O_APPEND | O_CLOEXEC)
                    if descriptor < 0 && (errno == ENOENT || errno == EINTR) { continue }
                    if descriptor < 0 { throw POSIX.error("open", path) }
                } else if errno != ENOENT {
                    throw POSIX.error("rename", idlePath(path))
                }
            }
            if descriptor < 0 {
                descriptor = Glibc.open(path, O_WRONLY | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
                if descriptor < 0 && (errno == EEXIST || errno == EINTR) { continue }
                if descriptor < 0 { throw POSIX.error("open", path) }
                created = true
                named = true
            }
            defer { close(descriptor) }
            guard flock(descriptor, LOCK_EX) == 0 else { throw POSIX.error("flock", path) }
            // Moved or removed while we waited: start over.
            guard let size = POSIX.currentSize(descriptor, path) else { continue }
            var bytes = frame
            if created || size < headerSize {
                // New, or a creator died before writing the header.
                var generation = [UInt8]()
                var random = SystemRandomNumberGenerator()
                appendUInt64(random.next(), to: &generation)
                if !created { guard ftruncate(descriptor, 0) == 0 else { throw POSIX.error("ftruncate", path) } }
                bytes = header + generation + frame
            }
            try POSIX.writeAll(descriptor, bytes, path)
            if sync {
                Failpoint.filesSync.hit()
                guard fdatasync(descriptor) == 0 else { throw POSIX.error("fdatasync", path) }
                if named { try POSIX.syncDirectory(directory) }
            }
            return
        }
    }

    struct Contents {
        let generation: UInt64
        /// Where reading started: after the consumed bytes, or after the header.
        let start: Int
        /// (end offset of the frame, measures) for each whole frame read.
        let frames: [(end: Int, measures: [Measure])]
        let size: Int
    }

    /// Reads the whole frames, skipping the bytes up to `resumingAfter.offset` if
    /// the file is still of that generation (a new generation starts afresh).
    static func read(
        _ path: String, resumingAfter consumed: (generation: UInt64, offset: Int)? = nil
    ) throws
        -> Contents?
    {
        guard let bytes = try POSIX.readAll(path) else { return nil }
        guard bytes.count >= headerSize, Array(bytes[0..<5]) == header else {
            return Contents(generation: 0, start: bytes.count, frames: [], size: bytes.count)
        }
        let generation = readUInt64(bytes, 5)
        var frames: [(end: Int, measures: [Measure])] = []
        let start = consumed.flatMap { $0.generation == generation ? max($0.offset, headerSize) : nil } ?? headerSize
        var position = start
        while position + 12 <= bytes.count {
            guard Array(bytes[position..<(position + 4)]) == frameMagic else {
                position += 1  // resynchronise after a torn frame
                continue
            }
            let length = Int(readUInt32(bytes, position + 4))
            let crc = readUInt32(bytes, position + 8)
            let end = position + 12 + length
            guard length % MeasureRecords.recordSize == 0, end <= bytes.count,
                CRC32C.checksum(Array(bytes[(position + 12)..<end])) == crc,
                let measures = MeasureRecords.decode(bytes[(position + 12)..<end])
            else {
                position += 1
                continue
            }
            frames.append((end, measures))
            position = end
        }
        return Contents(generation: generation, start: start, frames: frames, size: bytes.count)
    }

    /// Removes the bytes up to `consumed` of generation `generation`. If nothing
    /// follows, a small file moves to `idle/` (its generation and offsets go on
    /// when it comes back) and a large one is removed; else the rest is rewritten
    /// (atomically) under a new generation. Appenders wait on the lock and reopen.
    static func removeConsumed(_ path: String, generation: UInt64, consumed: Int) throws {
        guard let fd = try POSIX.openIfExists(path, O_RDWR) else { return }
        defer { close(fd) }
        guard flock(fd, LOCK_EX) == 0 else { throw POSIX.error("flock", path) }
        guard POSIX.isCurrent(fd, path) else { return }
        var header = [UInt8](repeating: 0, count: headerSize)
        guard Glibc.pread(fd, &header, headerSize, 0) == headerSize, readUInt64(header, 5) == generation else {
            return
        }
        let size = Int(fileSize(fd))
        // No directory sync: the state file already records (generation, consumed), so if
        // a crash loses this rename or unlink, the file comes back at its pending name
        // and its consumed frames are skipped. Rewritten remaining frames are still
        // synced before they take the name, since they were acknowledged.
        if consumed >= size && size <= keepLimit {
            guard rename(path, idlePath(path)) == 0 else { throw POSIX.error("rename", path) }
        } else if consumed >= size {
            guard unlink(path) == 0 else { throw POSIX.error("unlink", path) }
        } else {
            var rest = Self.header
            var random = SystemRandomNumberGenerator()
            appendUInt64(random.next(), to: &rest)
            rest += try POSIX.readAll(fd: fd, path, from: consumed)
            try POSIX.replaceAtomically(path, with: rest, durableRename: false)
        }
    }

    /// Removes a file that holds no whole frame (an ingest died before writing one).
    static func removeIfEmpty(_ path: String) throws {
        guard let contents = try read(path), contents.frames.isEmpty else { return }
        let fd = try POSIX.open(path, O_RDWR)
        defer { close(fd) }
        guard flock(fd, LOCK_EX) == 0, POSIX.isCurrent(fd, path) else { return }
        guard let again = try read(path), again.frames.isEmpty else { return }
        unlink(path)
        try POSIX.syncDirectory(String(path[..<path.lastIndex(of: "/")!]))
    }

    private static func fileSize(_ fd: Int32) -> UInt64 {
        var info = stat()
        return fstat(fd, &info) == 0 ? UInt64(info.st_size) : 0
    }
}

func appendUInt32(_ value: UInt32, to bytes: inout [UInt8]) {
    for shift in stride(from: 0, to: 32, by: 8) { bytes.append(UInt8(truncatingIfNeeded: value >> UInt32(shift))) }
}

func appendUInt64(_ value: UInt64, to bytes: inout [UInt8]) {
    for shift in stride(from: 0, to: 64, by: 8) { bytes.append(UInt8(truncatingIfNeeded: value >> UInt64(shift))) }
}

func readUInt32(_ bytes: [UInt8], _ at: Int) -> UInt32 {
    (0..<4).reduce(UInt32(0)) { $0 | UInt32(bytes[at + $1]) << UInt32(8 * $1) }
}

func readUInt64(_ bytes: [UInt8], _ at: Int) -> UInt64 {
    (0..<8).reduce(UInt64(0)) { $0 | UInt64(bytes[at + $1]) << UInt64(8 * $1) }
}
