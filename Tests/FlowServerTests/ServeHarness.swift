import Foundation
import XCTest

#if canImport(Glibc)
    import Glibc
#endif

/// A `flow serve` process started by a test, on a free port of the loopback, with its log in a file.
final class ServeProcess {
    static let packageRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static var binary: URL {
        if let path = ProcessInfo.processInfo.environment["FLOW_BIN"], !path.isEmpty { return URL(fileURLWithPath: path) }
        return Bundle.main.bundleURL.appendingPathComponent("flow")
    }

    let process = Process()
    let logURL: URL
    private(set) var port: UInt16 = 0

    /// Starts `flow serve arguments… --listen 127.0.0.1:0` and waits for its "listening on" line.
    init(_ arguments: [String], environment: [String: String] = [:], directory: URL = ServeProcess.packageRoot) throws {
        logURL = FileManager.default.temporaryDirectory.appendingPathComponent("flow-serve-\(UUID().uuidString).log")
        FileManager.default.createFile(atPath: logURL.path, contents: nil)
        let log = try FileHandle(forWritingTo: logURL)
        process.executableURL = Self.binary
        process.arguments = ["serve"] + arguments + ["--listen", "127.0.0.1:0"]
        process.currentDirectoryURL = directory
        var env = ProcessInfo.processInfo.environment
        env["NO_COLOR"] = "1"
        for (k, v) in environment { env[k] = v }
        process.environment = env
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = log
        process.standardError = log
        try process.run()
        try log.close()
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            if let range = self.log.range(of: #"listening on http://127\.0\.0\.1:(\d+)"#, options: .regularExpression) {
                port = UInt16(self.log[range].split(separator: ":").last!)!
                return
            }
            if !process.isRunning { break }
            usleep(20_000)
        }
        if process.isRunning { process.terminate() }
        throw HarnessError("flow serve did not start:\n\(self.log)")
    }

    var log: String { (try? String(contentsOf: logURL, encoding: .utf8)) ?? "" }

    /// Sends `signal` and waits for the exit; the exit status (or 128 + the signal).
    @discardableResult
    func stop(_ signal: Int32 = SIGTERM, timeout: Double = 30) -> Int32 {
        guard process.isRunning else { return process.terminationStatus }
        kill(process.processIdentifier, signal)
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(10_000) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        process.waitUntilExit()
        return process.terminationReason == .uncaughtSignal ? 128 + process.terminationStatus : process.terminationStatus
    }

    deinit {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(at: logURL)
    }
}

struct HarnessError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// An HTTP answer as a test reads it.
struct Reply {
    var status: Int
    var headers: [String: String]
    var body: Data
    var text: String { String(decoding: body, as: UTF8.self) }
    var json: [String: Any] { (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] ?? [:] }
    var errorCode: String? { (json["error"] as? [String: Any])?["code"] as? String }
}

/// One TCP connection to the server, driven byte by byte when a test needs it.
final class Client {
    let fd: Int32
    private var buffer: [UInt8] = []

    init(port: UInt16) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        let rc = connectLoopback(fd, port: port)
        guard rc == 0 else {
            close(fd)
            throw HarnessError("cannot connect to port \(port): \(String(cString: strerror(errno)))")
        }
        var timeout = timeval(tv_sec: 20, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { close(fd) }

    func send(_ text: String) { send(Array(text.utf8)) }

    func send(_ bytes: [UInt8]) {
        var sent = 0
        while sent < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + sent, $0.count - sent, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return }
            sent += n
        }
    }

    /// A request with a JSON body (or none).
    func request(_ method: String, _ path: String, json: String? = nil, contentType: String = "application/json",
                 extraHeaders: String = "") throws -> Reply {
        var head = "\(method) \(path) HTTP/1.1\r\nHost: localhost\r\n\(extraHeaders)"
        if let json {
            head += "Content-Type: \(contentType)\r\nContent-Length: \(json.utf8.count)\r\n"
        }
        send(head + "\r\n" + (json ?? ""))
        guard let reply = try readReply(head: method == "HEAD") else { throw HarnessError("the server closed the connection without an answer") }
        return reply
    }

    /// The next response, or nil when the connection closed first.
    func readReply(head: Bool = false) throws -> Reply? {
        while true {
            if let end = find([13, 10, 13, 10]) {
                let headText = String(decoding: buffer[0..<end], as: UTF8.self)
                var lines = headText.components(separatedBy: "\r\n")
                let statusLine = lines.removeFirst()
                let status = Int(statusLine.split(separator: " ")[1]) ?? 0
                var headers: [String: String] = [:]
                for l in lines {
                    if let colon = l.firstIndex(of: ":") {
                        headers[l[..<colon].lowercased()] = l[l.index(after: colon)...].trimmingCharacters(in: .whitespaces)
                    }
                }
                let length = head ? 0 : Int(headers["content-length"] ?? "0") ?? 0
                while buffer.count < end + 4 + length {
                    guard fill() else { throw HarnessError("the connection closed in the middle of a body") }
                }
                let body = Data(buffer[(end + 4)..<(end + 4 + length)])
                buffer.removeFirst(end + 4 + length)
                if status == 100 { continue }
                return Reply(status: status, headers: headers, body: body)
            }
            guard fill() else { return nil }
        }
    }

    /// Whether the server closed the connection (within the receive timeout).
    func isClosed() -> Bool {
        while true {
            var chunk = [UInt8](repeating: 0, count: 4096)
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n == 0 { return true }
            if n < 0 { return errno == ECONNRESET }
            buffer += chunk[0..<n]
        }
    }

    private func fill() -> Bool {
        var chunk = [UInt8](repeating: 0, count: 65536)
        let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        guard n > 0 else { return false }
        buffer += chunk[0..<n]
        return true
    }

    private func find(_ pattern: [UInt8]) -> Int? {
        guard buffer.count >= pattern.count else { return nil }
        for i in 0...(buffer.count - pattern.count) where buffer[i] == pattern[0] && Array(buffer[i..<(i + pattern.count)]) == pattern {
            return i
        }
        return nil
    }
}

/// A stand-in payment gateway on the loopback: records every request's `Idempotency-Key` and
/// answers `{"id": "ch_<n>"}`, one charge per distinct key (as Stripe does); with `hangFirst`, the
/// first request is read and never answered (a call in flight when the server is killed).
final class FakeGateway: @unchecked Sendable {
    let port: UInt16
    private let fd: Int32
    private let lock = NSLock()
    private var _keys: [String] = []
    private var _bodies: [String] = []
    private var held: [Int32] = []
    private var hangFirst: Bool
    private var stopped = false

    init(hangFirst: Bool) throws {
        self.hangFirst = hangFirst
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.fd = fd
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var size = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, size) } }
        listen(fd, 16)
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &size) } }
        port = UInt16(bigEndian: address.sin_port)
        let thread = Thread { [self] in serve() }
        thread.start()
    }

    var keys: [String] { lock.lock(); defer { lock.unlock() }; return _keys }
    var bodies: [String] { lock.lock(); defer { lock.unlock() }; return _bodies }
    var charges: Int { Set(keys).count }

    func stop() {
        lock.lock()
        stopped = true
        for h in held { close(h) }
        lock.unlock()
        shutdown(fd, Int32(SHUT_RDWR))
        close(fd)
    }

    private func serve() {
        while true {
            let c = accept(fd, nil, nil)
            if c < 0 { return }
            var data: [UInt8] = []
            var chunk = [UInt8](repeating: 0, count: 8192)
            var keyHeader = ""
            var complete = false
            while !complete {
                let n = chunk.withUnsafeMutableBytes { recv(c, $0.baseAddress, $0.count, 0) }
                if n <= 0 { break }
                data += chunk[0..<n]
                let text = String(decoding: data, as: UTF8.self)
                if let end = text.range(of: "\r\n\r\n") {
                    let head = text[..<end.lowerBound]
                    var length = 0
                    for line in head.components(separatedBy: "\r\n") {
                        let lower = line.lowercased()
                        if lower.hasPrefix("content-length:") { length = Int(line.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)) ?? 0 }
                        if lower.hasPrefix("idempotency-key:") { keyHeader = line.split(separator: ":", maxSplits: 1)[1].trimmingCharacters(in: .whitespaces) }
                    }
                    complete = text.utf8.count - text.distance(from: text.startIndex, to: end.upperBound) >= length
                }
            }
            lock.lock()
            _keys.append(keyHeader)
            _bodies.append(String(decoding: data, as: UTF8.self))
            let hang = hangFirst
            hangFirst = false
            let n = Set(_keys).count
            if hang { held.append(c) }
            lock.unlock()
            if hang { continue }
            let body = "{\"id\": \"ch_\(n)\"}"
            let response = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n\(body)"
            _ = Array(response.utf8).withUnsafeBytes { send(c, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            close(c)
        }
    }
}

/// A flow file in a fresh temporary directory, removed when the test process exits.
func temporaryFlow(_ name: String, _ text: String) throws -> URL {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("flow-serve-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    TemporaryPaths.removeAtExit(dir.path)
    let url = dir.appendingPathComponent(name)
    try text.write(to: url, atomically: true, encoding: .utf8)
    return url
}

/// A SQLite store at a fresh temporary path; the database and its `-wal` and `-shm` files are
/// removed when the test process exits.
func temporaryStore() -> String {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("flow-serve-\(UUID().uuidString).db").path
    for suffix in ["", "-wal", "-shm"] { TemporaryPaths.removeAtExit(path + suffix) }
    return "sqlite:" + path
}

/// Paths the tests made in the temporary directory, removed at the exit of the test process (a
/// server a test killed may still hold them open until then). Left behind, every run of the suite
/// added about twenty stores and directories to `/tmp`.
enum TemporaryPaths {
    nonisolated(unsafe) private static var paths: [String] = []
    private static let lock = NSLock()
    nonisolated(unsafe) private static var registered = false

    static func removeAtExit(_ path: String) {
        lock.lock()
        defer { lock.unlock() }
        paths.append(path)
        if !registered {
            registered = true
            atexit { TemporaryPaths.removeAll() }
        }
    }

    static func removeAll() {
        lock.lock()
        let all = paths
        paths = []
        lock.unlock()
        for path in all { try? FileManager.default.removeItem(atPath: path) }
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
