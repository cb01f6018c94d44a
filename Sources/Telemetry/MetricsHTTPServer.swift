import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import Prometheus

/// Serves the registry in Prometheus' text format on `GET /metrics` (and
/// nothing else) over HTTP/1.1. Off unless `--metrics-endpoint` is given.
public struct MetricsHTTPServer: Sendable {
    public let host: String
    public let port: Int
    public let registry: PrometheusCollectorRegistry

    public init(host: String, port: Int, registry: PrometheusCollectorRegistry) {
        self.host = host
        self.port = port
        self.registry = registry
    }

    /// Serves until cancelled. `ready` gets the bound port (useful with port 0).
    public func run(ready: @Sendable (Int) -> Void = { _ in }) async throws {
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .bind(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    return try NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>(
                        wrappingChannelSynchronously: channel)
                }
            }
        ready(server.channel.localAddress?.port ?? port)
        try await withThrowingDiscardingTaskGroup { group in
            try await server.executeThenClose { connections in
                for try await connection in connections {
                    group.addTask { try? await serve(connection) }
                }
            }
        }
    }

    private func serve(_ connection: NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>) async throws {
        try await connection.executeThenClose { inbound, outbound in
            var head: HTTPRequestHead?
            for try await part in inbound {
                switch part {
                case .head(let request): head = request
                case .body: continue
                case .end:
                    guard let request = head else { continue }
                    let (status, body, type) = respond(to: request)
                    var headers = HTTPHeaders([("Content-Type", type), ("Content-Length", "\(body.count)")])
                    if !request.isKeepAlive { headers.add(name: "Connection", value: "close") }
                    try await outbound.write(
                        .head(HTTPResponseHead(version: request.version, status: status, headers: headers)))
                    try await outbound.write(.body(.byteBuffer(ByteBuffer(bytes: body))))
                    try await outbound.write(.end(nil))
                    if !request.isKeepAlive { return }
                }
            }
        }
    }

    private func respond(to request: HTTPRequestHead) -> (HTTPResponseStatus, [UInt8], String) {
        let path = request.uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? request.uri
        guard path == "/metrics" else { return (.notFound, Array("not found: try /metrics\n".utf8), "text/plain") }
        guard request.method == .GET || request.method == .HEAD else {
            return (.methodNotAllowed, Array("GET only\n".utf8), "text/plain")
        }
        return (.ok, registry.emitToBuffer(), "text/plain; version=0.0.4; charset=utf-8")
    }
}
