import Logging
import NIOCore
import NIOHTTP1
import NIOPosix

/// Carries ``GnocchiAPI`` over HTTP/1.1 (keep-alive, one request at a time
/// per connection, many connections at once), under a path prefix.
///
/// Hostile input: a body larger than `maxBodyBytes` is answered 413 as soon as
/// it passes the limit, and the connection closed (the rest is never read); a
/// connection idle for `idleTimeout` is closed; the request head is bounded by
/// NIO's parser (80 KB).
public struct GnocchiHTTPServer: Sendable {
    public let host: String
    public let port: Int
    /// Where the API is mounted, for example `/gnocchi`; empty for the root.
    public let prefix: String
    public let api: GnocchiAPI
    public var maxBodyBytes = 64 << 20
    public var idleTimeout: TimeAmount = .seconds(60)
    /// The size of the slices a reply's body is written in.
    static let writeSlice = 64 << 10

    public init(host: String, port: Int, prefix: String = "", api: GnocchiAPI) {
        self.host = host
        self.port = port
        var prefix = prefix
        while prefix.hasSuffix("/") { prefix.removeLast() }
        if !prefix.isEmpty && !prefix.hasPrefix("/") { prefix = "/" + prefix }
        self.prefix = prefix
        self.api = api
    }

    /// Serves until cancelled. `ready` gets the bound port (useful with port 0).
    public func run(ready: @Sendable (Int) -> Void = { _ in }) async throws {
        let idleTimeout = idleTimeout
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .serverChannelOption(.backlog, value: 256)
            .bind(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(IdleStateHandler(allTimeout: idleTimeout))
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(CloseOnIdle())
                    return try NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>(
                        wrappingChannelSynchronously: channel)
                }
            }
        ready(server.channel.localAddress?.port ?? port)
        let logger = Logger(label: "orzo.http")
        try await withThrowingDiscardingTaskGroup { group in
            try await server.executeThenClose { connections in
                for try await connection in connections {
                    group.addTask {
                        do { try await serve(connection) } catch {
                            logger.debug("connection ended", metadata: ["error": "\(error)"])
                        }
                    }
                }
            }
        }
    }

    private func serve(_ connection: NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>) async throws {
        try await connection.executeThenClose { inbound, outbound in
            var head: HTTPRequestHead?
            var body: [UInt8] = []
            /// Writes one response, with `Connection: close` unless kept alive.
            func send(_ response: APIResponse, to request: HTTPRequestHead, keepAlive: Bool) async throws {
                var headers = HTTPHeaders(response.headers.map { ($0.name, $0.value) })
                headers.replaceOrAdd(name: "Content-Length", value: "\(response.body.count)")
                if !keepAlive { headers.replaceOrAdd(name: "Connection", value: "close") }
                try await outbound.write(
                    .head(
                        HTTPResponseHead(
                            version: request.version, status: HTTPResponseStatus(statusCode: response.status),
                            headers: headers)))
                if request.method != .HEAD && !response.body.isEmpty {
                    // In slices, each write waiting for the socket to drain: a slow
                    // reader of a large reply holds one slice in NIO, not a copy of it all.
                    var offset = 0
                    while offset < response.body.count {
                        let end = min(offset + Self.writeSlice, response.body.count)
                        try await outbound.write(.body(.byteBuffer(ByteBuffer(bytes: response.body[offset..<end]))))
                        offset = end
                    }
                }
                try await outbound.write(.end(nil))
            }
            for try await part in inbound {
                switch part {
                case .head(let request):
                    head = request
                    body = []
                case .body(let buffer):
                    guard let request = head else { continue }
                    guard body.count + buffer.readableBytes <= maxBodyBytes else {
                        let refusal = APIError(413, "The body is larger than \(maxBodyBytes) bytes").response
                        try await send(refusal, to: request, keepAlive: false)
                        return
                    }
                    body.append(contentsOf: buffer.readableBytesView)
                case .end:
                    guard let request = head else { continue }
                    head = nil
                    try await send(await answer(request, body), to: request, keepAlive: request.isKeepAlive)
                    if !request.isKeepAlive { return }
                }
            }
        }
    }

    private func answer(_ head: HTTPRequestHead, _ body: [UInt8]) async -> APIResponse {
        let (fullPath, query) = APIRequest.splitTarget(head.uri)
        guard fullPath == prefix || fullPath.hasPrefix(prefix + "/") || prefix.isEmpty else {
            return APIError.notFound("The resource could not be found.").response
        }
        let path = String(fullPath.dropFirst(prefix.count))
        let hostHeader = head.headers.first(name: "Host") ?? "\(host):\(port)"
        let request = APIRequest(
            method: head.method.rawValue, path: path, query: query,
            headers: head.headers.map { ($0.name, $0.value) }, body: body,
            base: "http://\(hostHeader)\(prefix)")
        return await api.respond(to: request)
    }
}

/// Closes a connection the idle-state handler reports idle.
private final class CloseOnIdle: ChannelInboundHandler, Sendable {
    typealias InboundIn = HTTPServerRequestPart

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent {
            context.close(promise: nil)
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }
}
