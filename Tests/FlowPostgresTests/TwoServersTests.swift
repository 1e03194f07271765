import Foundation
import XCTest

#if canImport(Glibc)
    import Glibc
#endif

/// Two `flow serve` processes on one PostgreSQL database, through real HTTP: `flows/payment.flow`
/// with StripeCharge going to localstripe (each test its own, counting the charges), the sessions
/// in a fresh database of the test's PostgreSQL server (`PostgresServer`, Tests/support/postgres.sh).
///
/// - Any server takes any session: started on one, stepped on the other, read on either.
/// - The same step with the same version sent to both servers at the same moment: exactly one
///   200, the other 409 with the current step, the session advanced once, charged once.
/// - SIGKILL of one server during traffic, and during a StripeCharge call (localstripe's
///   `/_test/hold_charges` keeps the charge's response on the wire): every acknowledged step is
///   there when read through the survivor, a charge in flight finished through the survivor or
///   the restarted server is made once (counted at localstripe), and the survivor serves
///   throughout.
///
/// Every amount is unique within a test, so localstripe's charges, counted by amount, say which
/// session was charged how often. With `CI=true`, a PostgreSQL or localstripe that cannot be
/// installed or started fails the tests; elsewhere they skip.
final class TwoServersTests: XCTestCase {
    static let publishableKey = "pk_test_flowTwoServers51HqLyjWDarjtT1zdp7dc"
    static let flowFile = packageRoot.appendingPathComponent("flows/payment.flow").path

    private var servers: [ServeChild] = []
    private var stripe: StripeChild?
    private var database = ""

    override func setUpWithError() throws {
        let postgres = try PostgresServer.shared()
        stripe = try StripeChild.start()
        database = try postgres.freshDatabase()
    }

    override func tearDown() {
        let failed = (testRun?.failureCount ?? 0) + (testRun?.unexpectedExceptionCount ?? 0) > 0
        for server in servers {
            server.stop(SIGKILL)
            if failed { print("--- log of flow serve \(server.name) (port \(server.port)):\n\(server.log.suffix(4000))") }
        }
        servers = []
        if failed, let stripe { print("--- log of localstripe:\n\(stripe.child.log.suffix(2000))") }
        stripe?.stop()
        stripe = nil
        super.tearDown()
    }

    // MARK: - Helpers

    /// A `flow serve flows/payment.flow` on the test's database, charging at its localstripe (or
    /// at the gateway on `gateway`).
    private func startServer(_ name: String, gateway: UInt16? = nil) throws -> ServeChild {
        let port = try gateway ?? XCTUnwrap(stripe).port
        let server = try ServeChild(
            name,
            [Self.flowFile, "--store", database, "--define", "STRIPE_BASE=http://127.0.0.1:\(port)",
             "--define", "STRIPE_PUBLISHABLE_KEY=\(Self.publishableKey)"],
            environment: ["STRIPE_SECRET_KEY": StripeChild.secretKey])
        servers.append(server)
        return server
    }

    static func amount(_ cents: Int) -> String { String(format: "%d.%02d", cents / 100, cents % 100) }

    static let create = #"{"flow": "Payment"}"#
    static func answers(_ version: Int, cents: Int) -> String {
        "{\"version\": \(version), \"answers\": {\"Embedded Payment\": \"\(amount(cents))\"}}"
    }
    static func outputs(_ version: Int, token: String) -> String {
        "{\"version\": \(version), \"extension\": {\"outputs\": {\"token\": \"\(token)\"}}}"
    }
    static func stepPath(_ id: String) -> String { "/v1/sessions/\(id)/steps" }

    private func status(_ r: HTTPReply) -> String? { r.json["status"] as? String }

    /// The one response of a finished payment of `cents`.
    private func assertPaid(_ r: HTTPReply, cents: Int, _ context: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(r.status, 200, "\(context): \(r.text)", file: file, line: line)
        XCTAssertEqual(r.json["status"] as? String, "finished", "\(context): \(r.text)", file: file, line: line)
        XCTAssertEqual((r.json["outcome"] as? [String: Any])?["outcome"] as? String, "success", "\(context): \(r.text)", file: file, line: line)
        let said = (r.json["conversation"] as? [String] ?? []) + (r.json["responses"] as? [String] ?? [])
        XCTAssertTrue(said.contains { $0.hasPrefix("You paid \(Self.amount(cents)). Your charge reference is ch_") },
                      "\(context): \(r.text)", file: file, line: line)
    }

    /// Charges counted at localstripe: exactly one for each amount in `cents`, and no other.
    private func assertChargedOnceEach(_ cents: [Int], file: StaticString = #filePath, line: UInt = #line) throws {
        let counts = try XCTUnwrap(stripe).chargesByAmount()
        let expected = Dictionary(uniqueKeysWithValues: cents.map { ($0, 1) })
        XCTAssertEqual(counts, expected, "charges by amount in cents at localstripe", file: file, line: line)
    }

    // MARK: - Any server takes any session

    /// Sessions started on A are stepped on B and back, and read on either: the same version
    /// and step everywhere; a step already taken on one server is a 409 on the other.
    func testAnyServerTakesAnySession() throws {
        let a = try startServer("A")
        let b = try startServer("B")
        let token = try XCTUnwrap(stripe).paymentMethod()
        var amounts: [Int] = []
        for k in 0..<6 {
            let (first, second) = k % 2 == 0 ? (a, b) : (b, a)
            let cents = 101 + k
            amounts.append(cents)
            let started = try httpRequest(port: first.port, "POST", "/v1/sessions", body: Self.create)
            XCTAssertEqual(started.status, 201, started.text)
            let id = try XCTUnwrap(started.json["id"] as? String, started.text)
            let v0 = try XCTUnwrap(started.version)
            let seen = try httpRequest(port: second.port, "GET", "/v1/sessions/\(id)")
            XCTAssertEqual(seen.status, 200, seen.text)
            XCTAssertEqual(seen.version, v0)
            XCTAssertEqual(status(seen), "page")

            let tokenize = try httpRequest(port: second.port, "POST", Self.stepPath(id), body: Self.answers(v0, cents: cents))
            XCTAssertEqual(tokenize.status, 200, tokenize.text)
            XCTAssertEqual(status(tokenize), "extension", tokenize.text)
            let v1 = try XCTUnwrap(tokenize.version)
            XCTAssertGreaterThan(v1, v0)
            // The same answer on the first server: already taken on the second.
            let stale = try httpRequest(port: first.port, "POST", Self.stepPath(id), body: Self.answers(v0, cents: cents))
            XCTAssertEqual(stale.status, 409, stale.text)
            XCTAssertEqual(stale.current["version"] as? Int, v1, stale.text)
            XCTAssertEqual(stale.current["status"] as? String, "extension", stale.text)

            let paid = try httpRequest(port: first.port, "POST", Self.stepPath(id), body: Self.outputs(v1, token: token))
            assertPaid(paid, cents: cents, "session \(k) paid on \(first.name)")
            let v2 = try XCTUnwrap(paid.version)
            for server in [a, b] {
                let now = try httpRequest(port: server.port, "GET", "/v1/sessions/\(id)")
                XCTAssertEqual(now.version, v2, "read on \(server.name): \(now.text)")
                assertPaid(now, cents: cents, "session \(k) read on \(server.name)")
            }
            let again = try httpRequest(port: second.port, "POST", Self.stepPath(id), body: Self.outputs(v1, token: token))
            XCTAssertEqual(again.status, 409, again.text)
        }
        try assertChargedOnceEach(amounts)
    }

    // MARK: - Concurrent steps

    /// For each of 30 sessions, the same step with the same version sent to A and B at the same
    /// moment (two threads on connections made beforehand, released together), twice: the answer
    /// to the page, then the extension's result, which makes the charge. Each time exactly one
    /// 200 and one 409 with the current step; the session advanced once; one charge each.
    func testConcurrentStepsOnTwoServersApplyOnce() throws {
        let a = try startServer("A")
        let b = try startServer("B")
        let token = try XCTUnwrap(stripe).paymentMethod()
        let sessionCount = 30
        var ids: [String] = []
        var versions: [Int] = []
        for k in 0..<sessionCount {
            let server = k % 2 == 0 ? a : b
            let started = try httpRequest(port: server.port, "POST", "/v1/sessions", body: Self.create)
            XCTAssertEqual(started.status, 201, started.text)
            ids.append(try XCTUnwrap(started.json["id"] as? String))
            versions.append(try XCTUnwrap(started.version))
        }

        /// Sends `body` to A and B at once; the two replies (A's first). A failed request fails
        /// the test.
        func race(_ id: String, _ body: String) throws -> [HTTPReply] {
            let connections = [try HTTPConnection(port: a.port), try HTTPConnection(port: b.port)]
            let replies = Shared<[Int: HTTPReply]>([:])
            let errors = Shared<[String]>([])
            let path = Self.stepPath(id)
            let finished = together(2, timeout: 90) { i in
                do {
                    let reply = try connections[i].request("POST", path, body: body)
                    replies.with { $0[i] = reply }
                } catch {
                    errors.with { $0.append("\(error)") }
                }
            }
            guard finished else { throw HarnessFailure("a concurrent step got no answer within 90 s") }
            guard errors.get.isEmpty else { throw HarnessFailure("a concurrent step failed: \(errors.get)") }
            let got = replies.get
            return [got[0]!, got[1]!]
        }

        var winsByServer = [0, 0]
        var chargeVersions: [Int] = []
        for (k, id) in ids.enumerated() {
            let cents = 200 + k
            let v0 = versions[k]
            let replies = try race(id, Self.answers(v0, cents: cents))
            let winners = replies.indices.filter { replies[$0].status == 200 }
            XCTAssertEqual(winners.count, 1, "session \(k), the answer: \(replies.map { "\($0.status) \($0.text)" })")
            XCTAssertEqual(replies.filter { $0.status == 409 }.count, 1, "session \(k): \(replies.map(\.status))")
            guard winners.count == 1 else { continue }
            let won = replies[winners[0]]
            let lost = replies[1 - winners[0]]
            winsByServer[winners[0]] += 1
            XCTAssertEqual(status(won), "extension", won.text)
            let v1 = try XCTUnwrap(won.version)
            XCTAssertEqual(v1, v0 + 1, "one commit for the answer")
            XCTAssertEqual(lost.current["version"] as? Int, v1, "the 409 gives the current step: \(lost.text)")
            XCTAssertEqual(lost.current["status"] as? String, "extension", lost.text)
            let now = try httpRequest(port: [a, b][1 - winners[0]].port, "GET", "/v1/sessions/\(id)")
            XCTAssertEqual(now.version, v1, "advanced once: \(now.text)")
            chargeVersions.append(v1)
        }
        XCTAssertEqual(chargeVersions.count, sessionCount)

        for (k, id) in ids.enumerated() where k < chargeVersions.count {
            let cents = 200 + k
            let v1 = chargeVersions[k]
            let replies = try race(id, Self.outputs(v1, token: token))
            let winners = replies.indices.filter { replies[$0].status == 200 }
            XCTAssertEqual(winners.count, 1, "session \(k), the charge: \(replies.map { "\($0.status) \($0.text)" })")
            XCTAssertEqual(replies.filter { $0.status == 409 }.count, 1, "session \(k): \(replies.map(\.status))")
            guard winners.count == 1 else { continue }
            let won = replies[winners[0]]
            let lost = replies[1 - winners[0]]
            winsByServer[winners[0]] += 1
            assertPaid(won, cents: cents, "session \(k)")
            // The loser's 409 shows where the session stood when it lost: the charge in flight
            // (its view still the extension), or done.
            let current = try XCTUnwrap(lost.current["version"] as? Int, lost.text)
            XCTAssertGreaterThan(current, v1, lost.text)
            XCTAssertLessThanOrEqual(current, try XCTUnwrap(won.version), lost.text)
            for server in [a, b] {
                let now = try httpRequest(port: server.port, "GET", "/v1/sessions/\(id)")
                XCTAssertEqual(now.version, won.version, "advanced once, read on \(server.name): \(now.text)")
                assertPaid(now, cents: cents, "session \(k) read on \(server.name)")
            }
        }
        print("TwoServersTests: races won by A \(winsByServer[0]), by B \(winsByServer[1])")
        try assertChargedOnceEach((0..<sessionCount).map { 200 + $0 })
        // Both servers counted conflicts: the races were real on both sides.
        var conflicts = 0
        for server in [a, b] {
            let metrics = try httpRequest(port: server.port, "GET", "/v1/metrics").text
            for line in metrics.split(separator: "\n") where line.hasPrefix("flow_step_conflicts_total") {
                conflicts += Int(Double(line.split(separator: " ").last ?? "0") ?? 0)
            }
        }
        XCTAssertEqual(conflicts, 2 * sessionCount, "one conflict per race")
    }

    // MARK: - A kill during traffic

    /// Six clients pay through A and B in turn; A is killed with SIGKILL while they do. A client
    /// whose request to A gets no answer reads the session on B and goes on there. Every
    /// acknowledged step is still there on B; B answers every request throughout; each
    /// session, finished on B, is charged exactly once; a restarted A sees the same sessions.
    func testKillingOneServerDuringTrafficLosesNothingAcknowledged() throws {
        let a = try startServer("A")
        let b = try startServer("B")
        let stripe = try XCTUnwrap(self.stripe)
        let token = try stripe.paymentMethod()
        let clients = 6
        let sessionsPerClient = 6

        struct Acknowledged {
            var version: Int
            var status: String
        }
        let acknowledged = Shared<[String: Acknowledged]>([:])  // id -> the latest acknowledged step
        let centsByID = Shared<[String: Int]>([:])
        let steps = Shared(0)
        let survivorFailures = Shared<[String]>([])
        let refusedByA = Shared(0)
        let aKilled = Shared(false)

        let crowd = release(clients) { c in
            var aDown = false
            var turn = c
            /// A request to A or B in turn (B once A has failed); nil when A did not answer.
            func send(_ method: String, _ path: String, _ body: String?) -> HTTPReply? {
                turn += 1
                let server = (aDown || turn % 2 == 0) ? b : a
                do {
                    let reply = try HTTPConnection(port: server.port, timeout: 60).request(method, path, body: body)
                    if server === b && ![200, 201, 409].contains(reply.status) {
                        survivorFailures.with { $0.append("\(method) \(path): \(reply.status) \(reply.text)") }
                    }
                    if server === a && ![200, 201, 409].contains(reply.status) {
                        survivorFailures.with { $0.append("A before its kill: \(method) \(path): \(reply.status) \(reply.text)") }
                    }
                    return reply
                } catch {
                    if server === b {
                        survivorFailures.with { $0.append("\(method) \(path): \(error)") }
                    } else if !aKilled.get {
                        survivorFailures.with { $0.append("A before its kill: \(method) \(path): \(error)") }
                    }
                    if server === a { refusedByA.with { $0 += 1 } }
                    aDown = aDown || server === a
                    return nil
                }
            }
            func note(_ id: String, _ reply: HTTPReply) {
                var version = reply.version
                var status = reply.json["status"] as? String
                if reply.status == 409 {
                    version = reply.current["version"] as? Int
                    status = reply.current["status"] as? String
                }
                guard let version, let status else { return }
                acknowledged.with { all in
                    if (all[id]?.version ?? -1) < version { all[id] = Acknowledged(version: version, status: status) }
                }
                if reply.status != 409 { steps.with { $0 += 1 } }
            }
            for n in 0..<sessionsPerClient {
                let cents = 300 + c * sessionsPerClient + n
                var current: HTTPReply?
                var id: String?
                // Start a session (again on B when A did not answer: nothing was acknowledged).
                var tries = 0
                while id == nil {
                    tries += 1
                    if tries > 3 {
                        survivorFailures.with { $0.append("client \(c) could not start a session") }
                        return
                    }
                    guard let r = send("POST", "/v1/sessions", Self.create) else { continue }
                    guard r.status == 201, let sid = r.json["id"] as? String else {
                        survivorFailures.with { $0.append("client \(c): POST /v1/sessions: \(r.status) \(r.text)") }
                        return
                    }
                    id = sid
                    current = r
                }
                let sid = id!
                centsByID.with { $0[sid] = cents }
                note(sid, current!)
                var rounds = 0
                while rounds < 20, let state = current, state.json["status"] as? String != "finished" {
                    rounds += 1
                    let version = state.version ?? 0
                    let body = state.json["status"] as? String == "extension"
                        ? Self.outputs(version, token: token) : Self.answers(version, cents: cents)
                    var reply = send("POST", Self.stepPath(sid), body)
                    if reply == nil {
                        // No answer: the step may or may not have been committed. Ask where the
                        // session stands (on B now).
                        reply = send("GET", "/v1/sessions/\(sid)", nil)
                    }
                    guard let r = reply else { continue }
                    note(sid, r)
                    if r.status == 409 {
                        current = HTTPReply(status: 200, headers: [:], body: (try? JSONSerialization.data(withJSONObject: r.current)) ?? Data())
                    } else if r.status == 200 {
                        current = r
                    } else {
                        survivorFailures.with { $0.append("client \(c), session \(sid): \(r.status) \(r.text)") }
                        return
                    }
                }
            }
        }
        // Kill A once the clients have made some progress (or after 20 s whatever they did).
        let killAfter = Date().addingTimeInterval(20)
        while steps.get < 25 && Date() < killAfter { usleep(5_000) }
        aKilled.with { $0 = true }
        XCTAssertEqual(a.stop(SIGKILL), 128 + SIGKILL)
        let stepsAtKill = steps.get

        XCTAssertTrue(crowd.wait(timeout: .now() + 240) == .success, "the clients did not finish within 240 s")
        XCTAssertEqual(survivorFailures.get, [], "B answered every request, and A every one before its kill")
        XCTAssertGreaterThan(stepsAtKill, 0, "steps were taken before the kill")
        XCTAssertGreaterThan(steps.get, stepsAtKill, "steps were taken after the kill")
        print("TwoServersTests: \(stepsAtKill) steps acknowledged before A was killed, \(steps.get) in all; "
              + "\(refusedByA.get) requests to A unanswered; "
              + "\(b.log.components(separatedBy: "resuming the call of 'StripeCharge'").count - 1) charges resumed by B")

        // Every acknowledged step is there, read through the survivor; then every session is
        // finished there.
        let all = acknowledged.get
        let cents = centsByID.get
        XCTAssertEqual(all.count, clients * sessionsPerClient)
        for (id, ack) in all {
            let now = try httpRequest(port: b.port, "GET", "/v1/sessions/\(id)")
            XCTAssertEqual(now.status, 200, now.text)
            let version = try XCTUnwrap(now.version, now.text)
            XCTAssertGreaterThanOrEqual(version, ack.version, "session \(id): acknowledged \(ack), stored \(now.text)")
            if ack.status == "finished" {
                XCTAssertEqual(version, ack.version, now.text)
                assertPaid(now, cents: cents[id]!, "session \(id)")
            }
            // What a client would do now: finish it on B.
            var state = now
            var rounds = 0
            while status(state) != "finished" && rounds < 5 {
                rounds += 1
                let v = try XCTUnwrap(state.version)
                let body = status(state) == "extension" ? Self.outputs(v, token: token) : Self.answers(v, cents: cents[id]!)
                state = try httpRequest(port: b.port, "POST", Self.stepPath(id), body: body)
            }
            assertPaid(state, cents: cents[id]!, "session \(id) finished on B")
        }
        try assertChargedOnceEach(Array(cents.values))

        // A restarted on the same database sees every session as B does.
        let restarted = try startServer("A2")
        for id in all.keys {
            let onB = try httpRequest(port: b.port, "GET", "/v1/sessions/\(id)")
            let onA = try httpRequest(port: restarted.port, "GET", "/v1/sessions/\(id)")
            XCTAssertEqual(onA.status, 200, onA.text)
            XCTAssertEqual(onA.version, onB.version)
            XCTAssertEqual(onA.json["conversation"] as? [String], onB.json["conversation"] as? [String])
        }
    }

    // MARK: - A kill during the charge

    /// localstripe holds the responses of charges; A sends the charges of two sessions and is
    /// killed while they are on the wire (localstripe made them). B, asked for the first, sends
    /// its call again with the same idempotency key and finishes it; A restarted does the same
    /// for the second. One charge each, counted at localstripe. B serves other sessions while A's
    /// charges hang, and after.
    func testKillDuringTheChargeChargesOnce() throws {
        let a = try startServer("A")
        let b = try startServer("B")
        let stripe = try XCTUnwrap(self.stripe)
        let token = try stripe.paymentMethod()

        /// A session started on `first`, its amount answered on `second`: its id and version.
        func tokenizing(_ first: ServeChild, _ second: ServeChild, cents: Int) throws -> (String, Int) {
            let started = try httpRequest(port: first.port, "POST", "/v1/sessions", body: Self.create)
            let id = try XCTUnwrap(started.json["id"] as? String, started.text)
            let r = try httpRequest(port: second.port, "POST", Self.stepPath(id), body: Self.answers(try XCTUnwrap(started.version), cents: cents))
            XCTAssertEqual(status(r), "extension", r.text)
            return (id, try XCTUnwrap(r.version))
        }
        let (first, v1) = try tokenizing(a, b, cents: 401)
        let (second, v2) = try tokenizing(b, a, cents: 402)
        let (third, v3) = try tokenizing(b, b, cents: 403)

        try stripe.holdCharges(120)
        // The two charges go out from A; their responses are held.
        let onA = [try HTTPConnection(port: a.port, timeout: 30), try HTTPConnection(port: a.port, timeout: 30)]
        try onA[0].send("POST", Self.stepPath(first), body: Self.outputs(v1, token: token))
        try onA[1].send("POST", Self.stepPath(second), body: Self.outputs(v2, token: token))
        let deadline = Date().addingTimeInterval(60)
        var made: [Int: Int] = [:]
        while Date() < deadline {
            made = try stripe.chargesByAmount()
            if made[401] != nil && made[402] != nil { break }
            usleep(50_000)
        }
        XCTAssertEqual(made, [401: 1, 402: 1], "localstripe made both charges and holds their responses")

        // B serves while A waits on the gateway, and leaves A's calls alone while A lives.
        let fourth = try tokenizing(b, b, cents: 404)
        let whileHeld = try httpRequest(port: b.port, "GET", "/v1/sessions/\(first)")
        XCTAssertEqual(whileHeld.status, 200, whileHeld.text)
        XCTAssertNotEqual(status(whileHeld), "finished", whileHeld.text)
        XCTAssertFalse(b.log.contains("resuming the call"), b.log)
        XCTAssertEqual(a.stop(SIGKILL), 128 + SIGKILL)
        for connection in onA {
            XCTAssertThrowsError(try connection.readReply(), "nothing was acknowledged by the killed server")
        }

        // B, asked where the first session stands, finishes its charge with the same key: the
        // gateway answers it at once with the first response (the hold is for new charges).
        let resumed = try httpRequest(port: b.port, "GET", "/v1/sessions/\(first)")
        assertPaid(resumed, cents: 401, "the first session read on B")
        XCTAssertGreaterThan(try XCTUnwrap(resumed.version), v1)
        XCTAssertTrue(b.log.contains("resuming the call of 'StripeCharge'"), b.log)
        // The same step posted again by a client that never heard from A: 409, and finished.
        let again = try httpRequest(port: b.port, "POST", Self.stepPath(first), body: Self.outputs(v1, token: token))
        XCTAssertEqual(again.status, 409, again.text)
        XCTAssertEqual(again.current["status"] as? String, "finished", again.text)

        // A restarted finishes the second the same way.
        let restarted = try startServer("A2")
        let resumedOnA = try httpRequest(port: restarted.port, "GET", "/v1/sessions/\(second)")
        assertPaid(resumedOnA, cents: 402, "the second session read on the restarted A")
        let onB = try httpRequest(port: b.port, "GET", "/v1/sessions/\(second)")
        XCTAssertEqual(onB.version, resumedOnA.version)

        // Released, the gateway charges the others as usual, on either server.
        try stripe.holdCharges(0)
        assertPaid(try httpRequest(port: b.port, "POST", Self.stepPath(third), body: Self.outputs(v3, token: token)), cents: 403, "the third")
        assertPaid(try httpRequest(port: restarted.port, "POST", Self.stepPath(fourth.0), body: Self.outputs(fourth.1, token: token)),
                   cents: 404, "the fourth")
        try assertChargedOnceEach([401, 402, 403, 404])
        for server in [b, restarted] {
            XCTAssertFalse(server.log.contains(StripeChild.secretKey), "no secret in the log of \(server.name)")
        }
    }

    // MARK: - The same step while the charge is in progress

    /// The gateway is slow to make a charge A sent. The same step sent again, to B (a load
    /// balancer's choice) or to A (a double click), and a read on B, must not send the call a
    /// second time: Stripe answers a request whose idempotency key is still in progress with 409,
    /// which the flow would take as the charge failing, telling a customer who was charged that
    /// the payment failed. They get 409 with where the session stands; A's answer, once the
    /// gateway answers, is the payment; one request reached the gateway.
    func testTheSameStepWhileTheChargeIsInProgressIsNotSentAgain() throws {
        let gateway = try SlowGateway()
        defer { gateway.stop() }
        let a = try startServer("A", gateway: gateway.port)
        let b = try startServer("B", gateway: gateway.port)
        let started = try httpRequest(port: a.port, "POST", "/v1/sessions", body: Self.create)
        let id = try XCTUnwrap(started.json["id"] as? String, started.text)
        let tokenize = try httpRequest(port: b.port, "POST", Self.stepPath(id), body: Self.answers(try XCTUnwrap(started.version), cents: 501))
        let v1 = try XCTUnwrap(tokenize.version, tokenize.text)
        let step = Self.outputs(v1, token: "pm_card_visa")

        gateway.holding = true
        let onA = try HTTPConnection(port: a.port, timeout: 60)
        try onA.send("POST", Self.stepPath(id), body: step)
        let deadline = Date().addingTimeInterval(30)
        while gateway.charges.isEmpty && Date() < deadline { usleep(10_000) }
        XCTAssertEqual(gateway.requests, ["charge"], "A sent the charge")

        let onB = try httpRequest(port: b.port, "POST", Self.stepPath(id), body: step)
        XCTAssertEqual(onB.status, 409, onB.text)
        let busy = try XCTUnwrap(onB.current["version"] as? Int, onB.text)
        XCTAssertGreaterThan(busy, v1)
        XCTAssertNotEqual(onB.current["status"] as? String, "finished", onB.text)
        let read = try httpRequest(port: b.port, "GET", "/v1/sessions/\(id)")
        XCTAssertEqual(read.status, 200, read.text)
        XCTAssertEqual(read.version, busy, read.text)
        // With the version just given: still in progress, still 409.
        let current = try httpRequest(port: b.port, "POST", Self.stepPath(id), body: Self.outputs(busy, token: "pm_card_visa"))
        XCTAssertEqual(current.status, 409, current.text)
        let twice = try HTTPConnection(port: a.port, timeout: 60).request("POST", Self.stepPath(id), body: step)
        XCTAssertEqual(twice.status, 409, twice.text)
        XCTAssertEqual(gateway.requests, ["charge"], "nothing more reached the gateway while the charge was in progress")

        gateway.releaseHeld()
        let paid = try onA.readReply()
        assertPaid(paid, cents: 501, "A's answer")
        for server in [a, b] {
            let now = try httpRequest(port: server.port, "GET", "/v1/sessions/\(id)")
            XCTAssertEqual(now.version, paid.version, now.text)
            assertPaid(now, cents: 501, "read on \(server.name)")
        }
        XCTAssertEqual(gateway.requests, ["charge"])
        XCTAssertEqual(gateway.charges.count, 1)
    }

    // MARK: - Working while the charge is held

    /// localstripe holds the response of a charge A sent. Meanwhile the session reads as
    /// `working` on either server (the IP's name and a retry hint, not the card form of the step
    /// before it), and the same step sent again, to B (a load balancer's choice) or to A (a
    /// double click), gets 409 `callInProgress` with that view, and sends nothing. Nothing of the
    /// call (its address, key, token or secret) is in what they say. Released: A answers with the
    /// payment, every read says it, and localstripe made one charge.
    func testASessionWhoseChargeIsHeldReadsAsWorking() throws {
        let a = try startServer("A")
        let b = try startServer("B")
        let stripe = try XCTUnwrap(self.stripe)
        let token = try stripe.paymentMethod()
        let started = try httpRequest(port: a.port, "POST", "/v1/sessions", body: Self.create)
        let id = try XCTUnwrap(started.json["id"] as? String, started.text)
        let tokenize = try httpRequest(port: a.port, "POST", Self.stepPath(id), body: Self.answers(try XCTUnwrap(started.version), cents: 601))
        XCTAssertEqual(status(tokenize), "extension", tokenize.text)
        let v1 = try XCTUnwrap(tokenize.version, tokenize.text)
        let step = Self.outputs(v1, token: token)

        /// A view of the session while its charge is in progress.
        func assertWorking(_ view: [String: Any], _ text: String, _ context: String, line: UInt = #line) {
            XCTAssertEqual(view["status"] as? String, "working", "\(context): \(text)", line: line)
            let working = view["working"] as? [String: Any] ?? [:]
            XCTAssertEqual(working["name"] as? String, "StripeCharge", "\(context): \(text)", line: line)
            XCTAssertEqual(working["retryAfter"] as? Int, 1, "\(context): \(text)", line: line)
            XCTAssertEqual(Set(working.keys), ["name", "retryAfter"], "\(context): only the IP's name and the hint", line: line)
            for key in ["page", "extension", "outcome"] {
                XCTAssertTrue(view[key] is NSNull, "\(context): no \(key) while working: \(text)", line: line)
            }
            XCTAssertGreaterThan(view["version"] as? Int ?? 0, v1, "\(context): \(text)", line: line)
            XCTAssertEqual(view["conversation"] as? [String], [], "\(context): \(text)", line: line)
            for secret in [token, StripeChild.secretKey, "127.0.0.1", "/v1/charges", "Idempotency"] {
                XCTAssertFalse(text.contains(secret), "\(context): \(secret) is not told: \(text)", line: line)
            }
            XCTAssertNil(text.range(of: #"flow-[0-9a-f]{40}"#, options: .regularExpression), "\(context): no idempotency key: \(text)", line: line)
        }

        try stripe.holdCharges(120)
        let onA = try HTTPConnection(port: a.port, timeout: 60)
        try onA.send("POST", Self.stepPath(id), body: step)
        let deadline = Date().addingTimeInterval(60)
        while try stripe.chargesByAmount()[601] == nil && Date() < deadline { usleep(50_000) }
        XCTAssertEqual(try stripe.chargesByAmount(), [601: 1], "localstripe made the charge and holds its response")

        for server in [a, b] {
            let read = try httpRequest(port: server.port, "GET", "/v1/sessions/\(id)")
            XCTAssertEqual(read.status, 200, read.text)
            XCTAssertEqual(read.headers["retry-after"], "1", "read on \(server.name)")
            assertWorking(read.json, read.text, "read on \(server.name)")
        }
        for server in [b, a] {
            let again = try httpRequest(port: server.port, "POST", Self.stepPath(id), body: step)
            XCTAssertEqual(again.status, 409, again.text)
            XCTAssertEqual((again.json["error"] as? [String: Any])?["code"] as? String, "callInProgress", again.text)
            XCTAssertEqual(again.headers["retry-after"], "1", "the step again on \(server.name)")
            assertWorking(again.current, again.text, "the step again on \(server.name)")
            // With the version the working view gave: nothing is applied either.
            let busy = try XCTUnwrap(again.current["version"] as? Int, again.text)
            let current = try httpRequest(port: server.port, "POST", Self.stepPath(id), body: Self.outputs(busy, token: token))
            XCTAssertEqual(current.status, 409, current.text)
            assertWorking(current.current, current.text, "a step with the working version on \(server.name)")
        }
        XCTAssertFalse(a.log.contains("resuming the call") || b.log.contains("resuming the call"), "the call was left to A")

        try stripe.holdCharges(0)
        let paid = try onA.readReply()
        assertPaid(paid, cents: 601, "A's answer")
        for server in [a, b] {
            let now = try httpRequest(port: server.port, "GET", "/v1/sessions/\(id)")
            XCTAssertEqual(now.version, paid.version, now.text)
            XCTAssertNil(now.headers["retry-after"], now.text)
            XCTAssertNil(now.json["working"], now.text)
            assertPaid(now, cents: 601, "read on \(server.name)")
        }
        try assertChargedOnceEach([601])
    }
}
