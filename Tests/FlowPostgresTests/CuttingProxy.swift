import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A TCP relay on 127.0.0.1 in front of the test server that can lose one reply: once `arm()`ed,
/// the next bytes the server sends are not passed on; the client's connection is closed instead.
/// The server has then run (and committed) the statement, but the client never learns it: the
/// case a store must not report as a failure or a conflict when it retries.
final class CuttingProxy: @unchecked Sendable {
    let port: Int
    private let listener: Int32
    private let targetPort: Int
    private let lock = NSLock()
    private var armed = false
    private var cuts = 0

    init(targetPort: Int) throws {
        self.targetPort = targetPort
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard listener >= 0 else { throw PostgresTestError("socket: errno \(errno)") }
        var address = Self.loopback(port: 0)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(listener, 16) == 0 else { throw PostgresTestError("bind/listen: errno \(errno)") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &length) }
        }
        self.listener = listener
        port = Int(UInt16(bigEndian: address.sin_port))
        Thread.detachNewThread { [self] in acceptLoop() }
    }

    /// Loses the next reply from the server (of whichever connection gets one first).
    func arm() { lock.withLock { armed = true } }

    /// How many replies were lost so far.
    var cutCount: Int { lock.withLock { cuts } }

    /// Stops accepting (the accepting thread closes the socket when its `accept` fails, so the
    /// descriptor is not reused while that thread still waits on it).
    func close() { shutdown(listener, Int32(SHUT_RDWR)) }

    private func acceptLoop() {
        while true {
            let client = accept(listener, nil, nil)
            if client < 0 {
                Glibc.close(listener)
                return
            }
            let server = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = Self.loopback(port: targetPort)
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    connect(server, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
            guard connected == 0 else {
                Glibc.close(client)
                Glibc.close(server)
                continue
            }
            let pair = Pair(client: client, server: server)
            Thread.detachNewThread { [self] in pump(pair, from: client, to: server, cutting: false) }
            Thread.detachNewThread { [self] in pump(pair, from: server, to: client, cutting: true) }
        }
    }

    /// The two sockets of one relayed connection, closed only once both pumps have stopped (a
    /// descriptor closed earlier could be reused by the next connection while the other pump
    /// still shuts it down).
    private final class Pair: @unchecked Sendable {
        let client: Int32
        let server: Int32
        private let lock = NSLock()
        private var running = 2
        init(client: Int32, server: Int32) {
            self.client = client
            self.server = server
        }
        func stopped() {
            shutdown(client, Int32(SHUT_RDWR))
            shutdown(server, Int32(SHUT_RDWR))
            let last = lock.withLock {
                running -= 1
                return running == 0
            }
            if last {
                Glibc.close(client)
                Glibc.close(server)
            }
        }
    }

    /// Copies bytes until either side closes, then stops the pair.
    private func pump(_ pair: Pair, from source: Int32, to destination: Int32, cutting: Bool) {
        defer { pair.stopped() }
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = read(source, &buffer, buffer.count)
            if count <= 0 { return }
            if cutting {
                let cut = lock.withLock {
                    guard armed else { return false }
                    armed = false
                    cuts += 1
                    return true
                }
                if cut { return }
            }
            var sent = 0
            while sent < count {
                // MSG_NOSIGNAL: a peer gone is an error here, not a SIGPIPE for the test process.
                let wrote = buffer.withUnsafeBytes { send(destination, $0.baseAddress! + sent, count - sent, Int32(MSG_NOSIGNAL)) }
                if wrote <= 0 { return }
                sent += wrote
            }
        }
    }

    private static func loopback(port: Int) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return address
    }
}
