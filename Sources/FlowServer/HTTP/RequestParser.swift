import Foundation

/// The limits a request must stay within.
public struct HTTPLimits: Sendable {
    /// Request line and headers together.
    public var maxHeadBytes = 16 * 1024
    public var maxHeaders = 100
    public var maxBodyBytes = 64 * 1024

    public init(maxHeadBytes: Int = 16 * 1024, maxHeaders: Int = 100, maxBodyBytes: Int = 64 * 1024) {
        self.maxHeadBytes = maxHeadBytes
        self.maxHeaders = maxHeaders
        self.maxBodyBytes = maxBodyBytes
    }
}

/// A request head, parsed.
struct RequestHead {
    var method: String
    var path: String
    var query: String?
    var version: String
    var headers: [(name: String, value: String)]
    /// Bytes of the head, the blank line included.
    var length: Int
    var contentLength: Int
    var keepAlive: Bool
    var expectsContinue: Bool
}

/// Why a request was refused before it reached the handler; the connection is closed after the
/// answer, since what follows on it cannot be trusted.
struct RequestRefusal: Error {
    var status: Int
    var code: String
    var message: String
}

/// Reads an HTTP/1.1 request head (RFC 9112), strictly: CRLF line ends, no line folding, no
/// whitespace before a header's colon, one Content-Length, no Transfer-Encoding (a proxy in
/// front sends the length; accepting both is how requests are smuggled).
enum RequestParser {
    /// The head, nil when it is not complete yet, or the refusal.
    static func parseHead(_ buffer: [UInt8], limits: HTTPLimits) -> Result<RequestHead, RequestRefusal>? {
        guard let end = headEnd(buffer, limit: limits.maxHeadBytes) else {
            if buffer.count > limits.maxHeadBytes {
                return .failure(RequestRefusal(status: 431, code: "headersTooLarge",
                                               message: "the request line and headers are over \(limits.maxHeadBytes) bytes"))
            }
            return nil
        }
        return parse(buffer[0..<end], headLength: end + 4, limits: limits)
    }

    /// The index of the `\r\n\r\n` ending the head, looked for in the first `limit` bytes (+ 4).
    private static func headEnd(_ b: [UInt8], limit: Int) -> Int? {
        let n = min(b.count, limit + 4)
        guard n >= 4 else { return nil }
        var i = 0
        while i + 3 < n {
            if b[i + 3] != 10 {
                i += b[i + 3] == 13 ? 1 : 4
                continue
            }
            if b[i] == 13 && b[i + 1] == 10 && b[i + 2] == 13 { return i }
            i += 1
        }
        return nil
    }

    private static func bad(_ message: String) -> Result<RequestHead, RequestRefusal> {
        .failure(RequestRefusal(status: 400, code: "malformedRequest", message: message))
    }

    private static func parse(_ head: ArraySlice<UInt8>, headLength: Int, limits: HTTPLimits) -> Result<RequestHead, RequestRefusal> {
        var lines: [ArraySlice<UInt8>] = []
        var start = head.startIndex
        var i = head.startIndex
        while i < head.endIndex {
            if head[i] == 13 {
                guard i + 1 < head.endIndex, head[i + 1] == 10 else { return bad("a bare carriage return in the request head") }
                lines.append(head[start..<i])
                i += 2
                start = i
                continue
            }
            if head[i] == 10 { return bad("a line of the request head does not end with CRLF") }
            if head[i] == 0 { return bad("a NUL byte in the request head") }
            i += 1
        }
        lines.append(head[start..<head.endIndex])
        // RFC 9112 2.2: empty lines before the request line are ignored.
        while let first = lines.first, first.isEmpty { lines.removeFirst() }
        guard let requestLine = lines.first else { return bad("no request line") }
        let parts = requestLine.split(separator: 32, omittingEmptySubsequences: false)
        guard parts.count == 3, !parts[0].isEmpty, !parts[1].isEmpty else { return bad("the request line is not 'METHOD /path HTTP/1.1'") }
        guard parts[0].allSatisfy(isTokenByte) else { return bad("the method is not a token") }
        let method = String(decoding: parts[0], as: UTF8.self)
        let version = String(decoding: parts[2], as: UTF8.self)
        guard version == "HTTP/1.1" || version == "HTTP/1.0" else {
            if version.hasPrefix("HTTP/") && version.count == 8 {
                return .failure(RequestRefusal(status: 505, code: "httpVersion", message: "only HTTP/1.1 and HTTP/1.0 are served"))
            }
            return bad("the request line does not end with an HTTP version")
        }
        let target = parts[1]
        guard target.first == UInt8(ascii: "/"), target.allSatisfy({ $0 > 32 && $0 < 127 }) else {
            return bad("the request target must be a path starting with '/'")
        }
        let targetText = String(decoding: target, as: UTF8.self)
        var path = targetText
        var query: String?
        if let q = targetText.firstIndex(of: "?") {
            path = String(targetText[..<q])
            query = String(targetText[targetText.index(after: q)...])
        }
        if let hash = path.firstIndex(of: "#") { path = String(path[..<hash]) }

        var headers: [(name: String, value: String)] = []
        var contentLength: Int?
        var hasHost = false
        var connection = ""
        var expectsContinue = false
        for line in lines.dropFirst() {
            if line.first == 32 || line.first == 9 { return bad("folded header lines are not accepted") }
            guard let colon = line.firstIndex(of: UInt8(ascii: ":")) else { return bad("a header line without ':'") }
            let nameBytes = line[line.startIndex..<colon]
            guard !nameBytes.isEmpty, nameBytes.allSatisfy(isTokenByte) else { return bad("a header name is not a token") }
            var valueBytes = line[(colon + 1)...]
            while let f = valueBytes.first, f == 32 || f == 9 { valueBytes = valueBytes.dropFirst() }
            while let l = valueBytes.last, l == 32 || l == 9 { valueBytes = valueBytes.dropLast() }
            guard valueBytes.allSatisfy({ $0 >= 32 || $0 == 9 }), !valueBytes.contains(127) else {
                return bad("a header value holds a control character")
            }
            headers.append((String(decoding: nameBytes, as: UTF8.self).lowercased(), String(decoding: valueBytes, as: UTF8.self)))
            if headers.count > limits.maxHeaders {
                return .failure(RequestRefusal(status: 431, code: "headersTooLarge", message: "more than \(limits.maxHeaders) header lines"))
            }
            let (name, value) = headers[headers.count - 1]
            switch name {
            case "content-length":
                guard !value.isEmpty, value.utf8.count <= 18, value.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }), let n = Int(value) else {
                    return bad("Content-Length is not a number")
                }
                if let c = contentLength, c != n { return bad("two different Content-Length headers") }
                contentLength = n
            case "transfer-encoding":
                return .failure(RequestRefusal(status: 501, code: "transferEncoding",
                                               message: "request bodies must be sent with Content-Length, not Transfer-Encoding"))
            case "host":
                if hasHost { return bad("two Host headers") }
                hasHost = true
            case "connection":
                connection += "," + value.lowercased()
            case "expect":
                if value.lowercased() == "100-continue" {
                    expectsContinue = true
                } else {
                    return .failure(RequestRefusal(status: 417, code: "expectation", message: "only 'Expect: 100-continue' is understood"))
                }
            default:
                break
            }
        }
        if version == "HTTP/1.1" && !hasHost { return bad("an HTTP/1.1 request needs a Host header") }
        let tokens = connection.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        let keepAlive = version == "HTTP/1.1" ? !tokens.contains("close") : tokens.contains("keep-alive")
        let length = contentLength ?? 0
        if length > limits.maxBodyBytes {
            return .failure(RequestRefusal(status: 413, code: "bodyTooLarge", message: "the body is over the limit of \(limits.maxBodyBytes) bytes"))
        }
        return .success(RequestHead(method: method, path: path, query: query, version: version, headers: headers, length: headLength,
                                    contentLength: length, keepAlive: keepAlive, expectsContinue: expectsContinue))
    }

    /// RFC 9110 tchar.
    static func isTokenByte(_ b: UInt8) -> Bool {
        switch b {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"): true
        case UInt8(ascii: "!"), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "%"), UInt8(ascii: "&"), UInt8(ascii: "'"),
            UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "^"), UInt8(ascii: "_"),
            UInt8(ascii: "`"), UInt8(ascii: "|"), UInt8(ascii: "~"): true
        default: false
        }
    }
}
