@testable import FlowKit
@testable import FlowServer
import Foundation
import XCTest

/// The stored form of a session (`SessionRecord.encoded`): JSON written by hand
/// (`SessionStateJSON`) that reads back to the same state, says what Foundation's `JSONEncoder`
/// says, and records written by `JSONEncoder` before still load.
final class SessionRecordCodingTests: XCTestCase {
    static let paymentSource: String = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("flows/payment.flow")
        return (try? String(contentsOf: url, encoding: .utf8)) ?? ""
    }()

    private func program(_ source: String, file: StaticString = #filePath, line: UInt = #line) throws -> Program {
        let c = Frontend.compile(source: source)
        return try XCTUnwrap(c.program, "does not compile", file: file, line: line)
    }

    private let options = RuntimeOptions(sessionID: "s\"1\\\n\u{1}é", today: { "2026-12-04" })

    /// Every state the payment flow goes through, on the success path and on a declined charge
    /// (a failure with a nested body), with a stubbed extension and charge.
    private func paymentStates() throws -> [SessionState] {
        let p = try program(Self.paymentSource)
        var states: [SessionState] = []
        for declined in [false, true] {
            let session = try Session(program: p, options: options)
            var result = try session.start()
            states.append(session.state)  // at the page
            guard case .ask = result.step else { return fail("expected the amount page") }
            result = try session.resume(.answers(["Embedded Payment": "4.00"]))
            states.append(session.state)  // the extension in flight
            guard case .runExtension = result.step else { return fail("expected Tokenize") }
            result = try session.resume(.result(["token": .text("pm_card_visa")]))
            states.append(session.state)  // the charge in flight, the extension completed
            guard case .callIP = result.step else { return fail("expected StripeCharge") }
            if declined {
                let body: Value = .object([
                    "error": .object([
                        "code": .text("card_declined"), "message": .text("Your card was declined.\n\"Sorry\" <b>&</b> \u{7}"),
                        "amounts": .list([.number(Number(parsing: "4.00")!), .number(Number(parsing: "-0.005")!), .null, .bool(false)]),
                        "when": .date("2026-12-04"), "nested": .list([.object(["deep": .list([])]), .object([:])]),
                    ]),
                ])
                result = try session.resume(.failure(CallFailure(kind: "http", message: "HTTP 402 \"Payment Required\"", status: 402,
                                                                 code: "card_declined", body: body, codeNamespace: nil)))
            } else {
                result = try session.resume(.result([
                    "id": .text("ch_1"), "status": .text("succeeded"), "paid": .bool(true), "amount": .number(400),
                    "failure message": .null,
                ]))
            }
            states.append(session.state)  // finished
            guard case .finished = result.step else { return fail("expected the end") }
        }
        return states
    }

    /// Two pages, a password, `back`: history checkpoints and answers of pages not answered yet.
    private func surveyStates() throws -> [SessionState] {
        let p = try program(ServeTests.survey)
        let session = try Session(program: p, options: RuntimeOptions(sessionID: "survey", today: { "2026-12-04" }))
        var states: [SessionState] = []
        _ = try session.start()
        states.append(session.state)
        _ = try session.resume(.answers(["First": "Zoë \"Q\" / ünïcödé 🙂"]))
        states.append(session.state)
        _ = try session.resume(.back)
        states.append(session.state)
        _ = try session.resume(.answers(["First": "Ann"]))
        _ = try session.resume(.answers(["Years": "42", "Secret word": "hunter2"]))
        states.append(session.state)
        return states
    }

    private func fail(_ message: String) -> [SessionState] {
        XCTFail(message)
        return []
    }

    private func handWritten(_ state: SessionState) -> Data {
        var out: [UInt8] = []
        SessionStateJSON.append(state, to: &out)
        return Data(out)
    }

    private func parsed(_ data: Data, file: StaticString = #filePath, line: UInt = #line) throws -> NSObject {
        try XCTUnwrap(JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed]) as? NSObject, file: file, line: line)
    }

    func testStatesRoundTripAndSayWhatJSONEncoderSays() throws {
        let states = try paymentStates() + surveyStates()
        XCTAssertEqual(states.count, 12)
        // The states are the ones meant: an extension and a call in flight, completed calls with
        // a result and with a failure, finished ones, history for back.
        XCTAssertTrue(states.contains { $0.effects.inFlight?.kind == "extension" })
        XCTAssertTrue(states.contains { $0.effects.inFlight?.kind == "ip" })
        XCTAssertTrue(states.contains { s in s.effects.completed.contains { if case .result? = $0.outcome { true } else { false } } })
        XCTAssertTrue(states.contains { $0.outcome?.success == false })
        XCTAssertTrue(states.contains { !$0.history.isEmpty })
        for (k, state) in states.enumerated() {
            let mine = handWritten(state)
            let decoded = try JSONDecoder().decode(SessionState.self, from: mine)
            XCTAssertEqual(decoded, state, "state \(k) does not round-trip")
            XCTAssertEqual(try parsed(mine), try parsed(JSONEncoder().encode(state)),
                           "state \(k): the hand-written JSON says something else than JSONEncoder's:\n\(String(decoding: mine, as: UTF8.self))")
        }
    }

    func testStringsAreEscaped() throws {
        let texts = ["", "plain", "quote \" backslash \\ slash /", "\n\r\t\u{8}\u{c}\u{0}\u{1f}\u{7f}", "é 漢字 🙂", String(repeating: "x\"", count: 1000)]
        for text in texts {
            var out: [UInt8] = []
            SessionStateJSON.appendString(text, to: &out)
            XCTAssertEqual(try JSONSerialization.jsonObject(with: Data(out), options: [.fragmentsAllowed]) as? String, text)
        }
    }

    private func record(_ state: SessionState) -> SessionRecord {
        SessionRecord(flow: "Payment", fingerprint: "53c570d513a9a612", state: state,
                      view: "\"status\":\"page\",\"responses\":[\"a \\\"b\\\"\"],\"page\":{}", conversation: ["one", "two \"2\"\n", "🙂"],
                      pendingResponses: ["pending <&>"], finished: state.outcome != nil,
                      claim: state.effects.inFlight?.kind == "ip"
                          ? CallClaim(host: "host \"1\"", pid: 4242, started: "123456", since: 1_764_835_200.123_456_7) : nil)
    }

    private func assertSame(_ a: SessionRecord?, _ b: SessionRecord, file: StaticString = #filePath, line: UInt = #line) {
        guard let a else { return XCTFail("the record does not decode", file: file, line: line) }
        XCTAssertEqual(a.flow, b.flow, file: file, line: line)
        XCTAssertEqual(a.fingerprint, b.fingerprint, file: file, line: line)
        XCTAssertEqual(a.state, b.state, file: file, line: line)
        XCTAssertEqual(a.view, b.view, file: file, line: line)
        XCTAssertEqual(a.conversation, b.conversation, file: file, line: line)
        XCTAssertEqual(a.pendingResponses, b.pendingResponses, file: file, line: line)
        XCTAssertEqual(a.finished, b.finished, file: file, line: line)
        XCTAssertEqual(a.claim, b.claim, file: file, line: line)
    }

    func testRecordsRoundTripAndOldRecordsStillLoad() throws {
        var claims = 0
        defer { XCTAssertEqual(claims, 2, "records with a claim") }
        for state in try paymentStates() + surveyStates() {
            let r = record(state)
            claims += r.claim == nil ? 0 : 1
            assertSame(SessionRecord.decode(r.encoded()), r)
            // Written by JSONEncoder, as every record was before.
            assertSame(SessionRecord.decode(r.encodedWithJSONEncoder()), r)
            // Every field of the record, as JSONEncoder says it.
            var mine: [UInt8] = []
            SessionRecord.appendJSON(of: r, to: &mine)
            var rest = r
            rest.view = ""
            XCTAssertEqual(try parsed(Data(mine)), try parsed(JSONEncoder().encode(rest)), String(decoding: mine, as: UTF8.self))
        }
    }

    /// A record as a server built from main before the hand-written JSON stored it (read from
    /// its SQLite file after `flow-bench http-steps`), byte for byte.
    func testARecordStoredByTheOldServerLoads() throws {
        let stored = #"""
            flow-session 1
            244
            "status":"finished","responses":["You paid 4.00. Your charge reference is ch_1."],"conversation":["You paid 4.00. Your charge reference is ch_1."],"page":null,"extension":null,"outcome":{"outcome":"success","reason":"charged 400 cents as ch_1"}{"view":"","fingerprint":"53c570d513a9a612","pendingResponses":[],"state":{"configValues":[{"text":{"_0":"https:\/\/api.stripe.com"}},{"text":{"_0":"pk_test_placeholder"}}],"effects":{"replay":[],"barrier":"StripeCharge","completed":[],"nextSequence":3},"outcome":{"success":true,"reason":"charged 400 cents as ch_1"},"steps":8,"id":"2j6mBU3GvQfP4POLKLbAv0OJjjf1JjKj","history":[],"frames":[{"answers":[[{"number":{"_0":"4"}}]],"flow":0,"locals":[{"text":{"_0":"pm_card_visa"}},{"number":{"_0":"4"}},{"text":{"_0":"Phone payment of 4.00 on 2026-12-04"}},{"object":{"_0":{"status":{"text":{"_0":"succeeded"}},"amount":{"number":{"_0":"400"}},"failure message":{"null":{}},"paid":{"bool":{"_0":true}},"id":{"text":{"_0":"ch_1"}}}}}],"pc":15}],"sessionValues":[]},"finished":true,"flow":"Payment","conversation":["You paid 4.00. Your charge reference is ch_1."]}
            """#
        let r = try XCTUnwrap(SessionRecord.decode(Data(stored.utf8)))
        XCTAssertEqual(r.flow, "Payment")
        XCTAssertTrue(r.finished)
        XCTAssertEqual(r.state.id, "2j6mBU3GvQfP4POLKLbAv0OJjjf1JjKj")
        XCTAssertEqual(r.state.outcome, Outcome(success: true, reason: "charged 400 cents as ch_1"))
        XCTAssertEqual(r.state.effects.barrier, "StripeCharge")
        XCTAssertTrue(r.state.fits(try program(Self.paymentSource)))
        XCTAssertTrue(r.view.hasPrefix("\"status\":\"finished\""))
        // Written again by the new encoder, it reads back the same.
        assertSame(SessionRecord.decode(r.encoded()), r)
    }
}

final class RandomIDTests: XCTestCase {
    func testBase64URLMatchesFoundations() {
        var g = SystemRandomNumberGenerator()
        for n in [0, 3, 6, 24, 48] {
            for _ in 0..<50 {
                let bytes = (0..<n).map { _ in UInt8.random(in: 0...255, using: &g) }
                let foundation = Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
                XCTAssertEqual(RandomID.base64URL(bytes), foundation)
            }
        }
        XCTAssertEqual(RandomID.base64URL([0xfb, 0xff, 0xbf]), "-_-_")
    }

    func testSessionIDsAreWellFormedAndDiffer() {
        let ids = (0..<1000).map { _ in RandomID.session() }
        XCTAssertEqual(Set(ids).count, ids.count)
        for id in ids { XCTAssertTrue(RandomID.isWellFormed(Substring(id)), id) }
    }
}

final class ServiceHelperTests: XCTestCase {
    func testContentTypeJSON() {
        for yes in ["application/json", "Application/JSON", " application/json ; charset=utf-8", "application/json;charset=UTF-8", "\tapplication/json"] {
            XCTAssertTrue(FlowService.isJSON(yes), yes)
        }
        for no in ["", "text/plain", "application/jsonx", "application/json-patch+json", "application/ json", ";application/json", "applicatio/json"] {
            XCTAssertFalse(FlowService.isJSON(no), no)
        }
    }

    func testTodayIsTheSystemsDate() {
        // The cached date and FlowKit's own agree (unless midnight falls between the two calls).
        let system = RuntimeOptions.systemToday()
        let cached = Today.utc()
        XCTAssertTrue(cached == system || cached == RuntimeOptions.systemToday(), "\(cached) \(system)")
        XCTAssertEqual(cached.count, 10)
    }
}

/// SQLiteStore's group commit with many writers at once: each gets its own result (rows changed,
/// a lost compare-and-set, a duplicate), and what it was told is what the file holds.
final class SQLiteStoreGroupCommitTests: XCTestCase {
    func testManyConcurrentWritersEachGetTheirOwnResult() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("group-commit-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let store = try SQLiteStore(path: dir.appendingPathComponent("s.db").path)
        let threads = 24
        let rounds = 40
        let failures = LockedList()
        DispatchQueue.concurrentPerform(iterations: threads) { t in
            let id = "session-\(t)"
            func state(_ v: Int) -> Data { Data("\(id) v\(v)".utf8) }
            do {
                try store.create(StoredSession(id: id, flowFile: "f", state: state(1), version: 1, expiresAt: 4e9))
                do {
                    try store.create(StoredSession(id: id, flowFile: "f", state: state(99), version: 99, expiresAt: 4e9))
                    failures.add("\(id): a second create with the same id was accepted")
                } catch let e as SessionStoreError where e.kind == .duplicate {
                    // As it should.
                }
                for v in 1..<rounds {
                    // A stale version loses, the right one wins.
                    if try store.update(StoredSession(id: id, flowFile: "f", state: state(-v), version: v + 1, expiresAt: 4e9), expected: v - 1) {
                        failures.add("\(id): an update from a stale version won")
                    }
                    if try !store.update(StoredSession(id: id, flowFile: "f", state: state(v + 1), version: v + 1, expiresAt: 4e9), expected: v) {
                        failures.add("\(id): an update from the current version lost")
                    }
                }
                if t % 3 == 0 { try store.delete(id: id) }
            } catch {
                failures.add("\(id): \(error)")
            }
        }
        XCTAssertEqual(failures.items, [])
        for t in 0..<threads {
            let loaded = try store.load(id: "session-\(t)")
            if t % 3 == 0 {
                XCTAssertNil(loaded)
            } else {
                XCTAssertEqual(loaded?.version, rounds)
                XCTAssertEqual(loaded.map { String(decoding: $0.state, as: UTF8.self) }, "session-\(t) v\(rounds)")
            }
        }
        store.close()
        XCTAssertThrowsError(try store.create(StoredSession(id: "late", flowFile: "f", state: Data(), version: 1, expiresAt: 4e9)))
    }
}

final class LockedList: @unchecked Sendable {
    private let lock = NSLock()
    private var list: [String] = []
    func add(_ s: String) {
        lock.lock()
        list.append(s)
        lock.unlock()
    }
    var items: [String] {
        lock.lock()
        defer { lock.unlock() }
        return list
    }
}
