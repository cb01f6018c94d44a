import WireProtocol

/// A refused request, answered as Gnocchi answers it: the status and a JSON
/// body `{"code", "title", "description"}` (webob's error format with
/// `Accept: application/json`), where `description` is a message or, for
/// invalid input, `{"cause", "reason", "detail"}`.
public struct APIError: Error, Sendable {
    public let status: Int
    public let description: JSONValue

    public init(_ status: Int, _ message: String) {
        self.status = status
        self.description = .string(message)
    }

    public init(_ status: Int, description: JSONValue) {
        self.status = status
        self.description = description
    }

    /// Voluptuous' validation failure, as Gnocchi reports it.
    public static func invalidInput(_ reason: String, path: [String] = []) -> APIError {
        APIError(
            400,
            description: .object([
                "cause": "Invalid input", "reason": .string(reason), "detail": .array(path.map { .string($0) }),
            ]))
    }

    public static func badRequest(_ message: String) -> APIError { APIError(400, message) }
    public static func notFound(_ message: String) -> APIError { APIError(404, message) }
    public static func conflict(_ message: String) -> APIError { APIError(409, message) }
    public static let forbidden = APIError(403, "Access was denied to this resource.")
    public static let unauthorized = APIError(
        401, "This server could not verify that you are authorized to access the document you requested.")
    public static let methodNotAllowed = APIError(405, "The method is not allowed for this resource.")
    public static let notAcceptable = APIError(
        406, "The server could not generate a response acceptable to your client (application/json only).")
    public static let unsupportedMediaType = APIError(
        415, "The request's content type is not supported: send application/json.")

    static func title(_ status: Int) -> String {
        switch status {
        case 400: "Bad Request"
        case 401: "Unauthorized"
        case 403: "Forbidden"
        case 404: "Not Found"
        case 405: "Method Not Allowed"
        case 406: "Not Acceptable"
        case 409: "Conflict"
        case 413: "Request Entity Too Large"
        case 415: "Unsupported Media Type"
        case 500: "Internal Server Error"
        case 503: "Service Unavailable"
        default: "Error"
        }
    }

    public var response: APIResponse {
        var response = APIResponse.json(
            status,
            .object(["code": .number(Double(status)), "title": .string(Self.title(status)), "description": description])
        )
        if status == 401 { response.headers.append(("WWW-Authenticate", "Basic realm=\"gnocchi\"")) }
        return response
    }
}
