import FlowKit
import Foundation

/// An HTTP request as it goes on the wire: the integration layer builds it from a `RequestPlan`.
public struct HTTPRequest: Sendable, Equatable {
    public var method: String
    public var url: URL
    public var headers: [(name: String, value: String)]
    public var body: Data?
    /// Seconds to wait for the whole response.
    public var timeout: Double
    /// Headers that carry a credential besides `Authorization` and `Cookie` (an API key header
    /// filled from a secret), lowercased: like those two, they are never sent to another host,
    /// scheme or port when a redirect leads there.
    public var credentialHeaders: Set<String>
    /// Whether the body carries a credential (a secret in a form or JSON field): a redirect that
    /// would send the body on to another host, scheme or port is not followed.
    public var bodyCarriesCredentials: Bool

    public init(method: String, url: URL, headers: [(name: String, value: String)] = [], body: Data? = nil, timeout: Double = 30,
                credentialHeaders: Set<String> = [], bodyCarriesCredentials: Bool = false) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.timeout = timeout
        self.credentialHeaders = Set(credentialHeaders.map { $0.lowercased() })
        self.bodyCarriesCredentials = bodyCarriesCredentials
    }

    /// Whether a redirect to `next` leaves the origin (host, scheme or port) of `url`.
    public func leavesOrigin(to next: URL) -> Bool {
        next.host?.lowercased() != url.host?.lowercased() || next.scheme?.lowercased() != url.scheme?.lowercased()
            || (next.port ?? Self.defaultPort(next)) != (url.port ?? Self.defaultPort(url))
    }

    /// The headers never sent to another origin: `Authorization`, `Cookie` and `credentialHeaders`.
    public func isCredentialHeader(_ name: String) -> Bool {
        let lower = name.lowercased()
        return lower == "authorization" || lower == "cookie" || lower == "proxy-authorization" || credentialHeaders.contains(lower)
    }

    private static func defaultPort(_ url: URL) -> Int? {
        switch url.scheme?.lowercased() {
        case "http": 80
        case "https": 443
        default: nil
        }
    }

    public static func == (a: HTTPRequest, b: HTTPRequest) -> Bool {
        a.method == b.method && a.url == b.url && a.body == b.body && a.timeout == b.timeout
            && a.headers.map(\.name) == b.headers.map(\.name) && a.headers.map(\.value) == b.headers.map(\.value)
    }

    /// The first value of a header, by case-insensitive name.
    public func header(_ name: String) -> String? {
        headers.first { $0.name.caseInsensitiveCompare(name) == .orderedSame }?.value
    }
}

public struct HTTPResponse: Sendable {
    public var status: Int
    public var headers: [(name: String, value: String)]
    public var body: Data
    /// When the IP's timeout runs out (set by the transport): reading outputs from the body
    /// (`ResponseReader`) stops there too, as a `timeout` failure.
    public var deadline: Date?

    public init(status: Int, headers: [(name: String, value: String)] = [], body: Data = Data(), deadline: Date? = nil) {
        self.status = status
        self.headers = headers
        self.body = body
        self.deadline = deadline
    }

    public func header(_ name: String) -> String? {
        headers.first { $0.name.caseInsensitiveCompare(name) == .orderedSame }?.value
    }
}

/// A problem of the integration layer (encoding a request, reading a response): a stable id and
/// a message in the diagnostics' voice (lowercase, no final period, source text in single quotes).
public struct IntegrationError: Error, Sendable, Equatable, CustomStringConvertible {
    public var id: String
    public var message: String

    public init(_ id: String, _ message: String) {
        self.id = id
        self.message = message
    }

    public var description: String { message }
}
