@testable import FlowKit
import Foundation
import XCTest

/// What the faster session path must keep exactly as it was: the stored form of a call's
/// arguments (their SHA-256 fingerprint, taken only when needed now), `back` answering a safe call
/// from its record before and after a restore, numbers read from answers and written as text.
final class SessionSpeedTests: XCTestCase {
    static let lookup = """
        ip Lookup(number: text, amount: currency) {
          GET "http://shop.test/orders/{number}"
          output status: text = json "status"
        }
        flow Main {
          question Order: text
          ip Lookup(Order.Order, 4.5) -> (status: status)
          question Confirm: yesno
          response "{status}"
        }
        """

    private func step(_ result: StepResult) -> Step { result.step }

    /// The stored record holds `arguments`: SHA-256 of each argument's name and value as JSON,
    /// each followed by a comma, as states stored before held it.
    func testAStoredRecordHoldsTheArgumentsFingerprint() throws {
        let p = try program(Self.lookup)
        let session = try Session(program: p, options: RuntimeOptions(sessionID: "s1"))
        _ = try session.start()
        guard case .callIP(let call) = try session.resume(.answers(["Order": "A\"1"])).step else { return XCTFail("expected the call") }
        XCTAssertEqual(call.arguments.map(\.name), ["number", "amount"])
        let json = try JSONSerialization.jsonObject(with: JSONEncoder().encode(session.state)) as! [String: Any]
        let effects = json["effects"] as! [String: Any]
        let inFlight = effects["inFlight"] as! [String: Any]
        XCTAssertEqual(inFlight["arguments"] as? String, SHA256.hex(#""number":"A\"1","amount":4.5,"#))
        XCTAssertEqual(Set(inFlight.keys), ["sequence", "kind", "name", "flow", "element", "arguments", "safe"])
        // Read back, the record holds only the fingerprint, and equals the one that holds the values.
        let restored = try JSONDecoder().decode(SessionState.self, from: JSONEncoder().encode(session.state))
        XCTAssertEqual(restored, session.state)
        XCTAssertEqual(restored.effects.inFlight?.arguments, inFlight["arguments"] as? String)
    }

    /// `back` across a completed safe call and the same answer again: the recorded result, in the
    /// session that made the call (arguments held as values) and in one restored from its stored
    /// state (arguments held as a fingerprint); another answer makes a new call.
    func testBackReplaysTheSameArgumentsBeforeAndAfterARestore() throws {
        let p = try program(Self.lookup)
        for restore in [false, true] {
            var replays = 0
            var session = try Session(program: p, options: RuntimeOptions(sessionID: "s2"))
            _ = try session.start()
            guard case .callIP(let first) = try session.resume(.answers(["Order": "A1"])).step else { return XCTFail("expected the call") }
            guard case .ask = try session.resume(.result(["status": .text("shipped")]), answering: first.effect).step else {
                return XCTFail("expected Confirm")
            }
            if restore {
                let state = try JSONDecoder().decode(SessionState.self, from: JSONEncoder().encode(session.state))
                XCTAssertTrue(state.fits(p))
                session = Session(program: p, state: state, options: RuntimeOptions(), trace: { e in
                    if case .replay = e { replays += 1 }
                })
            } else {
                session = Session(program: p, state: session.state, options: RuntimeOptions(), trace: { e in
                    if case .replay = e { replays += 1 }
                })
            }
            guard case .ask = try session.resume(.back).step else { return XCTFail("expected Order") }
            guard case .ask(let confirm) = try session.resume(.answers(["Order": "A1"])).step else {
                return XCTFail("the same arguments: answered from the record (restored: \(restore))")
            }
            XCTAssertEqual(confirm.name, "Confirm")
            XCTAssertEqual(replays, 1, "restored: \(restore)")
            guard case .ask = try session.resume(.back).step else { return XCTFail("expected Order") }
            guard case .callIP(let second) = try session.resume(.answers(["Order": "B2"])).step else {
                return XCTFail("other arguments: a new call (restored: \(restore))")
            }
            XCTAssertEqual(second.effect.sequence, 2)
            XCTAssertEqual(replays, 1)
        }
    }

    func testCallArgumentsCompareAsTheirFingerprints() {
        let a: [(name: String, value: Value)] = [("x", .number(Number(parsing: "4.50")!)), ("y", .object(["b": .bool(true), "a": .null]))]
        let same: [(name: String, value: Value)] = [("x", .number(Number(parsing: "4.50")!)), ("y", .object(["a": .null, "b": .bool(true)]))]
        let other: [(name: String, value: Value)] = [("x", .number(Number(parsing: "4.5")!)), ("y", .object(["a": .null, "b": .bool(true)]))]
        XCTAssertTrue(CallArguments(a).matches(same))
        XCTAssertEqual(CallArguments(a), CallArguments(fingerprint: CallArguments.fingerprint(same)))
        XCTAssertEqual(CallArguments(fingerprint: CallArguments.fingerprint(a)), CallArguments(same))
        // 4.50 and 4.5 are written alike, so they are the same arguments, as their fingerprints say.
        XCTAssertEqual(CallArguments(a).matches(other), CallArguments.fingerprint(a) == CallArguments.fingerprint(other))
        XCTAssertFalse(CallArguments(a).matches([("x", .text("4.5")), ("y", .object(["a": .null, "b": .bool(true)]))]))
        XCTAssertNotEqual(CallArguments(a), CallArguments(fingerprint: CallArguments.fingerprint([("x", .text("4.5"))])))
    }

    /// Plain amounts are read in one pass; what they read must be what the general reading gives.
    func testNumbersReadFromAnswers() {
        func read(_ typed: String, _ type: QuestionType = .number) -> Number? {
            let q = QuestionRequest(name: "Q", reference: "P.Q", type: type, prompt: "?", options: [], defaultValue: nil,
                                    optional: false, min: type == .currency ? .number(-100) : nil, max: nil, pattern: nil)
            guard case .success(.number(let n)) = AnswerParser.parse(typed, for: q) else { return nil }
            return n
        }
        func small(_ n: Number?) -> String? {
            guard let n, case .small(let m, let s) = n.storage else { return nil }
            return "\(m)e-\(s)"
        }
        XCTAssertEqual(small(read("4.00", .currency)), "400e-2")
        XCTAssertEqual(small(read("007.50")), "750e-2")
        XCTAssertEqual(small(read("-12")), "-12e-0")
        XCTAssertEqual(small(read("+3.5")), "35e-1")
        XCTAssertEqual(small(read("\u{2212}0.05", .currency)), "-5e-2")
        XCTAssertEqual(small(read(".5")), "5e-1")
        XCTAssertEqual(small(read("1,234.5")), "12345e-1")
        XCTAssertEqual(small(read("123456789012345678")), "123456789012345678e-0")
        XCTAssertEqual(read("1234567890123456789")?.description, "1234567890123456789")
        XCTAssertEqual(read("0.1234567890123456789")?.description, "0.1234567890123456789")
        XCTAssertNil(read("5."))
        XCTAssertNil(read("1.2.3"))
        XCTAssertNil(read("-"))
        XCTAssertNil(read("12a"))
    }

    func testNumbersWrittenAsText() {
        func n(_ s: String) -> Number { Number(parsing: s)! }
        XCTAssertEqual(n("4.50").description, "4.5")
        XCTAssertEqual(n("-0.05").description, "-0.05")
        XCTAssertEqual(n("0.000001").description, "0.000001")
        XCTAssertEqual(n("-123456789.123456789").description, "-123456789.123456789")
        XCTAssertEqual(Number(small: Int64.min, scale: 18).description, "-9.223372036854775808")
        XCTAssertEqual(n("4").formatted(places: 2), "4.00")
        XCTAssertEqual(n("4.5").formatted(places: 2), "4.50")
        XCTAssertEqual(n("-0.05").formatted(places: 2), "-0.05")
        XCTAssertEqual(n("-0.004").formatted(places: 2), "0.00")
        XCTAssertEqual(n("1234.567").formatted(places: 2), "1234.57")
        XCTAssertEqual(n("12.5").formatted(places: 0), "13")
        XCTAssertEqual(n("9223372036854775807").formatted(places: 2), "9223372036854775807.00")
        XCTAssertEqual(SHA256.hex([0, 1, 0xab, 0xff]), "0001abff")
    }

    /// Answers are read against the page's rules as they are now, question by question in place:
    /// after `back`, the page returned to is read with its own. Here the second asking has
    /// `min 100`; back to the first (`min 10`), 20 must be taken.
    func testAnswersAreReadAgainstThePageAsAskedAndAfterBackAgainstTheEarlierOne() throws {
        let p = try program("""
            flow Main {
              set limit = 10
              label Again
              question Amount: number {
                min limit
              }
              set limit = 100
              if Amount.Amount < 50 {
                goto Again
              }
              response "took {Amount.Amount}"
            }
            """)
        let session = try Session(program: p, options: RuntimeOptions(sessionID: "s3"))
        guard case .ask(let first) = try session.start().step else { return XCTFail("expected the page") }
        XCTAssertEqual(first.questions[0].min, .number(10))
        // Refused against the page as asked, then taken.
        guard case .ask(let refused) = try session.resume(.answers(["Amount": "5"])).step else { return XCTFail("expected the page again") }
        XCTAssertEqual(refused.problems.count, 1)
        guard case .ask(let second) = try session.resume(.answers(["Amount": "20"])).step else { return XCTFail("expected the page again") }
        XCTAssertEqual(second.questions[0].min, .number(100))
        XCTAssertTrue(second.problems.isEmpty)
        guard case .ask(let refusedAgain) = try session.resume(.answers(["Amount": "20"])).step else { return XCTFail("expected refusal") }
        XCTAssertEqual(refusedAgain.problems.count, 1, "20 is below the second asking's min 100")
        guard case .ask(let back) = try session.resume(.back).step else { return XCTFail("expected the first page") }
        XCTAssertEqual(back.questions[0].min, .number(10))
        guard case .ask(let again) = try session.resume(.answers(["Amount": "20"])).step else { return XCTFail("expected the page") }
        XCTAssertTrue(again.problems.isEmpty, "after back, 20 is read against min 10")
        XCTAssertEqual(again.questions[0].min, .number(100))
        let done = try session.resume(.answers(["Amount": "150"]))
        XCTAssertEqual(done.responses, ["took 150"])
        guard case .finished = done.step else { return XCTFail("expected the end") }
    }

    /// Session ids come from a pool of CSPRNG bytes: 128 bits each, in hexadecimal, never the same
    /// twice, also across the pool's refills (256 ids a refill), and a request larger than the pool
    /// is served whole.
    func testSessionIdsFromThePoolAreDistinctHexadecimal128Bits() {
        var seen = Set<String>()
        for _ in 0..<2000 {
            let id = RuntimeOptions.randomSessionID()
            XCTAssertEqual(id.utf8.count, 32)
            XCTAssertTrue(id.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }, id)
            XCTAssertTrue(seen.insert(id).inserted, "an id given twice")
        }
        var big = [UInt8](repeating: 0, count: 10_000)
        big.withUnsafeMutableBytes { RandomPool.shared.take($0) }
        XCTAssertGreaterThan(Set(big).count, 200, "10,000 random bytes take most of the 256 values")
        XCTAssertFalse(big[9_000...].allSatisfy { $0 == 0 })
    }

    /// Templates are made in one buffer: literal parts, values, currency, non-ASCII text and an
    /// empty null come out as they did part by part.
    func testTemplatesRenderEveryKindOfPart() throws {
        let p = try program("""
            flow Main {
              question Amount: currency
              set name = "Zoë"
              response "Café {name}: {Amount.Amount} € on {today()}, {len(name)} letters."
              response "{name}"
              response ""
            }
            """)
        let session = try Session(program: p, options: RuntimeOptions(sessionID: "s4", today: { "2026-12-04" }))
        _ = try session.start()
        let result = try session.resume(.answers(["Amount": "4.5"]))
        XCTAssertEqual(result.responses, ["Café Zoë: 4.50 € on 2026-12-04, 3 letters.", "Zoë", ""])
    }
}
