import AccessControl
import Logging
import Metrics
import NIOCore
import NIOPosix
import OrzoClient
import Storage
import Synchronization
import Timeseries
import WireProtocol

/// `orzo statsd`: a UDP listener for the statsd line protocol that flushes
/// each interval's aggregated values into Orzo with acknowledged puts.
/// Metrics that do not exist yet are created by Orzo's archive-policy rules.
///
/// Nothing accepted is lost quietly: a flush that gets no acknowledgement is
/// kept and sent again with the next one (up to `maximumBacklog` measures);
/// what the server refuses, and what is dropped, is counted.
public final class StatsdBridge: Sendable {
    public struct Options: Sendable {
        public var host: String
        public var port: Int
        public var flushInterval: Duration
        public var endpoints: OrzoClient.Endpoints
        public var prefix: String
        public var maximumBacklog: Int
        /// CURVE towards an Orzo whose sockets need it (docs/security.md); the key
        /// needs the `agent` role.
        public var security: ClientSecurity?

        /// How long a flush waits for each acknowledgement: the flush interval,
        /// between 1 and 5 s, so that a slow Orzo delays at most about one flush.
        var putTimeout: Duration { min(max(flushInterval, .seconds(1)), .seconds(5)) }

        public init(
            host: String = "127.0.0.1", port: Int = 8125, flushInterval: Duration = .seconds(10),
            endpoints: OrzoClient.Endpoints = .init(), prefix: String = "", maximumBacklog: Int = 1_000_000
        ) {
            self.host = host
            self.port = port
            self.flushInterval = flushInterval
            self.endpoints = endpoints
            self.prefix = prefix
            self.maximumBacklog = maximumBacklog
        }
    }

    /// What left the bridge, beside the aggregator's line counts.
    public struct FlushCounts: Sendable, Hashable {
        public var flushes = 0
        public var failedFlushes = 0
        public var measuresStored = 0
        /// Refused by Orzo one by one (a non-finite value, a timestamp out of range).
        public var measuresRejected = 0
        /// Names no archive-policy rule matches.
        public var measuresDroppedUnknownMetric = 0
        /// Older unsent measures let go when the backlog was full.
        public var measuresDroppedBacklogFull = 0
        public var measuresWaiting = 0
    }

    public let options: Options
    public let aggregator: StatsdAggregator
    private let flushCounts = Mutex(FlushCounts())
    private let logger = Logger(label: "orzo.statsd")
    private let measuresExported = Dictionary(
        uniqueKeysWithValues: ["stored", "rejected", "dropped_unknown_metric", "dropped_backlog_full"].map {
            ($0, Counter(label: "orzo_statsd_measures_total", dimensions: [("outcome", $0)]))
        })
    private let flushesExported = Dictionary(
        uniqueKeysWithValues: ["ok", "failed"].map {
            ($0, Counter(label: "orzo_statsd_flushes_total", dimensions: [("outcome", $0)]))
        })

    public init(options: Options) {
        self.options = options
        self.aggregator = StatsdAggregator(prefix: options.prefix)
    }

    public var counts: FlushCounts { flushCounts.withLock { $0 } }

    /// Listens and flushes until cancelled; a last flush on the way out.
    /// `ready` gets the bound port (useful with port 0).
    public func run(ready: @Sendable (Int) -> Void = { _ in }) async throws {
        let channel = try await DatagramBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelOption(.socketOption(.so_reuseaddr), value: 1)
            // Bursts of datagrams must not overflow the kernel's queue while we parse.
            .channelOption(.socketOption(.so_rcvbuf), value: 8 << 20)
            .channelOption(.recvAllocator, value: FixedSizeRecvByteBufferAllocator(capacity: 65_536))
            .channelOption(.maxMessagesPerRead, value: 64)
            .bind(host: options.host, port: options.port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<AddressedEnvelope<ByteBuffer>, AddressedEnvelope<ByteBuffer>>(
                        wrappingChannelSynchronously: channel)
                }
            }
        let port = channel.channel.localAddress?.port ?? options.port
        ready(port)
        logger.info("listening", metadata: ["udp": "\(options.host):\(port)"])
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { [aggregator] in
                try await channel.executeThenClose { inbound, _ in
                    for try await envelope in inbound {
                        aggregator.record(datagram: Substring(String(buffer: envelope.data)))
                    }
                }
            }
            group.addTask { try await self.flushLoop() }
            try await group.next()
            group.cancelAll()
        }
    }

    private func flushLoop() async throws {
        let client = try OrzoClient(
            endpoints: options.endpoints, timeout: options.putTimeout, attempts: 2, security: options.security)
        var waiting: [String: [Measure]] = [:]
        while !Task.isCancelled {
            do {
                try await Task.sleep(for: options.flushInterval)
            } catch {
                break
            }
            waiting = await flush(into: waiting, client: client)
        }
        // Shutting down: one last flush, so the interval in progress is not lost. A new
        // task, because this one is cancelled and its socket waits would end at once.
        let left = waiting
        let options = options
        _ = await Task {
            guard
                let client = try? OrzoClient(
                    endpoints: options.endpoints, timeout: .seconds(5), attempts: 2, security: options.security)
            else {
                return
            }
            _ = await self.flush(into: left, client: client)
        }.value
    }

    /// Sends the interval's measures with what is still waiting; returns what
    /// must wait for the next flush.
    func flush(into waiting: [String: [Measure]], client: OrzoClient) async -> [String: [Measure]] {
        var batch = waiting
        for (name, measures) in aggregator.flush(at: wallClockNanoseconds()) { batch[name, default: []] += measures }
        guard !batch.isEmpty else { return [:] }
        let total = batch.values.reduce(0) { $0 + $1.count }
        do {
            try await send(batch, client: client)
            flushCounts.withLock {
                $0.flushes += 1
                $0.measuresWaiting = 0
            }
            flushesExported["ok"]!.increment()
            return [:]
        } catch {
            logger.warning(
                "flush failed; kept for the next one", metadata: ["measures": "\(total)", "error": "\(error)"])
            var kept = batch
            var dropped = 0
            // Over the bound: let go of whole metrics, in name order, until under it.
            for name in kept.keys.sorted() where total - dropped > options.maximumBacklog {
                dropped += kept.removeValue(forKey: name)?.count ?? 0
            }
            flushCounts.withLock {
                $0.failedFlushes += 1
                $0.measuresDroppedBacklogFull += dropped
                $0.measuresWaiting = total - dropped
            }
            flushesExported["failed"]!.increment()
            measuresExported["dropped_backlog_full"]!.increment(by: Int64(dropped))
            return kept
        }
    }

    /// One put; if Orzo refuses it for a name no rule matches, each metric is
    /// sent alone so that only the unmatched names are dropped.
    private func send(_ batch: [String: [Measure]], client: OrzoClient) async throws {
        do {
            record(try await client.put(batch))
        } catch let error as OrzoClientError where error.code == "unknown_metric" {
            for (name, measures) in batch {
                do {
                    record(try await client.put([name: measures]))
                } catch let error as OrzoClientError where error.code == "unknown_metric" {
                    logger.error("no archive-policy rule matches; measures dropped", metadata: ["metric": "\(name)"])
                    flushCounts.withLock { $0.measuresDroppedUnknownMetric += measures.count }
                    measuresExported["dropped_unknown_metric"]!.increment(by: Int64(measures.count))
                }
            }
        }
    }

    private func record(_ result: OrzoClient.PutResult) {
        flushCounts.withLock {
            $0.measuresStored += result.accepted
            $0.measuresRejected += result.rejected
        }
        measuresExported["stored"]!.increment(by: Int64(result.accepted))
        measuresExported["rejected"]!.increment(by: Int64(result.rejected))
    }
}
