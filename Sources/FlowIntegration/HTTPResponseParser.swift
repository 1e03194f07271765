import Foundation

/// How much an HTTP/1.1 response may hold before it is refused. Every count that a server
/// chooses is bounded, not only the size: a reply can be small and still ask for an absurd
/// amount of work (a million interim responses, a header line of a megabyte, a length of 2^63).
public struct HTTPResponseLimits: Sendable, Equatable {
    /// The largest body, after chunks are joined (the transport's `maxResponseBytes`).
    public var maxBodyBytes: Int
    /// The longest status line, header line or trailer line, without its line end.
    public var maxLineBytes: Int
    /// The most bytes of status line and headers of one response (interim ones each have their own).
    public var maxHeaderBytes: Int
    /// The most header fields of one response (and the most trailer fields).
    public var maxHeaders: Int
    /// The most interim (1xx) responses before the final one.
    public var maxInterimResponses: Int
    /// The longest chunk size line (size and extensions).
    public var maxChunkLineBytes: Int

    public init(maxBodyBytes: Int, maxLineBytes: Int = 16 * 1024, maxHeaderBytes: Int = 128 * 1024, maxHeaders: Int = 256,
                maxInterimResponses: Int = 8, maxChunkLineBytes: Int = 1024) {
        self.maxBodyBytes = max(0, maxBodyBytes)
        self.maxLineBytes = maxLineBytes
        self.maxHeaderBytes = maxHeaderBytes
        self.maxHeaders = maxHeaders
        self.maxInterimResponses = maxInterimResponses
        self.maxChunkLineBytes = maxChunkLineBytes
    }

    /// The most bytes read from the wire for one response, framing included: the body, its
    /// chunk lines, the headers of the final and every interim response.
    var maxWireBytes: Int {
        let body = maxBodyBytes > Int.max / 4 ? Int.max / 2 : maxBodyBytes + maxBodyBytes / 2
        return body + maxHeaderBytes * (maxInterimResponses + 2) + 64 * 1024
    }
}

/// Reads one HTTP/1.1 response (RFC 9112) from bytes handed over as they arrive: the status
/// line, the headers, interim (1xx) responses, and the body by `Content-Length`, by chunks or up
/// to the end of the stream. No socket: `HTTPClient` feeds it from one, the `http` fuzz target
/// and the tests from memory.
///
/// Design note: the reader is strict where leniency would let a server make it guess (two
/// different lengths, a length with a sign, a header line without a colon, a folded header, a
/// bare CR, a chunk size that is not hex, a 101 nobody asked for): each is a `malformed`
/// failure naming the part of the response at fault. Every count and size a server controls is
/// checked against `HTTPResponseLimits` before it is used, and all arithmetic on them is
/// overflow-checked, so no reply can trap, recurse or allocate beyond the limits.
public struct HTTPResponseParser {
    public typealias Source = () throws(TransportError) -> ArraySlice<UInt8>?

    public let limits: HTTPResponseLimits
    /// Who answered ("127.0.0.1:8080"), for messages.
    public let host: String
    /// Whether the request was a HEAD (the response has no body whatever its headers say).
    public let isHead: Bool
    private let source: Source

    private var buffer: [UInt8] = []
    private var start = 0
    /// Where the search for the next line end resumes (no byte is scanned twice).
    private var scanned = 0
    /// Every byte received so far.
    public private(set) var bytesReceived = 0
    private var ended = false

    public init(limits: HTTPResponseLimits, host: String, isHead: Bool = false, source: @escaping Source) {
        self.limits = limits
        self.host = host
        self.isHead = isHead
        self.source = source
    }

    /// Reads a whole response in `bytes` (fed in pieces of at most `pieceSize` bytes, to try
    /// every boundary). Returns the response, whether the connection could be kept, and the
    /// bytes left over after it.
    public static func parse(_ bytes: [UInt8], limits: HTTPResponseLimits, host: String = "the server", isHead: Bool = false,
                             pieceSize: Int = Int.max) throws(TransportError) -> (response: HTTPResponse, keepAlive: Bool, leftOver: Int) {
        var offset = 0
        let size = max(1, pieceSize)
        var parser = HTTPResponseParser(limits: limits, host: host, isHead: isHead) { () throws(TransportError) -> ArraySlice<UInt8>? in
            guard offset < bytes.count else { return nil }
            let end = bytes.count - offset > size ? offset + size : bytes.count
            defer { offset = end }
            return bytes[offset..<end]
        }
        let (response, keep) = try parser.read()
        return (response, keep, parser.buffered + (bytes.count - offset))
    }

    /// Bytes received but not used by the response read.
    public var buffered: Int { buffer.count - start }

    // MARK: Bytes

    /// Reads more bytes; false at the end of the stream.
    private mutating func fill() throws(TransportError) -> Bool {
        if ended { return false }
        while true {
            guard let piece = try source() else {
                ended = true
                return false
            }
            if piece.isEmpty { continue }
            bytesReceived += piece.count
            if bytesReceived > limits.maxWireBytes { throw .tooLarge(limits.maxBodyBytes) }
            // Drop what was used once it is most of the buffer, so the buffer stays near the
            // size of what is still unread.
            if start > 0 && (start == buffer.count || start >= 64 * 1024) {
                buffer.removeFirst(start)
                scanned -= start
                start = 0
            }
            buffer += piece
            return true
        }
    }

    /// The next line without its line end (LF or CRLF), or nil at the end of the stream.
    /// A line longer than `max` is refused as `what`.
    private mutating func line(max: Int, _ what: @autoclosure () -> String) throws(TransportError) -> [UInt8]? {
        scanned = Swift.max(scanned, start)
        while true {
            if let i = buffer[scanned...].firstIndex(of: 10) {
                var end = i
                if end > start && buffer[end - 1] == 13 { end -= 1 }
                guard end - start <= max else { throw malformed("\(what()) is longer than \(max) bytes") }
                let text = Array(buffer[start..<end])
                start = i + 1
                scanned = start
                return text
            }
            scanned = buffer.count
            // Room for the CR before the LF.
            if buffer.count - start > max + 1 { throw malformed("\(what()) is longer than \(max) bytes") }
            guard try fill() else {
                if buffer.count > start { throw .connection("\(host) closed the connection in the middle of \(what())") }
                return nil
            }
        }
    }

    /// The next `count` bytes (`count` is at most the body limit, checked by the caller).
    private mutating func take(_ count: Int, into body: inout [UInt8]) throws(TransportError) {
        var needed = count
        while needed > 0 {
            if buffer.count == start {
                guard try fill() else { throw .connection("the connection closed in the middle of the body") }
            }
            let n = Swift.min(needed, buffer.count - start)
            body += buffer[start..<(start + n)]
            start += n
            needed -= n
        }
    }

    private func malformed(_ detail: String) -> TransportError {
        .malformed("the response from \(host) is not valid HTTP: \(detail)")
    }

    // MARK: The response

    /// Reads the response: interim responses are skipped, the final one returned with whether
    /// the connection may carry another request.
    public mutating func read() throws(TransportError) -> (HTTPResponse, Bool) {
        var interim = 0
        while true {
            guard let statusLine = try line(max: limits.maxLineBytes, "the status line") else {
                throw .connection("\(host) closed the connection without answering")
            }
            let (version, status) = try parseStatusLine(statusLine)
            let headers = try readFields(what: "header")
            if (100...199).contains(status) {
                // 101 switches protocols, which this client never asks for.
                guard status != 101 else { throw malformed("it switches protocols (101), which was not asked for") }
                interim += 1
                guard interim <= limits.maxInterimResponses else {
                    throw malformed("it sends more than \(limits.maxInterimResponses) interim (1xx) responses")
                }
                continue
            }
            return try readBody(status: status, version: version, headers: headers)
        }
    }

    /// `HTTP/1.1 200 OK`: the minor version and the status, 100 to 599.
    private func parseStatusLine(_ l: [UInt8]) throws(TransportError) -> (Int, Int) {
        let bad = malformed("its status line '\(Self.shown(l))' is not 'HTTP/1.1 <status> <reason>'")
        // "HTTP/1.x SP DDD" then nothing or SP reason.
        guard l.count >= 12, l[0..<7].elementsEqual("HTTP/1.".utf8), l[7] &- 48 < 10, l[8] == 0x20 else { throw bad }
        var status = 0
        for k in 9..<12 {
            guard l[k] &- 48 < 10 else { throw bad }
            status = status * 10 + Int(l[k] &- 48)
        }
        guard l.count == 12 || l[12] == 0x20 else { throw bad }
        // The reason may be anything visible (obs-text included), but no control character.
        guard !l[12...].contains(where: { ($0 < 0x20 && $0 != 0x09) || $0 == 0x7F }) else { throw bad }
        guard (100...599).contains(status) else { throw malformed("its status \(status) is not between 100 and 599") }
        return (Int(l[7] &- 48), status)
    }

    /// Header (or trailer) fields up to the empty line that ends them.
    private mutating func readFields(what: String) throws(TransportError) -> [(name: String, value: String)] {
        var fields: [(name: String, value: String)] = []
        var bytes = 0
        while true {
            guard let l = try line(max: limits.maxLineBytes, "\(what) line \(fields.count + 1)") else {
                throw .connection("the connection closed in the middle of the \(what)s")
            }
            if l.isEmpty { return fields }
            bytes += l.count + 2
            guard bytes <= limits.maxHeaderBytes else { throw malformed("its \(what)s are longer than \(limits.maxHeaderBytes) bytes") }
            guard fields.count < limits.maxHeaders else { throw malformed("it has more than \(limits.maxHeaders) \(what)s") }
            let place = "\(what) line \(fields.count + 1)"
            guard l[0] != 0x20 && l[0] != 0x09 else { throw malformed("\(place) is folded onto the line before (obsolete line folding)") }
            guard let colon = l.firstIndex(of: UInt8(ascii: ":")), colon > 0 else {
                throw malformed("\(place) '\(Self.shown(l))' is not 'Name: value'")
            }
            guard l[..<colon].allSatisfy(Self.isTokenByte) else {
                throw malformed("\(place) has a name that is not a token: '\(Self.shown(l[..<colon]))'")
            }
            var v = l[(colon + 1)...]
            while let f = v.first, f == 0x20 || f == 0x09 { v = v.dropFirst() }
            while let e = v.last, e == 0x20 || e == 0x09 { v = v.dropLast() }
            guard !v.contains(where: { ($0 < 0x20 && $0 != 0x09) || $0 == 0x7F }) else {
                throw malformed("\(place) has a control character in its value")
            }
            fields.append((String(decoding: l[..<colon], as: UTF8.self), String(decoding: v, as: UTF8.self)))
        }
    }

    private mutating func readBody(status: Int, version: Int, headers: [(name: String, value: String)]) throws(TransportError) -> (HTTPResponse, Bool) {
        func values(_ name: String) -> [String] {
            headers.filter { $0.name.caseInsensitiveCompare(name) == .orderedSame }.map(\.value)
        }
        let connection = values("connection").flatMap { $0.split(separator: ",") }.map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        var keep = version == 1 && !connection.contains("close")
        var body: [UInt8] = []
        let codings = values("transfer-encoding").flatMap { $0.split(separator: ",", omittingEmptySubsequences: false) }
            .map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        let lengths = values("content-length")
        if isHead || status == 204 || status == 304 {
            // No body, whatever the headers say.
        } else if !codings.isEmpty {
            // Only `chunked` is understood: this client asks for no other coding.
            guard codings == ["chunked"] else {
                throw malformed("its Transfer-Encoding '\(Self.shown(Array(values("transfer-encoding").joined(separator: ", ").utf8)))' is not 'chunked'")
            }
            // A length beside chunks is ignored, and the connection is not trusted again (RFC 9112 §6.3).
            if !lengths.isEmpty { keep = false }
            try readChunks(into: &body)
        } else if !lengths.isEmpty {
            let length = try contentLength(lengths)
            try take(length, into: &body)
        } else {
            // The body ends when the server closes the connection.
            keep = false
            while true {
                if buffer.count - start > limits.maxBodyBytes { throw .tooLarge(limits.maxBodyBytes) }
                guard try fill() else { break }
            }
            body = Array(buffer[start...])
            start = buffer.count
        }
        // Bytes left over mean a confused exchange: the connection is not reused.
        if start != buffer.count { keep = false }
        return (HTTPResponse(status: status, headers: headers, body: Data(body)), keep)
    }

    /// The length every `Content-Length` says (`5` or `5, 5`): digits only, all the same, at
    /// most the body limit.
    private func contentLength(_ values: [String]) throws(TransportError) -> Int {
        var length: Int?
        for value in values {
            for piece in value.split(separator: ",", omittingEmptySubsequences: false) {
                let digits = piece.utf8.drop { $0 == 0x20 || $0 == 0x09 }.reversed().drop { $0 == 0x20 || $0 == 0x09 }.reversed()
                guard !digits.isEmpty, digits.allSatisfy({ $0 &- 48 < 10 }) else {
                    throw malformed("its Content-Length '\(Self.shown(Array(value.utf8)))' is not a number of bytes")
                }
                // Counted with a ceiling: any length over the limit is refused as such, however long.
                var n = 0
                for d in digits {
                    guard n <= (limits.maxBodyBytes - Int(d &- 48)) / 10 else { throw .tooLarge(limits.maxBodyBytes) }
                    n = n * 10 + Int(d &- 48)
                }
                if let length, length != n { throw malformed("it has two different Content-Length values, \(length) and \(n)") }
                length = n
            }
        }
        return length ?? 0
    }

    /// A chunked body (RFC 9112 §7.1): sizes in hex, extensions ignored, trailers read and dropped.
    private mutating func readChunks(into body: inout [UInt8]) throws(TransportError) {
        var chunks = 0
        while true {
            let place = "the size line of chunk \(chunks + 1)"
            guard let l = try line(max: limits.maxChunkLineBytes, place) else {
                throw .connection("the connection closed in the middle of the body")
            }
            var size = 0
            var k = 0
            let room = limits.maxBodyBytes - body.count
            while k < l.count, let digit = Self.hexValue(l[k]) {
                // More than the body has room for is refused digit by digit, before the size
                // can overflow (`size` stays at most `room`, or below 16).
                if size > (room - digit) / 16 { throw .tooLarge(limits.maxBodyBytes) }
                size = size * 16 + digit
                k += 1
            }
            guard k > 0 else { throw malformed("\(place) '\(Self.shown(l))' does not start with a size in hex") }
            // After the size: blanks, then nothing or `;` and extensions.
            var rest = l[k...].drop { $0 == 0x20 || $0 == 0x09 }
            if let first = rest.first {
                guard first == UInt8(ascii: ";") else { throw malformed("\(place) '\(Self.shown(l))' has more than a size in hex") }
                rest = rest.dropFirst()
                guard !rest.contains(where: { ($0 < 0x20 && $0 != 0x09) || $0 == 0x7F }) else {
                    throw malformed("\(place) has a control character in its extensions")
                }
            }
            if size == 0 {
                _ = try readFields(what: "trailer")
                return
            }
            guard size <= room else { throw .tooLarge(limits.maxBodyBytes) }
            try take(size, into: &body)
            chunks += 1
            guard let end = try line(max: limits.maxChunkLineBytes, "the end of chunk \(chunks)") else {
                throw .connection("the connection closed in the middle of the body")
            }
            guard end.isEmpty else { throw malformed("chunk \(chunks) is longer than its size, \(size) bytes") }
        }
    }

    private static func hexValue(_ b: UInt8) -> Int? {
        switch b {
        case 0x30...0x39: Int(b - 0x30)
        case 0x41...0x46: Int(b - 0x41 + 10)
        case 0x61...0x66: Int(b - 0x61 + 10)
        default: nil
        }
    }

    /// RFC 9110 `tchar`.
    static func isTokenByte(_ b: UInt8) -> Bool {
        switch b {
        case 0x30...0x39, 0x41...0x5A, 0x61...0x7A: true
        case UInt8(ascii: "!"), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "%"), UInt8(ascii: "&"), UInt8(ascii: "'"),
             UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "^"), UInt8(ascii: "_"),
             UInt8(ascii: "`"), UInt8(ascii: "|"), UInt8(ascii: "~"): true
        default: false
        }
    }

    /// Bytes a server sent, as a message shows them: at most 40 characters, printable ASCII
    /// kept, anything else (a control character, an escape sequence, bytes that are not UTF-8)
    /// as `\xNN`.
    static func shown(_ bytes: some Collection<UInt8>) -> String {
        var out = ""
        var count = 0
        for b in bytes {
            if count >= 40 { return out + "…" }
            if b >= 0x20 && b < 0x7F && b != UInt8(ascii: "'") && b != UInt8(ascii: "\\") {
                out.unicodeScalars.append(Unicode.Scalar(b))
            } else {
                out += "\\x" + (b < 16 ? "0" : "") + String(b, radix: 16, uppercase: true)
            }
            count += 1
        }
        return out
    }
}
