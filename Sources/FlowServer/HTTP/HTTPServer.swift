import CPoll
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

public struct HTTPServerConfiguration: Sendable {
    public var host = "127.0.0.1"
    public var port: UInt16 = 8080
    public var limits = HTTPLimits()
    /// Open connections at most. At the limit, the connection idle the longest is closed to make
    /// room for a new one; when none is idle, the new one is closed.
    public var maxConnections = 4096
    /// Threads that run requests (store, sessions, IP calls); the sockets have one thread of their own.
    /// Most of a worker's time is spent waiting (for its step's group commit, for an IP), so
    /// there are many more than cores: on 2 cores with 64 clients, 32 workers made batches of
    /// commits larger and a step cheaper (about 150 µs of CPU) than 8 (about 190 µs) or 4.
    public var workers = 32
    /// From the first byte of a request to its last: a client that sends a byte a second is cut off.
    public var requestTimeout: Double = 10
    /// A kept-alive connection with no request for this long is closed.
    public var idleTimeout: Double = 60
    /// A response the client does not read within this long is dropped with its connection.
    public var writeTimeout: Double = 30
    /// On SIGTERM/SIGINT, requests in flight get this long to finish.
    public var shutdownGrace: Double = 30

    public init() {}
}

/// An HTTP/1.1 server on the toolchain's sockets: one thread runs every socket through epoll
/// (accepting, reading, parsing heads, enforcing limits and deadlines, writing), and a small pool
/// of worker threads runs the handler, one request at a time per connection.
///
/// Design note: a connection is in one of four states: idle (kept alive, no byte of a request
/// yet), reading (a request has begun; its deadline runs), handling (a worker has the request;
/// the socket is not read, so pipelined requests wait in its buffer), writing (the response is
/// going out; EPOLLOUT when the socket is full). Idle connections cost a file descriptor and a
/// few hundred bytes, no thread, so thousands can wait. A request that breaks a limit (head,
/// header count, body size, deadline, malformed bytes) is answered and the connection closed.
/// `stop()` (and SIGTERM/SIGINT after `stopOnSignals()`) closes the listening socket, lets the
/// requests in flight finish and be written, closes the rest, and makes `run()` return.
public final class HTTPServer: @unchecked Sendable {
    public typealias Handler = @Sendable (ServerRequest) -> ServerResponse

    public let configuration: HTTPServerConfiguration
    private let handler: Handler
    private var listenFD: Int32 = -1
    private var epollFD: Int32 = -1
    private var wakeRead: Int32 = -1
    private var wakeWrite: Int32 = -1
    /// The port bound (useful with port 0).
    public private(set) var boundPort: UInt16 = 0

    private var connections: [Int32: Connection] = [:]
    /// Where the socket thread reads into (one buffer, not one allocated per read).
    private let readBuffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 16 * 1024, alignment: 16)
    /// The `Date` header's value and the second it was made for (socket thread only).
    private var dateCache: (second: Int, text: String) = (-1, "")
    private var nextSerial: UInt64 = 0
    private var stopping = false
    private var stopDeadline: Double = 0

    // Shared with the workers.
    private let jobs = NSCondition()
    private var pending: [Job] = []
    private var workersStopping = false
    private let outbox = NSLock()
    private var finished: [Done] = []
    private var stopRequested = false
    private var threads: [Thread] = []

    /// Observed by metrics.
    public var onConnectionCountChange: (@Sendable (Int) -> Void)?

    public init(configuration: HTTPServerConfiguration, handler: @escaping Handler) {
        self.configuration = configuration
        self.handler = handler
    }

    deinit { readBuffer.deallocate() }

    // MARK: - Starting and stopping

    /// Binds and listens; throws a message for the server's operator (an address in use, say).
    public func bind() throws {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV
        var info: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(configuration.host, String(configuration.port), &hints, &info)
        guard rc == 0, let first = info else {
            throw ServerError("cannot resolve the address '\(configuration.host)': \(String(cString: gai_strerror(rc)))")
        }
        defer { freeaddrinfo(info) }
        let fd = socket(first.pointee.ai_family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw ServerError("cannot create a socket: \(errnoText())") }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        guard Glibc.bind(fd, first.pointee.ai_addr, first.pointee.ai_addrlen) == 0 else {
            let text = errnoText()
            close(fd)
            throw ServerError("cannot listen on \(configuration.host):\(configuration.port): \(text)")
        }
        guard listen(fd, 1024) == 0 else {
            let text = errnoText()
            close(fd)
            throw ServerError("cannot listen on \(configuration.host):\(configuration.port): \(text)")
        }
        var address = sockaddr_storage()
        var size = socklen_t(MemoryLayout<sockaddr_storage>.size)
        withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { _ = getsockname(fd, $0, &size) }
        }
        if address.ss_family == sa_family_t(AF_INET) {
            boundPort = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { UInt16(bigEndian: $0.pointee.sin_port) } }
        } else {
            boundPort = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { UInt16(bigEndian: $0.pointee.sin6_port) } }
        }
        listenFD = fd
        epollFD = flow_epoll_create()
        var fds: [Int32] = [0, 0]
        guard epollFD >= 0, pipe(&fds) == 0 else { throw ServerError("cannot set up epoll: \(errnoText())") }
        wakeRead = fds[0]
        wakeWrite = fds[1]
        for fd in fds {
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        }
        watch(listenFD, events: FLOW_EPOLLIN, add: true)
        watch(wakeRead, events: FLOW_EPOLLIN, add: true)
        Self.raiseFileLimit()
    }

    /// Makes SIGTERM and SIGINT stop the server gracefully. SIGPIPE is ignored (a client that goes
    /// away while it is written to is an error on that socket, not the end of the process).
    public func stopOnSignals() {
        signal(SIGPIPE, SIG_IGN)
        signalWakeFD = wakeWrite
        var action = sigaction()
        action.__sigaction_handler.sa_handler = { _ in
            var byte: UInt8 = 1
            _ = write(signalWakeFD, &byte, 1)
        }
        sigemptyset(&action.sa_mask)
        sigaction(SIGTERM, &action, nil)
        sigaction(SIGINT, &action, nil)
    }

    /// Stops the server from any thread: as SIGTERM does.
    public func stop() {
        outbox.lock()
        stopRequested = true
        outbox.unlock()
        wake()
    }

    /// Runs until stopped; returns once every request in flight has been answered (or the grace
    /// period is over) and the worker threads have ended.
    public func run() {
        signal(SIGPIPE, SIG_IGN)
        for k in 0..<max(1, configuration.workers) {
            let t = Thread { [self] in workerLoop() }
            t.name = "flow-serve-worker-\(k)"
            t.stackSize = 1 << 20
            threads.append(t)
            t.start()
        }
        var readyFDs = [Int32](repeating: 0, count: 256)
        var readyEvents = [UInt32](repeating: 0, count: 256)
        var lastSweep = now()
        while true {
            let n = flow_epoll_wait(epollFD, &readyFDs, &readyEvents, 256, 100)
            if n < 0 && errno != EINTR { break }
            for k in 0..<max(0, Int(n)) {
                let fd = readyFDs[k]
                let flags = readyEvents[k]
                if fd == listenFD {
                    acceptAll()
                } else if fd == wakeRead {
                    drainWake()
                } else if let c = connections[fd] {
                    if flags & (FLOW_EPOLLERR | FLOW_EPOLLHUP) != 0 && c.state != .writing {
                        closeConnection(c)
                        continue
                    }
                    if flags & FLOW_EPOLLIN != 0 { readable(c) }
                    if flags & FLOW_EPOLLOUT != 0, connections[fd] === c { flush(c) }
                }
            }
            deliverFinished()
            let t = now()
            if t - lastSweep >= 0.1 {
                lastSweep = t
                sweep(t)
            }
            if stopping {
                let busy = connections.values.contains { $0.state == .handling || $0.state == .writing }
                if !busy || t > stopDeadline { break }
            }
        }
        for c in Array(connections.values) { closeConnection(c) }
        jobs.lock()
        workersStopping = true
        jobs.broadcast()
        jobs.unlock()
        for t in threads { while !t.isFinished { usleep(1000) } }
        if listenFD >= 0 { close(listenFD) }
        close(epollFD)
        close(wakeRead)
        close(wakeWrite)
        signalWakeFD = -1
    }

    private func beginStop() {
        guard !stopping else { return }
        stopping = true
        stopDeadline = now() + configuration.shutdownGrace
        if listenFD >= 0 {
            _ = flow_epoll_ctl(epollFD, FLOW_EPOLL_CTL_DEL, listenFD, 0)
            close(listenFD)
            listenFD = -1
        }
        // Connections with nothing in flight are closed now; the rest after their answer.
        for c in Array(connections.values) where c.state == .idle || c.state == .reading {
            closeConnection(c)
        }
    }

    // MARK: - Connections

    private enum State { case idle, reading, handling, writing }

    private final class Connection {
        let fd: Int32
        let serial: UInt64
        var state: State = .idle
        var input: [UInt8] = []
        var output: [UInt8] = []
        var written = 0
        var head: RequestHead?
        var since: Double
        var keepAlive = true
        var closeAfterWrite = false
        var sentContinue = false
        var isHead = false
        init(fd: Int32, serial: UInt64, now: Double) {
            self.fd = fd
            self.serial = serial
            since = now
        }
    }

    private struct Job {
        let fd: Int32
        let serial: UInt64
        let request: ServerRequest
    }

    private struct Done {
        let fd: Int32
        let serial: UInt64
        let response: ServerResponse
    }

    private func acceptAll() {
        while listenFD >= 0 {
            let fd = accept(listenFD, nil, nil)
            if fd < 0 {
                if errno == EINTR { continue }
                if errno == EMFILE || errno == ENFILE { evictIdle() }
                return
            }
            if connections.count >= configuration.maxConnections && !evictIdle() {
                let refusal = ServerResponse.error(503, "tooManyConnections", "the server has too many open connections; try again")
                let bytes = refusal.serialized(keepAlive: false)
                _ = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                close(fd)
                continue
            }
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            var one: Int32 = 1
            setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
            nextSerial += 1
            let c = Connection(fd: fd, serial: nextSerial, now: now())
            connections[fd] = c
            watch(fd, events: FLOW_EPOLLIN, add: true)
            onConnectionCountChange?(connections.count)
        }
    }

    /// Closes the connection that has been idle the longest; false when none is idle.
    @discardableResult
    private func evictIdle() -> Bool {
        var oldest: Connection?
        for c in connections.values where c.state == .idle {
            if oldest == nil || c.since < oldest!.since { oldest = c }
        }
        guard let oldest else { return false }
        closeConnection(oldest)
        return true
    }

    private func readable(_ c: Connection) {
        guard c.state == .idle || c.state == .reading else { return }
        let chunk = readBuffer
        while true {
            let n = recv(c.fd, chunk.baseAddress, chunk.count, 0)
            if n > 0 {
                if c.state == .idle {
                    c.state = .reading
                    c.since = now()
                }
                c.input.append(contentsOf: UnsafeRawBufferPointer(rebasing: chunk[0..<n]))
                // Never hold more than one request's worth of bytes.
                if c.input.count > configuration.limits.maxHeadBytes + configuration.limits.maxBodyBytes + 8192 { break }
                if n < chunk.count { break }
                continue
            }
            if n == 0 {
                closeConnection(c)
                return
            }
            if errno == EINTR { continue }
            if errno == EAGAIN || errno == EWOULDBLOCK { break }
            closeConnection(c)
            return
        }
        advance(c)
    }

    /// Parses what has arrived; hands a complete request to a worker.
    private func advance(_ c: Connection) {
        guard c.state == .idle || c.state == .reading else { return }
        if c.input.isEmpty { return }
        if c.state == .idle {
            c.state = .reading
            c.since = now()
        }
        if c.head == nil {
            switch RequestParser.parseHead(c.input, limits: configuration.limits) {
            case nil:
                return
            case .failure(let refusal)?:
                refuse(c, refusal)
                return
            case .success(let head)?:
                c.head = head
            }
        }
        guard let head = c.head else { return }
        if c.input.count < head.length + head.contentLength {
            if head.expectsContinue && !c.sentContinue {
                c.sentContinue = true
                let bytes = Array("HTTP/1.1 100 Continue\r\n\r\n".utf8)
                _ = bytes.withUnsafeBytes { send(c.fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            }
            return
        }
        let body = Array(c.input[head.length..<(head.length + head.contentLength)])
        c.input.removeFirst(head.length + head.contentLength)
        c.head = nil
        c.sentContinue = false
        c.keepAlive = head.keepAlive && !stopping
        c.isHead = head.method == "HEAD"
        c.state = .handling
        // Not read while a worker has the request; pipelined bytes wait in `input`.
        watch(c.fd, events: 0, add: false)
        let request = ServerRequest(method: head.method, path: head.path, query: head.query, version: head.version,
                                    headers: head.headers, body: body)
        jobs.lock()
        pending.append(Job(fd: c.fd, serial: c.serial, request: request))
        jobs.signal()
        jobs.unlock()
    }

    private func refuse(_ c: Connection, _ refusal: RequestRefusal) {
        let response = ServerResponse.error(refusal.status, refusal.code, refusal.message)
        c.keepAlive = false
        c.closeAfterWrite = true
        c.input = []
        startWriting(c, response.serialized(keepAlive: false))
    }

    private func startWriting(_ c: Connection, _ bytes: [UInt8]) {
        c.state = .writing
        c.output = bytes
        c.written = 0
        c.since = now()
        flush(c)
    }

    private func flush(_ c: Connection) {
        guard c.state == .writing else { return }
        while c.written < c.output.count {
            let n = c.output.withUnsafeBytes { raw in
                send(c.fd, raw.baseAddress! + c.written, raw.count - c.written, Int32(MSG_NOSIGNAL))
            }
            if n > 0 {
                c.written += n
                continue
            }
            if n < 0 && errno == EINTR { continue }
            if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) {
                watch(c.fd, events: FLOW_EPOLLOUT, add: false)
                return
            }
            closeConnection(c)
            return
        }
        c.output = []
        c.written = 0
        if c.closeAfterWrite || !c.keepAlive || stopping {
            // Let the client read the answer before the close (a reset could discard it).
            shutdown(c.fd, Int32(SHUT_WR))
            closeConnection(c)
            return
        }
        c.state = .idle
        c.since = now()
        watch(c.fd, events: FLOW_EPOLLIN, add: false)
        advance(c)
    }

    private func closeConnection(_ c: Connection) {
        guard connections[c.fd] === c else { return }
        connections[c.fd] = nil
        _ = flow_epoll_ctl(epollFD, FLOW_EPOLL_CTL_DEL, c.fd, 0)
        close(c.fd)
        onConnectionCountChange?(connections.count)
    }

    /// Deadlines: a request begun and not complete in time gets 408; an idle connection past its
    /// idle time and a stalled write are closed.
    private func sweep(_ t: Double) {
        var expired: [(Connection, Bool)] = []
        for c in connections.values {
            switch c.state {
            case .reading where t - c.since > configuration.requestTimeout: expired.append((c, true))
            case .idle where t - c.since > configuration.idleTimeout: expired.append((c, false))
            case .writing where t - c.since > configuration.writeTimeout: expired.append((c, false))
            default: break
            }
        }
        for (c, answer) in expired {
            if answer {
                refuse(c, RequestRefusal(status: 408, code: "requestTimeout",
                                         message: "the request did not arrive within \(Int(configuration.requestTimeout)) seconds"))
            } else {
                closeConnection(c)
            }
        }
    }

    // MARK: - Workers

    private func workerLoop() {
        while true {
            jobs.lock()
            while pending.isEmpty && !workersStopping { jobs.wait() }
            if pending.isEmpty {
                jobs.unlock()
                return
            }
            let job = pending.removeFirst()
            jobs.unlock()
            let response = handler(job.request)
            outbox.lock()
            // A wake-up is on its way already when answers are waiting: one for all of them.
            let first = finished.isEmpty
            finished.append(Done(fd: job.fd, serial: job.serial, response: response))
            outbox.unlock()
            if first { wake() }
        }
    }

    private func wake() {
        var byte: UInt8 = 0
        _ = write(wakeWrite, &byte, 1)
    }

    private func drainWake() {
        var buffer = [UInt8](repeating: 0, count: 256)
        var signalled = false
        while true {
            let n = buffer.withUnsafeMutableBytes { read(wakeRead, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            if buffer[0..<n].contains(1) { signalled = true }
            // A short read emptied the pipe: no second read to be told so.
            if n < buffer.count { break }
        }
        outbox.lock()
        let requested = stopRequested
        outbox.unlock()
        if signalled || requested { beginStop() }
    }

    private func deliverFinished() {
        outbox.lock()
        let done = finished
        finished = []
        outbox.unlock()
        for d in done {
            guard let c = connections[d.fd], c.serial == d.serial, c.state == .handling else { continue }
            var response = d.response
            if stopping { c.keepAlive = false }
            let second = time(nil)
            if second != dateCache.second { dateCache = (second, Self.httpDate()) }
            response.headers.append(("Date", dateCache.text))
            startWriting(c, response.serialized(keepAlive: c.keepAlive, head: c.isHead))
        }
    }

    // MARK: - Helpers

    private func watch(_ fd: Int32, events: UInt32, add: Bool) {
        _ = flow_epoll_ctl(epollFD, add ? FLOW_EPOLL_CTL_ADD : FLOW_EPOLL_CTL_MOD, fd, events)
    }

    private func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    private static func raiseFileLimit() {
        var limit = rlimit()
        if getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 && limit.rlim_cur < limit.rlim_max {
            limit.rlim_cur = limit.rlim_max
            setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        }
    }

    private static func httpDate() -> String {
        var t = time(nil)
        var parts = tm()
        gmtime_r(&t, &parts)
        var buffer = [CChar](repeating: 0, count: 64)
        let n = strftime(&buffer, buffer.count, "%a, %d %b %Y %H:%M:%S GMT", &parts)
        return String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// The write end of the wake pipe, for the signal handler (which can capture nothing).
nonisolated(unsafe) private var signalWakeFD: Int32 = -1

public struct ServerError: Error, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}

func errnoText() -> String { String(cString: strerror(errno)) }
