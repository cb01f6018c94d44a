import Foundation
import Glibc
import Testing

/// A fake `$NOTIFY_SOCKET`: a Unix datagram socket the test reads.
final class NotifySocket {
    let path = "/tmp/orzo-e2e-notify-\(UInt64.random(in: 0..<UInt64.max)).sock"
    let fd: Int32

    init() throws {
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            for (index, byte) in path.utf8.enumerated() { buffer[index] = byte }
        }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard result == 0 else { throw ServeProcess.ServeFailed(output: "bind \(path): errno \(errno)") }
    }

    deinit {
        close(fd)
        unlink(path)
    }

    /// The next datagram, or nil after `timeout` milliseconds.
    func receive(timeout: Int32) -> String? {
        var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&poller, 1, timeout) == 1 else { return nil }
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count = recv(fd, &buffer, buffer.count, 0)
        return count > 0 ? String(decoding: buffer.prefix(count), as: UTF8.self) : nil
    }
}

@Suite(
    "sd_notify: every role reports READY, STATUS, WATCHDOG and STOPPING, in order", .serialized, .timeLimit(.minutes(5))
)
struct SystemdNotifyTests {
    @Test("a role under a fake NOTIFY_SOCKET", arguments: ["serve", "ingest", "metricd", "query", "statsd"])
    func notifications(role: String) async throws {
        let notify = try NotifySocket()
        let id = UInt64.random(in: 0..<UInt64.max)
        let process = Process()
        process.executableURL = orzoExecutable
        var arguments = [role]
        if role == "statsd" {
            arguments += ["--statsd-endpoint", "127.0.0.1:0", "--ack-endpoint", "ipc:///tmp/orzo-e2e-\(id)-ack"]
        } else {
            arguments += ["--data-dir", "/tmp/orzo-storage-tests/notify-\(id)"]
        }
        if role == "serve" || role == "ingest" {
            arguments += [
                "--push-endpoint", "ipc:///tmp/orzo-e2e-\(id)-push", "--ack-endpoint", "ipc:///tmp/orzo-e2e-\(id)-ack",
            ]
        }
        if role == "serve" || role == "query" { arguments += ["--query-endpoint", "ipc:///tmp/orzo-e2e-\(id)-query"] }
        if role == "serve" { arguments += ["--http-endpoint", "off"] }
        process.arguments = arguments
        var environment = ProcessInfo.processInfo.environment
        environment["NOTIFY_SOCKET"] = notify.path
        environment["WATCHDOG_USEC"] = "300000"  // pings every 150 ms
        process.environment = environment
        process.standardOutput = FileHandle.nullDevice
        let errors = Pipe()
        process.standardError = errors
        try process.run()

        var messages: [String] = []
        let deadline = ContinuousClock.now + .seconds(20)
        func sawWatchdog() -> Bool { messages.contains { $0.contains("WATCHDOG=1") } }
        while !sawWatchdog() && ContinuousClock.now < deadline {
            if let message = notify.receive(timeout: 500) { messages.append(message) }
        }
        process.terminate()  // SIGTERM
        while ContinuousClock.now < deadline, !messages.contains(where: { $0.contains("STOPPING=1") }) {
            if let message = notify.receive(timeout: 500) { messages.append(message) }
        }
        process.waitUntilExit()
        let lines = messages.flatMap { $0.split(separator: "\n").map(String.init) }
        func first(_ prefix: String) -> Int? { lines.firstIndex { $0.hasPrefix(prefix) } }
        let ready = try #require(first("READY=1"), "\(lines)")
        let status = try #require(first("STATUS="), "\(lines)")
        let watchdog = try #require(first("WATCHDOG=1"), "\(lines)")
        let stopping = try #require(first("STOPPING=1"), "\(lines)")
        #expect(ready < status && status < watchdog && watchdog < stopping, "\(lines)")
        #expect(process.terminationStatus == 0)
        // Under systemd, log lines carry a syslog priority and no timestamp.
        let log = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        if role == "serve" {
            #expect(
                log.split(separator: "\n").contains { $0.hasPrefix("<6>orzo.serve: serving ") && $0.contains("push=") },
                "\(log)")
        }
        #expect(!log.split(separator: "\n").contains { !$0.hasPrefix("<") }, "every line has a priority: \(log)")
    }

    @Test("at a terminal, log lines start with a timestamp and the level")
    func terminalLogs() throws {
        let id = UInt64.random(in: 0..<UInt64.max)
        let process = Process()
        process.executableURL = orzoExecutable
        process.arguments = [
            "serve", "--data-dir", "/tmp/orzo-storage-tests/log-\(id)", "--push-endpoint",
            "ipc:///tmp/orzo-e2e-\(id)-push",
            "--ack-endpoint", "ipc:///tmp/orzo-e2e-\(id)-ack", "--query-endpoint", "ipc:///tmp/orzo-e2e-\(id)-query",
            "--http-endpoint", "off",
        ]
        var environment = ProcessInfo.processInfo.environment
        environment["NOTIFY_SOCKET"] = nil
        environment["JOURNAL_STREAM"] = nil
        process.environment = environment
        let output = Pipe()
        process.standardOutput = output
        let errors = Pipe()
        process.standardError = errors
        try process.run()
        _ = output.fileHandleForReading.availableDataUntilNewline()  // ready
        process.terminate()
        process.waitUntilExit()
        let log = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let line = try #require(log.split(separator: "\n").first { $0.contains("orzo.serve: serving") }, "\(log)")
        #expect(
            line.range(
                of: #"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z info orzo\.serve: serving "#, options: .regularExpression)
                != nil, "\(line)")
    }
}
