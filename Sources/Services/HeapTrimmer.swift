import CMalloc
import Foundation
import Glibc
import Logging

/// Gives memory that the heap no longer uses back to the system.
///
/// glibc keeps freed memory in its arenas for reuse, and returns little of it
/// by itself: the buffers of thousands of short-lived ZeroMQ connections,
/// freed when they close, stayed resident (a storm of 10 bursts of 5,000
/// connections left 370 MB resident, 300 MB of it free; docs/reliability.md).
/// Every `interval`, on a thread of its own (never the concurrency pool, as the
/// call takes the arenas' locks), this checks how much free memory the heap
/// holds and, above `threshold`, calls `malloc_trim(0)`, which releases the free
/// pages of every arena.
public enum HeapTrimmer {
    /// Starts the trimming thread for the life of the process; later calls do nothing.
    /// `ORZO_HEAP_TRIM=off` leaves the heap to glibc (to measure the difference).
    public static func start(interval: Duration = .seconds(1), threshold: Int = 32 << 20) {
        guard ProcessInfo.processInfo.environment["ORZO_HEAP_TRIM"] != "off" else { return }
        guard !started.exchange(true) else { return }
        let thread = Thread {
            let logger = Logger(label: "orzo.memory")
            let (seconds, attoseconds) = interval.components
            let microseconds = UInt32(clamping: seconds * 1_000_000 + attoseconds / 1_000_000_000_000)
            while true {
                usleep(microseconds)
                let free = freeHeapBytes()
                guard free > threshold else { continue }
                malloc_trim(0)
                logger.debug("returned free heap memory to the system", metadata: ["free_bytes": "\(free)"])
            }
        }
        thread.name = "orzo-heap-trim"
        thread.start()
    }

    /// Bytes the heap holds free, over every arena (`mallinfo2().fordblks`).
    public static func freeHeapBytes() -> Int { Int(mallinfo2().fordblks) }

    private static let started = StartedFlag()
}

/// A flag set once, from any thread.
private final class StartedFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false

    func exchange(_ new: Bool) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        let old = value
        value = new
        return old
    }
}
