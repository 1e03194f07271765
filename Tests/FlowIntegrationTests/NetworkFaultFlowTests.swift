import FlowIntegration
import FlowKit
import Foundation
import XCTest

/// Network faults at the level of a flow: a real FlowKit `Session` runs a small payment flow, in
/// process, with `IPCaller` as its host (the loopback server as the gateway), and every fault must
/// end in the flow's own `on error` with the right `error.kind`, within a bounded time, without
/// the charge being made twice.
///
/// The flow shows what its handler sees (`kind: …`, `status: …`, `message: …`) as responses and
/// finishes with failure "<kind>", so each test asserts exactly what a caller would hear. Every
/// session runs on a thread of its own and is waited for with a deadline (`play`), so a fault
/// that hangs fails its test instead of the whole run.
final class NetworkFaultFlowTests: XCTestCase {
    static let secretKey = "sk_" + "test_netFault7Hq2LyjWDarjtT1zd"
    static let apiKey = "shop-api-key-netFault-5Zq81"

    /// `Charge` is idempotent and retried; `Charge Once` is a plain POST (never sent twice);
    /// `Balance` is SOAP; `Lookup` is a GET before the charge on the same server.
    static let source = #"""
        config BASE = "http://x"
        config OTHER = "http://x"
        secret KEY
        secret API_KEY

        ip Charge(amount: currency, token: text) {
          POST "{BASE}/v1/charges"
          auth bearer KEY
          headers {
            "X-Api-Key" = API_KEY
          }
          form {
            amount = round(amount * 100)
            currency = "usd"
            source = token
          }
          timeout 2
          retry 2
          idempotent
          output id: text = json "id"
        }

        ip Charge Once(amount: currency, token: text) {
          POST "{BASE}/v1/charges"
          auth bearer KEY
          form {
            amount = round(amount * 100)
            source = token
          }
          timeout 2
          retry 2
          output id: text = json "id"
        }

        ip Big Charge(amount: currency, token: text) {
          POST "{BASE}/v1/charges"
          auth bearer KEY
          form {
            amount = round(amount * 100)
            source = token
          }
          timeout 30
          idempotent
          output id: text = json "id"
        }

        ip Token Exchange(code: text) {
          POST "{BASE}/oauth/token"
          form {
            grant_type = "authorization_code"
            code = code
            client_secret = API_KEY
          }
          timeout 2
          output token: text = json "access_token"
        }

        ip Lookup(token: text) {
          GET "{BASE}/v1/payment_methods/{token}"
          auth bearer KEY
          timeout 2
          output brand: text = json "card.brand"
        }

        ip Balance(account: text) {
          soap 1.1 "{BASE}/AccountService"
          action "http://bank.example/GetBalance"
          namespace b = "http://bank.example/accounts"
          body {
            b:GetBalance {
              b:Account = account
            }
          }
          timeout 2
          output balance: currency = xml "b:GetBalanceResponse/b:Balance"
        }

        flow Pay {
          question Amount: currency {
            prompt "How much?"
          }
          ip Charge(Amount, "pm_card_visa") -> (id: charge)
          on error {
            response "kind: {error.kind}"
            if error.status != null {
              response "status: {error.status}"
            }
            response "message: {error.message}"
            finish failure "{error.kind}"
          }
          response "charged {charge}"
          finish success "{charge}"
        }

        flow Pay Once {
          ip Charge Once(4, "pm_card_visa") -> (id: charge)
          on error {
            response "kind: {error.kind}"
            if error.status != null {
              response "status: {error.status}"
            }
            response "message: {error.message}"
            finish failure "{error.kind}"
          }
          response "charged {charge}"
          finish success "{charge}"
        }

        flow Pay Big {
          ip Big Charge(4, "pm_card_visa") -> (id: charge)
          on error {
            response "kind: {error.kind}"
            response "message: {error.message}"
            finish failure "{error.kind}"
          }
          response "charged {charge}"
          finish success "{charge}"
        }

        flow Look Then Pay {
          ip Lookup("pm_card_visa") -> (brand: card)
          on error {
            response "lookup failed: {error.kind}"
            finish failure "lookup {error.kind}"
          }
          response "card: {card}"
          // The host waits a little before answering, so a connection can go idle meanwhile.
          question Proceed: number {
            prompt "Go on?"
          }
          ip Charge Once(4, "pm_card_visa") -> (id: charge)
          on error {
            response "kind: {error.kind}"
            response "message: {error.message}"
            finish failure "{error.kind}"
          }
          response "charged {charge}"
          finish success "{charge}"
        }

        flow Exchange {
          ip Token Exchange("code-1") -> (token: token)
          on error {
            response "kind: {error.kind}"
            response "message: {error.message}"
            finish failure "{error.kind}"
          }
          response "token {token}"
          finish success
        }

        flow Check Balance {
          ip Balance("12345678") -> (balance: balance)
          on error {
            response "kind: {error.kind}"
            response "message: {error.message}"
            finish failure "{error.kind}"
          }
          response "balance: {balance}"
          finish success
        }
        """#

    func program() throws -> Program {
        let c = Frontend.compile(source: Self.source, path: "faults.flow")
        return try XCTUnwrap(c.program, DiagnosticRenderer(format: .gcc).render(c.diagnostics, sources: c.sources))
    }

    /// Waits recorded instead of slept, unless `realSleep`.
    final class Waits: @unchecked Sendable {
        private let lock = NSLock()
        private var values: [Double] = []
        func append(_ v: Double) { lock.withLock { values.append(v) } }
        var all: [Double] { lock.withLock { values } }
    }

    func caller(waits: Waits = Waits(), realSleep: Bool = false, maxResponseBytes: Int = 10 * 1024 * 1024,
                transport: any HTTPTransport = HTTPClient()) -> IPCaller {
        IPCaller(transport: transport, secrets: Secrets(["KEY": Self.secretKey, "API_KEY": Self.apiKey]),
                 maxResponseBytes: maxResponseBytes,
                 sleep: { seconds in
                     waits.append(seconds)
                     if realSleep { Thread.sleep(forTimeInterval: seconds) }
                 })
    }

    struct Played: CustomStringConvertible {
        var responses: [String]
        var outcome: Outcome?
        var elapsed: Double
        var error: String?
        var description: String {
            "responses: \(responses), outcome: \(String(describing: outcome)), elapsed: \(elapsed) s, error: \(error ?? "none")"
        }
    }

    final class Box: @unchecked Sendable {
        var played: Played?
    }

    /// Runs flow `flow` to its end with `caller` as the host of its IP calls, the answer `4.00` to
    /// any question (given after 0.2 s), on a thread of its own; fails the test if it takes longer than `limit`.
    func play(_ flow: String, base: String, other: String = "http://x", caller: IPCaller, limit: Double = 15,
              file: StaticString = #filePath, line: UInt = #line) throws -> Played {
        let program = try program()
        let configs = try program.configValues(overrides: ["BASE": base, "OTHER": other])
        let box = Box()
        let done = DispatchSemaphore(value: 0)
        let thread = Thread {
            let start = Date()
            var responses: [String] = []
            var outcome: Outcome?
            var failure: String?
            do {
                let session = try Session(program: program, options: RuntimeOptions(flow: flow, today: { "2024-03-01" }))
                var result = try session.start()
                loop: while true {
                    responses += result.responses
                    let reply: Reply
                    switch result.step {
                    case .ask(let page):
                        Thread.sleep(forTimeInterval: 0.2)
                        reply = .answers(Dictionary(uniqueKeysWithValues: page.questions.map { ($0.name, "4.00") }))
                    case .callIP(let call):
                        reply = try caller.call(program: program, ip: call.index, arguments: call.arguments.map(\.value), configs: configs)
                    case .runExtension(let call):
                        reply = .failure(CallFailure(kind: "extension", message: "no extension \(call.name) here"))
                    case .finished(let o):
                        outcome = o
                        break loop
                    }
                    result = try session.resume(reply)
                }
            } catch {
                failure = "\(error)"
            }
            box.played = Played(responses: responses, outcome: outcome, elapsed: Date().timeIntervalSince(start), error: failure)
            done.signal()
        }
        thread.start()
        guard done.wait(timeout: .now() + limit) == .success, let played = box.played else {
            XCTFail("the flow '\(flow)' did not finish within \(limit) s", file: file, line: line)
            throw XCTSkip("hung")
        }
        XCTAssertNil(played.error, "\(played)", file: file, line: line)
        return played
    }

    func assertFailed(_ played: Played, kind: String, responses: [String], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(played.responses, responses, "\(played)", file: file, line: line)
        XCTAssertEqual(played.outcome, Outcome(success: false, reason: kind), "\(played)", file: file, line: line)
    }

    /// Requests for the charge endpoint.
    func charges(_ server: LoopbackServer) -> [RecordedRequest] {
        server.requests.filter { $0.method == "POST" && $0.path == "/v1/charges" }
    }

    // MARK: - Faults

    func testConnectionRefusedTakesTheErrorPathAfterTheRetries() throws {
        let base = try LoopbackServer.refusedBaseURL()
        let waits = Waits()
        let played = try play("Pay", base: base, caller: caller(waits: waits))
        let port = base.split(separator: ":").last!
        assertFailed(played, kind: "connection", responses: [
            "kind: connection", "message: could not connect to 127.0.0.1:\(port): connection refused",
        ])
        // retry 2: three attempts, two waits of the backoff (0.25 s doubling, full jitter).
        XCTAssertEqual(waits.all.count, 2, "\(waits.all)")
        XCTAssertTrue(zip(waits.all, [0.25, 0.5]).allSatisfy { $0 >= 0 && $0 <= $1 }, "\(waits.all)")
    }

    func testAServerThatNeverAnswersTimesOutAtTheIPsTimeout() throws {
        let server = try LoopbackServer(reply: .neverAnswer)
        defer { server.stop() }
        let played = try play("Pay", base: server.baseURL, caller: caller())
        assertFailed(played, kind: "timeout", responses: ["kind: timeout", "message: no complete answer within 2 s"])
        // `timeout 2` bounds the exchange, and a timed-out charge is not sent again: it may have
        // been made.
        XCTAssertGreaterThanOrEqual(played.elapsed, 1.9, "\(played)")
        XCTAssertLessThan(played.elapsed, 3.5, "\(played)")
        XCTAssertEqual(charges(server).count, 1)
    }

    func testAServerThatClosesMidBodyIsAConnectionFailureRetriedWithOneKey() throws {
        let server = try LoopbackServer(reply: .closeMidBody(status: 200, headers: [("Content-Type", "application/json")],
                                                             sendBytes: 10, ofDeclaredLength: 200))
        defer { server.stop() }
        let waits = Waits()
        let played = try play("Pay", base: server.baseURL, caller: caller(waits: waits))
        assertFailed(played, kind: "connection", responses: [
            "kind: connection", "message: the connection failed: the connection closed in the middle of the body",
        ])
        // Idempotent: sent again, always with the same key, so the gateway charges at most once.
        let sent = charges(server)
        XCTAssertEqual(sent.count, 3)
        let keys = Set(sent.compactMap { $0.header("Idempotency-Key") })
        XCTAssertEqual(keys.count, 1, "\(keys)")
        XCTAssertEqual(sent.compactMap { $0.header("Idempotency-Key") }.count, 3)
        XCTAssertEqual(Set(sent.map(\.bodyText)), ["amount=400&currency=usd&source=pm_card_visa"])
    }

    func testAPlainPostThatIsCutOffIsNeverSentAgain() throws {
        let server = try LoopbackServer(reply: .closeMidBody(sendBytes: 3, ofDeclaredLength: 50))
        defer { server.stop() }
        let played = try play("Pay Once", base: server.baseURL, caller: caller())
        assertFailed(played, kind: "connection", responses: [
            "kind: connection", "message: the connection failed: the connection closed in the middle of the body",
        ])
        XCTAssertEqual(charges(server).count, 1)
        XCTAssertNil(charges(server).first?.header("Idempotency-Key"))
    }

    /// A kept-alive connection that the server closes after it got the charge, without answering:
    /// the charge may have been made, so a plain POST must not be sent again on a new connection.
    func testAPlainPostOnAKeptAliveConnectionThatCloses() throws {
        let server = try LoopbackServer(replies: [
            .json(#"{"card": {"brand": "visa"}}"#),
            .closeImmediately,
            .json(#"{"id": "ch_twice"}"#),
        ])
        defer { server.stop() }
        let played = try play("Look Then Pay", base: server.baseURL, caller: caller())
        XCTAssertEqual(played.responses.first, "card: visa", "\(played)")
        XCTAssertEqual(played.outcome, Outcome(success: false, reason: "connection"), "\(played)")
        XCTAssertEqual(played.responses.dropFirst().first, "kind: connection", "\(played)")
        XCTAssertEqual(charges(server).count, 1, "the charge was sent \(charges(server).count) times")
        XCTAssertEqual(server.connectionsAccepted, 1)
    }

    /// The same, but the server closed the idle connection before the charge: that is found
    /// before anything is sent, and the charge goes out once, on a new connection.
    func testAnIdleConnectionTheServerClosedIsNotUsedForAPlainPost() throws {
        // A response that says nothing of closing (so the client keeps the connection), then
        // the server closes it.
        let card = #"{"card": {"brand": "visa"}}"#
        let head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: \(card.utf8.count)\r\n\r\n"
        let server = try LoopbackServer(replies: [.raw(Data((head + card).utf8), thenClose: true), .json(#"{"id": "ch_once"}"#)])
        defer { server.stop() }
        let played = try play("Look Then Pay", base: server.baseURL, caller: caller())
        XCTAssertEqual(played.responses, ["card: visa", "charged ch_once"], "\(played)")
        XCTAssertEqual(charges(server).count, 1)
        XCTAssertEqual(server.connectionsAccepted, 2)
    }

    func testAnEndlessBodyIsRefusedAtTheSizeLimit() throws {
        let server = try LoopbackServer(reply: .endlessBody(headers: [("Content-Type", "application/json")]))
        defer { server.stop() }
        // The default limit of 10 MB; the body streams at about 8 MB/s, well inside `timeout 30`.
        let played = try play("Pay Big", base: server.baseURL, caller: caller(), limit: 25)
        assertFailed(played, kind: "tooLarge", responses: ["kind: tooLarge", "message: the response is larger than 10485760 bytes"])
        XCTAssertLessThan(played.elapsed, 20, "\(played)")
        XCTAssertEqual(charges(server).count, 1)
    }

    func testMalformedJSONInA200IsMalformedAndNotRetried() throws {
        let server = try LoopbackServer(reply: .json(#"{"id": "ch_1", "#))
        defer { server.stop() }
        let played = try play("Pay", base: server.baseURL, caller: caller())
        XCTAssertEqual(played.outcome, Outcome(success: false, reason: "malformed"), "\(played)")
        XCTAssertEqual(played.responses.first, "kind: malformed")
        XCTAssertEqual(played.responses.dropFirst().first, "status: 200")
        XCTAssertEqual(played.responses.count, 3, "\(played)")
        XCTAssertEqual(charges(server).count, 1)
    }

    func testMalformedXMLInASOAP200IsMalformed() throws {
        for body in [
            #"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><b:GetBalanceResponse xmlns:b="http://bank.example/accounts"><b:Balance>12"#,
            "this is not XML at all",
            #"<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>"#,
        ] {
            let server = try LoopbackServer(reply: .xml(body))
            defer { server.stop() }
            let played = try play("Check Balance", base: server.baseURL, caller: caller())
            XCTAssertEqual(played.outcome, Outcome(success: false, reason: "malformed"), "\(body): \(played)")
            XCTAssertEqual(played.responses.first, "kind: malformed", "\(body): \(played)")
            XCTAssertFalse(played.responses.joined().contains("root:"), "\(played)")
            XCTAssertEqual(server.requestCount, 1)
        }
    }

    func testTooManyRequestsWaitsForRetryAfterThenGivesUp() throws {
        let body = #"{"error": {"message": "Too many requests, slow down.", "code": "rate_limit"}}"#
        let server = try LoopbackServer(reply: .response(
            status: 429, headers: [("Content-Type", "application/json"), ("Retry-After", "1")], body: Data(body.utf8)))
        defer { server.stop() }
        let waits = Waits()
        let played = try play("Pay", base: server.baseURL, caller: caller(waits: waits, realSleep: true))
        assertFailed(played, kind: "http", responses: ["kind: http", "status: 429", "message: Too many requests, slow down."])
        XCTAssertEqual(waits.all, [1, 1])
        XCTAssertGreaterThanOrEqual(played.elapsed, 2, "\(played)")
        XCTAssertLessThan(played.elapsed, 6, "\(played)")
        let sent = charges(server)
        XCTAssertEqual(sent.count, 3)
        XCTAssertEqual(Set(sent.compactMap { $0.header("Idempotency-Key") }).count, 1)
        // The attempts were spaced by the Retry-After.
        for (a, b) in zip(sent, sent.dropFirst()) { XCTAssertGreaterThanOrEqual(b.receivedAt - a.receivedAt, 0.95) }
    }

    func testTooManyRequestsThenSuccessChargesOnce() throws {
        let server = try LoopbackServer(replies: [
            .status(429, "slow down", headers: [("Retry-After", "1")]),
            .json(#"{"id": "ch_after_429"}"#),
        ])
        defer { server.stop() }
        let waits = Waits()
        let played = try play("Pay", base: server.baseURL, caller: caller(waits: waits))
        XCTAssertEqual(played.responses, ["charged ch_after_429"], "\(played)")
        XCTAssertEqual(played.outcome, Outcome(success: true, reason: "ch_after_429"))
        XCTAssertEqual(waits.all, [1])
        XCTAssertEqual(Set(charges(server).compactMap { $0.header("Idempotency-Key") }).count, 1)
    }

    func testFiveHundredTwiceThenSuccessKeepsTheIdempotencyKey() throws {
        let server = try LoopbackServer(replies: [
            .json(#"{"error": {"message": "An error occurred with our connection to Stripe."}}"#, status: 500),
            .status(500, "Internal Server Error"),
            .json(#"{"id": "ch_third_time"}"#),
        ])
        defer { server.stop() }
        let waits = Waits()
        let played = try play("Pay", base: server.baseURL, caller: caller(waits: waits))
        XCTAssertEqual(played.responses, ["charged ch_third_time"], "\(played)")
        XCTAssertEqual(played.outcome, Outcome(success: true, reason: "ch_third_time"))
        let sent = charges(server)
        XCTAssertEqual(sent.count, 3)
        let keys = sent.map { $0.header("Idempotency-Key") }
        XCTAssertTrue(keys.allSatisfy { ($0?.count ?? 0) >= 16 }, "every attempt carries a key: \(keys)")
        XCTAssertEqual(Set(keys).count, 1, "one key for every attempt: \(keys)")
        XCTAssertEqual(Set(sent.map(\.bodyText)).count, 1, "the same charge each time")
        XCTAssertEqual(Set(sent.map { $0.header("Authorization") }), ["Bearer \(Self.secretKey)"])
        XCTAssertEqual(waits.all.count, 2)
    }

    func testFiveHundredsThatDoNotEndTakeTheErrorPath() throws {
        let server = try LoopbackServer(reply: .json(#"{"error": {"message": "Stripe is down."}}"#, status: 503))
        defer { server.stop() }
        let played = try play("Pay", base: server.baseURL, caller: caller())
        assertFailed(played, kind: "http", responses: ["kind: http", "status: 503", "message: Stripe is down."])
        XCTAssertEqual(charges(server).count, 3)
        XCTAssertEqual(Set(charges(server).compactMap { $0.header("Idempotency-Key") }).count, 1)
    }

    func testAPlainPostIsNotRetriedAfterA500() throws {
        let server = try LoopbackServer(replies: [.status(500, "oops"), .json(#"{"id": "ch_second"}"#)])
        defer { server.stop() }
        let played = try play("Pay Once", base: server.baseURL, caller: caller())
        assertFailed(played, kind: "http", responses: ["kind: http", "status: 500", "message: HTTP 500 Internal Server Error"])
        XCTAssertEqual(charges(server).count, 1)
    }

    func testARedirectToAnotherHostCarriesNoCredentials() throws {
        try redirectToAnotherHost(transport: HTTPClient())
    }

    /// The transport `https://` goes through, here over plain http.
    func testARedirectToAnotherHostCarriesNoCredentialsThroughURLSession() throws {
        try redirectToAnotherHost(transport: URLSessionTransport())
    }

    func redirectToAnotherHost(transport: any HTTPTransport, file: StaticString = #filePath, line: UInt = #line) throws {
        // The other host, as a gateway would answer a request without its key.
        let other = try LoopbackServer(reply: .json(#"{"error": {"message": "You did not provide an API key."}}"#, status: 401))
        defer { other.stop() }
        // 'localhost' is another host name than '127.0.0.1', though it is this machine.
        let server = try LoopbackServer(reply: .redirect(status: 307, location: "http://localhost:\(other.port)/v1/charges"))
        defer { server.stop() }
        let played = try play("Pay", base: server.baseURL, caller: caller(transport: transport), file: file, line: line)
        assertFailed(played, kind: "http", responses: ["kind: http", "status: 401", "message: You did not provide an API key."],
                     file: file, line: line)
        XCTAssertEqual(charges(server).count, 1, file: file, line: line)
        XCTAssertEqual(charges(server).first?.header("Authorization"), "Bearer \(Self.secretKey)", file: file, line: line)
        XCTAssertEqual(charges(server).first?.header("X-Api-Key"), Self.apiKey, file: file, line: line)
        XCTAssertEqual(charges(other).count, 1, "a 401 is not retried", file: file, line: line)
        for request in other.requests {
            XCTAssertNil(request.header("Authorization"), request.rawText, file: file, line: line)
            for secret in [Self.secretKey, Self.apiKey] {
                XCTAssertFalse(request.rawText.contains(secret), "a secret went to another host:\n\(request.rawText)", file: file, line: line)
            }
        }
    }

    /// A secret in the body (an OAuth client secret) cannot be taken out of a request a 307 sends
    /// on: the redirect to another host is not followed.
    func testARedirectToAnotherHostIsNotFollowedWithASecretInTheBody() throws {
        for transport in [HTTPClient(), URLSessionTransport()] as [any HTTPTransport] {
            let other = try LoopbackServer(reply: .json(#"{"access_token": "stolen"}"#))
            defer { other.stop() }
            let server = try LoopbackServer(reply: .redirect(status: 307, location: "http://localhost:\(other.port)/oauth/token"))
            defer { server.stop() }
            let played = try play("Exchange", base: server.baseURL, caller: caller(transport: transport))
            assertFailed(played, kind: "connection", responses: [
                "kind: connection", "message: a redirect to localhost was not followed: the request carries a secret",
            ])
            XCTAssertEqual(server.requestCount, 1, "\(transport)")
            XCTAssertEqual(other.requestCount, 0, "\(transport): the client secret went to another host")
        }
    }

    func testASlowDripTimesOutAtTheIPsTimeout() throws {
        let server = try LoopbackServer(reply: .drip(headers: [("Content-Type", "application/json")],
                                                     body: Data(#"{"id": "ch_drip_drip_drip"}"#.utf8), bytesPerSecond: 1))
        defer { server.stop() }
        let played = try play("Pay", base: server.baseURL, caller: caller())
        assertFailed(played, kind: "timeout", responses: ["kind: timeout", "message: no complete answer within 2 s"])
        XCTAssertGreaterThanOrEqual(played.elapsed, 1.9, "\(played)")
        XCTAssertLessThan(played.elapsed, 3.5, "\(played)")
        XCTAssertEqual(charges(server).count, 1)
    }

    func testAResetConnectionIsAConnectionFailure() throws {
        let server = try LoopbackServer(reply: .reset)
        defer { server.stop() }
        let played = try play("Pay Once", base: server.baseURL, caller: caller())
        XCTAssertEqual(played.outcome, Outcome(success: false, reason: "connection"), "\(played)")
        XCTAssertEqual(played.responses.first, "kind: connection")
        XCTAssertEqual(charges(server).count, 1)
    }
}
