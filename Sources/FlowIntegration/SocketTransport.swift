import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The default transport: plain `http://` over POSIX sockets with kept-alive connections, and
/// `https://` through `URLSessionTransport` (TLS verification on).
///
/// Design note: URLSession on Linux hands every request through several threads (its libcurl
/// loop, dispatch queues, the delegate queue), which costs about 0.4 ms a call; for the local and
/// internal services `http://` is used for, a blocking exchange on the calling thread is three
/// times faster and keeps exact control of the deadline and the size limit. Redirects are
/// followed here too (at most 5), never carrying `Authorization` to another host.
public final class HTTPClient: HTTPTransport, @unchecked Sendable {
    private let tls: URLSessionTransport
    private let lock = NSLock()
    /// Idle connections by "host:port".
    private var idle: [String: [Int32]] = [:]
    public let maxRedirects: Int

    public init(maxRedirects: Int = 5) {
        self.maxRedirects = maxRedirects
        self.tls = URLSessionTransport(maxRedirects: maxRedirects)
        signal(SIGPIPE, SIG_IGN)
    }

    deinit {
        for (_, sockets) in idle { for fd in sockets { close(fd) } }
    }

    public func send(_ request: HTTPRequest, maxResponseBytes: Int) throws(TransportError) -> HTTPResponse {
        guard let scheme = request.url.scheme?.lowercased(), request.url.host != nil else { throw .invalidURL(request.url.absoluteString) }
        if scheme == "https" { return try tls.send(request, maxResponseBytes: maxResponseBytes) }
        guard scheme == "http" else { throw .invalidURL(request.url.absoluteString) }
        let deadline = Date().addingTimeInterval(request.timeout)
        var current = request
        var redirects = 0
        while true {
            let response = try exchange(current, deadline: deadline, limit: maxResponseBytes, timeout: request.timeout)
            guard [301, 302, 303, 307, 308].contains(response.status), let location = response.header("Location") else { return response }
            redirects += 1
            if redirects > maxRedirects { throw .tooManyRedirects }
            guard let next = URL(string: location, relativeTo: current.url)?.absoluteURL else { return response }
            var follow = current
            follow.url = next
            if response.status == 303 || ((response.status == 301 || response.status == 302) && current.method == "POST") {
                follow.method = "GET"
                follow.body = nil
                follow.bodyCarriesCredentials = false
                follow.headers.removeAll { ["content-type", "content-length"].contains($0.name.lowercased()) }
            }
            // Credentials go only where they were meant to: never to another host, scheme or port.
            if current.leavesOrigin(to: next) {
                if follow.bodyCarriesCredentials && follow.body != nil { throw .credentialsRedirect(next.host ?? next.absoluteString) }
                follow.headers.removeAll { current.isCredentialHeader($0.name) }
            }
            if next.scheme?.lowercased() == "https" {
                var rest = follow
                rest.timeout = max(0.001, deadline.timeIntervalSinceNow)
                return try tls.send(rest, maxResponseBytes: maxResponseBytes)
            }
            current = follow
        }
    }

    // MARK: - One exchange

    private func exchange(_ request: HTTPRequest, deadline: Date, limit: Int, timeout: Double) throws(TransportError) -> HTTPResponse {
        let host = request.url.host!
        let port = request.url.port ?? 80
        let key = "\(host):\(port)"
        var target = request.url.path.isEmpty ? "/" : request.url.path
        if let q = request.url.query { target += "?" + q }
        // The path as given, encoded: URL.path decodes percent escapes, so use the raw text.
        if let raw = URLComponents(url: request.url, resolvingAgainstBaseURL: false) {
            target = (raw.percentEncodedPath.isEmpty ? "/" : raw.percentEncodedPath) + (raw.percentEncodedQuery.map { "?" + $0 } ?? "")
        }
        var head = "\(request.method) \(target) HTTP/1.1\r\nHost: \(request.url.port.map { "\(host):\($0)" } ?? host)\r\n"
        for h in request.headers where h.name.lowercased() != "host" && h.name.lowercased() != "content-length" {
            head += "\(h.name): \(h.value)\r\n"
        }
        if let body = request.body { head += "Content-Length: \(body.count)\r\n" }
        else if ["POST", "PUT", "PATCH"].contains(request.method) { head += "Content-Length: 0\r\n" }
        head += "\r\n"
        var bytes = Array(head.utf8)
        if let body = request.body { bytes += body }

        // A kept-alive connection the server has closed fails before any answer. The request is
        // then sent once more on a new connection only when that is safe: when none of it went
        // out, or when sending it twice does no harm (a GET, PUT or DELETE, or a request with an
        // Idempotency-Key). A POST the server read and then closed on may have been handled (a
        // charge made), so that is a connection failure, as Go's net/http does it. Idle
        // connections the server has already closed are dropped before use (`takeIdle`), which
        // leaves only a server closing at the very moment the request arrives.
        if let fd = takeIdle(key) {
            do throws(TransportError) {
                let (response, keep) = try roundTrip(fd, bytes, deadline: deadline, limit: limit, timeout: timeout, host: key, fresh: false,
                                                     replayable: Self.isReplayable(request))
                finish(fd, key: key, keep: keep)
                return response
            } catch {
                close(fd)
                guard case .connection("stale") = error else { throw error }
            }
        }
        let fd = try connect(host: host, port: port, deadline: deadline, timeout: timeout)
        do throws(TransportError) {
            let (response, keep) = try roundTrip(fd, bytes, deadline: deadline, limit: limit, timeout: timeout, host: key, fresh: true,
                                                 replayable: false)
            finish(fd, key: key, keep: keep)
            return response
        } catch {
            close(fd)
            throw error
        }
    }

    /// An idle connection to `key` that still looks open: one that is readable while no request
    /// is out has been closed by the server (or sent something unasked) and is dropped.
    private func takeIdle(_ key: String) -> Int32? {
        while true {
            lock.lock()
            let fd = idle[key]?.popLast()
            lock.unlock()
            guard let fd else { return nil }
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            if poll(&p, 1, 0) == 0 { return fd }
            close(fd)
        }
    }

    /// Whether sending `request` a second time does no harm (RFC 9110 §9.2.2; an Idempotency-Key
    /// makes the server see the same request once).
    static func isReplayable(_ request: HTTPRequest) -> Bool {
        ["GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"].contains(request.method.uppercased())
            || request.header("Idempotency-Key") != nil
    }

    private func finish(_ fd: Int32, key: String, keep: Bool) {
        guard keep else { close(fd); return }
        lock.lock()
        if idle[key, default: []].count < 4 { idle[key, default: []].append(fd) } else { close(fd) }
        lock.unlock()
    }

    private func connect(host: String, port: Int, deadline: Date, timeout: Double) throws(TransportError) -> Int32 {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &list) == 0, let first = list else {
            throw .connection("cannot resolve '\(host)'")
        }
        defer { freeaddrinfo(list) }
        var refused = false
        var node: UnsafeMutablePointer<addrinfo>? = first
        while let a = node {
            node = a.pointee.ai_next
            let fd = socket(a.pointee.ai_family, a.pointee.ai_socktype | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), a.pointee.ai_protocol)
            if fd < 0 { continue }
            var one: Int32 = 1
            setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
            let r = Glibc.connect(fd, a.pointee.ai_addr, a.pointee.ai_addrlen)
            if r == 0 { return fd }
            if errno == EINPROGRESS {
                switch wait(fd, events: Int16(POLLOUT), deadline: deadline) {
                case .ready:
                    var error: Int32 = 0
                    var length = socklen_t(MemoryLayout<Int32>.size)
                    getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length)
                    if error == 0 { return fd }
                    if error == ECONNREFUSED { refused = true }
                case .timedOut:
                    close(fd)
                    throw .timeout(timeout)
                }
            } else if errno == ECONNREFUSED {
                refused = true
            }
            close(fd)
        }
        throw refused ? .connectionRefused("\(host):\(port)") : .connection("could not connect to \(host):\(port)")
    }

    private enum Readiness { case ready, timedOut }

    private func wait(_ fd: Int32, events: Int16, deadline: Date) -> Readiness {
        while true {
            let remaining = deadline.timeIntervalSinceNow
            if remaining <= 0 { return .timedOut }
            var p = pollfd(fd: fd, events: events, revents: 0)
            let r = poll(&p, 1, Int32(min(remaining * 1000, 60_000).rounded(.up)))
            if r > 0 { return .ready }
            if r == 0 { continue }
            if errno == EINTR { continue }
            return .ready  // let the following read or write report the error
        }
    }

    /// Writes the request and reads one response. Returns whether the connection may be reused.
    private func roundTrip(_ fd: Int32, _ bytes: [UInt8], deadline: Date, limit: Int, timeout: Double, host: String,
                           fresh: Bool, replayable: Bool) throws(TransportError) -> (HTTPResponse, Bool) {
        var sent = 0
        while sent < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + sent, $0.count - sent, Int32(MSG_NOSIGNAL)) }
            if n > 0 { sent += n; continue }
            if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) {
                if wait(fd, events: Int16(POLLOUT), deadline: deadline) == .timedOut { throw .timeout(timeout) }
                continue
            }
            if n < 0 && errno == EINTR { continue }
            // Nothing sent yet on a reused connection: safe to send on a new one.
            throw fresh || (sent > 0 && !replayable) ? .connection("the connection to \(host) was closed while sending") : .connection("stale")
        }
        var reader = ResponseBytes(fd: fd, deadline: deadline, limit: limit, timeout: timeout, waiter: wait)
        // The whole request went out: only a replayable one is sent again if no answer comes.
        return try reader.read(host: host, fresh: fresh || !replayable)
    }

    /// Reads a response from a socket: status line, headers, body by Content-Length, chunks, or
    /// until the server closes.
    private struct ResponseBytes {
        let fd: Int32
        let deadline: Date
        let limit: Int
        let timeout: Double
        let waiter: (Int32, Int16, Date) -> Readiness
        var buffer: [UInt8] = []
        var start = 0
        var total = 0

        init(fd: Int32, deadline: Date, limit: Int, timeout: Double, waiter: @escaping (Int32, Int16, Date) -> Readiness) {
            self.fd = fd
            self.deadline = deadline
            self.limit = limit
            self.timeout = timeout
            self.waiter = waiter
        }

        /// Reads more bytes; false at the end of the stream.
        mutating func fill() throws(TransportError) -> Bool {
            var chunk = [UInt8](repeating: 0, count: 16384)
            while true {
                let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                if n > 0 {
                    total += n
                    if total > limit + 65536 { throw .tooLarge(limit) }
                    if start > 0 && start == buffer.count { buffer.removeAll(keepingCapacity: true); start = 0 }
                    buffer += chunk[0..<n]
                    return true
                }
                if n == 0 { return false }
                if errno == EAGAIN || errno == EWOULDBLOCK {
                    if waiter(fd, Int16(POLLIN), deadline) == .timedOut { throw .timeout(timeout) }
                    continue
                }
                if errno == EINTR { continue }
                throw .connection(String(cString: strerror(errno)))
            }
        }

        mutating func line() throws(TransportError) -> String? {
            while true {
                if let i = buffer[start...].firstIndex(of: 10) {
                    var end = i
                    if end > start && buffer[end - 1] == 13 { end -= 1 }
                    let text = String(decoding: buffer[start..<end], as: UTF8.self)
                    start = i + 1
                    return text
                }
                if buffer.count - start > 65536 { throw .connection("a response header line is too long") }
                guard try fill() else { return nil }
            }
        }

        mutating func take(_ count: Int) throws(TransportError) -> ArraySlice<UInt8> {
            while buffer.count - start < count {
                guard try fill() else { throw .connection("the connection closed in the middle of the body") }
            }
            let slice = buffer[start..<start + count]
            start += count
            return slice
        }

        mutating func read(host: String, fresh: Bool) throws(TransportError) -> (HTTPResponse, Bool) {
            guard let statusLine = try line() else {
                throw fresh ? .connection("\(host) closed the connection without answering") : .connection("stale")
            }
            let parts = statusLine.split(separator: " ", maxSplits: 2)
            guard parts.count >= 2, parts[0].hasPrefix("HTTP/1."), let status = Int(parts[1]) else {
                throw .connection("not an HTTP response from \(host)")
            }
            var headers: [(name: String, value: String)] = []
            while true {
                guard let l = try line() else { throw .connection("the connection closed in the middle of the headers") }
                if l.isEmpty { break }
                guard let colon = l.firstIndex(of: ":") else { continue }
                headers.append((String(l[..<colon]), l[l.index(after: colon)...].trimmingCharacters(in: .whitespaces)))
            }
            if status == 100 { return try read(host: host, fresh: fresh) }
            func header(_ name: String) -> String? { headers.first { $0.name.lowercased() == name }?.value }
            var keep = parts[0] == "HTTP/1.1" && header("connection")?.lowercased() != "close"
            var body: [UInt8] = []
            if status == 204 || status == 304 {
                // No body.
            } else if header("transfer-encoding")?.lowercased().contains("chunked") == true {
                while true {
                    guard let sizeLine = try line(), let size = Int(sizeLine.split(separator: ";")[0].trimmingCharacters(in: .whitespaces), radix: 16) else {
                        throw .connection("a chunked body is malformed")
                    }
                    if size == 0 {
                        while let trailer = try line(), !trailer.isEmpty {}
                        break
                    }
                    if body.count + size > limit { throw .tooLarge(limit) }
                    body += try take(size)
                    _ = try line()
                }
            } else if let lengthText = header("content-length"), let length = Int(lengthText) {
                if length > limit { throw .tooLarge(limit) }
                body = Array(try take(length))
            } else {
                keep = false
                while try fill() {
                    if buffer.count - start > limit { throw .tooLarge(limit) }
                }
                body = Array(buffer[start...])
                start = buffer.count
            }
            // Bytes left over mean a confused exchange: do not reuse the connection.
            if start != buffer.count { keep = false }
            return (HTTPResponse(status: status, headers: headers, body: Data(body)), keep)
        }
    }
}
