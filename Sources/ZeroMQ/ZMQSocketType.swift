import CZeroMQ

/// The ZeroMQ socket patterns Orzo uses.
public enum ZMQSocketType: Sendable, Hashable, CaseIterable {
    case push, pull, req, rep, dealer, router, pub, sub, pair

    var rawValue: Int32 {
        switch self {
        case .push: ZMQ_PUSH
        case .pull: ZMQ_PULL
        case .req: ZMQ_REQ
        case .rep: ZMQ_REP
        case .dealer: ZMQ_DEALER
        case .router: ZMQ_ROUTER
        case .pub: ZMQ_PUB
        case .sub: ZMQ_SUB
        case .pair: ZMQ_PAIR
        }
    }
}
