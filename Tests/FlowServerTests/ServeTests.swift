import Foundation
import XCTest

#if canImport(Glibc)
    import Glibc
#endif

/// `flow serve` through real HTTP against a real server process.
final class ServeTests: XCTestCase {
    static let survey = """
        flow Survey {
          page Name {
            title "About you"
            question First: text {
              prompt "Your first name?"
            }
          }
          page Age {
            question Years: number {
              prompt "Your age?"
              min 0
              max 150
            }
            question Secret word: password {
              optional
            }
          }
          response "Thanks {Name.First}, {Age.Years}"
          finish success "done"
        }
        """

    private func create(_ c: Client, _ flow: String, arguments: String = "") throws -> Reply {
        let body = arguments.isEmpty ? "{\"flow\": \"\(flow)\"}" : "{\"flow\": \"\(flow)\", \"arguments\": \(arguments)}"
        return try c.request("POST", "/v1/sessions", json: body)
    }

    private func step(_ c: Client, _ id: String, _ version: Int, _ fields: String) throws -> Reply {
        try c.request("POST", "/v1/sessions/\(id)/steps", json: "{\"version\": \(version), \(fields)}")
    }

    private func page(_ r: Reply) -> [String: Any] { r.json["page"] as? [String: Any] ?? [:] }
    private func questions(_ r: Reply) -> [[String: Any]] { page(r)["questions"] as? [[String: Any]] ?? [] }

    // MARK: - The payment flow

    /// The payment flow end to end: the amount refused then accepted, the Tokenize extension sent
    /// to the client and its result posted as a client would, the charge (stubbed) made by the
    /// server, the outcome; the conversation kept.
    func testPaymentFlowEndToEnd() throws {
        let server = try ServeProcess(["flows/payment.flow", "--store", temporaryStore(),
                                       "--stub", #"StripeCharge={"id": "ch_test_1", "status": "succeeded", "paid": true, "amount": 400, "failure message": null}"#])
        let c = try Client(port: server.port)
        let started = try create(c, "Payment")
        XCTAssertEqual(started.status, 201, started.text)
        let id = try XCTUnwrap(started.json["id"] as? String)
        XCTAssertGreaterThanOrEqual(id.count, 22, "at least 128 bits")
        XCTAssertEqual(started.headers["location"], "/v1/sessions/\(id)")
        XCTAssertEqual(started.json["status"] as? String, "page")
        let q = try XCTUnwrap(questions(started).first)
        XCTAssertEqual(q["type"] as? String, "currency")
        XCTAssertEqual(q["min"] as? Double, 0.5)
        XCTAssertEqual(q["prompt"] as? String, "How much would you like to pay today, in US dollars?")
        var version = try XCTUnwrap(started.json["version"] as? Int)

        let refused = try step(c, id, version, #""answers": {"Embedded Payment": "0.10"}"#)
        XCTAssertEqual(refused.status, 200, refused.text)
        XCTAssertEqual(refused.json["status"] as? String, "page")
        XCTAssertEqual(questions(refused).first?["problem"] as? String, "enter at least 0.50")
        version = try XCTUnwrap(refused.json["version"] as? Int)

        let tokenize = try step(c, id, version, #""answers": {"Embedded Payment.Embedded Payment": 4}"#)
        XCTAssertEqual(tokenize.status, 200, tokenize.text)
        XCTAssertEqual(tokenize.json["status"] as? String, "extension")
        let ext = try XCTUnwrap(tokenize.json["extension"] as? [String: Any])
        XCTAssertEqual(ext["name"] as? String, "Tokenize")
        XCTAssertEqual((ext["arguments"] as? [String: Any])?["gateway"] as? String, "https://api.stripe.com")
        version = try XCTUnwrap(tokenize.json["version"] as? Int)

        let paid = try step(c, id, version, #""extension": {"outputs": {"token": "pm_card_visa"}}"#)
        XCTAssertEqual(paid.status, 200, paid.text)
        XCTAssertEqual(paid.json["status"] as? String, "finished")
        XCTAssertEqual(paid.json["responses"] as? [String], ["You paid 4.00. Your charge reference is ch_test_1."])
        let outcome = try XCTUnwrap(paid.json["outcome"] as? [String: Any])
        XCTAssertEqual(outcome["outcome"] as? String, "success")
        XCTAssertEqual(outcome["reason"] as? String, "charged 400 cents as ch_test_1")

        let again = try c.request("GET", "/v1/sessions/\(id)")
        XCTAssertEqual(again.status, 200)
        XCTAssertEqual(again.json["version"] as? Int, paid.json["version"] as? Int)
        XCTAssertEqual(again.json["conversation"] as? [String], ["You paid 4.00. Your charge reference is ch_test_1."])

        let metrics = try c.request("GET", "/v1/metrics")
        XCTAssertTrue(metrics.text.contains(#"flow_sessions_finished_total{flow="Payment",outcome="success"} 1"#), metrics.text)
        XCTAssertTrue(metrics.text.contains(#"flow_steps_total{kind="extension"} 1"#), metrics.text)
        XCTAssertEqual(server.stop(), 0, server.log)
        XCTAssertTrue(server.log.contains("stopped"), server.log)
    }

    /// A declined card: the extension's error goes to the flow's `on error`.
    func testExtensionErrorTakesTheErrorPath() throws {
        let server = try ServeProcess(["flows/payment.flow", "--store", temporaryStore()])
        let c = try Client(port: server.port)
        let started = try create(c, "Payment")
        let id = try XCTUnwrap(started.json["id"] as? String)
        let ext = try step(c, id, started.json["version"] as! Int, #""answers": {"Embedded Payment": "12.50"}"#)
        let failed = try step(c, id, ext.json["version"] as! Int, #""extension": {"error": {"message": "the card form was closed"}}"#)
        XCTAssertEqual(failed.json["status"] as? String, "finished", failed.text)
        XCTAssertEqual((failed.json["outcome"] as? [String: Any])?["reason"] as? String, "card capture failed: extension")
        XCTAssertEqual(failed.json["responses"] as? [String], ["Sorry, we could not read your card details: the card form was closed"])
    }

    // MARK: - Versions

    /// The same step sent twice is applied once: the second gets 409 with the current step.
    /// Sent at once from eight connections, exactly one wins.
    func testRepeatedOrStaleStepIsAppliedOnce() throws {
        let flow = try temporaryFlow("survey.flow", Self.survey)
        let server = try ServeProcess([flow.path, "--store", temporaryStore()])
        let c = try Client(port: server.port)
        let started = try create(c, "Survey")
        let id = try XCTUnwrap(started.json["id"] as? String)
        let v = try XCTUnwrap(started.json["version"] as? Int)
        let first = try step(c, id, v, #""answers": {"First": "Ada"}"#)
        XCTAssertEqual(first.status, 200)
        let second = try step(c, id, v, #""answers": {"First": "Bob"}"#)
        XCTAssertEqual(second.status, 409, second.text)
        XCTAssertEqual(second.errorCode, "staleVersion")
        let current = try XCTUnwrap(second.json["current"] as? [String: Any])
        XCTAssertEqual(current["version"] as? Int, first.json["version"] as? Int)
        XCTAssertEqual((current["page"] as? [String: Any])?["name"] as? String, "Age")

        // Eight clients, one version: one 200, seven 409.
        let v2 = try XCTUnwrap(first.json["version"] as? Int)
        let statuses = Box()
        let group = DispatchGroup()
        for _ in 0..<8 {
            group.enter()
            let port = server.port
            Thread {
                defer { group.leave() }
                guard let client = try? Client(port: port),
                    let r = try? client.request("POST", "/v1/sessions/\(id)/steps", json: "{\"version\": \(v2), \"answers\": {\"Years\": 36}}")
                else { return }
                statuses.add(r.status)
            }.start()
        }
        group.wait()
        let list = statuses.values.sorted()
        XCTAssertEqual(list, [200] + Array(repeating: 409, count: 7))
        let final = try c.request("GET", "/v1/sessions/\(id)")
        XCTAssertEqual(final.json["conversation"] as? [String], ["Thanks Ada, 36"], "applied once, with the first answer")
    }

    /// `back` returns to the previous page (a new version); not possible on the first page.
    func testBack() throws {
        let flow = try temporaryFlow("survey.flow", Self.survey)
        let server = try ServeProcess([flow.path, "--store", temporaryStore()])
        let c = try Client(port: server.port)
        let started = try create(c, "Survey")
        let id = try XCTUnwrap(started.json["id"] as? String)
        XCTAssertEqual(page(started)["canGoBack"] as? Bool, false)
        XCTAssertEqual(page(started)["title"] as? String, "About you")
        let noBack = try step(c, id, started.json["version"] as! Int, #""back": true"#)
        XCTAssertEqual(noBack.status, 422)
        XCTAssertEqual(noBack.errorCode, "cannotGoBack")
        let age = try step(c, id, started.json["version"] as! Int, #""answers": {"Name.First": "Ada"}"#)
        XCTAssertEqual(page(age)["name"] as? String, "Age")
        XCTAssertEqual(page(age)["canGoBack"] as? Bool, true)
        let back = try step(c, id, age.json["version"] as! Int, #""back": true"#)
        XCTAssertEqual(back.status, 200, back.text)
        XCTAssertEqual(page(back)["name"] as? String, "Name")
        let age2 = try step(c, id, back.json["version"] as! Int, #""answers": {"First": "Grace"}"#)
        let done = try step(c, id, age2.json["version"] as! Int, #""answers": {"Years": "85", "Secret word": "hunter2"}"#)
        XCTAssertEqual(done.json["responses"] as? [String], ["Thanks Grace, 85"])
        XCTAssertFalse(done.text.contains("hunter2"))
        XCTAssertFalse(server.log.contains("hunter2"))
    }

    /// `back` never goes back past a call that changed something (a charge): the page says which.
    func testBackStopsAtACompletedCharge() throws {
        let flow = try temporaryFlow(
            "charge.flow",
            """
            ip Charge(amount: number) {
              POST "http://127.0.0.1:1/charges"
              form {
                amount = amount
              }
              output id: text = json "id"
            }
            flow Pay {
              question Amount: number
              ip Charge(Amount.Amount) -> (id: charge)
              question Receipt: yesno
              response "done {charge}"
            }
            """)
        let server = try ServeProcess([flow.path, "--store", temporaryStore(), "--stub", #"Charge={"id": "ch_9"}"#])
        let c = try Client(port: server.port)
        let started = try create(c, "Pay")
        let id = try XCTUnwrap(started.json["id"] as? String)
        let receipt = try step(c, id, started.json["version"] as! Int, #""answers": {"Amount": 5}"#)
        XCTAssertEqual(page(receipt)["name"] as? String, "Receipt", receipt.text)
        XCTAssertEqual(page(receipt)["canGoBack"] as? Bool, false)
        XCTAssertEqual(page(receipt)["backStoppedBy"] as? String, "Charge")
        let back = try step(c, id, receipt.json["version"] as! Int, #""back": true"#)
        XCTAssertEqual(back.status, 422)
        XCTAssertEqual(back.errorCode, "cannotGoBack")
        XCTAssertTrue(back.text.contains("Charge"), back.text)
    }

    // MARK: - Errors

    /// Every error status, as `{"error": {"code", "message"}}`; the server keeps serving.
    func testErrorStatuses() throws {
        let flow = try temporaryFlow("survey.flow", Self.survey)
        let server = try ServeProcess([flow.path, "--store", temporaryStore()])
        let c = try Client(port: server.port)
        let started = try create(c, "Survey")
        let id = try XCTUnwrap(started.json["id"] as? String)
        let v = started.json["version"] as! Int
        let steps = "/v1/sessions/\(id)/steps"

        let cases: [(String, Reply, Int, String)] = [
            ("not JSON", try c.request("POST", "/v1/sessions", json: "{\"flow\": "), 400, "malformedJSON"),
            ("not an object", try c.request("POST", "/v1/sessions", json: "[1]"), 400, "malformedJSON"),
            ("no flow", try c.request("POST", "/v1/sessions", json: "{}"), 400, "missingField"),
            ("unknown field", try c.request("POST", "/v1/sessions", json: "{\"flow\": \"Survey\", \"x\": 1}"), 400, "unknownField"),
            ("no version", try c.request("POST", steps, json: "{\"back\": true}"), 400, "missingVersion"),
            ("two kinds", try step(c, id, v, #""back": true, "answers": {}"#), 400, "malformedStep"),
            ("unknown flow", try create(c, "Surve"), 404, "unknownFlow"),
            ("unknown session", try c.request("GET", "/v1/sessions/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"), 404, "unknownSession"),
            ("malformed id", try c.request("GET", "/v1/sessions/..%2F..%2Fetc"), 404, "unknownSession"),
            ("unknown path", try c.request("GET", "/v2/sessions"), 404, "notFound"),
            ("wrong method", try c.request("PUT", "/v1/sessions", json: "{}"), 405, "methodNotAllowed"),
            ("not JSON type", try c.request("POST", "/v1/sessions", json: "{\"flow\": \"Survey\"}", contentType: "text/plain"), 415,
             "unsupportedMediaType"),
            ("unknown question", try step(c, id, v, #""answers": {"Last": "x"}"#), 422, "unknownQuestion"),
            ("extension at a page", try step(c, id, v, #""extension": {"outputs": {}}"#), 422, "unexpectedStep"),
            ("configs", try c.request("POST", "/v1/sessions", json: #"{"flow": "Survey", "configs": {"BASE": "http://evil"}}"#), 422,
             "configsNotAllowed"),
        ]
        for (what, reply, status, code) in cases {
            XCTAssertEqual(reply.status, status, "\(what): \(reply.text)")
            XCTAssertEqual(reply.errorCode, code, what)
            XCTAssertEqual(reply.headers["content-type"], "application/json", what)
            XCTAssertFalse(reply.text.contains("/tmp") || reply.text.contains("Sources/"), "\(what) shows a path: \(reply.text)")
        }
        // 409 for a stale version (after one step).
        let moved = try step(c, id, v, #""answers": {"First": "Ada"}"#)
        XCTAssertEqual(moved.status, 200)
        XCTAssertEqual(try step(c, id, v, #""answers": {"First": "Ada"}"#).status, 409)
        // 413 for a body over the limit (64 KB): answered, the connection closed.
        let big = Client.bigBody(70 * 1024)
        let tooLarge = try Client(port: server.port)
        let r = try tooLarge.request("POST", steps, json: big)
        XCTAssertEqual(r.status, 413, r.text)
        XCTAssertEqual(r.errorCode, "bodyTooLarge")
        XCTAssertTrue(tooLarge.isClosed())
        // Still serving; the session untouched.
        let now = try Client(port: server.port).request("GET", "/v1/sessions/\(id)")
        XCTAssertEqual(now.json["version"] as? Int, moved.json["version"] as? Int)
        // DELETE ends it.
        XCTAssertEqual(try c.request("DELETE", "/v1/sessions/\(id)").status, 204)
        XCTAssertEqual(try c.request("GET", "/v1/sessions/\(id)").status, 404)
        XCTAssertEqual(try c.request("DELETE", "/v1/sessions/\(id)").status, 404)
    }

    /// A guessed id, and an id of a session whose flow file this server does not serve, are 404.
    func testGuessedOrForeignSessionID() throws {
        let store = temporaryStore()
        let flow = try temporaryFlow("survey.flow", Self.survey)
        let first = try ServeProcess([flow.path, "--store", store])
        let c = try Client(port: first.port)
        let id = try XCTUnwrap(try create(c, "Survey").json["id"] as? String)
        var g = SystemRandomNumberGenerator()
        for _ in 0..<50 {
            let guess = String((0..<32).map { _ in "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_".randomElement(using: &g)! })
            XCTAssertEqual(try c.request("GET", "/v1/sessions/\(guess)").status, 404)
        }
        // A one-character change of a real id is as unknown as any other.
        let near = String(id.dropLast()) + (id.last == "A" ? "B" : "A")
        XCTAssertEqual(try c.request("GET", "/v1/sessions/\(near)").status, 404)
        XCTAssertEqual(first.stop(), 0)
        // Another flow file on the same store.
        let other = try ServeProcess(["flows/payment.flow", "--store", store])
        let r = try Client(port: other.port).request("GET", "/v1/sessions/\(id)")
        XCTAssertEqual(r.status, 404, r.text)
        XCTAssertEqual(r.errorCode, "unknownSession")
    }

    // MARK: - Durability

    /// SIGKILL, then a new server on the same SQLite file: every session is where its last
    /// acknowledged step left it, and goes on from there.
    func testKillAndRestartKeepsAcknowledgedSteps() throws {
        let store = temporaryStore()
        let flow = try temporaryFlow("survey.flow", Self.survey)
        let first = try ServeProcess([flow.path, "--store", store])
        let c = try Client(port: first.port)
        var sessions: [(String, Int)] = []
        for k in 0..<20 {
            let s = try create(c, "Survey")
            let id = s.json["id"] as! String
            var version = s.json["version"] as! Int
            if k % 2 == 0 {
                let r = try step(c, id, version, "\"answers\": {\"First\": \"P\(k)\"}")
                version = r.json["version"] as! Int
            }
            sessions.append((id, version))
        }
        XCTAssertEqual(first.stop(SIGKILL), 128 + SIGKILL)
        let second = try ServeProcess([flow.path, "--store", store])
        let c2 = try Client(port: second.port)
        for (k, (id, version)) in sessions.enumerated() {
            let r = try c2.request("GET", "/v1/sessions/\(id)")
            XCTAssertEqual(r.status, 200, r.text)
            XCTAssertEqual(r.json["version"] as? Int, version)
            XCTAssertEqual(page(r)["name"] as? String, k % 2 == 0 ? "Age" : "Name")
        }
        let (id, version) = sessions[0]
        let done = try step(c2, id, version, #""answers": {"Years": 41}"#)
        XCTAssertEqual(done.json["responses"] as? [String], ["Thanks P0, 41"])
    }

    /// Back over a completed charge, and the same step sent twice, counted at the gateway: the
    /// charge is made once, `back` stops after it, and the repeated answer is a 409.
    func testBackOverAChargeAndTheSameStepTwiceChargeOnce() throws {
        let gateway = try FakeGateway(hangFirst: false)
        defer { gateway.stop() }
        let flow = try temporaryFlow(
            "pay.flow",
            """
            config BASE = "http://127.0.0.1:1"
            ip Charge(amount: currency) {
              POST "{BASE}/v1/charges"
              form {
                amount = round(amount * 100)
              }
              idempotent
              output id: text = json "id"
            }
            flow Pay {
              question Amount: currency
              ip Charge(Amount.Amount) -> (id: charge)
              question Receipt: yesno
              response "charged {charge}"
            }
            """)
        let server = try ServeProcess([flow.path, "--store", temporaryStore(), "--define", "BASE=http://127.0.0.1:\(gateway.port)"])
        let c = try Client(port: server.port)
        let s = try create(c, "Pay")
        let id = try XCTUnwrap(s.json["id"] as? String)
        let v1 = try XCTUnwrap(s.json["version"] as? Int)
        let receipt = try step(c, id, v1, "\"answers\": {\"Amount\": 7}")
        XCTAssertEqual(receipt.status, 200, receipt.text)
        XCTAssertEqual(page(receipt)["name"] as? String, "Receipt", receipt.text)
        XCTAssertEqual(page(receipt)["canGoBack"] as? Bool, false)
        XCTAssertEqual(page(receipt)["backStoppedBy"] as? String, "Charge")
        XCTAssertEqual(gateway.charges, 1)
        // The same answer again (a double-clicked submit): refused, nothing sent.
        let again = try step(c, id, v1, "\"answers\": {\"Amount\": 7}")
        XCTAssertEqual(again.status, 409, again.text)
        // Back over the charge: refused, and the session still waits at the receipt.
        let v2 = try XCTUnwrap(receipt.json["version"] as? Int)
        let back = try step(c, id, v2, "\"back\": true")
        XCTAssertNotEqual(back.status, 200, back.text)
        let now = try c.request("GET", "/v1/sessions/\(id)")
        XCTAssertEqual(page(now)["name"] as? String, "Receipt", now.text)
        XCTAssertEqual(gateway.charges, 1)
        let end = try step(c, id, try XCTUnwrap(now.json["version"] as? Int), "\"answers\": {\"Receipt\": true}")
        XCTAssertEqual(end.json["status"] as? String, "finished", end.text)
        XCTAssertEqual(gateway.charges, 1, "one charge through the repeat and the back")
        XCTAssertEqual(gateway.keys.count, 1)
    }

    /// A server killed while an idempotent IP call is in flight: restarted and asked for the
    /// session, it sends the call again with the same Idempotency-Key, so the gateway charges once.
    func testCallInFlightAtACrashIsResentWithTheSameKey() throws {
        let gateway = try FakeGateway(hangFirst: true)
        defer { gateway.stop() }
        let flow = try temporaryFlow(
            "pay.flow",
            """
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
              ip Charge(Amount.Amount) -> (id: charge)
              response "charged {charge}"
            }
            """)
        let store = temporaryStore()
        let arguments = [flow.path, "--store", store, "--define", "BASE=http://127.0.0.1:\(gateway.port)"]
        let environment = ["GATEWAY_KEY": "sk_test_serve_secret_123"]
        let first = try ServeProcess(arguments, environment: environment)
        let c = try Client(port: first.port)
        let s = try create(c, "Pay")
        let id = try XCTUnwrap(s.json["id"] as? String)
        // The step hangs in the charge; the server is killed while it waits.
        let body = "{\"version\": \(s.json["version"] as! Int), \"answers\": {\"Amount\": 7}}"
        c.send("POST /v1/sessions/\(id)/steps HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n" + body)
        let deadline = Date().addingTimeInterval(20)
        while gateway.keys.isEmpty && Date() < deadline { usleep(20_000) }
        XCTAssertEqual(gateway.keys.count, 1)
        first.stop(SIGKILL)

        let second = try ServeProcess(arguments, environment: environment)
        let r = try Client(port: second.port).request("GET", "/v1/sessions/\(id)")
        XCTAssertEqual(r.status, 200, r.text + second.log)
        XCTAssertEqual(r.json["status"] as? String, "finished", r.text)
        XCTAssertEqual(r.json["responses"] as? [String], ["charged ch_1"])
        XCTAssertEqual(gateway.keys.count, 2)
        XCTAssertEqual(Set(gateway.keys).count, 1, "the same Idempotency-Key both times: \(gateway.keys)")
        XCTAssertFalse(gateway.keys[0].isEmpty)
        XCTAssertFalse(gateway.keys[0].contains(id), "the session id (a capability) never reaches the gateway")
        XCTAssertEqual(gateway.charges, 1)
        XCTAssertFalse(second.log.contains("sk_test_serve_secret_123") || r.text.contains("sk_test_serve_secret_123"))
    }

    /// The same crash during a call that is not safe to repeat (no `idempotent`, a POST): it is
    /// not sent again; the flow's `on error` gets `interrupted`.
    func testUnsafeCallInFlightAtACrashIsNotResent() throws {
        let gateway = try FakeGateway(hangFirst: true)
        defer { gateway.stop() }
        let flow = try temporaryFlow(
            "pay.flow",
            """
            config BASE = "http://127.0.0.1:1"
            ip Charge(amount: currency) {
              POST "{BASE}/v1/charges"
              form {
                amount = round(amount * 100)
              }
              timeout 60
              output id: text = json "id"
            }
            flow Pay {
              question Amount: currency
              ip Charge(Amount.Amount) -> (id: charge)
              on error {
                response "not sure: {error.kind}"
                finish failure "unknown"
              }
              response "charged {charge}"
            }
            """)
        let store = temporaryStore()
        let arguments = [flow.path, "--store", store, "--define", "BASE=http://127.0.0.1:\(gateway.port)"]
        let first = try ServeProcess(arguments)
        let c = try Client(port: first.port)
        let s = try create(c, "Pay")
        let id = try XCTUnwrap(s.json["id"] as? String)
        let body = "{\"version\": \(s.json["version"] as! Int), \"answers\": {\"Amount\": 7}}"
        c.send("POST /v1/sessions/\(id)/steps HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n" + body)
        let deadline = Date().addingTimeInterval(20)
        while gateway.keys.isEmpty && Date() < deadline { usleep(20_000) }
        first.stop(SIGKILL)
        let second = try ServeProcess(arguments)
        let r = try Client(port: second.port).request("GET", "/v1/sessions/\(id)")
        XCTAssertEqual(r.status, 200, r.text)
        XCTAssertEqual(r.json["responses"] as? [String], ["not sure: interrupted"], r.text)
        usleep(200_000)
        XCTAssertEqual(gateway.keys.count, 1, "sent once")
    }

    /// Sessions idle for longer than --session-ttl are gone.
    func testExpiry() throws {
        let flow = try temporaryFlow("survey.flow", Self.survey)
        let server = try ServeProcess([flow.path, "--store", temporaryStore(), "--session-ttl", "1s"])
        let c = try Client(port: server.port)
        let id = try XCTUnwrap(try create(c, "Survey").json["id"] as? String)
        XCTAssertEqual(try c.request("GET", "/v1/sessions/\(id)").status, 200)
        sleep(3)
        XCTAssertEqual(try c.request("GET", "/v1/sessions/\(id)").status, 404)
        let metrics = try c.request("GET", "/v1/metrics").text
        XCTAssertTrue(metrics.contains("flow_sessions_expired_total 1"), metrics)
    }

    // MARK: - Hostile clients

    /// Malformed requests get 400 (or 431, 501, 505) and a closed connection; the server goes on.
    func testMalformedHTTP() throws {
        let server = try ServeProcess(["flows/payment.flow", "--store", temporaryStore()])
        let cases: [(String, Int)] = [
            ("GARBAGE\r\n\r\n", 400),
            ("GET /v1/health HTTP/1.1\r\nHost x\r\n\r\n", 400),
            ("GET /v1/health HTTP/1.1\nHost: x\n\n\r\n\r\n", 400),
            ("GET /v1/health HTTP/1.1\r\n\r\n", 400),
            ("GET http://x/v1/health HTTP/1.1\r\nHost: x\r\n\r\n", 400),
            ("GET /v1/health HTTP/2.0\r\nHost: x\r\n\r\n", 505),
            ("POST /v1/sessions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 501),
            ("POST /v1/sessions HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", 400),
            ("POST /v1/sessions HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", 400),
            ("GET /v1/health HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n", 400),
            ("GET /v1/health HTTP/1.1\r\nHost: x\r\n" + String(repeating: "X-A: b\r\n", count: 200) + "\r\n", 431),
            ("GET /v1/health HTTP/1.1\r\nHost: x\r\nX-Big: " + String(repeating: "a", count: 20_000) + "\r\n\r\n", 431),
        ]
        for (request, status) in cases {
            let c = try Client(port: server.port)
            c.send(request)
            let r = try c.readReply()
            XCTAssertEqual(r?.status, status, request.prefix(60) + "…: " + (r?.text ?? "closed"))
            XCTAssertTrue(c.isClosed(), "closed after \(request.prefix(40))")
        }
        // Random bytes.
        var g = SystemRandomNumberGenerator()
        for _ in 0..<20 {
            let c = try Client(port: server.port)
            c.send((0..<200).map { _ in UInt8.random(in: 0...255, using: &g) } + [13, 10, 13, 10])
            _ = try? c.readReply()
        }
        // Keep-alive and pipelining still work.
        let c = try Client(port: server.port)
        c.send("GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\nGET /v1/health HTTP/1.1\r\nHost: x\r\n\r\n")
        XCTAssertEqual(try c.readReply()?.status, 200)
        XCTAssertEqual(try c.readReply()?.status, 200)
        XCTAssertEqual(try c.request("GET", "/v1/health").status, 200)
        XCTAssertEqual(try c.request("HEAD", "/v1/health").status, 200)
    }

    /// A client that sends a byte a second is cut off at the request deadline (408) while the
    /// server keeps answering others.
    func testSlowClientIsCutOff() throws {
        let server = try ServeProcess(["flows/payment.flow", "--store", temporaryStore(), "--request-timeout", "2s"])
        let slow = try Client(port: server.port)
        let request = Array("POST /v1/sessions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 20\r\n\r\n".utf8)
        let started = Date()
        var cut = false
        for byte in request {
            slow.send([byte])
            // Others are served meanwhile.
            XCTAssertEqual(try Client(port: server.port).request("GET", "/v1/health").status, 200)
            Thread.sleep(forTimeInterval: 0.3)
            if Date().timeIntervalSince(started) > 2.5 {
                cut = true
                break
            }
        }
        XCTAssertTrue(cut)
        let r = try slow.readReply()
        XCTAssertEqual(r?.status, 408, r?.text ?? "closed")
        XCTAssertTrue(slow.isClosed())
    }

    /// 10,000 idle connections: the server keeps serving (the longest idle are closed at its
    /// connection limit), without a thread per connection.
    func testManyIdleConnections() throws {
        let server = try ServeProcess(["flows/payment.flow", "--store", temporaryStore(), "--max-connections", "5000"])
        var idle: [Client] = []
        for _ in 0..<10_000 {
            idle.append(try Client(port: server.port))
        }
        let c = try Client(port: server.port)
        XCTAssertEqual(try c.request("GET", "/v1/health").status, 200)
        let threads = try String(contentsOfFile: "/proc/\(server.process.processIdentifier)/status", encoding: .utf8)
            .split(separator: "\n").first { $0.hasPrefix("Threads:") }
        let count = Int(threads?.split(separator: "\t").last?.trimmingCharacters(in: .whitespaces) ?? "") ?? 0
        XCTAssertLessThan(count, 40, "threads: \(count)")
        let metrics = try c.request("GET", "/v1/metrics").text
        let open = metrics.split(separator: "\n").first { $0.hasPrefix("flow_http_connections ") }
        XCTAssertNotNil(open)
        XCTAssertLessThanOrEqual(Int(open!.split(separator: " ")[1]) ?? 99999, 5000)
        idle.removeAll()
        XCTAssertEqual(try c.request("GET", "/v1/health").status, 200)
    }

    // MARK: - The command

    func testFlowWithErrorsIsNotServed() throws {
        let flow = try temporaryFlow("bad.flow", "flow Bad {\n  response \"{nope}\"\n}\n")
        let process = Process()
        process.executableURL = ServeProcess.binary
        process.arguments = ["serve", flow.path, "--listen", "127.0.0.1:0", "--store", temporaryStore()]
        let err = Pipe()
        process.standardError = err
        process.standardOutput = FileHandle.nullDevice
        process.environment = ["NO_COLOR": "1"]
        try process.run()
        let text = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 65, text)
        XCTAssertTrue(text.contains("error["), text)
        XCTAssertFalse(text.contains("listening"), text)
    }

    /// A directory: every flow of every file, a flow imported by several files served once; two
    /// files declaring the same flow name are refused.
    func testServingADirectory() throws {
        let server = try ServeProcess(["flows", "--store", temporaryStore()])
        let flows = try Client(port: server.port).request("GET", "/v1/flows")
        let names = (flows.json["flows"] as? [[String: Any]])?.compactMap { $0["name"] as? String }
        XCTAssertEqual(names, ["Balance", "Card PIN", "Open Ticket", "Order Status", "Payment", "Support", "Triage"])
        let support = try Client(port: server.port).request("POST", "/v1/sessions", json: #"{"flow": "Support"}"#)
        XCTAssertEqual(support.status, 201, support.text)

        let a = try temporaryFlow("a.flow", "flow Same {\n  response \"a\"\n}\n")
        let b = try temporaryFlow("b.flow", "flow Same {\n  response \"b\"\n}\n")
        let process = Process()
        process.executableURL = ServeProcess.binary
        process.arguments = ["serve", a.path, b.path, "--listen", "127.0.0.1:0", "--store", temporaryStore()]
        let err = Pipe()
        process.standardError = err
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let text = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 65, text)
        XCTAssertTrue(text.contains("the flow 'Same' is declared in both"), text)
    }

    /// The OpenAPI description is served, parses, and names every route the server has.
    func testOpenAPIDescription() throws {
        let server = try ServeProcess(["flows/payment.flow", "--store", temporaryStore()])
        let c = try Client(port: server.port)
        let r = try c.request("GET", "/v1/openapi.json")
        XCTAssertEqual(r.status, 200)
        XCTAssertEqual(r.json["openapi"] as? String, "3.0.3")
        let paths = try XCTUnwrap(r.json["paths"] as? [String: Any])
        XCTAssertEqual(Set(paths.keys), ["/v1/health", "/v1/metrics", "/v1/openapi.json", "/v1/flows", "/v1/sessions", "/v1/sessions/{id}",
                                         "/v1/sessions/{id}/steps"])
        let flows = try c.request("GET", "/v1/flows")
        XCTAssertEqual(((flows.json["flows"] as? [[String: Any]])?.first)?["name"] as? String, "Payment")
    }
}

extension Client {
    /// A JSON body of `size` bytes.
    static func bigBody(_ size: Int) -> String {
        "{\"version\": 1, \"answers\": {\"First\": \"" + String(repeating: "a", count: size) + "\"}}"
    }
}

final class Box: @unchecked Sendable {
    private let lock = NSLock()
    private var list: [Int] = []
    func add(_ n: Int) {
        lock.lock()
        list.append(n)
        lock.unlock()
    }
    var values: [Int] {
        lock.lock()
        defer { lock.unlock() }
        return list
    }
}
