import Glibc
import Storage
import Synchronization

/// Metric leases for processes on one host: a table of fixed 128-byte slots per
/// sack (`leases/<sack>`), a metric's slot chosen by hash. A slot is read and
/// written only under an open-file-description lock on its bytes, which the
/// kernel releases if the process dies. A record (docs/storage-files.md):
///
///     version u8 (1: a holder; 0: none) | dirty u8 | strikes u8 | zero u8 | holder pid u32 LE |
///     metric id 32 bytes | token 32 bytes | expiry i64 LE (CLOCK_BOOTTIME ns) |
///     boot id 16 bytes | struck metric id 32 bytes
///
/// The strikes (the poison guard, docs/reliability.md) outlive holders: how many
/// cycles in a row of the struck metric ended with their holder gone (the lease
/// taken over after it expired unreleased). A commit of that metric clears them.
/// One metric's strikes per slot: a slot shared by two metrics keeps the latest.
///
/// `dirty` (1) says the holder may have written a state slot that is not yet
/// durable; whoever takes the slot over after it expires makes that metric's
/// slots durable first (FileStorage.acquireLease).
///
/// Expiry is on the boot clock, so wall-clock jumps do not matter; a record from
/// an earlier boot (another boot id) is expired, and so is one whose holder
/// process is gone (same boot, its pid no longer exists): a killed worker's
/// metrics are taken over at once, not after the lease. A pid that exists is
/// trusted even if reused by another process: that only waits for the expiry.
/// Records written before the pid was kept have 0 there: expiry only. Two metrics that share a slot
/// exclude each other while one holds it: that only costs parallelism.
final class LeaseTable: Sendable {
    static let slotSize = 128
    static let slotsPerSack = 4096
    let directory: String
    /// Open descriptors of the sack files, per sack, for reuse: opening the file
    /// for every lease operation cost a tenth of a worker's time. A call takes a
    /// descriptor no other call is using, because an OFD lock excludes other open
    /// file descriptions, not other users of the same one: so calls in this
    /// process exclude each other exactly as calls in other processes do.
    private let idle = Mutex<[Int: [Int32]]>([:])

    /// Set by `orzo serve`, which holds its directory alone: any other process's
    /// record is a dead predecessor's.
    let exclusive: Bool

    init(directory: String, exclusive: Bool = false) {
        self.directory = directory
        self.exclusive = exclusive
    }

    deinit {
        for fd in idle.withLock({ $0.values.flatMap { $0 } }) { close(fd) }
    }

    struct Record {
        var metric: String
        var token: String
        var expiry: Int64
        var boot: [UInt8]
        /// The holder's process id (0: not recorded).
        var pid: Int32
        var dirty: Bool
    }

    private func path(_ sack: Int) -> String { "\(directory)/\(sack)" }

    /// FNV-1a of the id read backwards: independent of the sack hash.
    private func slot(_ metric: MetricID) -> Int {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in metric.rawValue.utf8.reversed() {
            hash ^= UInt64(byte)
            hash &*= 0x0000_0100_0000_01B3
        }
        return Int(hash % UInt64(Self.slotsPerSack))
    }

    /// Abandoned cycles of one metric, kept in the slot beside its holder.
    struct Strikes: Equatable {
        var metric: String
        var count: UInt8

        static let none = Strikes(metric: "", count: 0)

        /// `metric`'s count, 0 if the slot counts another metric's.
        func count(of metric: MetricID) -> Int { self.metric == metric.rawValue ? Int(count) : 0 }

        /// One more abandoned cycle of `metric`.
        mutating func strike(_ metric: String) {
            if self.metric == metric {
                count = count == .max ? .max : count + 1
            } else {
                self = Strikes(metric: metric, count: 1)
            }
        }

        mutating func clear(_ metric: MetricID) { if self.metric == metric.rawValue { self = .none } }
    }

    /// Runs `body` with the metric's slot locked; `nil` if another process holds
    /// the slot lock right now (it is mid-operation: treat as busy).
    func withSlot<T>(_ metric: MetricID, sack: Int, _ body: (inout Record?) throws -> T) throws -> T? {
        try withSlot(metric, sack: sack) { (record: inout Record?, _: inout Strikes) in try body(&record) }
    }

    /// ``withSlot(_:sack:_:)`` with the slot's strikes too.
    func withSlot<T>(
        _ metric: MetricID, sack: Int, _ body: (inout Record?, inout Strikes) throws -> T
    ) throws -> T? {
        let file = path(sack)
        let fd = try idle.withLock { $0[sack]?.popLast() } ?? POSIX.open(file, O_RDWR | O_CREAT)
        defer { idle.withLock { $0[sack, default: []].append(fd) } }
        let offset = slot(metric) * Self.slotSize
        var locked = false
        for _ in 0..<200 {  // the holder's critical section is short: wait up to ~1 s
            if try POSIX.tryLockRange(fd, start: offset, length: Self.slotSize) {
                locked = true
                break
            }
            usleep(5000)
        }
        guard locked else { return nil }
        defer { POSIX.unlockRange(fd, start: offset, length: Self.slotSize) }
        var bytes = [UInt8](repeating: 0, count: Self.slotSize)
        let count = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress, Self.slotSize, off_t(offset)) }
        let whole = count == Self.slotSize
        var record: Record? = whole && bytes[0] == 1 ? decode(bytes) : nil
        var strikes =
            whole && bytes[2] > 0
            ? Strikes(metric: String(decoding: bytes[96..<128], as: UTF8.self), count: bytes[2]) : .none
        let before = whole ? bytes : []
        let result = try body(&record, &strikes)
        let after = encode(record, strikes)
        if after != before {
            let written = after.withUnsafeBytes { pwrite(fd, $0.baseAddress, Self.slotSize, off_t(offset)) }
            guard written == Self.slotSize else { throw POSIX.error("pwrite", file) }
        }
        return result
    }

    /// Whether `record` is a live lease: unexpired, from this boot, and held by a
    /// process that still exists.
    func isLive(_ record: Record?) -> Bool {
        guard let record, record.boot == Self.bootID, record.expiry > Self.bootClock() else { return false }
        return Self.processExists(record.pid, exclusive: exclusive)
    }

    /// Whether the holder `pid` may still run: this process, or an existing one
    /// (EPERM: it exists under another user). Unknown (0) counts as existing.
    static func processExists(_ pid: Int32, exclusive: Bool) -> Bool {
        if pid <= 0 || pid == getpid() { return true }
        if exclusive { return false }
        return kill(pid, 0) == 0 || errno == EPERM
    }

    private func decode(_ bytes: [UInt8]) -> Record {
        Record(
            metric: String(decoding: bytes[8..<40], as: UTF8.self),
            token: String(decoding: bytes[40..<72], as: UTF8.self),
            expiry: Int64(bitPattern: readUInt64(bytes, 72)), boot: Array(bytes[80..<96]),
            pid: Int32(
                bitPattern: UInt32(bytes[4]) | UInt32(bytes[5]) << 8 | UInt32(bytes[6]) << 16 | UInt32(bytes[7]) << 24),
            dirty: bytes[1] == 1)
    }

    private func encode(_ record: Record?, _ strikes: Strikes) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: Self.slotSize)
        if strikes.count > 0 {
            bytes[2] = strikes.count
            bytes.replaceSubrange(96..<128, with: Array(strikes.metric.utf8.prefix(32)))
        }
        guard let record else { return bytes }
        bytes[0] = 1
        bytes[1] = record.dirty ? 1 : 0
        let pid = UInt32(bitPattern: record.pid)
        bytes.replaceSubrange(4..<8, with: (0..<4).map { UInt8(truncatingIfNeeded: pid >> (8 * $0)) })
        bytes.replaceSubrange(8..<40, with: Array(record.metric.utf8.prefix(32)))
        bytes.replaceSubrange(40..<72, with: Array(record.token.utf8.prefix(32)))
        var expiry = [UInt8]()
        appendUInt64(UInt64(bitPattern: record.expiry), to: &expiry)
        bytes.replaceSubrange(72..<80, with: expiry)
        bytes.replaceSubrange(80..<96, with: record.boot.prefix(16))
        return bytes
    }

    /// This boot's id (/proc/sys/kernel/random/boot_id), 16 bytes.
    static let bootID: [UInt8] = {
        let text = (try? POSIX.readAll("/proc/sys/kernel/random/boot_id")).flatMap { $0 }.map {
            String(decoding: $0, as: UTF8.self)
        }
        let hexDigits = Array((text ?? "").utf8.filter { $0 != UInt8(ascii: "-") && $0 != UInt8(ascii: "\n") })
        var bytes = [UInt8](repeating: 0, count: 16)
        for index in 0..<min(16, hexDigits.count / 2) {
            bytes[index] =
                UInt8(String(decoding: hexDigits[(2 * index)..<(2 * index + 2)], as: UTF8.self), radix: 16) ?? 0
        }
        return bytes
    }()

    static func bootClock() -> Int64 {
        var time = timespec()
        clock_gettime(CLOCK_BOOTTIME, &time)
        return Int64(time.tv_sec) * 1_000_000_000 + Int64(time.tv_nsec)
    }
}
