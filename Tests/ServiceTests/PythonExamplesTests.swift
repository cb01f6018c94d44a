import Foundation
import Testing

/// examples/python, run with Debian's Python and python3-zmq against a real `orzo serve`.
@Suite("Python examples against orzo serve", .serialized, .timeLimit(.minutes(5)))
struct PythonExamplesTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../..")

    func python(_ script: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
        try runProcess(
            URL(fileURLWithPath: "/usr/bin/python3"),
            [Self.repository.appendingPathComponent("examples/python/\(script)").path] + arguments)
    }

    @Test("agent.py puts and pushes; query.py reads the aggregates back and reports errors")
    func examples() throws {
        let server = try ServeProcess()
        defer { _ = server.stop() }
        let put = try python("agent.py", ["--ack", server.ack, "--push", server.push, "py.cpu", "42", "py.mem", "7.5"])
        #expect(put.status == 0, "\(put.output)")
        #expect(put.output.contains("accepted 2, rejected 0"), "\(put.output)")
        let read = try python(
            "query.py", ["--query", server.query, #"{"op": "get_measures", "metric": "py.cpu", "refresh": true}"#])
        #expect(read.status == 0, "\(read.output)")
        #expect(read.output.contains(", 42]"), "\(read.output)")
        let refused = try python("query.py", ["--query", server.query, #"{"op": "get_metric", "name": "missing"}"#])
        #expect(refused.status == 1)
        #expect(refused.output.contains("not_found"), "\(refused.output)")
    }
}
