import FlowIntegration
@testable import FlowKit
import Foundation
import XCTest

/// Integration points called for real, against loopback servers: requests asserted byte for
/// byte on the server side, every failure class, retries, redirects and redaction.
class IPCallerTests: XCTestCase {
    /// The transport under test: the default client here, URLSession in the subclass below.
    func makeTransport() -> any HTTPTransport { HTTPClient() }

    static let secretKey = "sk_" + "test_4eC39HqLyjWDarjtT1zdp7dc"

    func compile(_ source: String, file: StaticString = #filePath, line: UInt = #line) throws -> Program {
        let c = Frontend.compile(source: source)
        let rendered = DiagnosticRenderer(format: .gcc).render(c.diagnostics, sources: c.sources)
        return try XCTUnwrap(c.program, rendered, file: file, line: line)
    }

    /// A caller that records its waits instead of sleeping, with a fixed idempotency key.
    func caller(secrets: [String: String] = ["KEY": IPCallerTests.secretKey], waits: WaitLog = WaitLog()) -> IPCaller {
        IPCaller(transport: makeTransport(), secrets: Secrets(secrets), maxResponseBytes: 64 * 1024,
                 defaultTimeout: 5, sleep: { waits.append($0) }, makeKey: { "key-1" })
    }

    final class WaitLog: @unchecked Sendable {
        private let lock = NSLock()
        private var values: [Double] = []
        func append(_ v: Double) { lock.lock(); values.append(v); lock.unlock() }
        var all: [Double] { lock.lock(); defer { lock.unlock() }; return values }
    }

    func call(_ program: Program, _ name: String, _ args: [Value], configs: [String: String] = [:], caller: IPCaller? = nil) throws -> Reply {
        let index = try XCTUnwrap(program.integrationPoints.firstIndex { $0.name == name })
        let configValues = try program.configValues(overrides: configs)
        return try (caller ?? self.caller()).call(program: program, ip: index, arguments: args, configs: configValues)
    }

    func outputs(_ reply: Reply, file: StaticString = #filePath, line: UInt = #line) -> [String: Value] {
        guard case .result(let o) = reply else {
            XCTFail("expected a result, got \(reply)", file: file, line: line)
            return [:]
        }
        return o
    }

    func failure(_ reply: Reply, file: StaticString = #filePath, line: UInt = #line) -> CallFailure? {
        guard case .failure(let f) = reply else {
            XCTFail("expected a failure, got \(reply)", file: file, line: line)
            return nil
        }
        return f
    }

    // MARK: - REST requests on the wire

    func testStripeStyleFormPostWithBearerAuth() throws {
        let server = try LoopbackServer(reply: .json(#"{"id": "ch_1", "paid": true, "amount": 400, "status": "succeeded"}"#))
        defer { server.stop() }
        let program = try compile("""
            config BASE = "http://x"
            secret KEY
            ip Charge(amount: currency, token: text, description: text) {
              POST "{BASE}/v1/charges"
              auth bearer KEY
              form {
                amount = round(amount * 100)
                currency = "usd"
                source = token
                description = description
                "metadata[order_id]" = "42"
              }
              output id: text = json "id"
              output paid: bool = json "paid"
              output amount: number = json "amount"
            }
            """)
        let reply = try call(program, "Charge", [.number(Number(parsing: "4.00")!), .text("pm_card_visa"), .text("Tea & cake = 4+ £")],
                             configs: ["BASE": server.baseURL])
        XCTAssertEqual(outputs(reply), ["id": .text("ch_1"), "paid": .bool(true), "amount": .number(400)])
        let r = try XCTUnwrap(server.requests.first)
        XCTAssertEqual(r.method, "POST")
        XCTAssertEqual(r.target, "/v1/charges")
        XCTAssertEqual(r.header("Authorization"), "Bearer \(Self.secretKey)")
        XCTAssertEqual(r.header("Content-Type"), "application/x-www-form-urlencoded")
        XCTAssertEqual(r.bodyText,
                       "amount=400&currency=usd&source=pm_card_visa&description=Tea+%26+cake+%3D+4%2B+%C2%A3&metadata%5Border_id%5D=42")
    }

    func testEveryMethodURLTemplateQueryHeadersAndJSONBody() throws {
        let server = try LoopbackServer(handler: { _ in .json(#"{"ok": true}"#) })
        defer { server.stop() }
        for method in ["GET", "DELETE", "PUT", "PATCH", "POST"] {
            let body = method == "GET" || method == "DELETE" ? "" : "json { \"note\": note, \"n\": 1.50, \"tags\": [note, null] }"
            let program = try compile("""
                config BASE = "http://x"
                ip Thing(id: text, note: text) {
                  \(method) "{BASE}/v1/things/{id}/x"
                  query {
                    q = note
                    page = 2
                  }
                  headers {
                    "X-Note" = note
                  }
                  \(body)
                  output ok: bool = json "ok"
                }
                """)
            let hostile = "a/b?c#d&e=f%20 Zoë \"q\" 'x' <t> ]]>"
            let reply = try call(program, "Thing", [.text(hostile), .text("Zoë & co")], configs: ["BASE": server.baseURL])
            XCTAssertEqual(outputs(reply), ["ok": .bool(true)], method)
            let r = try XCTUnwrap(server.requests.last)
            XCTAssertEqual(r.method, method)
            XCTAssertEqual(r.target,
                           "/v1/things/a%2Fb%3Fc%23d%26e%3Df%2520%20Zo%C3%AB%20%22q%22%20%27x%27%20%3Ct%3E%20%5D%5D%3E/x?q=Zo%C3%AB+%26+co&page=2")
            XCTAssertEqual(r.header("X-Note"), "Zoë & co")
            if !body.isEmpty {
                XCTAssertEqual(r.header("Content-Type"), "application/json")
                let sent = try Value.fromJSON(r.body)
                XCTAssertEqual(sent, .object(["note": .text("Zoë & co"), "n": .number(Number(parsing: "1.5")!), "tags": .list([.text("Zoë & co"), .null])]))
            }
        }
    }

    func testBasicAuthAndRawBody() throws {
        let server = try LoopbackServer(reply: .ok("done"))
        defer { server.stop() }
        let program = try compile("""
            config BASE = "http://x"
            secret PASS
            ip Note(text: text) {
              POST "{BASE}/notes"
              auth basic "ivr", PASS
              headers {
                "Content-Type" = "text/plain; charset=utf-8"
              }
              body "Note: {text}\\nEnd"
              output reply: text = text
            }
            """)
        let reply = try call(program, "Note", [.text("a\r\nb")], configs: ["BASE": server.baseURL],
                             caller: caller(secrets: ["PASS": "pa:ss wörd"]))
        XCTAssertEqual(outputs(reply), ["reply": .text("done")])
        let r = try XCTUnwrap(server.requests.first)
        XCTAssertEqual(r.header("Authorization"), "Basic " + Data("ivr:pa:ss wörd".utf8).base64EncodedString())
        XCTAssertEqual(r.bodyText, "Note: a\r\nb\nEnd")
    }

    func testAHeaderWithALineBreakIsNeverSent() throws {
        let server = try LoopbackServer(reply: .ok())
        defer { server.stop() }
        let program = try compile("""
            config BASE = "http://x"
            ip Echo(v: text) {
              GET "{BASE}/e"
              headers {
                "X-V" = v
              }
              output s: number = status
            }
            """)
        XCTAssertThrowsError(try call(program, "Echo", [.text("ok\r\nX-Injected: 1")], configs: ["BASE": server.baseURL])) { error in
            XCTAssertEqual((error as? RuntimeError)?.diagnostic.id, "run.requestInvalid")
        }
        XCTAssertEqual(server.requestCount, 0)
    }

    func testAMissingSecretIsAnErrorBeforeAnythingIsSent() throws {
        let server = try LoopbackServer(reply: .ok())
        defer { server.stop() }
        let program = try compile("""
            config BASE = "http://x"
            secret KEY
            ip Ping() {
              GET "{BASE}/p"
              auth bearer KEY
              output s: number = status
            }
            """)
        XCTAssertThrowsError(try call(program, "Ping", [], configs: ["BASE": server.baseURL], caller: caller(secrets: [:]))) { error in
            XCTAssertEqual((error as? RuntimeError)?.diagnostic.id, "run.missingSecret")
        }
        XCTAssertEqual(server.requestCount, 0)
    }

    // MARK: - SOAP

    func testSOAP11And12WithAFault() throws {
        for version in ["1.1", "1.2"] {
            let env = version == "1.1" ? "http://schemas.xmlsoap.org/soap/envelope/" : "http://www.w3.org/2003/05/soap-envelope"
            let ok = """
                <?xml version="1.0"?><e:Envelope xmlns:e="\(env)"><e:Body><r:GetBalanceResponse xmlns:r="http://bank.example/accounts"><r:Balance>1234.50</r:Balance></r:GetBalanceResponse></e:Body></e:Envelope>
                """
            let fault = version == "1.1"
                ? #"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><s:Fault><faultcode>s:Client</faultcode><faultstring>Unknown account</faultstring></s:Fault></s:Body></s:Envelope>"#
                : #"<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body><s:Fault><s:Code><s:Value>s:Sender</s:Value></s:Code><s:Reason><s:Text xml:lang="en">Unknown account</s:Text></s:Reason></s:Fault></s:Body></s:Envelope>"#
            let server = try LoopbackServer(replies: [.xml(ok), .xml(fault, status: 500)])
            defer { server.stop() }
            let program = try compile("""
                config BASE = "http://x"
                ip Get Balance(account: text) {
                  soap \(version) "{BASE}/AccountService"
                  action "http://bank.example/GetBalance"
                  namespace b = "http://bank.example/accounts"
                  body {
                    b:GetBalance {
                      b:Account = account
                    }
                  }
                  output balance: currency = xml "b:GetBalanceResponse/b:Balance"
                }
                """)
            let reply = try call(program, "Get Balance", [.text("12<34>&'\"")], configs: ["BASE": server.baseURL])
            XCTAssertEqual(outputs(reply), ["balance": .number(Number(parsing: "1234.50")!)], version)
            let r = try XCTUnwrap(server.requests.first)
            XCTAssertTrue(r.bodyText.contains("<b:Account>12&lt;34&gt;&amp;&apos;&quot;</b:Account>") || r.bodyText.contains("<b:Account>12&lt;34&gt;&amp;'\"</b:Account>"), r.bodyText)
            if version == "1.1" {
                XCTAssertEqual(r.header("SOAPAction"), "\"http://bank.example/GetBalance\"")
                XCTAssertEqual(r.header("Content-Type"), "text/xml; charset=utf-8")
            } else {
                XCTAssertNil(r.header("SOAPAction"))
                XCTAssertEqual(r.header("Content-Type"), "application/soap+xml; charset=utf-8; action=\"http://bank.example/GetBalance\"")
            }
            let f = try XCTUnwrap(failure(try call(program, "Get Balance", [.text("x")], configs: ["BASE": server.baseURL])))
            XCTAssertEqual(f.kind, "soapFault")
            XCTAssertEqual(f.message, "Unknown account")
            XCTAssertTrue(f.code?.hasSuffix(version == "1.1" ? "Client" : "Sender") ?? false, "\(String(describing: f.code))")
        }
    }

    // MARK: - Failures

    let ping = """
        config BASE = "http://x"
        secret KEY
        ip Ping() {
          GET "{BASE}/p"
          auth bearer KEY
          timeout 1
          output id: text = json "id"
        }
        """

    func testHTTPErrorCarriesTheParsedStripeError() throws {
        let body = #"{"error": {"type": "card_error", "code": "card_declined", "decline_code": "insufficient_funds", "message": "Your card has insufficient funds."}}"#
        let server = try LoopbackServer(reply: .json(body, status: 402))
        defer { server.stop() }
        let f = try XCTUnwrap(failure(try call(try compile(ping), "Ping", [], configs: ["BASE": server.baseURL])))
        XCTAssertEqual(f.kind, "http")
        XCTAssertEqual(f.status, 402)
        XCTAssertEqual(f.message, "Your card has insufficient funds.")
        XCTAssertEqual(f.code, "card_declined")
        if case .object(let o)? = f.body, case .object(let e)? = o["error"] {
            XCTAssertEqual(e["decline_code"], .text("insufficient_funds"))
        } else {
            XCTFail("body: \(String(describing: f.body))")
        }
    }

    func testConnectionRefusedTimeoutMalformedAndTooLarge() throws {
        let program = try compile(ping)
        let refused = try XCTUnwrap(failure(try call(program, "Ping", [], configs: ["BASE": try LoopbackServer.refusedBaseURL()])))
        XCTAssertEqual(refused.kind, "connection")

        let silent = try LoopbackServer(reply: .neverAnswer)
        defer { silent.stop() }
        let start = Date()
        let timeout = try XCTUnwrap(failure(try call(program, "Ping", [], configs: ["BASE": silent.baseURL])))
        XCTAssertEqual(timeout.kind, "timeout")
        XCTAssertLessThan(Date().timeIntervalSince(start), 4)

        let drip = try LoopbackServer(reply: .drip(body: Data(#"{"id": "slow"}"#.utf8), bytesPerSecond: 2))
        defer { drip.stop() }
        XCTAssertEqual(try XCTUnwrap(failure(try call(program, "Ping", [], configs: ["BASE": drip.baseURL]))).kind, "timeout")

        let garbage = try LoopbackServer(reply: .json("{\"id\": "))
        defer { garbage.stop() }
        XCTAssertEqual(try XCTUnwrap(failure(try call(program, "Ping", [], configs: ["BASE": garbage.baseURL]))).kind, "malformed")

        let endless = try LoopbackServer(reply: .endlessBody())
        defer { endless.stop() }
        XCTAssertEqual(try XCTUnwrap(failure(try call(program, "Ping", [], configs: ["BASE": endless.baseURL]))).kind, "tooLarge")

        let cut = try LoopbackServer(reply: .closeMidBody(sendBytes: 5, ofDeclaredLength: 100))
        defer { cut.stop() }
        XCTAssertEqual(try XCTUnwrap(failure(try call(program, "Ping", [], configs: ["BASE": cut.baseURL]))).kind, "connection")
    }

    /// TLS to a server that does not speak it: the handshake fails, and that is its own kind.
    func testATLSFailureIsItsOwnKind() throws {
        let plain = try PlainGarbageServer()
        defer { plain.stop() }
        let program = try compile(ping)
        let f = try XCTUnwrap(failure(try call(program, "Ping", [], configs: ["BASE": "https://127.0.0.1:\(plain.port)"])))
        XCTAssertEqual(f.kind, "tls", f.message)
    }

    // MARK: - Retries

    func retrying(_ idempotent: Bool) throws -> Program {
        try compile("""
            config BASE = "http://x"
            ip Charge(amount: number) {
              POST "{BASE}/v1/charges"
              form {
                amount = amount
              }
              retry 3
              \(idempotent ? "idempotent" : "")
              output id: text = json "id"
            }
            """)
    }

    func testAnIdempotentPostIsRetriedWithOneKey() throws {
        let server = try LoopbackServer(replies: [.status(500, "oops"), .status(503, "busy"), .json(#"{"id": "ch_9"}"#)])
        defer { server.stop() }
        let waits = WaitLog()
        let reply = try call(try retrying(true), "Charge", [.number(400)], configs: ["BASE": server.baseURL], caller: caller(waits: waits))
        XCTAssertEqual(outputs(reply), ["id": .text("ch_9")])
        XCTAssertEqual(server.requests.count, 3)
        XCTAssertEqual(Set(server.requests.map { $0.header("Idempotency-Key") }), ["key-1"])
        XCTAssertEqual(waits.all.count, 2)
        XCTAssertTrue(waits.all.allSatisfy { $0 >= 0 && $0 <= 8 })
    }

    func testAPostWithoutAnIdempotencyKeyIsNeverSentTwice() throws {
        let server = try LoopbackServer(replies: [.status(500, "oops"), .json(#"{"id": "ch_9"}"#)])
        defer { server.stop() }
        let f = try XCTUnwrap(failure(try call(try retrying(false), "Charge", [.number(400)], configs: ["BASE": server.baseURL])))
        XCTAssertEqual(f.status, 500)
        XCTAssertEqual(server.requests.count, 1)
        XCTAssertNil(server.requests[0].header("Idempotency-Key"))
    }

    func testTooManyRequestsHonoursRetryAfter() throws {
        let server = try LoopbackServer(replies: [.status(429, "slow down", headers: [("Retry-After", "2")]), .json(#"{"id": "ch_2"}"#)])
        defer { server.stop() }
        let waits = WaitLog()
        let reply = try call(try retrying(true), "Charge", [.number(1)], configs: ["BASE": server.baseURL], caller: caller(waits: waits))
        XCTAssertEqual(outputs(reply), ["id": .text("ch_2")])
        XCTAssertEqual(waits.all, [2])
    }

    func testAClientErrorIsNotRetried() throws {
        let server = try LoopbackServer(replies: [.json(#"{"error": {"message": "bad"}}"#, status: 400), .json(#"{"id": "x"}"#)])
        defer { server.stop() }
        XCTAssertEqual(try XCTUnwrap(failure(try call(try retrying(true), "Charge", [.number(1)], configs: ["BASE": server.baseURL]))).status, 400)
        XCTAssertEqual(server.requests.count, 1)
    }

    // MARK: - Redirects and redaction

    func testAuthorizationIsNotForwardedToAnotherHost() throws {
        let other = try LoopbackServer(reply: .json(#"{"id": "elsewhere"}"#))
        defer { other.stop() }
        // 'localhost' is another host name than '127.0.0.1', though it is this machine.
        let server = try LoopbackServer(reply: .redirect(status: 307, location: "http://localhost:\(other.port)/p"))
        defer { server.stop() }
        let reply = try call(try compile(ping), "Ping", [], configs: ["BASE": server.baseURL])
        XCTAssertEqual(outputs(reply), ["id": .text("elsewhere")])
        XCTAssertEqual(server.requests.first?.header("Authorization"), "Bearer \(Self.secretKey)")
        XCTAssertEqual(other.requests.count, 1)
        XCTAssertNil(other.requests.first?.header("Authorization"))
    }

    func testAnEchoedSecretIsRedacted() throws {
        let server = try LoopbackServer(handler: { request in
            .json(#"{"error": {"message": "bad key \#(request.header("Authorization") ?? "")"}}"#, status: 401)
        })
        defer { server.stop() }
        var log: [IPCaller.Exchange] = []
        let program = try compile(ping)
        let index = program.integrationPoints.firstIndex { $0.name == "Ping" }!
        let reply = try caller().call(program: program, ip: index, arguments: [], configs: try program.configValues(overrides: ["BASE": server.baseURL]),
                                      log: { log.append($0) })
        let f = try XCTUnwrap(failure(reply))
        XCTAssertEqual(f.message, "bad key Bearer ***")
        XCTAssertFalse("\(f)".contains(Self.secretKey))
        XCTAssertFalse(log.isEmpty)
        for e in log {
            XCTAssertFalse(e.request.headers.map(\.value).joined().contains(Self.secretKey))
            XCTAssertFalse(String(decoding: e.response?.body ?? Data(), as: UTF8.self).contains(Self.secretKey))
        }
    }
}

/// Every test above again, with URLSession (the transport `https://` goes through).
final class IPCallerURLSessionTests: IPCallerTests {
    override func makeTransport() -> any HTTPTransport { URLSessionTransport() }

    // Listed again: test discovery on Linux finds only the methods a class declares.
    override func testStripeStyleFormPostWithBearerAuth() throws { try super.testStripeStyleFormPostWithBearerAuth() }
    override func testEveryMethodURLTemplateQueryHeadersAndJSONBody() throws { try super.testEveryMethodURLTemplateQueryHeadersAndJSONBody() }
    override func testBasicAuthAndRawBody() throws { try super.testBasicAuthAndRawBody() }
    override func testAHeaderWithALineBreakIsNeverSent() throws { try super.testAHeaderWithALineBreakIsNeverSent() }
    override func testAMissingSecretIsAnErrorBeforeAnythingIsSent() throws { try super.testAMissingSecretIsAnErrorBeforeAnythingIsSent() }
    override func testSOAP11And12WithAFault() throws { try super.testSOAP11And12WithAFault() }
    override func testHTTPErrorCarriesTheParsedStripeError() throws { try super.testHTTPErrorCarriesTheParsedStripeError() }
    override func testConnectionRefusedTimeoutMalformedAndTooLarge() throws { try super.testConnectionRefusedTimeoutMalformedAndTooLarge() }
    override func testAnIdempotentPostIsRetriedWithOneKey() throws { try super.testAnIdempotentPostIsRetriedWithOneKey() }
    override func testAPostWithoutAnIdempotencyKeyIsNeverSentTwice() throws { try super.testAPostWithoutAnIdempotencyKeyIsNeverSentTwice() }
    override func testTooManyRequestsHonoursRetryAfter() throws { try super.testTooManyRequestsHonoursRetryAfter() }
    override func testAClientErrorIsNotRetried() throws { try super.testAClientErrorIsNotRetried() }
    override func testATLSFailureIsItsOwnKind() throws { try super.testATLSFailureIsItsOwnKind() }
    override func testAuthorizationIsNotForwardedToAnotherHost() throws { try super.testAuthorizationIsNotForwardedToAnotherHost() }
    override func testAnEchoedSecretIsRedacted() throws { try super.testAnEchoedSecretIsRedacted() }
}

/// Accepts connections on 127.0.0.1 and answers each with bytes that are not TLS, then closes.
final class PlainGarbageServer: @unchecked Sendable {
    let port: Int
    private let listener: Int32

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard fd >= 0, bound == 0, listen(fd, 8) == 0 else { throw NSError(domain: "PlainGarbageServer", code: Int(errno)) }
        var actual = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &actual) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        listener = fd
        port = Int(UInt16(bigEndian: actual.sin_port))
        Thread.detachNewThread {
            while true {
                let c = accept(fd, nil, nil)
                if c < 0 { return }
                let reply = Array("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n".utf8)
                _ = reply.withUnsafeBytes { send(c, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                close(c)
            }
        }
    }

    func stop() {
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
    }
}
