import Foundation

#if canImport(Glibc)
import Glibc
#endif

// A loopback HTTP/1.1 server for hermetic tests: POSIX sockets, one thread to accept and one
// thread per connection, every request recorded byte for byte, and scripted misbehaviours for
// fault tests. It binds 127.0.0.1 only, on an ephemeral port.
//
// Every wait (read, write, delay, hold) is a poll() that also watches a wake pipe; stop() writes
// to that pipe once and never drains it, so every thread wakes at once and stop() returns
// promptly whatever the clients do.
//
// Sends use MSG_NOSIGNAL; the process-wide SIGPIPE disposition is left alone (it would be
// inherited by child processes the other tests start).

// MARK: - What the server records

/// One request as the loopback server received it.
struct RecordedRequest: Sendable {
    /// The method exactly as sent ("GET", "POST", …).
    var method: String
    /// The request target exactly as sent (path and query, not decoded).
    var target: String
    /// "HTTP/1.1" or "HTTP/1.0".
    var version: String
    /// The header fields in the order and spelling they were sent; values trimmed of surrounding
    /// spaces and tabs.
    var headers: [(name: String, value: String)]
    /// The body: Content-Length bytes, or the chunked body decoded.
    var body: Data
    /// The trailer fields of a chunked body, if any.
    var trailers: [(name: String, value: String)]
    /// The whole request as it arrived: request line, headers, blank line, body as framed on the
    /// wire (chunk sizes and trailers included).
    var raw: Data
    /// 1 for the server's first connection, 2 for its second, …
    var connectionID: Int
    /// 0 for the first request on its connection, 1 for the second (keep-alive), …
    var indexOnConnection: Int
    /// 0 for the server's first request, 1 for its second, …
    var sequence: Int
    /// Monotonic seconds when the whole request had arrived; only differences mean anything.
    var receivedAt: Double

    /// The target up to the "?", not decoded.
    var path: String {
        target.firstIndex(of: "?").map { String(target[..<$0]) } ?? target
    }

    /// The target after the "?", not decoded; nil without a "?".
    var query: String? {
        target.firstIndex(of: "?").map { String(target[target.index(after: $0)...]) }
    }

    /// The first value of a header, by case-insensitive name.
    func header(_ name: String) -> String? {
        headers.first { $0.name.caseInsensitiveCompare(name) == .orderedSame }?.value
    }

    /// Every value of a header, by case-insensitive name, in order.
    func headers(named name: String) -> [String] {
        headers.filter { $0.name.caseInsensitiveCompare(name) == .orderedSame }.map(\.value)
    }

    var bodyText: String { String(decoding: body, as: UTF8.self) }
    var rawText: String { String(decoding: raw, as: UTF8.self) }
}

// MARK: - What the server answers

/// What the loopback server does with a request (`LoopbackServer.Reply`; named apart from
/// FlowKit's session `Reply`).
indirect enum LoopbackReply: Sendable {
    /// A normal response. The reason defaults to the standard phrase for the status.
    case response(
        status: Int, reason: String? = nil, headers: [(name: String, value: String)] = [], body: Data = Data(),
        framing: LoopbackReply.Framing = .contentLength)
    /// Wait this many seconds (cut short by stop()), then do the other reply.
    case delay(Double, then: LoopbackReply)
    /// Read the request, then hold the connection open silently until the client leaves or the
    /// server stops.
    case neverAnswer
    /// Send the status line and headers with `Content-Length: ofDeclaredLength`, then `sendBytes`
    /// bytes of body ("x"), then close.
    case closeMidBody(status: Int = 200, headers: [(name: String, value: String)] = [], sendBytes: Int, ofDeclaredLength: Int)
    /// Stream body bytes (16 KB at a time, paced to about 8 MB/s) until the client hangs up or the
    /// server stops; chunked, or with neither length nor chunking when `chunked` is false.
    case endlessBody(status: Int = 200, headers: [(name: String, value: String)] = [], chunked: Bool = true)
    /// Send the status line and headers (with Content-Length) at once, then the body slowly.
    case drip(status: Int = 200, headers: [(name: String, value: String)] = [], body: Data, bytesPerSecond: Int)
    /// A redirect with this Location (sent as given: absolute or relative) and an empty body.
    case redirect(status: Int = 302, location: String)
    /// Read the request, then close the connection without answering.
    case closeImmediately
    /// Read the request, then reset the connection (TCP RST) without answering.
    case reset
    /// Write these bytes as the whole response, then close (or, with `thenClose: false`, carry on
    /// reading requests on the connection).
    case raw(Data, thenClose: Bool = true)

    /// A response with a text body (UTF-8).
    static func status(_ status: Int, _ body: String = "", headers: [(name: String, value: String)] = []) -> LoopbackReply {
        .response(status: status, headers: headers, body: Data(body.utf8))
    }

    /// 200 with a text body and a content type.
    static func ok(_ body: String = "", contentType: String = "text/plain; charset=utf-8") -> LoopbackReply {
        .response(status: 200, headers: [("Content-Type", contentType)], body: Data(body.utf8))
    }

    /// A JSON response.
    static func json(_ text: String, status: Int = 200) -> LoopbackReply {
        .response(status: status, headers: [("Content-Type", "application/json")], body: Data(text.utf8))
    }

    /// An XML response (SOAP 1.1 style content type).
    static func xml(_ text: String, status: Int = 200) -> LoopbackReply {
        .response(status: status, headers: [("Content-Type", "text/xml; charset=utf-8")], body: Data(text.utf8))
    }

    /// A handler that answers the 1st request with the 1st reply, the 2nd with the 2nd, … and every
    /// request after the last with `afterwards` (by default a 500 saying the script ran out).
    /// Thread-safe: the order is the order in which requests finished arriving.
    static func sequence(_ replies: [LoopbackReply], afterwards: LoopbackReply? = nil) -> LoopbackServer.Handler {
        let script = LoopbackReply.Script(replies, afterwards: afterwards)
        return { _ in script.next() }
    }
}

extension LoopbackReply {
    /// How a normal response's body is delimited.
    enum Framing: Sendable, Equatable {
        /// Add `Content-Length` (unless the headers already have one).
        case contentLength
        /// Add `Transfer-Encoding: chunked` (unless present) and send the body in chunks of 4096 bytes.
        case chunked
        /// Chunked, with chunks of this many bytes.
        case chunkedBy(Int)
        /// No length: the body ends when the server closes the connection (`Connection: close` added).
        case closeDelimited
        /// Add nothing; the headers are sent exactly as given and the connection stays open.
        case asGiven
    }

    /// Hands out scripted replies in order, under a lock.
    final class Script: @unchecked Sendable {
        private let lock = NSLock()
        private let replies: [LoopbackReply]
        private let afterwards: LoopbackReply?
        private var used = 0

        init(_ replies: [LoopbackReply], afterwards: LoopbackReply? = nil) {
            self.replies = replies
            self.afterwards = afterwards
        }

        /// How many replies were handed out.
        var count: Int { lock.withLock { used } }

        func next() -> LoopbackReply {
            lock.withLock {
                let index = used
                used += 1
                if index < replies.count { return replies[index] }
                return afterwards ?? .status(500, "loopback: no scripted reply for request \(index + 1) (script has \(replies.count))")
            }
        }
    }
}

// MARK: - The server

struct LoopbackServerError: Error, CustomStringConvertible {
    var call: String
    var code: Int32
    var description: String { "\(call) failed: \(String(cString: strerror(code))) (errno \(code))" }
}

final class LoopbackServer: Sendable {
    typealias Reply = LoopbackReply
    typealias Handler = @Sendable (RecordedRequest) -> LoopbackReply

    struct Limits: Sendable {
        /// Request line and headers, blank line included.
        var maxHeaderBytes = 64 * 1024
        /// Decoded body.
        var maxBodyBytes = 32 * 1024 * 1024
        /// Once a request has begun, the longest wait for more of it (then 408 and close).
        var readTimeout: Double = 5
        /// The longest wait for the client to take more of a response (then close).
        var writeTimeout: Double = 5
        /// The longest wait for the next request on an idle keep-alive connection (then close);
        /// nil waits until the client leaves or the server stops.
        var idleTimeout: Double? = 30
        /// After the last response on a connection, how long to wait for the client to close before
        /// closing (so unread bytes don't turn the close into a reset).
        var lingerOnClose: Double = 0.5

        init() {}
    }

    /// The port the server listens on (127.0.0.1).
    let port: UInt16
    private let core: LoopbackServerCore

    /// "http://127.0.0.1:PORT".
    var baseURL: String { "http://127.0.0.1:\(port)" }

    /// baseURL followed by `target` (which should start with "/").
    func url(_ target: String) -> URL { URL(string: baseURL + target)! }

    /// Binds 127.0.0.1 on an ephemeral port and starts accepting connections.
    init(limits: Limits = Limits(), handler: @escaping Handler) throws {
        let listener = try LoopbackIO.openListener()
        var wake: [Int32] = [-1, -1]
        guard LoopbackIO.makePipe(&wake) == 0 else {
            let code = errno
            Glibc.close(listener)
            throw LoopbackServerError(call: "pipe", code: code)
        }
        do {
            port = try LoopbackIO.boundPort(listener)
        } catch {
            Glibc.close(listener)
            Glibc.close(wake[0])
            Glibc.close(wake[1])
            throw error
        }
        core = LoopbackServerCore(listener: listener, wakeRead: wake[0], wakeWrite: wake[1], limits: limits, handler: handler)
        core.start()
    }

    /// Every request gets the same reply.
    convenience init(limits: Limits = Limits(), reply: LoopbackReply) throws {
        try self.init(limits: limits, handler: { _ in reply })
    }

    /// The 1st request gets the 1st reply, and so on (see `LoopbackReply.sequence`).
    convenience init(limits: Limits = Limits(), replies: [LoopbackReply], afterwards: LoopbackReply? = nil) throws {
        try self.init(limits: limits, handler: LoopbackReply.sequence(replies, afterwards: afterwards))
    }

    deinit {
        core.stop()
    }

    /// Every complete request received so far, in order of arrival.
    var requests: [RecordedRequest] { core.withState { $0.recorded } }

    var requestCount: Int { core.withState { $0.recorded.count } }

    /// Connections accepted so far.
    var connectionsAccepted: Int { core.withState { $0.accepted } }

    /// Connections whose threads are still running.
    var openConnections: Int { core.withState { $0.openFDs.count } }

    /// What went wrong with requests that were not recorded (malformed, too large, timed out,
    /// client gone mid-request), one line each.
    var problems: [String] { core.withState { $0.problems } }

    /// Waits until at least `count` requests were recorded; false on timeout.
    @discardableResult
    func waitForRequests(_ count: Int, timeout: Double = 2) -> Bool {
        core.waitUntil(timeout: timeout) { $0.recorded.count >= count }
    }

    /// Waits until at least `count` connections were accepted; false on timeout.
    @discardableResult
    func waitForConnectionsAccepted(_ count: Int, timeout: Double = 2) -> Bool {
        core.waitUntil(timeout: timeout) { $0.accepted >= count }
    }

    /// Waits until at most `count` connections are open; false on timeout.
    @discardableResult
    func waitForOpenConnections(atMost count: Int, timeout: Double = 2) -> Bool {
        core.waitUntil(timeout: timeout) { $0.openFDs.count <= count }
    }

    /// Closes the listener and every connection and waits for the threads to end (at most about
    /// five seconds, only reachable if a handler itself blocks). Idempotent; also run by deinit.
    /// Don't call it from a handler.
    func stop() {
        core.stop()
    }

    /// A port on 127.0.0.1 where nothing listens (bound to port 0, read, closed): connecting to it
    /// is refused unless something else grabs it meanwhile.
    static func unusedPort() throws -> UInt16 {
        let fd = try LoopbackIO.openSocket()
        defer { Glibc.close(fd) }
        var address = LoopbackIO.loopbackAddress(port: 0)
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard rc == 0 else { throw LoopbackServerError(call: "bind", code: errno) }
        return try LoopbackIO.boundPort(fd)
    }

    /// "http://127.0.0.1:PORT" for a port where nothing listens.
    static func refusedBaseURL() throws -> String {
        "http://127.0.0.1:\(try unusedPort())"
    }
}

// MARK: - Shared state and threads

private struct LoopbackServerState {
    var stopped = false
    var acceptRunning = false
    var connectionThreads = 0
    var openFDs: [Int: Int32] = [:]
    var nextConnectionID = 1
    var accepted = 0
    var recorded: [RecordedRequest] = []
    var problems: [String] = []
}

private final class LoopbackServerCore: @unchecked Sendable {
    let listener: Int32
    let wakeRead: Int32
    let wakeWrite: Int32
    let limits: LoopbackServer.Limits
    let handler: LoopbackServer.Handler

    private let condition = NSCondition()
    private var state = LoopbackServerState()
    private let stopLock = NSLock()
    private var listenerClosed = false  // under stopLock

    init(listener: Int32, wakeRead: Int32, wakeWrite: Int32, limits: LoopbackServer.Limits, handler: @escaping LoopbackServer.Handler) {
        self.listener = listener
        self.wakeRead = wakeRead
        self.wakeWrite = wakeWrite
        self.limits = limits
        self.handler = handler
    }

    deinit {
        // Every thread holds the core, so none is left to poll these.
        if !listenerClosed { Glibc.close(listener) }
        Glibc.close(wakeRead)
        Glibc.close(wakeWrite)
    }

    func withState<T>(_ body: (inout LoopbackServerState) -> T) -> T {
        condition.lock()
        defer { condition.unlock() }
        return body(&state)
    }

    func waitUntil(timeout: Double, _ done: (LoopbackServerState) -> Bool) -> Bool {
        let deadline = Date(timeIntervalSinceNow: timeout)
        condition.lock()
        defer { condition.unlock() }
        while !done(state) {
            if !condition.wait(until: deadline) { return done(state) }
        }
        return true
    }

    private func changeState(_ body: (inout LoopbackServerState) -> Void) {
        condition.lock()
        body(&state)
        condition.broadcast()
        condition.unlock()
    }

    func start() {
        changeState { $0.acceptRunning = true }
        let thread = Thread { [self] in acceptLoop() }
        thread.name = "loopback-accept"
        thread.start()
    }

    func stop() {
        stopLock.lock()
        defer { stopLock.unlock() }
        condition.lock()
        let first = !state.stopped
        state.stopped = true
        // Under the lock: a connection thread removes its fd from the table before closing it,
        // so these are all still open.
        for fd in state.openFDs.values { shutdown(fd, Int32(SHUT_RDWR)) }
        condition.unlock()
        if first {
            var byte: UInt8 = 1
            _ = write(wakeWrite, &byte, 1)
            shutdown(listener, Int32(SHUT_RDWR))
        }
        _ = waitUntil(timeout: 5) { !$0.acceptRunning && $0.connectionThreads == 0 }
        let acceptDone = withState { !$0.acceptRunning }
        if acceptDone && !listenerClosed {
            Glibc.close(listener)
            listenerClosed = true
        }
    }

    func record(_ request: inout RecordedRequest) {
        changeState {
            request.sequence = $0.recorded.count
            $0.recorded.append(request)
        }
    }

    func problem(_ text: String) {
        changeState { $0.problems.append(text) }
    }

    // MARK: Accepting

    private func acceptLoop() {
        defer { changeState { $0.acceptRunning = false } }
        while true {
            switch waitFor(listener, events: Int16(POLLIN), timeout: nil) {
            case .stopped: return
            case .timedOut: continue
            case .ready: break
            }
            let fd = LoopbackIO.acceptConnection(listener)
            if fd < 0 {
                let code = errno
                if code == EAGAIN || code == EWOULDBLOCK || code == EINTR || code == ECONNABORTED { continue }
                if withState({ $0.stopped }) { return }
                // Out of descriptors or similar: don't spin.
                if case .stopped = waitFor(-1, events: 0, timeout: 0.05) { return }
                continue
            }
            var one: Int32 = 1
            _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
            condition.lock()
            if state.stopped {
                condition.unlock()
                Glibc.close(fd)
                return
            }
            let id = state.nextConnectionID
            state.nextConnectionID += 1
            state.accepted += 1
            state.openFDs[id] = fd
            state.connectionThreads += 1
            condition.broadcast()
            condition.unlock()
            let thread = Thread { [self] in
                LoopbackConnection(fd: fd, id: id, core: self).run()
                connectionEnded(id: id, fd: fd)
            }
            thread.name = "loopback-conn-\(id)"
            thread.start()
        }
    }

    private func connectionEnded(id: Int, fd: Int32) {
        changeState {
            $0.openFDs[id] = nil
            Glibc.close(fd)
            $0.connectionThreads -= 1
        }
    }

    // MARK: Waiting

    enum Readiness { case ready, timedOut, stopped }

    /// Waits until `fd` has one of `events` (or an error or hang-up), the timeout passes (nil: no
    /// timeout) or the server stops. A negative fd just sleeps, cut short by stop().
    func waitFor(_ fd: Int32, events: Int16, timeout: Double?) -> Readiness {
        let deadline = timeout.map { LoopbackIO.monotonicNow() + $0 }
        var fds = [pollfd(fd: fd, events: events, revents: 0), pollfd(fd: wakeRead, events: Int16(POLLIN), revents: 0)]
        while true {
            var ms: Int32 = -1
            if let deadline {
                let left = deadline - LoopbackIO.monotonicNow()
                if left <= 0 { return .timedOut }
                ms = Int32(min(ceil(left * 1000), 3_600_000))
            }
            fds[0].revents = 0
            fds[1].revents = 0
            let rc = poll(&fds, 2, ms)
            if rc < 0 {
                if errno == EINTR { continue }
                return .stopped
            }
            if fds[1].revents != 0 { return .stopped }
            if rc > 0 && fds[0].revents != 0 { return .ready }
        }
    }

    /// Sleeps; false if the server stopped meanwhile.
    func sleep(_ seconds: Double) -> Bool {
        if case .stopped = waitFor(-1, events: 0, timeout: max(0, seconds)) { return false }
        return true
    }
}

// MARK: - One connection

private enum LoopbackReadFailure: Error {
    /// The client closed (or reset) the connection.
    case closed
    /// No more bytes within the timeout.
    case timedOut
    /// The server is stopping.
    case stopped
    /// A malformed or oversized request: answer with this status and close.
    case reject(Int, String)
}

private let loopbackCRLF: [UInt8] = [13, 10]

private final class LoopbackConnection {
    let fd: Int32
    let id: Int
    let core: LoopbackServerCore
    var limits: LoopbackServer.Limits { core.limits }
    /// Bytes received and not yet consumed by a request.
    var buffer: [UInt8] = []
    var served = 0

    init(fd: Int32, id: Int, core: LoopbackServerCore) {
        self.fd = fd
        self.id = id
        self.core = core
    }

    func run() {
        while true {
            var request: RecordedRequest
            do {
                guard let next = try readRequest() else {
                    return  // the client left between requests, or stayed idle too long
                }
                request = next
            } catch LoopbackReadFailure.reject(let status, let message) {
                core.problem("connection \(id): \(status) \(message)")
                var text = "HTTP/1.1 \(status) \(LoopbackIO.reasonPhrase(status))\r\nContent-Type: text/plain; charset=utf-8\r\n"
                text += "Content-Length: \(message.utf8.count)\r\nConnection: close\r\n\r\n\(message)"
                if sendAll(Array(text.utf8)) { lingeringClose() }
                return
            } catch LoopbackReadFailure.timedOut {
                core.problem("connection \(id): request not complete within \(limits.readTimeout) s")
                let text = "HTTP/1.1 408 Request Timeout\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                if sendAll(Array(text.utf8)) { lingeringClose() }
                return
            } catch LoopbackReadFailure.closed {
                core.problem("connection \(id): client closed mid-request")
                return
            } catch {
                return  // stopped
            }
            core.record(&request)
            served += 1
            let reply = core.handler(request)
            switch perform(reply, for: request) {
            case .keepOpen: continue
            case .close: lingeringClose(); return
            case .drop: return
            }
        }
    }

    // MARK: Reading

    /// Receives more bytes into the buffer.
    func fill(timeout: Double?) throws(LoopbackReadFailure) {
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            switch core.waitFor(fd, events: Int16(POLLIN), timeout: timeout) {
            case .stopped: throw .stopped
            case .timedOut: throw .timedOut
            case .ready: break
            }
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n > 0 {
                buffer.append(contentsOf: chunk[0..<n])
                return
            }
            if n == 0 { throw .closed }
            let code = errno
            if code == EAGAIN || code == EWOULDBLOCK || code == EINTR { continue }
            throw .closed
        }
    }

    /// Makes sure the buffer holds at least `count` bytes.
    func need(_ count: Int) throws(LoopbackReadFailure) {
        while buffer.count < count { try fill(timeout: limits.readTimeout) }
    }

    /// The index of the next CRLF at or after `start`, reading more as needed; a line longer than
    /// `maxLength` is rejected.
    func lineEnd(from start: Int, maxLength: Int, what: String) throws(LoopbackReadFailure) -> Int {
        var scan = start
        while true {
            if let index = LoopbackIO.find(loopbackCRLF, in: buffer, from: scan) { return index }
            if buffer.count - start > maxLength { throw .reject(400, "\(what) longer than \(maxLength) bytes") }
            scan = max(start, buffer.count - 1)
            try fill(timeout: limits.readTimeout)
        }
    }

    func readRequest() throws(LoopbackReadFailure) -> RecordedRequest? {
        // Wait for the head (request line and headers).
        var headEnd: Int
        var scan = 0
        while true {
            // Empty lines before a request line are ignored (RFC 9112 §2.2).
            while buffer.count >= 2 && buffer[0] == 13 && buffer[1] == 10 {
                buffer.removeFirst(2)
                scan = 0
            }
            if let index = LoopbackIO.find([13, 10, 13, 10], in: buffer, from: scan) {
                headEnd = index + 4
                break
            }
            if buffer.count > limits.maxHeaderBytes {
                throw .reject(431, "header section larger than \(limits.maxHeaderBytes) bytes")
            }
            scan = max(0, buffer.count - 3)
            let idle = buffer.isEmpty
            do {
                try fill(timeout: idle ? limits.idleTimeout : limits.readTimeout)
            } catch .closed where idle {
                return nil
            } catch .timedOut where idle {
                return nil
            }
        }
        if headEnd > limits.maxHeaderBytes {
            throw .reject(431, "header section larger than \(limits.maxHeaderBytes) bytes")
        }

        // Parse it.
        let headBytes = buffer[0..<(headEnd - 4)]
        let head = String(bytes: headBytes, encoding: .utf8) ?? String(bytes: headBytes, encoding: .isoLatin1) ?? ""
        var lines = head.components(separatedBy: "\r\n")
        let requestLine = lines.removeFirst()
        let parts = requestLine.split(separator: " ", omittingEmptySubsequences: false)
        guard parts.count == 3, !parts[0].isEmpty, !parts[1].isEmpty, parts[2].hasPrefix("HTTP/1.") else {
            throw .reject(400, "malformed request line: \(requestLine)")
        }
        let method = String(parts[0])
        let target = String(parts[1])
        let version = String(parts[2])
        let headers = try parseFields(lines)

        // Then the body.
        var body = Data()
        var trailers: [(name: String, value: String)] = []
        var end = headEnd
        let transferEncoding = headers.filter { $0.name.caseInsensitiveCompare("Transfer-Encoding") == .orderedSame }
        let contentLengths = headers.filter { $0.name.caseInsensitiveCompare("Content-Length") == .orderedSame }
        let expectsContinue = version == "HTTP/1.1"
            && headers.contains { $0.name.caseInsensitiveCompare("Expect") == .orderedSame && $0.value.lowercased() == "100-continue" }
        if !transferEncoding.isEmpty {
            let codings = transferEncoding.flatMap { $0.value.split(separator: ",") }
                .map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
            guard codings.last == "chunked" else {
                throw .reject(400, "transfer coding not ending in chunked: \(transferEncoding.map(\.value).joined(separator: ", "))")
            }
            if expectsContinue && buffer.count == headEnd { sendContinue() }
            (body, trailers, end) = try readChunkedBody(from: headEnd)
        } else if !contentLengths.isEmpty {
            let values = Set(contentLengths.flatMap { $0.value.split(separator: ",") }.map { $0.trimmingCharacters(in: .whitespaces) })
            guard values.count == 1, let text = values.first, !text.isEmpty, text.allSatisfy(\.isASCII), text.allSatisfy(\.isNumber),
                let length = Int(text)
            else {
                throw .reject(400, "bad Content-Length: \(contentLengths.map(\.value).joined(separator: ", "))")
            }
            guard length <= limits.maxBodyBytes else {
                throw .reject(413, "body of \(length) bytes larger than \(limits.maxBodyBytes)")
            }
            if expectsContinue && length > 0 && buffer.count == headEnd { sendContinue() }
            try need(headEnd + length)
            body = Data(buffer[headEnd..<(headEnd + length)])
            end = headEnd + length
        }

        let raw = Data(buffer[0..<end])
        buffer.removeFirst(end)
        return RecordedRequest(
            method: method, target: target, version: version, headers: headers, body: body, trailers: trailers, raw: raw,
            connectionID: id, indexOnConnection: served, sequence: 0, receivedAt: LoopbackIO.monotonicNow())
    }

    func parseFields(_ lines: [String]) throws(LoopbackReadFailure) -> [(name: String, value: String)] {
        var fields: [(name: String, value: String)] = []
        for line in lines {
            guard let colon = line.firstIndex(of: ":") else { throw .reject(400, "malformed header line: \(line)") }
            let name = String(line[..<colon])
            guard !name.isEmpty, !name.contains(where: { $0 == " " || $0 == "\t" || $0 == "\r" || $0 == "\n" }) else {
                throw .reject(400, "malformed header name: \(line)")
            }
            let value = line[line.index(after: colon)...].trimmingCharacters(in: CharacterSet(charactersIn: " \t"))
            guard !value.contains(where: { $0 == "\r" || $0 == "\n" || $0 == "\r\n" }) else {
                throw .reject(400, "bare CR or LF in header \(name)")
            }
            fields.append((name, value))
        }
        return fields
    }

    func readChunkedBody(from start: Int) throws(LoopbackReadFailure) -> (Data, [(name: String, value: String)], Int) {
        var body = Data()
        var position = start
        while true {
            let end = try lineEnd(from: position, maxLength: 4096, what: "chunk size line")
            let line = String(decoding: buffer[position..<end], as: UTF8.self)
            let sizeText = (line.split(separator: ";", maxSplits: 1, omittingEmptySubsequences: false).first ?? "")
                .trimmingCharacters(in: CharacterSet(charactersIn: " \t"))
            guard !sizeText.isEmpty, sizeText.count <= 15, let size = Int(sizeText, radix: 16), size >= 0 else {
                throw .reject(400, "bad chunk size line: \(line)")
            }
            position = end + 2
            if size == 0 { break }
            guard body.count + size <= limits.maxBodyBytes else {
                throw .reject(413, "chunked body larger than \(limits.maxBodyBytes) bytes")
            }
            try need(position + size + 2)
            guard buffer[position + size] == 13, buffer[position + size + 1] == 10 else {
                throw .reject(400, "chunk of \(size) bytes not followed by CRLF")
            }
            body.append(contentsOf: buffer[position..<(position + size)])
            position += size + 2
        }
        // Trailer section, up to an empty line.
        var trailerLines: [String] = []
        let trailerStart = position
        while true {
            let end = try lineEnd(from: position, maxLength: limits.maxHeaderBytes, what: "trailer line")
            if end == position {
                position += 2
                break
            }
            trailerLines.append(String(decoding: buffer[position..<end], as: UTF8.self))
            position = end + 2
            if position - trailerStart > limits.maxHeaderBytes {
                throw .reject(431, "trailer section larger than \(limits.maxHeaderBytes) bytes")
            }
        }
        return (body, try parseFields(trailerLines), position)
    }

    func sendContinue() {
        _ = sendAll(Array("HTTP/1.1 100 Continue\r\n\r\n".utf8))
    }

    // MARK: Writing

    /// Sends every byte; false if the client went away, the write timed out or the server stopped.
    func sendAll(_ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { sendAll($0) }
    }

    func sendAll(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard let base = bytes.baseAddress else { return true }
        var offset = 0
        while offset < bytes.count {
            let n = send(fd, base + offset, bytes.count - offset, Int32(MSG_NOSIGNAL))
            if n > 0 {
                offset += n
                continue
            }
            let code = errno
            if n < 0 && (code == EAGAIN || code == EWOULDBLOCK || code == EINTR) {
                guard case .ready = core.waitFor(fd, events: Int16(POLLOUT), timeout: limits.writeTimeout) else { return false }
                continue
            }
            return false  // EPIPE, ECONNRESET, …
        }
        return true
    }

    /// Half-closes, then waits briefly for the client to close (discarding whatever it sends), so
    /// that the close does not become a reset that could destroy the response in flight.
    func lingeringClose() {
        shutdown(fd, Int32(SHUT_WR))
        let deadline = LoopbackIO.monotonicNow() + limits.lingerOnClose
        var scratch = [UInt8](repeating: 0, count: 16 * 1024)
        while true {
            let left = deadline - LoopbackIO.monotonicNow()
            guard left > 0, case .ready = core.waitFor(fd, events: Int16(POLLIN), timeout: left) else { return }
            let n = scratch.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n == 0 { return }
            if n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR { return }
        }
    }

    /// Holds the connection silently until the client leaves or the server stops.
    func hold() {
        var scratch = [UInt8](repeating: 0, count: 16 * 1024)
        while true {
            guard case .ready = core.waitFor(fd, events: Int16(POLLIN), timeout: nil) else { return }
            let n = scratch.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n == 0 { return }
            if n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR { return }
        }
    }

    enum After { case keepOpen, close, drop }

    func head(status: Int, reason: String?, headers: [(name: String, value: String)]) -> [UInt8] {
        var text = "HTTP/1.1 \(status) \(reason ?? LoopbackIO.reasonPhrase(status))\r\n"
        for (name, value) in headers { text += "\(name): \(value)\r\n" }
        text += "\r\n"
        return Array(text.utf8)
    }

    func wantsClose(_ request: RecordedRequest) -> Bool {
        let tokens = request.headers(named: "Connection").flatMap { $0.split(separator: ",") }
            .map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        if tokens.contains("close") { return true }
        if request.version == "HTTP/1.0" { return !tokens.contains("keep-alive") }
        return false
    }

    func perform(_ reply: LoopbackReply, for request: RecordedRequest) -> After {
        switch reply {
        case .response(let status, let reason, let headers, let body, let framing):
            return respond(status: status, reason: reason, headers: headers, body: body, framing: framing, request: request)

        case .delay(let seconds, let next):
            guard core.sleep(seconds) else { return .drop }
            return perform(next, for: request)

        case .neverAnswer:
            hold()
            return .drop

        case .closeMidBody(let status, var headers, let sendBytes, let declared):
            headers.removeAll { $0.name.caseInsensitiveCompare("Content-Length") == .orderedSame }
            headers.append(("Content-Length", String(declared)))
            var bytes = head(status: status, reason: nil, headers: headers)
            bytes += [UInt8](repeating: UInt8(ascii: "x"), count: max(0, min(sendBytes, declared)))
            return sendAll(bytes) ? .close : .drop

        case .endlessBody(let status, var headers, let chunked):
            if chunked {
                if !headers.contains(where: { $0.name.caseInsensitiveCompare("Transfer-Encoding") == .orderedSame }) {
                    headers.append(("Transfer-Encoding", "chunked"))
                }
            } else if !headers.contains(where: { $0.name.caseInsensitiveCompare("Connection") == .orderedSame }) {
                headers.append(("Connection", "close"))
            }
            guard sendAll(head(status: status, reason: nil, headers: headers)) else { return .drop }
            let size = 16 * 1024
            var piece = chunked ? Array(String(size, radix: 16).utf8) + loopbackCRLF : []
            piece += [UInt8](repeating: UInt8(ascii: "x"), count: size)
            if chunked { piece += loopbackCRLF }
            // Until the client hangs up (send fails), stops reading (the write times out) or the
            // server stops; paced so a greedy client doesn't spin both ends.
            while sendAll(piece) {
                guard core.sleep(0.002) else { break }
            }
            return .drop

        case .drip(let status, var headers, let body, let rate):
            headers.removeAll { $0.name.caseInsensitiveCompare("Content-Length") == .orderedSame }
            headers.append(("Content-Length", String(body.count)))
            guard sendAll(head(status: status, reason: nil, headers: headers)) else { return .drop }
            if request.method != "HEAD" {
                let bytes = [UInt8](body)
                let perSecond = max(1, rate)
                let tick = max(0.01, 1 / Double(perSecond))
                let perTick = max(1, Int(Double(perSecond) * tick))
                var sent = 0
                while sent < bytes.count {
                    guard core.sleep(tick) else { return .drop }
                    let next = min(bytes.count, sent + perTick)
                    guard sendAll(Array(bytes[sent..<next])) else { return .drop }
                    sent = next
                }
            }
            return wantsClose(request) ? .close : .keepOpen

        case .redirect(let status, let location):
            return respond(
                status: status, reason: nil, headers: [("Location", location)], body: Data(), framing: .contentLength,
                request: request)

        case .closeImmediately:
            return .close

        case .reset:
            var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
            _ = setsockopt(fd, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
            return .drop

        case .raw(let data, let thenClose):
            guard sendAll([UInt8](data)) else { return .drop }
            return thenClose || wantsClose(request) ? .close : .keepOpen
        }
    }

    func respond(
        status: Int, reason: String?, headers given: [(name: String, value: String)], body: Data, framing: LoopbackReply.Framing,
        request: RecordedRequest
    ) -> After {
        func has(_ name: String) -> Bool { given.contains { $0.name.caseInsensitiveCompare(name) == .orderedSame } }
        var headers = given
        let bodiless = request.method == "HEAD" || (100..<200).contains(status) || status == 204 || status == 304
        var close = wantsClose(request)
            || given.contains {
                $0.name.caseInsensitiveCompare("Connection") == .orderedSame && $0.value.lowercased().contains("close")
            }
        var chunkSize = 0
        switch framing {
        case .contentLength:
            if !has("Content-Length") && !(100..<200).contains(status) && status != 204 && status != 304 {
                headers.append(("Content-Length", String(body.count)))
            }
        case .chunked, .chunkedBy:
            if case .chunkedBy(let size) = framing { chunkSize = max(1, size) } else { chunkSize = 4096 }
            if !has("Transfer-Encoding") { headers.append(("Transfer-Encoding", "chunked")) }
        case .closeDelimited:
            close = true
        case .asGiven:
            break
        }
        if close && !has("Connection") { headers.append(("Connection", "close")) }
        var bytes = head(status: status, reason: reason, headers: headers)
        if !bodiless {
            if chunkSize > 0 {
                var offset = 0
                let all = [UInt8](body)
                while offset < all.count {
                    let piece = all[offset..<min(all.count, offset + chunkSize)]
                    bytes += Array(String(piece.count, radix: 16).utf8) + loopbackCRLF
                    bytes += piece
                    bytes += loopbackCRLF
                    offset += piece.count
                }
                bytes += Array("0\r\n\r\n".utf8)
            } else {
                bytes += body
            }
        }
        guard sendAll(bytes) else { return .drop }
        return close ? .close : .keepOpen
    }
}

// MARK: - Sockets

/// Socket and byte helpers, in a namespace so they cannot collide with the rest of the test module.
private enum LoopbackIO {
    static func monotonicNow() -> Double {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
    }

    static func loopbackAddress(port: UInt16) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr = in_addr(s_addr: UInt32(0x7F00_0001).bigEndian)  // 127.0.0.1
        return address
    }

    static func openSocket() throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw LoopbackServerError(call: "socket", code: errno) }
        return fd
    }

    /// A non-blocking socket listening on 127.0.0.1, port 0.
    static func openListener() throws -> Int32 {
        let fd = try LoopbackIO.openSocket()
        var address = LoopbackIO.loopbackAddress(port: 0)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(fd, 128) == 0 else {
            let code = errno
            Glibc.close(fd)
            throw LoopbackServerError(call: bound == 0 ? "listen" : "bind", code: code)
        }
        LoopbackIO.configure(fd)
        return fd
    }

    /// Non-blocking and close-on-exec.
    static func configure(_ fd: Int32) {
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        _ = fcntl(fd, F_SETFD, fcntl(fd, F_GETFD) | FD_CLOEXEC)
    }

    // accept4 and pipe2 set close-on-exec atomically, so a process another test spawns meanwhile
    // can't inherit (and keep open) a connection; Swift's Glibc module doesn't declare them (they
    // are _GNU_SOURCE), so they are looked up at run time, with a fallback.
    typealias LoopbackAccept4 = @convention(c) (Int32, UnsafeMutablePointer<sockaddr>?, UnsafeMutablePointer<socklen_t>?, Int32) -> Int32
    typealias LoopbackPipe2 = @convention(c) (UnsafeMutablePointer<Int32>?, Int32) -> Int32

    static let accept4Function: LoopbackAccept4? = dlsym(nil, "accept4").map { unsafeBitCast($0, to: LoopbackAccept4.self) }
    static let pipe2Function: LoopbackPipe2? = dlsym(nil, "pipe2").map { unsafeBitCast($0, to: LoopbackPipe2.self) }

    /// A non-blocking, close-on-exec connection from the listener, or -1 (errno set).
    static func acceptConnection(_ listener: Int32) -> Int32 {
        if let accept4 = accept4Function {
            return accept4(listener, nil, nil, Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue))
        }
        let fd = accept(listener, nil, nil)
        if fd >= 0 { LoopbackIO.configure(fd) }
        return fd
    }

    /// A non-blocking, close-on-exec pipe; 0 or -1 (errno set).
    static func makePipe(_ fds: inout [Int32]) -> Int32 {
        if let pipe2 = pipe2Function {
            return fds.withUnsafeMutableBufferPointer { pipe2($0.baseAddress, O_CLOEXEC | O_NONBLOCK) }
        }
        guard pipe(&fds) == 0 else { return -1 }
        for fd in fds { LoopbackIO.configure(fd) }
        return 0
    }

    static func boundPort(_ fd: Int32) throws -> UInt16 {
        var address = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let rc = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard rc == 0 else { throw LoopbackServerError(call: "getsockname", code: errno) }
        return UInt16(bigEndian: address.sin_port)
    }

    static func find(_ needle: [UInt8], in haystack: [UInt8], from start: Int) -> Int? {
        guard haystack.count >= needle.count, start <= haystack.count - needle.count else { return nil }
        return haystack.withUnsafeBufferPointer { bytes -> Int? in
            var index = max(0, start)
            let last = bytes.count - needle.count
            while index <= last {
                if bytes[index] == needle[0] {
                    var match = true
                    for offset in 1..<needle.count where bytes[index + offset] != needle[offset] {
                        match = false
                        break
                    }
                    if match { return index }
                }
                index += 1
            }
            return nil
        }
    }

    static func reasonPhrase(_ status: Int) -> String {
        switch status {
        case 100: "Continue"
        case 200: "OK"
        case 201: "Created"
        case 202: "Accepted"
        case 204: "No Content"
        case 301: "Moved Permanently"
        case 302: "Found"
        case 303: "See Other"
        case 304: "Not Modified"
        case 307: "Temporary Redirect"
        case 308: "Permanent Redirect"
        case 400: "Bad Request"
        case 401: "Unauthorized"
        case 403: "Forbidden"
        case 404: "Not Found"
        case 405: "Method Not Allowed"
        case 408: "Request Timeout"
        case 409: "Conflict"
        case 413: "Content Too Large"
        case 415: "Unsupported Media Type"
        case 422: "Unprocessable Content"
        case 429: "Too Many Requests"
        case 431: "Request Header Fields Too Large"
        case 500: "Internal Server Error"
        case 501: "Not Implemented"
        case 502: "Bad Gateway"
        case 503: "Service Unavailable"
        case 504: "Gateway Timeout"
        default: "Status \(status)"
        }
    }
}
