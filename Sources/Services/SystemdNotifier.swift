import Foundation
import Glibc
import Synchronization

/// The sd_notify protocol, without libsystemd: one datagram per message to the
/// Unix socket named by `$NOTIFY_SOCKET` (a path, or `@name` in the abstract
/// namespace). Without the variable every call does nothing, so the roles run
/// the same outside systemd.
public final class SystemdNotifier: Sendable {
    private let address: [UInt8]?
    /// Half the watchdog interval systemd asks for (`$WATCHDOG_USEC`), if any.
    public let watchdogInterval: Duration?
    /// Whether READY=1 was sent: status and watchdog pings wait for it.
    private let ready = Mutex(false)

    public init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        if let socket = environment["NOTIFY_SOCKET"], !socket.isEmpty {
            var bytes = Array(socket.utf8)
            if bytes.first == UInt8(ascii: "@") { bytes[0] = 0 }  // abstract namespace
            address = bytes
        } else {
            address = nil
        }
        if let text = environment["WATCHDOG_USEC"], let microseconds = Int64(text), microseconds > 0 {
            watchdogInterval = .microseconds(microseconds / 2)
        } else {
            watchdogInterval = nil
        }
    }

    public var isEnabled: Bool { address != nil }

    /// Sends `READY=1`, `STATUS=…`, `STOPPING=1`, `WATCHDOG=1`, or several lines at once.
    public func notify(_ message: String) {
        if message.contains("READY=1") { ready.withLock { $0 = true } }
        guard var address else { return }
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return }
        defer { close(fd) }
        var unixAddress = sockaddr_un()
        unixAddress.sun_family = sa_family_t(AF_UNIX)
        let capacity = MemoryLayout.size(ofValue: unixAddress.sun_path)
        guard address.count < capacity else { return }
        address.append(0)
        withUnsafeMutableBytes(of: &unixAddress.sun_path) { path in
            for (index, byte) in address.enumerated() { path[index] = byte }
        }
        // An abstract address is exactly as long as its name; a path includes its NUL.
        let isAbstract = address.first == 0
        let length = MemoryLayout<sa_family_t>.size + (isAbstract ? address.count - 1 : address.count)
        let bytes = Array(message.utf8)
        _ = withUnsafePointer(to: &unixAddress) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { socketAddress in
                bytes.withUnsafeBytes {
                    sendto(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL), socketAddress, socklen_t(length))
                }
            }
        }
    }

    /// Pings the watchdog and refreshes the status line until the task is cancelled.
    public func keepAlive(status: @Sendable () -> String) async {
        let period = watchdogInterval.map { min($0, .seconds(5)) } ?? .seconds(5)
        while !Task.isCancelled && !ready.withLock({ $0 }) { try? await Task.sleep(for: .milliseconds(20)) }
        while !Task.isCancelled {
            try? await Task.sleep(for: period)
            notify((watchdogInterval != nil ? "WATCHDOG=1\n" : "") + "STATUS=\(status())")
        }
    }
}
