import Foundation
import XCTest

#if canImport(Glibc)
    import Glibc
#endif

// What TwoServersTests drives: `flow serve` processes, localstripe, and HTTP over raw sockets.
//
// Built so that nothing can hang a `swift test` run: every child is spawned with posix_spawn (no
// Foundation Process, no pipe left unread: output goes to files), through
// `setpriv --pdeathsig KILL` so it dies with the test process even if that one crashes, and is
// killed and reaped by its owner's `stop()`; every wait has a deadline; every socket has send and
// receive timeouts.

/// The root of the package: this file is `<root>/Tests/FlowPostgresTests/TwoServersHarness.swift`.
let packageRoot = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

struct HarnessFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Under `CI=true` a missing tool fails the test; elsewhere it skips it.
func unavailable(_ what: String, _ reason: String) -> Error {
    if ProcessInfo.processInfo.environment["CI"] == "true" {
        return HarnessFailure("\(what) is not available (CI=true, so this is a failure): \(reason)")
    }
    return XCTSkip("\(what) is not available: \(reason)")
}

// MARK: - Child processes

/// A child process: spawned with posix_spawn, its standard output and error in `logURL`, its
/// standard input /dev/null or the read end of a pipe the owner holds.
final class Child: @unchecked Sendable {
    let pid: pid_t
    let logURL: URL
    private let lock = NSLock()
    private var status: Int32?
    /// The write end of the child's standard input, when it has one (closing it is its EOF).
    private var inputFD: Int32

    /// Runs `arguments` (arguments[0] an absolute path) with `environment`. With `pipeInput`, the
    /// child's standard input is a pipe whose write end this object holds until `closeInput()`.
    init(_ arguments: [String], environment: [String: String], pipeInput: Bool = false, log name: String) throws {
        logURL = FileManager.default.temporaryDirectory.appendingPathComponent("\(name)-\(UUID().uuidString).log")
        _ = FileManager.default.createFile(atPath: logURL.path, contents: nil)
        Child.closeOnExecEverything()
        var fds: [Int32] = [-1, -1]
        if pipeInput {
            guard pipe(&fds) == 0 else { throw HarnessFailure("pipe failed: \(String(cString: strerror(errno)))") }
            _ = fcntl(fds[0], F_SETFD, FD_CLOEXEC)
            _ = fcntl(fds[1], F_SETFD, FD_CLOEXEC)
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        if pipeInput {
            posix_spawn_file_actions_adddup2(&actions, fds[0], 0)
        } else {
            posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        }
        posix_spawn_file_actions_addopen(&actions, 1, logURL.path, O_WRONLY | O_APPEND, 0)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        // Dies with the test process, whatever ends it.
        var argv = arguments
        if FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv") {
            argv = ["/usr/bin/setpriv", "--pdeathsig", "KILL", "--"] + argv
        }
        let cArgs: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
        let cEnv: [UnsafeMutablePointer<CChar>?] = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            cArgs.forEach { free($0) }
            cEnv.forEach { free($0) }
        }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, argv[0], &actions, nil, cArgs, cEnv)
        if pipeInput { close(fds[0]) }
        guard rc == 0 else {
            if pipeInput { close(fds[1]) }
            throw HarnessFailure("cannot run \(argv[0]): \(String(cString: strerror(rc)))")
        }
        self.pid = pid
        inputFD = fds[1]
    }

    /// Every descriptor of this process above 2 gets FD_CLOEXEC, so no child inherits a socket or
    /// pipe end of the tests (a server holding another's connection open, a pipe never at EOF).
    static func closeOnExecEverything() {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd") else { return }
        for name in names {
            guard let fd = Int32(name), fd > 2 else { continue }
            let flags = fcntl(fd, F_GETFD)
            if flags >= 0 { _ = fcntl(fd, F_SETFD, flags | FD_CLOEXEC) }
        }
    }

    var log: String { (try? String(contentsOf: logURL, encoding: .utf8)) ?? "" }

    /// Whether it still runs (reaping it when it has ended).
    var isRunning: Bool {
        lock.lock()
        defer { lock.unlock() }
        return reap(block: false) == nil
    }

    /// The exit status (128 + the signal for a signal), or nil while it runs. Call with the lock.
    private func reap(block: Bool) -> Int32? {
        if let status { return status }
        var raw: Int32 = 0
        while true {
            let r = waitpid(pid, &raw, block ? 0 : WNOHANG)
            if r == pid { break }
            if r == 0 { return nil }
            if errno == EINTR { continue }
            status = -1  // not our child any more (reaped elsewhere): treat as ended
            return status
        }
        let signal = raw & 0x7f
        status = signal == 0 ? (raw >> 8) & 0xff : 128 + signal
        return status
    }

    /// Closes the child's standard input (nothing when it has none).
    func closeInput() {
        lock.lock()
        if inputFD >= 0 { close(inputFD) }
        inputFD = -1
        lock.unlock()
    }

    /// Sends `signal`, waits up to `timeout` seconds for the end, then SIGKILL; the exit status.
    @discardableResult
    func stop(_ signal: Int32 = SIGKILL, timeout: Double = 10) -> Int32 {
        closeInput()
        lock.lock()
        defer { lock.unlock() }
        if let status = reap(block: false) { return status }
        kill(pid, signal)
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let status = reap(block: false) { return status }
            usleep(5_000)
        }
        kill(pid, SIGKILL)
        return reap(block: true) ?? -1
    }

    /// Waits up to `timeout` seconds for the child to end by itself; its status, or nil.
    func wait(timeout: Double) -> Int32? {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            lock.lock()
            let status = reap(block: false)
            lock.unlock()
            if let status { return status }
            usleep(20_000)
        }
        return nil
    }

    deinit {
        _ = stop(SIGKILL, timeout: 5)
        try? FileManager.default.removeItem(at: logURL)
    }
}

/// Runs a command to its end (at most `timeout` seconds): its status and what it wrote.
func runCommand(_ arguments: [String], timeout: Double) throws -> (status: Int32, output: String) {
    let child = try Child(arguments, environment: ProcessInfo.processInfo.environment, log: "flow-cmd")
    guard let status = child.wait(timeout: timeout) else {
        child.stop()
        throw HarnessFailure("\(arguments.joined(separator: " ")) ran longer than \(Int(timeout)) s:\n\(child.log)")
    }
    return (status, child.log)
}

// MARK: - flow serve

/// A `flow serve` process on a free loopback port.
final class ServeChild: @unchecked Sendable {
    static var binary: String {
        if let path = ProcessInfo.processInfo.environment["FLOW_BIN"], !path.isEmpty { return path }
        return Bundle.main.bundleURL.appendingPathComponent("flow").path
    }

    let child: Child
    let port: UInt16
    let name: String

    /// Starts `flow serve arguments… --listen 127.0.0.1:0` and waits (up to 60 s) for its
    /// "listening on" line.
    init(_ name: String, _ arguments: [String], environment: [String: String] = [:]) throws {
        self.name = name
        var env = ProcessInfo.processInfo.environment
        for key in ["NO_COLOR", "FLOW_BACKTRACE", "TERM"] { env[key] = nil }
        env["NO_COLOR"] = "1"
        for (k, v) in environment { env[k] = v }
        child = try Child([Self.binary, "serve"] + arguments + ["--listen", "127.0.0.1:0"], environment: env, log: "flow-serve-\(name)")
        let deadline = Date().addingTimeInterval(60)
        var found: UInt16?
        while Date() < deadline {
            let text = child.log
            if let range = text.range(of: #"listening on http://127\.0\.0\.1:(\d+)"#, options: .regularExpression) {
                found = UInt16(text[range].split(separator: ":").last!)
                break
            }
            if !child.isRunning { break }
            usleep(20_000)
        }
        guard let found else {
            let log = child.log
            child.stop()
            throw HarnessFailure("flow serve (\(name)) did not start:\n\(log)")
        }
        port = found
    }

    var log: String { child.log }

    @discardableResult
    func stop(_ signal: Int32 = SIGKILL) -> Int32 { child.stop(signal) }
}

// MARK: - HTTP

/// An HTTP response as the tests read it.
struct HTTPReply: Sendable {
    var status: Int
    var headers: [String: String]
    var body: Data
    var text: String { String(decoding: body, as: UTF8.self) }
    var json: [String: Any] { (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] ?? [:] }
    var version: Int? { json["version"] as? Int }
    var current: [String: Any] { json["current"] as? [String: Any] ?? [:] }
}

/// One keep-alive HTTP/1.1 connection to 127.0.0.1:`port`, on a raw socket with send and receive
/// timeouts: a request either answers or throws within `timeout` seconds of silence.
final class HTTPConnection: @unchecked Sendable {
    let port: UInt16
    private let fd: Int32
    private var buffer: [UInt8] = []

    init(port: UInt16, timeout: Int = 60) throws {
        self.port = port
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw HarnessFailure("socket failed") }
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        var time = timeval(tv_sec: timeout, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &time, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &time, socklen_t(MemoryLayout<timeval>.size))
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        let rc = connectLoopback(fd, port: port)
        guard rc == 0 else {
            let message = String(cString: strerror(errno))
            close(fd)
            throw HarnessFailure("cannot connect to port \(port): \(message)")
        }
    }

    deinit { close(fd) }

    /// Sends a request and reads its response.
    func request(_ method: String, _ path: String, body: String? = nil, contentType: String = "application/json",
                 headers: [String: String] = [:]) throws -> HTTPReply {
        try send(method, path, body: body, contentType: contentType, headers: headers)
        return try readReply()
    }

    /// Sends a request without reading the response.
    func send(_ method: String, _ path: String, body: String? = nil, contentType: String = "application/json",
              headers: [String: String] = [:]) throws {
        var head = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\n"
        for (k, v) in headers { head += "\(k): \(v)\r\n" }
        if let body { head += "Content-Type: \(contentType)\r\nContent-Length: \(body.utf8.count)\r\n" }
        let bytes = Array((head + "\r\n" + (body ?? "")).utf8)
        var sent = 0
        while sent < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + sent, $0.count - sent, Int32(MSG_NOSIGNAL)) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw HarnessFailure("sending to port \(port) failed: \(String(cString: strerror(errno)))") }
            sent += n
        }
    }

    /// The next response (Content-Length, chunked, or to the end of the connection).
    func readReply() throws -> HTTPReply {
        while true {
            guard let end = find([13, 10, 13, 10], from: 0) else {
                guard try fill() else { throw HarnessFailure("port \(port) closed the connection without an answer") }
                continue
            }
            var lines = String(decoding: buffer[0..<end], as: UTF8.self).components(separatedBy: "\r\n")
            let statusLine = lines.removeFirst()
            let parts = statusLine.split(separator: " ")
            guard parts.count >= 2, let status = Int(parts[1]) else { throw HarnessFailure("not an HTTP status line: \(statusLine)") }
            var headers: [String: String] = [:]
            for line in lines {
                guard let colon = line.firstIndex(of: ":") else { continue }
                headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            }
            var body: [UInt8]
            let start = end + 4
            if let text = headers["content-length"], let length = Int(text) {
                while buffer.count < start + length {
                    guard try fill() else { throw HarnessFailure("port \(port) closed the connection in a body") }
                }
                body = Array(buffer[start..<(start + length)])
                buffer.removeFirst(start + length)
            } else if headers["transfer-encoding"]?.lowercased().contains("chunked") == true {
                body = []
                var at = start
                while true {
                    var lineEnd = find([13, 10], from: at)
                    while lineEnd == nil {
                        guard try fill() else { throw HarnessFailure("port \(port) closed the connection in a chunk") }
                        lineEnd = find([13, 10], from: at)
                    }
                    let sizeText = String(decoding: buffer[at..<lineEnd!], as: UTF8.self).split(separator: ";").first ?? ""
                    guard let size = Int(sizeText.trimmingCharacters(in: .whitespaces), radix: 16) else {
                        throw HarnessFailure("a malformed chunk size from port \(port)")
                    }
                    at = lineEnd! + 2
                    while buffer.count < at + size + 2 {
                        guard try fill() else { throw HarnessFailure("port \(port) closed the connection in a chunk") }
                    }
                    body += buffer[at..<(at + size)]
                    at += size + 2
                    if size == 0 { break }
                }
                buffer.removeFirst(at)
            } else if status == 204 || status == 304 || status / 100 == 1 {
                body = []
                buffer.removeFirst(start)
            } else {
                while try fill() {}
                body = Array(buffer[start...])
                buffer.removeAll()
            }
            if status == 100 { continue }
            return HTTPReply(status: status, headers: headers, body: Data(body))
        }
    }

    /// Reads more; false at the end of the connection. Throws on a timeout or an error.
    private func fill() throws -> Bool {
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n > 0 {
                buffer += chunk[0..<n]
                return true
            }
            if n == 0 { return false }
            if errno == EINTR { continue }
            if errno == EAGAIN || errno == EWOULDBLOCK { throw HarnessFailure("no answer from port \(port) in time") }
            throw HarnessFailure("reading from port \(port) failed: \(String(cString: strerror(errno)))")
        }
    }

    private func find(_ pattern: [UInt8], from: Int) -> Int? {
        guard buffer.count >= from + pattern.count else { return nil }
        var i = from
        while i <= buffer.count - pattern.count {
            if buffer[i] == pattern[0] && Array(buffer[i..<(i + pattern.count)]) == pattern { return i }
            i += 1
        }
        return nil
    }
}

/// One request on a connection of its own.
func httpRequest(port: UInt16, _ method: String, _ path: String, body: String? = nil, timeout: Int = 60) throws -> HTTPReply {
    try HTTPConnection(port: port, timeout: timeout).request(method, path, body: body)
}

// MARK: - localstripe

/// localstripe (a fake Stripe, from PyPI), started by
/// `Tests/FlowCLITests/support/localstripe-server.py` on a free loopback port: installed into
/// `<build folder>/localstripe-venv` once, the same place and lock as PaymentEndToEndTests
/// (`FLOW_LOCALSTRIPE_VENV` overrides it). It exits when its standard input ends.
final class StripeChild: @unchecked Sendable {
    static let requirement = "localstripe==1.15.10"
    static let secretKey = "sk_test_flowTwoServers4eC39HqLyjWDarjtT1zdp7dc"

    let child: Child
    let port: UInt16

    static func start() throws -> StripeChild {
        let python: String
        do {
            python = try installed()
        } catch let error as XCTSkip {
            throw error
        } catch let error as HarnessFailure where error.description.contains("CI=true") {
            throw error
        } catch {
            throw unavailable("localstripe", "installing it failed: \(error)")
        }
        let script = packageRoot.appendingPathComponent("Tests/FlowCLITests/support/localstripe-server.py").path
        let child = try Child([python, script], environment: ProcessInfo.processInfo.environment, pipeInput: true, log: "localstripe")
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            let text = child.log
            if let range = text.range(of: #"port \d+"#, options: .regularExpression),
                let port = UInt16(text[range].dropFirst(5))
            {
                let stripe = StripeChild(child: child, port: port)
                // It listens once it says so; wait for an answer all the same.
                while Date() < deadline {
                    if let reply = try? stripe.call("GET", "/v1/charges"), reply.status == 200 { return stripe }
                    usleep(100_000)
                }
                break
            }
            if !child.isRunning { break }
            usleep(50_000)
        }
        let log = child.log
        child.stop()
        throw unavailable("localstripe", "it did not start:\n\(log)")
    }

    private init(child: Child, port: UInt16) {
        self.child = child
        self.port = port
    }

    func stop() {
        child.closeInput()
        if child.wait(timeout: 5) == nil { child.stop(SIGTERM, timeout: 5) }
    }

    /// A request with the secret key (a form body for POST).
    func call(_ method: String, _ path: String, form: [(String, String)] = []) throws -> HTTPReply {
        let connection = try HTTPConnection(port: port, timeout: 30)
        let body = form.map { "\($0.0)=\($0.1.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")" }.joined(separator: "&")
        return try connection.request(method, path, body: method == "POST" ? body : nil,
                                      contentType: "application/x-www-form-urlencoded",
                                      headers: ["Authorization": "Bearer \(Self.secretKey)", "Connection": "close"])
    }

    /// Every charge localstripe holds (at most 100; more fails).
    func charges() throws -> [[String: Any]] {
        let reply = try call("GET", "/v1/charges?limit=100")
        guard reply.status == 200, let list = reply.json["data"] as? [[String: Any]] else {
            throw HarnessFailure("GET /v1/charges: \(reply.status) \(reply.text)")
        }
        guard reply.json["has_more"] as? Bool != true else { throw HarnessFailure("more than 100 charges") }
        return list
    }

    /// How many charges there are of each amount (in cents).
    func chargesByAmount() throws -> [Int: Int] {
        var counts: [Int: Int] = [:]
        for charge in try charges() {
            counts[charge["amount"] as? Int ?? -1, default: 0] += 1
        }
        return counts
    }

    /// A payment method for a test card, as the client's Tokenize extension makes it.
    func paymentMethod() throws -> String {
        let reply = try call("POST", "/v1/payment_methods", form: [
            ("type", "card"), ("card[number]", "4242424242424242"), ("card[exp_month]", "12"), ("card[exp_year]", "2034"),
            ("card[cvc]", "123"),
        ])
        guard reply.status == 200, let id = reply.json["id"] as? String else {
            throw HarnessFailure("POST /v1/payment_methods: \(reply.status) \(reply.text)")
        }
        return id
    }

    /// Makes every later charge's response wait `seconds` (0 releases those held).
    func holdCharges(_ seconds: Double) throws {
        let reply = try call("POST", "/_test/hold_charges", form: [("seconds", String(seconds))])
        guard reply.status == 200 else { throw HarnessFailure("POST /_test/hold_charges: \(reply.status) \(reply.text)") }
    }

    // MARK: Installing

    static func installed() throws -> String {
        let venv = venvDirectory
        let python = venv.appendingPathComponent("bin/python").path
        try FileManager.default.createDirectory(at: venv.deletingLastPathComponent(), withIntermediateDirectories: true)
        let lock = open(venv.path + ".lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard lock >= 0 else { throw unavailable("localstripe", "cannot create \(venv.path).lock") }
        defer { close(lock) }
        flock(lock, LOCK_EX)
        defer { flock(lock, LOCK_UN) }
        if FileManager.default.isExecutableFile(atPath: python),
            (try? runCommand([python, "-c", "import localstripe, aiohttp"], timeout: 60))?.status == 0
        {
            return python
        }
        guard let python3 = ["/usr/bin/python3", "/usr/local/bin/python3"].first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw unavailable("localstripe", "there is no python3")
        }
        let made = try runCommand([python3, "-m", "venv", "--clear", venv.path], timeout: 120)
        guard made.status == 0 else { throw unavailable("localstripe", "python3 -m venv \(venv.path) failed:\n\(made.output)") }
        let pip = try runCommand([python, "-m", "pip", "install", "--disable-pip-version-check", "--quiet", requirement], timeout: 600)
        guard pip.status == 0 else { throw unavailable("localstripe", "pip install \(requirement) failed:\n\(pip.output)") }
        return python
    }

    /// `<build folder>/localstripe-venv`: the nearest folder above the products directory that
    /// holds SwiftPM's `workspace-state.json`.
    private static var venvDirectory: URL {
        if let path = ProcessInfo.processInfo.environment["FLOW_LOCALSTRIPE_VENV"], !path.isEmpty {
            return URL(fileURLWithPath: path)
        }
        let products = Bundle.main.bundleURL
        var folder = products.resolvingSymlinksInPath()
        for _ in 0..<4 {
            folder = folder.deletingLastPathComponent()
            if FileManager.default.fileExists(atPath: folder.appendingPathComponent("workspace-state.json").path) {
                return folder.appendingPathComponent("localstripe-venv")
            }
        }
        return products.deletingLastPathComponent().appendingPathComponent("localstripe-venv")
    }
}

// MARK: - Threads

/// Starts `body(i)` for i in 0..<count on threads of their own, all released at once (each
/// waits for the others to be ready, at most `timeout` seconds); the group they leave when done.
func release(_ count: Int, timeout: Double = 60, _ body: @escaping @Sendable (Int) -> Void) -> DispatchGroup {
    let ready = DispatchSemaphore(value: 0)
    let go = DispatchSemaphore(value: 0)
    let done = DispatchGroup()
    for i in 0..<count {
        done.enter()
        let thread = Thread {
            ready.signal()
            _ = go.wait(timeout: .now() + timeout)
            body(i)
            done.leave()
        }
        thread.stackSize = 1 << 20
        thread.start()
    }
    for _ in 0..<count { _ = ready.wait(timeout: .now() + timeout) }
    for _ in 0..<count { go.signal() }
    return done
}

/// `release`, then waits up to `timeout` seconds for every thread; false when one did not finish.
func together(_ count: Int, timeout: Double, _ body: @escaping @Sendable (Int) -> Void) -> Bool {
    release(count, timeout: timeout, body).wait(timeout: .now() + timeout) == .success
}

/// A value several threads write under a lock.
final class Shared<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value
    init(_ value: Value) { self.value = value }
    func with<T>(_ body: (inout Value) -> T) -> T {
        lock.lock()
        defer { lock.unlock() }
        return body(&value)
    }
    var get: Value { with { $0 } }
}

// MARK: - A gateway still at work

/// A charge endpoint on the loopback with Stripe's idempotency rules, which localstripe does not
/// have for a request in progress: a request whose `Idempotency-Key` is still being processed gets
/// 409 `idempotency_key_in_use`; one whose key is done gets the first response again; a new key is
/// a new charge. While `holding`, a new charge stays in progress (the bank is slow) until
/// `releaseHeld()`. Every request is counted.
final class SlowGateway: @unchecked Sendable {
    let port: UInt16
    private let fd: Int32
    private let lock = NSLock()
    private var _holding = false
    private var held: [DispatchSemaphore] = []
    private var inProgress: Set<String> = []
    private var done: [String: String] = [:]
    private var _charges: [String] = []  // the key of each charge made
    private var _requests: [String] = []  // "charge", "replay" or "in use", in order

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.fd = fd
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var size = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, size) } }
        guard bound == 0, listen(fd, 64) == 0 else {
            close(fd)
            throw HarnessFailure("the gateway cannot listen: \(String(cString: strerror(errno)))")
        }
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &size) } }
        port = UInt16(bigEndian: address.sin_port)
        let thread = Thread { [self] in
            while true {
                let c = accept(fd, nil, nil)
                if c < 0 {
                    if errno == EINTR { continue }
                    return
                }
                _ = fcntl(c, F_SETFD, FD_CLOEXEC)
                Thread { self.handle(c) }.start()
            }
        }
        thread.start()
    }

    var holding: Bool {
        get { lock.lock(); defer { lock.unlock() }; return _holding }
        set { lock.lock(); _holding = newValue; lock.unlock() }
    }
    var charges: [String] { lock.lock(); defer { lock.unlock() }; return _charges }
    var requests: [String] { lock.lock(); defer { lock.unlock() }; return _requests }

    /// Lets every charge held so far answer (and new ones go through).
    func releaseHeld() {
        lock.lock()
        _holding = false
        let waiting = held
        held = []
        lock.unlock()
        waiting.forEach { $0.signal() }
    }

    func stop() {
        releaseHeld()
        shutdown(fd, Int32(SHUT_RDWR))
        close(fd)
    }

    private func handle(_ c: Int32) {
        defer { close(c) }
        var time = timeval(tv_sec: 30, tv_usec: 0)
        setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &time, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &time, socklen_t(MemoryLayout<timeval>.size))
        var data: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 8192)
        var key = ""
        var body = ""
        while true {
            let n = chunk.withUnsafeMutableBytes { recv(c, $0.baseAddress, $0.count, 0) }
            if n <= 0 { return }
            data += chunk[0..<n]
            let text = String(decoding: data, as: UTF8.self)
            guard let end = text.range(of: "\r\n\r\n") else { continue }
            var length = 0
            for line in text[..<end.lowerBound].components(separatedBy: "\r\n") {
                let lower = line.lowercased()
                let value = line.split(separator: ":", maxSplits: 1).last.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
                if lower.hasPrefix("content-length:") { length = Int(value) ?? 0 }
                if lower.hasPrefix("idempotency-key:") { key = value }
            }
            body = String(text[end.upperBound...])
            if body.utf8.count >= length { break }
        }
        let amount = body.split(separator: "&").first { $0.hasPrefix("amount=") }.map { String($0.dropFirst(7)) } ?? "0"
        var status = 200
        var answer: String
        lock.lock()
        if let first = done[key] {
            answer = first
            _requests.append("replay")
            lock.unlock()
        } else if inProgress.contains(key) {
            status = 409
            answer = #"{"error": {"type": "idempotency_error", "code": "idempotency_key_in_use", "message": "There is currently another in-progress request using this Stripe API key and idempotency key."}}"#
            _requests.append("in use")
            lock.unlock()
        } else {
            inProgress.insert(key)
            _charges.append(key)
            _requests.append("charge")
            answer = #"{"id": "ch_slow_\#(_charges.count)", "object": "charge", "status": "succeeded", "paid": true, "amount": \#(amount), "failure_message": null}"#
            var wait: DispatchSemaphore?
            if _holding {
                wait = DispatchSemaphore(value: 0)
                held.append(wait!)
            }
            lock.unlock()
            _ = wait?.wait(timeout: .now() + 60)
            lock.lock()
            inProgress.remove(key)
            done[key] = answer
            lock.unlock()
        }
        let reason = status == 200 ? "OK" : "Conflict"
        let response = "HTTP/1.1 \(status) \(reason)\r\nContent-Type: application/json\r\nContent-Length: \(answer.utf8.count)\r\nConnection: close\r\n\r\n\(answer)"
        _ = Array(response.utf8).withUnsafeBytes { send(c, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }
}

/// `connect` to 127.0.0.1:`port` on a blocking socket, riding out a signal: a connect interrupted by a
/// signal (the SIGCHLD of a killed server, say) is restarted by the kernel and then reports `EALREADY`
/// while it is still under way and `EISCONN` once it has completed, both of which are not failures.
func connectLoopback(_ fd: Int32, port: UInt16) -> Int32 {
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = port.bigEndian
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let giveUp = Date().addingTimeInterval(60)
    while true {
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        if rc == 0 || errno == EISCONN { return 0 }
        guard [EINTR, EALREADY, EINPROGRESS].contains(errno), Date() < giveUp else { return -1 }
        usleep(1_000)
    }
}
