import FlowKit
import Foundation

/// A request as the server read it: the head checked against the limits, the whole body in.
public struct ServerRequest: Sendable {
    public var method: String
    /// The path, percent-decoded segment by segment is left to the router; no query.
    public var path: String
    public var query: String?
    /// `HTTP/1.0` or `HTTP/1.1`.
    public var version: String
    /// Names lowercased, in order.
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]

    public func header(_ name: String) -> String? {
        let lower = name.lowercased()
        return headers.first { $0.name == lower }?.value
    }

    public init(method: String, path: String, query: String? = nil, version: String = "HTTP/1.1",
                headers: [(name: String, value: String)] = [], body: [UInt8] = []) {
        self.method = method
        self.path = path
        self.query = query
        self.version = version
        self.headers = headers
        self.body = body
    }
}

public struct ServerResponse: Sendable {
    public var status: Int
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]

    public init(status: Int, headers: [(name: String, value: String)] = [], body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// A JSON body (already JSON text).
    public static func json(_ status: Int, _ text: String, headers: [(name: String, value: String)] = []) -> ServerResponse {
        ServerResponse(status: status, headers: [("Content-Type", "application/json")] + headers, body: Array(text.utf8))
    }

    /// `{"error": {"code": …, "message": …}}`.
    public static func error(_ status: Int, _ code: String, _ message: String, headers: [(name: String, value: String)] = []) -> ServerResponse {
        json(status, "{\"error\":{\"code\":\(quote(code)),\"message\":\(quote(message))}}", headers: headers)
    }

    /// The bytes on the wire. `head` leaves the body out (HEAD) but keeps its length.
    func serialized(keepAlive: Bool, head: Bool = false) -> [UInt8] {
        var text = "HTTP/1.1 \(status) \(Self.reason(status))\r\n"
        for h in headers { text += "\(h.name): \(h.value)\r\n" }
        text += "Content-Length: \(body.count)\r\n"
        if !keepAlive { text += "Connection: close\r\n" }
        text += "\r\n"
        var bytes = Array(text.utf8)
        if !head { bytes += body }
        return bytes
    }

    static func reason(_ status: Int) -> String {
        switch status {
        case 100: "Continue"
        case 200: "OK"
        case 201: "Created"
        case 204: "No Content"
        case 304: "Not Modified"
        case 400: "Bad Request"
        case 404: "Not Found"
        case 405: "Method Not Allowed"
        case 408: "Request Timeout"
        case 409: "Conflict"
        case 411: "Length Required"
        case 413: "Content Too Large"
        case 415: "Unsupported Media Type"
        case 422: "Unprocessable Content"
        case 431: "Request Header Fields Too Large"
        case 500: "Internal Server Error"
        case 501: "Not Implemented"
        case 503: "Service Unavailable"
        case 505: "HTTP Version Not Supported"
        default: "Status"
        }
    }
}

/// JSON string quoting (FlowKit's one quoting, with `<`, `>` and `&` escaped too, so no text from
/// a flow can close a script element if a client ever puts JSON into a page).
func quote(_ s: String) -> String {
    var q = JSONText.quote(s)
    if q.utf8.contains(where: { $0 == UInt8(ascii: "<") || $0 == UInt8(ascii: ">") || $0 == UInt8(ascii: "&") }) {
        q = q.replacingOccurrences(of: "<", with: "\\u003c").replacingOccurrences(of: ">", with: "\\u003e")
            .replacingOccurrences(of: "&", with: "\\u0026")
    }
    return q
}
