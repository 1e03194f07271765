import FlowIntegration
import FlowKit
import Foundation

/// Target `http`: the bytes are what a server sent back on a connection. The first byte chooses
/// how the rest arrives (in pieces of 1 to 63 bytes, or all at once) and whether the request was
/// a HEAD; the rest is read with `HTTPResponseParser` (status line, headers, interim responses,
/// lengths, chunks, trailers) under small limits, and a redirect it holds is resolved with
/// `HTTPClient.redirect(from:response:)` against a POST that carries credentials.
///
/// Holds: no crash, hang or trap; the outcome (response or failure kind and message) is the same
/// whatever the pieces; a response has a final status (200 to 599, never 1xx) and a body within
/// the limit, none for HEAD, 204 or 304; failures are `malformed`, `tooLarge` or `connection`;
/// a redirect is followed only to http(s) with a host, never carrying the credentials (headers
/// or body) to another origin, and a 303 becomes a GET without a body.
enum HTTPTarget {
    static let limits = HTTPResponseLimits(maxBodyBytes: 2048, maxLineBytes: 256, maxHeaderBytes: 1024, maxHeaders: 16,
                                           maxInterimResponses: 3, maxChunkLineBytes: 64)

    /// Made for each input: a `static let` holding `Data` is reported as a leak by LeakSanitizer
    /// (Swift keeps tag bits in the stored pointer, so the scan does not see it).
    static var request: HTTPRequest { HTTPRequest(
        method: "POST", url: URL(string: "http://pay.example:8080/v1/charges?x=1")!,
        headers: [("Authorization", "Bearer sk_fuzz"), ("X-Api-Key", "k"), ("Content-Type", "application/x-www-form-urlencoded")],
        body: Data("amount=400&card=tok_fuzz".utf8), timeout: 5, credentialHeaders: ["X-Api-Key"], bodyCarriesCredentials: false) }

    enum Outcome: Equatable {
        case response(status: Int, headers: [String], body: Data, keep: Bool, leftOver: Int)
        case failure(TransportError)

        var withoutConnection: Outcome {
            if case .response(let s, let h, let b, _, _) = self { return .response(status: s, headers: h, body: b, keep: false, leftOver: 0) }
            return self
        }
    }

    static func outcome(_ bytes: [UInt8], isHead: Bool, pieceSize: Int) -> Outcome {
        do {
            let (r, keep, left) = try HTTPResponseParser.parse(bytes, limits: limits, host: "pay.example:8080", isHead: isHead, pieceSize: pieceSize)
            return .response(status: r.status, headers: r.headers.map { $0.name + ":" + $0.value }, body: r.body, keep: keep, leftOver: left)
        } catch {
            return .failure(error)
        }
    }

    static func run(_ bytes: [UInt8]) {
        guard let mode = bytes.first else { return }
        let input = Array(bytes.dropFirst())
        let isHead = mode & 0x80 != 0
        let pieceSize = Int(mode & 0x3F) == 0 ? Int.max : Int(mode & 0x3F)
        let first = outcome(input, isHead: isHead, pieceSize: pieceSize)
        let whole = pieceSize == Int.max ? first : outcome(input, isHead: isHead, pieceSize: Int.max)
        // Whether the connection could be kept may depend on whether bytes after the response
        // had arrived yet (they make it unusable); nothing else may.
        require(first.withoutConnection == whole.withoutConnection,
                "the outcome depends on how the bytes arrive: \(first) in pieces of \(pieceSize), \(whole) at once")
        if verbose { print("http: \(first)") }
        switch first {
        case .failure(let error):
            require(["malformed", "tooLarge", "connection"].contains(error.kind), "a reply failed as \(error.kind): \(error.message)")
            // Whatever the server sent, a message shows it without control characters.
            require(!error.message.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7F },
                    "a control character in the message \(error.message.debugDescription)")
        case .response(let status, _, let body, _, let leftOver):
            require((200...599).contains(status), "a final status of \(status)")
            require(body.count <= limits.maxBodyBytes, "a body of \(body.count) bytes over the limit")
            if isHead || status == 204 || status == 304 { require(body.isEmpty, "a body for HEAD, 204 or 304") }
            require(leftOver >= 0 && leftOver <= input.count, "\(leftOver) bytes left over of \(input.count)")
            guard let response = try? HTTPResponseParser.parse(input, limits: limits, isHead: isHead).response else {
                return require(false, "the second read failed")
            }
            checkRedirect(response)
        }
    }

    static func checkRedirect(_ response: HTTPResponse) {
        let next: HTTPRequest?
        do {
            next = try HTTPClient.redirect(from: request, response: response)
        } catch {
            // The body carries no credential here, so only a redirect that cannot be followed fails.
            require(error.kind == "malformed", "a redirect failed as \(error)")
            return
        }
        guard let next else { return }
        let scheme = next.url.scheme?.lowercased()
        require(scheme == "http" || scheme == "https", "a redirect followed to \(next.url.absoluteString)")
        require(!(next.url.host ?? "").isEmpty, "a redirect followed to \(next.url.absoluteString), without a host")
        if request.leavesOrigin(to: next.url) {
            require(!next.headers.contains { request.isCredentialHeader($0.name) }, "credentials sent on to \(next.url.absoluteString)")
        }
        if response.status == 303 { require(next.method == "GET" && next.body == nil, "a 303 followed as \(next.method)") }
        if response.status == 307 || response.status == 308 { require(next.method == "POST" && next.body == request.body, "a 307/308 changed the request") }
    }
}
