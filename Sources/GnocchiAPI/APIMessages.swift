import WireProtocol

/// One HTTP request as the API sees it: decoded, bounded, independent of the
/// server that received it (so the API is tested without sockets).
public struct APIRequest: Sendable {
    public var method: String
    /// The path after the configured prefix, still percent-encoded, without the query.
    public var path: String
    public var query: [(name: String, value: String)]
    /// Header names in lower case.
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]
    /// `scheme://host[:port]` plus the prefix: what absolute URLs (`Location`,
    /// `Link`) start with, from the request's `Host` header as Gnocchi does.
    public var base: String

    public init(
        method: String, path: String, query: [(name: String, value: String)] = [],
        headers: [(name: String, value: String)] = [], body: [UInt8] = [], base: String = "http://localhost"
    ) {
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers.map { ($0.name.lowercased(), $0.value) }
        self.body = body
        self.base = base
    }

    public func header(_ name: String) -> String? {
        let name = name.lowercased()
        return headers.first { $0.name == name }?.value
    }

    public func queryValues(_ name: String) -> [String] { query.filter { $0.name == name }.map(\.value) }
    public func queryValue(_ name: String) -> String? { queryValues(name).last }

    /// Splits a target (`/a/b%20c?x=1&y`) into its path and decoded query items.
    public static func splitTarget(_ target: String) -> (path: String, query: [(name: String, value: String)]) {
        let parts = target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        let path = String(parts.first ?? "")
        guard parts.count == 2 else { return (path, []) }
        let items = parts[1].split(separator: "&").map { item -> (name: String, value: String) in
            let pair = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = percentDecoded(String(pair[0]), plusIsSpace: true) ?? String(pair[0])
            let value = pair.count == 2 ? (percentDecoded(String(pair[1]), plusIsSpace: true) ?? String(pair[1])) : ""
            return (name, value)
        }
        return (path, items)
    }

    /// Percent-decoding to UTF-8; nil if the bytes are not UTF-8.
    public static func percentDecoded(_ text: String, plusIsSpace: Bool = false) -> String? {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count)
        var iterator = Array(text.utf8)[...]
        while let byte = iterator.popFirst() {
            if byte == UInt8(ascii: "%"), iterator.count >= 2,
                let high = hexValue(iterator[iterator.startIndex]),
                let low = hexValue(iterator[iterator.startIndex + 1])
            {
                bytes.append(high << 4 | low)
                iterator = iterator.dropFirst(2)
            } else if plusIsSpace && byte == UInt8(ascii: "+") {
                bytes.append(UInt8(ascii: " "))
            } else {
                bytes.append(byte)
            }
        }
        return String(validating: bytes, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}

/// An answer: status, headers and a body written whole.
public struct APIResponse: Sendable {
    public var status: Int
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]

    public init(status: Int, headers: [(name: String, value: String)] = [], body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// A JSON document, written as Gnocchi writes it (NaN and infinities as bare tokens).
    public static func json(
        _ status: Int, _ value: JSONValue, headers: [(name: String, value: String)] = []
    )
        -> APIResponse
    {
        APIResponse(
            status: status, headers: [("Content-Type", "application/json")] + headers, body: GnocchiJSON.encode(value))
    }

    public func header(_ name: String) -> String? {
        let name = name.lowercased()
        return headers.first { $0.name.lowercased() == name }?.value
    }
}
