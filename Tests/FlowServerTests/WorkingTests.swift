import Foundation
import XCTest

#if canImport(Glibc)
    import Glibc
#endif

/// A session whose IP call is in progress, through real HTTP against one `flow serve` process on
/// SQLite: it reads as `working` (the IP's name and a retry hint, never the call's arguments,
/// address, key or secret), the same step sent again while the call is under way gets 409
/// `callInProgress` and sends nothing, and once the gateway answers the session reads as the
/// outcome, with one request at the gateway. (TwoServersTests covers two servers on PostgreSQL.)
final class WorkingTests: XCTestCase {
    static let flow = """
        config BASE = "http://127.0.0.1:1"
        secret GATEWAY_KEY
        ip Charge(amount: currency) {
          POST "{BASE}/v1/charges"
          auth bearer GATEWAY_KEY
          form {
            amount = round(amount * 100)
          }
          timeout 60
          idempotent
          output id: text = json "id"
        }
        flow Pay {
          question Amount: currency
          response "Charging {Amount.Amount}"
          ip Charge(Amount.Amount) -> (id: charge)
          response "charged {charge}"
          finish success "paid"
        }
        """
    static let secret = "sk_test_working_secret_456"

    func testACallInProgressReadsAsWorkingAndIsNotSentAgain() throws {
        let gateway = try HeldGateway()
        defer { gateway.stop() }
        let file = try temporaryFlow("pay.flow", Self.flow)
        let server = try ServeProcess([file.path, "--store", temporaryStore(), "--define", "BASE=http://127.0.0.1:\(gateway.port)"],
                                      environment: ["GATEWAY_KEY": Self.secret])
        defer { server.stop() }
        let c = try Client(port: server.port)
        let started = try c.request("POST", "/v1/sessions", json: #"{"flow": "Pay"}"#)
        let id = try XCTUnwrap(started.json["id"] as? String, started.text)
        let v1 = try XCTUnwrap(started.json["version"] as? Int, started.text)
        let step = "{\"version\": \(v1), \"answers\": {\"Amount\": \"7.25\"}}"

        // The step waits on the gateway, which holds the charge.
        let paying = try Client(port: server.port)
        paying.send("POST /v1/sessions/\(id)/steps HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: \(step.utf8.count)\r\n\r\n" + step)
        XCTAssertTrue(gateway.waitForRequests(1), "the charge reached the gateway")

        func assertWorking(_ view: [String: Any], _ text: String, _ context: String, line: UInt = #line) {
            XCTAssertEqual(view["status"] as? String, "working", "\(context): \(text)", line: line)
            let working = view["working"] as? [String: Any] ?? [:]
            XCTAssertEqual(working["name"] as? String, "Charge", "\(context): \(text)", line: line)
            XCTAssertEqual(working["retryAfter"] as? Int, 1, "\(context): \(text)", line: line)
            XCTAssertEqual(Set(working.keys), ["name", "retryAfter"], "\(context): \(text)", line: line)
            for key in ["page", "extension", "outcome"] {
                XCTAssertTrue(view[key] is NSNull, "\(context): no \(key): \(text)", line: line)
            }
            // The response shown on the way to the call is there, once.
            XCTAssertEqual(view["responses"] as? [String], ["Charging 7.25"], "\(context): \(text)", line: line)
            XCTAssertEqual(view["conversation"] as? [String], ["Charging 7.25"], "\(context): \(text)", line: line)
            XCTAssertGreaterThan(view["version"] as? Int ?? 0, v1, "\(context): \(text)", line: line)
            for told in [Self.secret, "127.0.0.1", "/v1/charges", "amount=", gateway.keys.first ?? "no key"] {
                XCTAssertFalse(text.contains(told), "\(context): \(told) is not told: \(text)", line: line)
            }
        }

        let read = try c.request("GET", "/v1/sessions/\(id)")
        XCTAssertEqual(read.status, 200, read.text)
        XCTAssertEqual(read.headers["retry-after"], "1")
        assertWorking(read.json, read.text, "the read")

        // The same step again (a double click, a retry after a lost answer): 409, nothing sent.
        let again = try c.request("POST", "/v1/sessions/\(id)/steps", json: step)
        XCTAssertEqual(again.status, 409, again.text)
        XCTAssertEqual(again.errorCode, "callInProgress", again.text)
        XCTAssertEqual(again.headers["retry-after"], "1")
        let current = again.json["current"] as? [String: Any] ?? [:]
        assertWorking(current, again.text, "the step again")
        let busy = try XCTUnwrap(current["version"] as? Int)
        let withBusy = try c.request("POST", "/v1/sessions/\(id)/steps", json: "{\"version\": \(busy), \"answers\": {\"Amount\": \"7.25\"}}")
        XCTAssertEqual(withBusy.status, 409, withBusy.text)
        XCTAssertEqual(withBusy.errorCode, "callInProgress", withBusy.text)
        usleep(200_000)
        XCTAssertEqual(gateway.keys.count, 1, "nothing more reached the gateway while the charge was in progress")

        gateway.release()
        let paid = try XCTUnwrap(try paying.readReply(), "the paying step is answered")
        XCTAssertEqual(paid.status, 200, paid.text)
        XCTAssertEqual(paid.json["status"] as? String, "finished", paid.text)
        XCTAssertEqual(paid.json["responses"] as? [String], ["Charging 7.25", "charged ch_1"], paid.text)
        let after = try c.request("GET", "/v1/sessions/\(id)")
        XCTAssertEqual(after.status, 200, after.text)
        XCTAssertEqual(after.json["version"] as? Int, paid.json["version"] as? Int, after.text)
        XCTAssertEqual(after.json["status"] as? String, "finished", after.text)
        XCTAssertEqual(after.json["conversation"] as? [String], ["Charging 7.25", "charged ch_1"], after.text)
        XCTAssertNil(after.json["working"], after.text)
        XCTAssertNil(after.headers["retry-after"])
        XCTAssertEqual(gateway.keys.count, 1, "one charge")
        XCTAssertFalse(server.log.contains(Self.secret))

        // What was said is what the OpenAPI document describes.
        let document = try c.request("GET", "/v1/openapi.json")
        try assertDescribed(document.body, [("Session", read.body), ("Conflict", again.body), ("Session", after.body)])
    }

    /// Each body checked against a schema of the server's OpenAPI document (its `nullable` made
    /// JSON Schema), with jsonschema_rs from the schemathesis venv (`SchemathesisTests.install`).
    private func assertDescribed(_ document: Data, _ bodies: [(schema: String, body: Data)], line: UInt = #line) throws {
        let python = URL(fileURLWithPath: try SchemathesisTests.install()).deletingLastPathComponent().appendingPathComponent("python").path
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("flow-working-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try document.write(to: dir.appendingPathComponent("openapi.json"))
        var arguments = [python, "-c", Self.validator, dir.appendingPathComponent("openapi.json").path]
        for (k, (name, body)) in bodies.enumerated() {
            let path = dir.appendingPathComponent("body-\(k).json")
            try body.write(to: path)
            arguments.append(name + "=" + path.path)
        }
        let run = try Command.run(arguments, timeout: 120)
        XCTAssertEqual(run.status, 0, run.output, line: line)
        XCTAssertEqual(run.output.components(separatedBy: "ok: ").count - 1, bodies.count, run.output, line: line)
    }

    static let validator = """
        import json, sys
        import jsonschema_rs

        def convert(node):
            if isinstance(node, list):
                return [convert(n) for n in node]
            if not isinstance(node, dict):
                return node
            out = {k: convert(v) for k, v in node.items() if k != "nullable"}
            return {"anyOf": [out, {"type": "null"}]} if node.get("nullable") is True else out

        components = convert(json.load(open(sys.argv[1]))["components"])
        failed = False
        for pair in sys.argv[2:]:
            name, path = pair.split("=", 1)
            schema = {"components": components, "allOf": [{"$ref": "#/components/schemas/" + name}]}
            errors = [str(e) for e in jsonschema_rs.Draft7Validator(schema).iter_errors(json.load(open(path)))]
            print(("ok: " if not errors else "FAILED: ") + name + " " + path + "".join("\\n  " + e for e in errors))
            failed = failed or bool(errors)
        sys.exit(1 if failed else 0)
        """
}

/// A gateway on the loopback that takes each request and holds its answer (`{"id": "ch_<n>"}`)
/// until `release()`; it records each request's `Idempotency-Key`.
final class HeldGateway: @unchecked Sendable {
    let port: UInt16
    private let fd: Int32
    private let lock = NSLock()
    private let released = DispatchSemaphore(value: 0)
    private var _keys: [String] = []
    private var waiting = 0

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.fd = fd
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var size = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, size) } }
        guard bound == 0, listen(fd, 16) == 0 else {
            close(fd)
            throw HarnessError("the gateway cannot listen: \(String(cString: strerror(errno)))")
        }
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &size) } }
        port = UInt16(bigEndian: address.sin_port)
        Thread { [self] in
            while true {
                let c = accept(fd, nil, nil)
                if c < 0 {
                    if errno == EINTR { continue }
                    return
                }
                Thread { self.handle(c) }.start()
            }
        }.start()
    }

    var keys: [String] { lock.lock(); defer { lock.unlock() }; return _keys }

    func waitForRequests(_ n: Int, timeout: Double = 30) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while keys.count < n && Date() < deadline { usleep(10_000) }
        return keys.count >= n
    }

    /// Lets every request held so far, and every later one, be answered.
    func release() {
        lock.lock()
        let n = waiting
        waiting = -1
        lock.unlock()
        for _ in 0..<max(n, 0) { released.signal() }
    }

    func stop() {
        release()
        shutdown(fd, Int32(SHUT_RDWR))
        close(fd)
    }

    private func handle(_ c: Int32) {
        defer { close(c) }
        var time = timeval(tv_sec: 30, tv_usec: 0)
        setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &time, socklen_t(MemoryLayout<timeval>.size))
        var data: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 8192)
        var key = ""
        while true {
            let n = chunk.withUnsafeMutableBytes { recv(c, $0.baseAddress, $0.count, 0) }
            if n <= 0 { return }
            data += chunk[0..<n]
            let text = String(decoding: data, as: UTF8.self)
            guard let end = text.range(of: "\r\n\r\n") else { continue }
            var length = 0
            for line in text[..<end.lowerBound].components(separatedBy: "\r\n") {
                let value = line.split(separator: ":", maxSplits: 1).last.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
                if line.lowercased().hasPrefix("content-length:") { length = Int(value) ?? 0 }
                if line.lowercased().hasPrefix("idempotency-key:") { key = value }
            }
            if text[end.upperBound...].utf8.count >= length { break }
        }
        lock.lock()
        _keys.append(key)
        let number = _keys.count
        let hold = waiting >= 0
        if hold { waiting += 1 }
        lock.unlock()
        if hold { _ = released.wait(timeout: .now() + 60) }
        let body = "{\"id\": \"ch_\(number)\"}"
        let response = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n\(body)"
        _ = Array(response.utf8).withUnsafeBytes { send(c, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }
}
