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
        guard let scheme = request.url.scheme?.lowercased(), let host = request.url.host, !host.isEmpty else {
            throw .invalidURL(request.url.absoluteString)
        }
        if scheme == "https" { return try tls.send(request, maxResponseBytes: maxResponseBytes) }
        guard scheme == "http" else { throw .invalidURL(request.url.absoluteString) }
        let deadline = Date().addingTimeInterval(request.timeout)
        var current = request
        var redirects = 0
        while true {
            var response = try exchange(current, deadline: deadline, limit: maxResponseBytes, timeout: request.timeout)
            response.deadline = deadline
            guard let next = try Self.redirect(from: current, response: response) else { return response }
            redirects += 1
            if redirects > maxRedirects { throw .tooManyRedirects }
            if next.url.scheme?.lowercased() == "https" {
                var rest = next
                rest.timeout = max(0.001, deadline.timeIntervalSinceNow)
                var response = try tls.send(rest, maxResponseBytes: maxResponseBytes)
                response.deadline = deadline
                return response
            }
            current = next
        }
    }

    /// The request a redirect leads to, or nil when `response` is not one to follow (not 301,
    /// 302, 303, 307 or 308, or without `Location`: the response is then the answer). A
    /// `Location` that is not a URL, or leads anywhere but http or https with a host, is a
    /// `malformed` failure, never followed. A 303 (and a 301 or 302 to a POST) becomes a GET
    /// without a body; credentials never go to another host, scheme or port.
    public static func redirect(from current: HTTPRequest, response: HTTPResponse) throws(TransportError) -> HTTPRequest? {
        guard [301, 302, 303, 307, 308].contains(response.status), let location = response.header("Location") else { return nil }
        let shown = HTTPResponseParser.shown(Array(location.utf8))
        guard !location.isEmpty, let next = URL(string: location, relativeTo: current.url)?.absoluteURL else {
            throw .malformed("a redirect (\(response.status)) was not followed: its Location '\(shown)' is not a URL")
        }
        guard let scheme = next.scheme?.lowercased(), scheme == "http" || scheme == "https", let host = next.host, !host.isEmpty,
              next.port.map({ (1...65535).contains($0) }) ?? true else {
            throw .malformed("a redirect (\(response.status)) was not followed: '\(shown)' is not an http or https URL with a host")
        }
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
        return follow
    }

    // MARK: - One exchange

    private func exchange(_ request: HTTPRequest, deadline: Date, limit: Int, timeout: Double) throws(TransportError) -> HTTPResponse {
        guard let host = request.url.host, !host.isEmpty else { throw .invalidURL(request.url.absoluteString) }
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
            if errno == EINPROGRESS || errno == EINTR {  // an interrupted connect goes on in the background
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
        var chunk = [UInt8](repeating: 0, count: 16384)
        var parser = HTTPResponseParser(limits: HTTPResponseLimits(maxBodyBytes: limit), host: host,
                                        isHead: bytes.starts(with: "HEAD ".utf8)) { () throws(TransportError) -> ArraySlice<UInt8>? in
            while true {
                let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                if n > 0 { return chunk[0..<n] }
                if n == 0 { return nil }
                if errno == EAGAIN || errno == EWOULDBLOCK {
                    if self.wait(fd, events: Int16(POLLIN), deadline: deadline) == .timedOut { throw .timeout(timeout) }
                    continue
                }
                if errno == EINTR { continue }
                throw .connection(String(cString: strerror(errno)))
            }
        }
        do throws(TransportError) {
            return try parser.read()
        } catch {
            // Nothing at all came back on a reused connection: the server had closed it. The
            // whole request went out, so only a replayable one is sent again.
            if case .connection = error, parser.bytesReceived == 0, !fresh, replayable { throw .connection("stale") }
            throw error
        }
    }
}
