import ArgumentParser
import Foundation
import Logging
import ServiceLifecycle
import Services
import Synchronization

/// The long-running parts of a role, in the order they start; they stop in the
/// reverse order (swift-service-lifecycle's graceful shutdown), so `orzo serve`
/// stops taking measures before its workers finish their cycles and its query
/// socket closes.
struct RoleServices {
    fileprivate var services: [NamedService] = []

    /// Adds a service; `name` is what the log says if it ends on its own.
    mutating func addTask(_ name: String, _ body: @escaping @Sendable () async throws -> Void) {
        services.append(NamedService(name: name, body: body))
    }
}

/// One of a role's services: it runs until the graceful shutdown reaches it,
/// which cancels it (each service stops at cancellation: a cycle in progress
/// completes and releases its lease, a put in progress is answered).
private struct NamedService: Service, CustomStringConvertible {
    let name: String
    let body: @Sendable () async throws -> Void
    var description: String { name }

    func run() async throws {
        #if DEBUG
            // Tests only: this service ends on its own after a moment, as a bug would.
            if ProcessInfo.processInfo.environment["ORZO_TEST_END_SERVICE"] == name {
                try await Task.sleep(for: .milliseconds(200))
                return
            }
        #endif
        try await cancelWhenGracefulShutdown(body)
    }
}

/// How long a graceful shutdown may take before what is left is cancelled at
/// once; systemd's stop timeout (90 s by default) comes after.
let gracefulShutdownDeadline: Duration = .seconds(30)

/// Runs a role's services under a `ServiceGroup` until SIGTERM or SIGINT, then
/// shuts them down gracefully, within ``gracefulShutdownDeadline``. A service that
/// ends or fails on its own stops the whole process with a log line and a
/// non-zero exit: a role never goes on with a part missing.
func runUntilSignalled(notifier: SystemdNotifier? = nil, _ start: (inout RoleServices) -> Void) async throws {
    signal(SIGTERM, SIG_IGN)
    signal(SIGINT, SIG_IGN)
    // Watching before any service starts: a signal sent as soon as a role says it
    // is ready (systemd, a test) was lost in between, and the process never stopped.
    let signals = SignalWatcher([SIGTERM, SIGINT])
    HeapTrimmer.start()  // every role: memory freed after connection storms goes back to the system
    var services = RoleServices()
    start(&services)
    let logger = Logger(label: "orzo.lifecycle")
    var configuration = ServiceGroupConfiguration(
        services: services.services.map { service in
            ServiceGroupConfiguration.ServiceConfiguration(
                service: service, successTerminationBehavior: .cancelGroup, failureTerminationBehavior: .cancelGroup)
        },
        logger: logger)
    configuration.maximumGracefulShutdownDuration = gracefulShutdownDeadline
    configuration.maximumCancellationDuration = .seconds(10)
    let group = ServiceGroup(configuration: configuration)
    let stopping = Stopping()
    do {
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            tasks.addTask {
                await signals.wait()
                stopping.begin()
                notifier?.notify("STOPPING=1")
                logger.info(
                    "stopping: finishing what is in progress", metadata: ["deadline": "\(gracefulShutdownDeadline)"])
                await group.triggerGracefulShutdown()
            }
            try await tasks.next()  // the group ended: by the shutdown, or on its own
            tasks.cancelAll()
        }
    } catch {
        logger.critical("a service stopped on its own; the process stops", metadata: ["error": "\(error)"])
        throw ExitCode(70)  // EX_SOFTWARE
    }
    guard stopping.begun else {
        logger.critical("the services ended without being asked to; the process stops")
        throw ExitCode(70)
    }
}

/// Whether a shutdown was asked for (by a signal) before the services ended.
private final class Stopping: Sendable {
    private let flag = Mutex(false)
    func begin() { flag.withLock { $0 = true } }
    var begun: Bool { flag.withLock { $0 } }
}
