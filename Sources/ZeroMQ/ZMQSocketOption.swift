import CZeroMQ

/// A socket option Orzo sets. Durations are whole milliseconds; `nil` means
/// "forever" (libzmq's -1).
public enum ZMQSocketOption: Sendable, Hashable {
    /// Messages queued for sending before the socket blocks or drops (`ZMQ_SNDHWM`; 0 = unlimited).
    case sendHighWaterMark(Int)
    /// Messages queued on receipt before the peer is pushed back (`ZMQ_RCVHWM`; 0 = unlimited).
    case receiveHighWaterMark(Int)
    /// Largest inbound message in bytes; a peer that sends a larger one is disconnected
    /// (`ZMQ_MAXMSGSIZE`; -1 = unlimited).
    case maxMessageSize(Int64)
    /// How long unsent messages are kept after close (`ZMQ_LINGER`).
    case linger(Duration?)
    /// How long a blocking send waits before giving up (`ZMQ_SNDTIMEO`).
    case sendTimeout(Duration?)
    /// How long a blocking receive waits before giving up (`ZMQ_RCVTIMEO`).
    case receiveTimeout(Duration?)
    /// A ROUTER fails with `EHOSTUNREACH` instead of dropping a message to an unknown peer
    /// (`ZMQ_ROUTER_MANDATORY`).
    case routerMandatory(Bool)
    /// Queue messages only to completed connections (`ZMQ_IMMEDIATE`).
    case immediate(Bool)
    /// This socket's identity as ROUTER peers see it (`ZMQ_ROUTING_ID`).
    case routingID([UInt8])
    /// Act as a CURVE server (`ZMQ_CURVE_SERVER`).
    case curveServer(Bool)
    /// This socket's long-term CURVE public key, Z85 (`ZMQ_CURVE_PUBLICKEY`).
    case curvePublicKey(String)
    /// This socket's long-term CURVE secret key, Z85 (`ZMQ_CURVE_SECRETKEY`).
    case curveSecretKey(String)
    /// The server's public key a CURVE client expects, Z85 (`ZMQ_CURVE_SERVERKEY`).
    case curveServerKey(String)
    /// The ZAP authentication domain (`ZMQ_ZAP_DOMAIN`).
    case zapDomain(String)
    /// A SUB socket's subscription prefix (`ZMQ_SUBSCRIBE`).
    case subscribe([UInt8])
    /// Removes a subscription (`ZMQ_UNSUBSCRIBE`).
    case unsubscribe([UInt8])
    /// Wait before reconnecting after a lost connection (`ZMQ_RECONNECT_IVL`).
    case reconnectInterval(Duration)

    var name: String {
        switch self {
        case .sendHighWaterMark: "ZMQ_SNDHWM"
        case .receiveHighWaterMark: "ZMQ_RCVHWM"
        case .maxMessageSize: "ZMQ_MAXMSGSIZE"
        case .linger: "ZMQ_LINGER"
        case .sendTimeout: "ZMQ_SNDTIMEO"
        case .receiveTimeout: "ZMQ_RCVTIMEO"
        case .routerMandatory: "ZMQ_ROUTER_MANDATORY"
        case .immediate: "ZMQ_IMMEDIATE"
        case .routingID: "ZMQ_ROUTING_ID"
        case .curveServer: "ZMQ_CURVE_SERVER"
        case .curvePublicKey: "ZMQ_CURVE_PUBLICKEY"
        case .curveSecretKey: "ZMQ_CURVE_SECRETKEY"
        case .curveServerKey: "ZMQ_CURVE_SERVERKEY"
        case .zapDomain: "ZMQ_ZAP_DOMAIN"
        case .subscribe: "ZMQ_SUBSCRIBE"
        case .unsubscribe: "ZMQ_UNSUBSCRIBE"
        case .reconnectInterval: "ZMQ_RECONNECT_IVL"
        }
    }

    /// The option code and its value as the bytes `zmq_setsockopt` takes.
    var encoded: (code: Int32, value: [UInt8]) {
        switch self {
        case .sendHighWaterMark(let count): (ZMQ_SNDHWM, int32Bytes(count))
        case .receiveHighWaterMark(let count): (ZMQ_RCVHWM, int32Bytes(count))
        case .maxMessageSize(let size): (ZMQ_MAXMSGSIZE, withUnsafeBytes(of: size) { Array($0) })
        case .linger(let duration): (ZMQ_LINGER, int32Bytes(milliseconds(duration)))
        case .sendTimeout(let duration): (ZMQ_SNDTIMEO, int32Bytes(milliseconds(duration)))
        case .receiveTimeout(let duration): (ZMQ_RCVTIMEO, int32Bytes(milliseconds(duration)))
        case .routerMandatory(let on): (ZMQ_ROUTER_MANDATORY, int32Bytes(on ? 1 : 0))
        case .immediate(let on): (ZMQ_IMMEDIATE, int32Bytes(on ? 1 : 0))
        case .routingID(let id): (ZMQ_ROUTING_ID, id)
        case .curveServer(let on): (ZMQ_CURVE_SERVER, int32Bytes(on ? 1 : 0))
        // Z85 keys are passed with their terminating NUL (41 bytes), as libzmq expects.
        case .curvePublicKey(let key): (ZMQ_CURVE_PUBLICKEY, Array(key.utf8) + [0])
        case .curveSecretKey(let key): (ZMQ_CURVE_SECRETKEY, Array(key.utf8) + [0])
        case .curveServerKey(let key): (ZMQ_CURVE_SERVERKEY, Array(key.utf8) + [0])
        case .zapDomain(let domain): (ZMQ_ZAP_DOMAIN, Array(domain.utf8))
        case .subscribe(let prefix): (ZMQ_SUBSCRIBE, prefix)
        case .unsubscribe(let prefix): (ZMQ_UNSUBSCRIBE, prefix)
        case .reconnectInterval(let duration): (ZMQ_RECONNECT_IVL, int32Bytes(milliseconds(duration)))
        }
    }
}

private func int32Bytes(_ value: Int) -> [UInt8] {
    withUnsafeBytes(of: Int32(clamping: value)) { Array($0) }
}

/// Whole milliseconds, rounded up so that a short timeout never becomes 0
/// ("do not wait"); `nil` is -1 ("forever").
private func milliseconds(_ duration: Duration?) -> Int {
    guard let duration else { return -1 }
    let (seconds, attoseconds) = duration.components
    let millis = seconds * 1000 + (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000
    return Int(clamping: max(0, millis))
}
