import Foundation
import Glibc
import OrzoClient
import Rados
import Testing

/// The `orzo` executable built beside the tests.
let orzoExecutable = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    .appendingPathComponent("orzo")

/// Runs a program to its end: its exit status and its standard output and
/// error together. `input` goes to its standard input, which is then closed.
func runProcess(
    _ executable: URL, _ arguments: [String], environment extra: [String: String] = [:], input: String? = nil
) throws -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = executable
    process.arguments = arguments
    process.environment = ProcessInfo.processInfo.environment.merging(extra) { $1 }
    let output = Pipe()
    process.standardOutput = output
    process.standardError = output
    let stdin = Pipe()
    process.standardInput = stdin
    try process.run()
    if let input { stdin.fileHandleForWriting.write(Data(input.utf8)) }
    try stdin.fileHandleForWriting.close()
    let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    return (process.terminationStatus, text)
}

/// ``runProcess(_:_:environment:input:)`` on a thread of its own: a test that
/// waits on a long-running program must not hold one of the concurrency pool's
/// threads (two here) while other suites need them.
func runProcessOffPool(
    _ executable: URL, _ arguments: [String], environment extra: [String: String] = [:]
) async throws -> (status: Int32, output: String) {
    try await withCheckedThrowingContinuation { continuation in
        Thread {
            continuation.resume(with: Result { try runProcess(executable, arguments, environment: extra) })
        }.start()
    }
}

/// Calls `body` with 127.0.0.1:`port` as a `sockaddr` and its length.
func withLoopbackAddress<T>(port: Int, _ body: (UnsafeMutablePointer<sockaddr>, socklen_t) -> T) -> T {
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    return withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
}

/// Role processes (`orzo query`, `ingest`, `metricd`) sharing one store: a data
/// directory (`dataDirectory`) or a namespace of the test cluster.
final class RoleGroup: OrzoEndpoints, @unchecked Sendable {
    enum Store: String, CaseIterable, CustomTestStringConvertible {
        case files, ceph
        var testDescription: String { rawValue }
    }
    enum Role { case query, ingest, metricd }

    let id = UInt64.random(in: 0..<UInt64.max)
    private(set) var processes: [RoleProcess] = []
    let dataDirectory: String
    /// How `orzo` commands reach the store (`--data-dir …` or the Ceph options).
    let backendArguments: [String]
    var push: String { "ipc:///tmp/orzo-roles-\(id)-push" }
    var ack: String { "ipc:///tmp/orzo-roles-\(id)-ack" }
    var query: String { "ipc:///tmp/orzo-roles-\(id)-query" }
    var endpoints: OrzoClient.Endpoints { .init(push: push, ack: ack, query: query) }

    init(_ store: Store, roles: [Role] = [.query, .ingest, .metricd], dataDirectory: String? = nil) throws {
        self.dataDirectory = dataDirectory ?? "/tmp/orzo-storage-tests/roles-\(id)"
        let backend: [String]
        switch store {
        case .files: backend = ["--data-dir", self.dataDirectory]
        case .ceph:
            guard let conf = cephConf() else {
                throw ServeProcess.ServeFailed(output: "ORZO_TEST_CEPH_CONF is not set")
            }
            backend = ["--ceph-conf", conf, "--pool", "orzo-test-services", "--namespace", "roles-\(id)"]
        }
        backendArguments = backend
        defer { if processes.count < roles.count { stop() } }
        for role in roles {
            switch role {
            case .query: processes.append(try RoleProcess(["query"] + backend + ["--query-endpoint", query]))
            case .ingest:
                processes.append(
                    try RoleProcess(["ingest"] + backend + ["--push-endpoint", push, "--ack-endpoint", ack]))
            case .metricd: processes.append(try RoleProcess(["metricd"] + backend + ["--workers", "1"]))
            }
        }
    }

    func stop() { stopProcesses(processes.map(\.process)) }

    /// The group's namespace on the test cluster, from this process (Ceph stores only).
    func cephIOContext() async throws -> RadosIOContext {
        let cluster = try await RadosCluster.connect(RadosConfiguration(configurationFile: cephConf()!))
        return try cluster.ioContext(pool: "orzo-test-services", namespace: "roles-\(id)")
    }
}
