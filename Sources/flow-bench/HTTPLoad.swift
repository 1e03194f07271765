import Foundation

#if canImport(Glibc)
    import Glibc
#endif

// A load generator for `flow serve`: each client has one kept-alive connection and drives the
// payment flow (flows/payment.flow served with a stub for StripeCharge) through the API: start a
// session, answer the amount, post the Tokenize result (the server then makes the charge from its
// stub and the session finishes), and again. Every request is a step the server commits before it
// answers. Reports requests per second and latency percentiles.
//
//   flow serve flows/payment.flow --store sqlite:/tmp/bench.db \
//       --stub 'StripeCharge={"id": "ch_1", "status": "succeeded", "paid": true, "amount": 400, "failure message": null}'
//   flow-bench http-steps 8080 64 10
//   flow-bench idle-sessions 8080 PID 100000

/// One blocking, kept-alive connection.
final class LoadConnection {
    let fd: Int32
    private var buffer: [UInt8] = []

    init(port: UInt16) {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        while true {
            let rc = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            // A connect restarted after a signal reports EALREADY, then EISCONN once it is made.
            if rc == 0 || errno == EISCONN { break }
            if errno == EINTR || errno == EALREADY { usleep(1_000); continue }
            FileHandle.standardError.write(Data("flow-bench: cannot connect to 127.0.0.1:\(port): \(String(cString: strerror(errno)))\n".utf8))
            exit(1)
        }
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
    }

    deinit { close(fd) }

    /// POSTs `json` to `path`; the status and the body.
    func post(_ path: String, _ json: String) -> (Int, String) {
        let request = "POST \(path) HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\nContent-Length: \(json.utf8.count)\r\n\r\n\(json)"
        let bytes = Array(request.utf8)
        var sent = 0
        while sent < bytes.count {
            let n = bytes.withUnsafeBytes { send(fd, $0.baseAddress! + sent, $0.count - sent, Int32(MSG_NOSIGNAL)) }
            precondition(n > 0, "the server closed the connection")
            sent += n
        }
        while true {
            if let end = headEnd() {
                let head = String(decoding: buffer[0..<end], as: UTF8.self)
                let status = Int(head.split(separator: " ")[1]) ?? 0
                var length = 0
                for line in head.split(separator: "\r\n") where line.lowercased().hasPrefix("content-length:") {
                    length = Int(line.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)) ?? 0
                }
                while buffer.count < end + 4 + length { fill() }
                let body = String(decoding: buffer[(end + 4)..<(end + 4 + length)], as: UTF8.self)
                buffer.removeFirst(end + 4 + length)
                return (status, body)
            }
            fill()
        }
    }

    private func fill() {
        var chunk = [UInt8](repeating: 0, count: 65536)
        let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        precondition(n > 0, "the server closed the connection")
        buffer += chunk[0..<n]
    }

    private func headEnd() -> Int? {
        guard buffer.count >= 4 else { return nil }
        for i in 0...(buffer.count - 4) where buffer[i] == 13 && buffer[i + 1] == 10 && buffer[i + 2] == 13 && buffer[i + 3] == 10 {
            return i
        }
        return nil
    }
}

/// `"key":"value"` or `"key":123` from a compact JSON body, without a JSON parser (the load
/// generator shares the machine's two cores with the server).
func field(_ key: String, in body: String) -> String? {
    guard let r = body.range(of: "\"\(key)\":") else { return nil }
    var rest = body[r.upperBound...]
    if rest.first == "\"" {
        rest = rest.dropFirst()
        return String(rest.prefix { $0 != "\"" })
    }
    return String(rest.prefix { $0.isNumber })
}

final class LoadResults: @unchecked Sendable {
    private let lock = NSLock()
    var latencies: [Double] = []
    var errors = 0
    var sessions = 0
    func add(_ l: [Double], errors e: Int, sessions s: Int) {
        lock.lock()
        latencies += l
        errors += e
        sessions += s
        lock.unlock()
    }
}

func httpStepsBenchmark(port: UInt16, clients: Int, seconds: Double) {
    let results = LoadResults()
    let start = DispatchTime.now().uptimeNanoseconds
    let deadline = start + UInt64(seconds * 1e9)
    var threads: [Thread] = []
    let finished = LoadResults()
    for _ in 0..<clients {
        let t = Thread {
            let c = LoadConnection(port: port)
            var latencies: [Double] = []
            latencies.reserveCapacity(100_000)
            var errors = 0
            var sessions = 0
            func timed(_ path: String, _ json: String) -> (Int, String) {
                let t0 = DispatchTime.now().uptimeNanoseconds
                let r = c.post(path, json)
                latencies.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
                return r
            }
            while DispatchTime.now().uptimeNanoseconds < deadline {
                let (s1, b1) = timed("/v1/sessions", #"{"flow":"Payment"}"#)
                guard s1 == 201, let id = field("id", in: b1), let v1 = field("version", in: b1) else {
                    errors += 1
                    continue
                }
                let (s2, b2) = timed("/v1/sessions/\(id)/steps", "{\"version\":\(v1),\"answers\":{\"Embedded Payment\":\"4.00\"}}")
                guard s2 == 200, let v2 = field("version", in: b2), b2.contains("\"status\":\"extension\"") else {
                    errors += 1
                    continue
                }
                let (s3, b3) = timed("/v1/sessions/\(id)/steps", "{\"version\":\(v2),\"extension\":{\"outputs\":{\"token\":\"pm_card_visa\"}}}")
                guard s3 == 200, b3.contains("\"outcome\":\"success\"") else {
                    errors += 1
                    continue
                }
                sessions += 1
            }
            results.add(latencies, errors: errors, sessions: sessions)
            finished.add([], errors: 0, sessions: 1)
        }
        t.stackSize = 1 << 20
        threads.append(t)
        t.start()
    }
    while finished.sessions < clients { usleep(10_000) }
    let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    let sorted = results.latencies.sorted()
    func percentile(_ p: Double) -> Double { sorted.isEmpty ? 0 : sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))] * 1000 }
    print(String(format: "http-steps: %d clients, %.1f s: %d requests (%d sessions of 3 steps), %.0f steps/s; latency p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, max %.2f ms; %d errors",
                 clients, elapsed, sorted.count, results.sessions, Double(sorted.count) / elapsed, percentile(0.5), percentile(0.9),
                 percentile(0.99), (sorted.last ?? 0) * 1000, results.errors))
}

/// Starts `count` sessions (each left waiting at its first page) and reports the growth of the
/// server's resident memory (`/proc/PID/status` VmRSS).
func idleSessionsBenchmark(port: UInt16, pid: Int32, count: Int) {
    func rss() -> Int {
        let text = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
        let line = text.split(separator: "\n").first { $0.hasPrefix("VmRSS:") } ?? ""
        return Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0
    }
    let before = rss()
    let clients = 16
    let results = LoadResults()
    let start = DispatchTime.now().uptimeNanoseconds
    for k in 0..<clients {
        Thread {
            let c = LoadConnection(port: port)
            var made = 0
            var errors = 0
            for _ in stride(from: k, to: count, by: clients) {
                let (s, _) = c.post("/v1/sessions", #"{"flow":"Payment"}"#)
                if s == 201 { made += 1 } else { errors += 1 }
            }
            results.add([], errors: errors, sessions: made + errors)
        }.start()
    }
    while results.sessions < count { usleep(20_000) }
    let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    let after = rss()
    print(String(format: "idle-sessions: %d sessions started in %.1f s (%.0f/s), %d errors; server VmRSS %d KB before, %d KB after: %+d KB (%.1f bytes a session)",
                 count, elapsed, Double(count) / elapsed, results.errors, before, after, after - before,
                 Double(after - before) * 1024 / Double(count)))
}
