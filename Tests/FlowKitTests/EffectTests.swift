@testable import FlowKit
import Foundation
import XCTest

/// Calls as effects (grammar.md, "Calls are effects"): identities and keys that survive a restore,
/// `back` that never repeats a call, interrupted calls that are not sent twice.
final class EffectTests: XCTestCase {
    /// Amount, a charge, then a rating page: the reproduction of a double charge on `back`.
    static let chargeThenRating = """
        secret KEY
        ip Charge(amount: currency) {
          POST "http://gateway.test/v1/charges"
          auth bearer KEY
          form {
            amount = round(amount * 100)
          }
          idempotent
          output id: text = json "id"
        }
        flow Pay {
          question Amount: currency
          ip Charge(Amount.Amount) -> (id: charge)
          question Rating: number
          response "{charge} {Rating.Rating}"
        }
        """

    private func ask(_ step: Step, file: StaticString = #filePath, line: UInt = #line) throws -> PageRequest {
        guard case .ask(let page) = step else { XCTFail("expected a page, got \(step)", file: file, line: line); throw Stop() }
        return page
    }

    private func call(_ step: Step, file: StaticString = #filePath, line: UInt = #line) throws -> CallRequest {
        switch step {
        case .callIP(let c), .runExtension(let c): return c
        default: XCTFail("expected a call, got \(step)", file: file, line: line); throw Stop()
        }
    }

    struct Stop: Error {}

    private func restored(_ session: Session, _ program: Program, options: RuntimeOptions = RuntimeOptions()) throws -> Session {
        let state = try JSONDecoder().decode(SessionState.self, from: JSONEncoder().encode(session.state))
        XCTAssertTrue(state.fits(program))
        return Session(program: program, state: state, options: options)
    }

    func testBackCannotCrossACompletedUnsafeCall() throws {
        let p = try program(Self.chargeThenRating)
        let session = try Session(program: p, options: RuntimeOptions(sessionID: "s1"))
        _ = try ask(session.start().step)
        let charge = try call(session.resume(.answers(["Amount": "4.00"])).step)
        XCTAssertEqual(charge.effect, Effect(session: "s1", sequence: 1))
        XCTAssertEqual(session.state.effects.inFlight?.sequence, 1, "recorded in flight before the host calls")
        let rating = try ask(session.resume(.result(["id": .text("ch_1")])).step)
        XCTAssertFalse(rating.canGoBack)
        XCTAssertEqual(rating.backStoppedBy, "Charge")
        // `back` anyway: the same page again, and no second call.
        let again = try ask(session.resume(.back).step)
        XCTAssertEqual(again.name, "Rating")
        let end = try session.resume(.answers(["Rating": "5"]))
        XCTAssertEqual(end.responses, ["ch_1 5"])
        XCTAssertEqual(session.state.effects.nextSequence, 2, "one call in all")
    }

    func testTheKeyIsDerivedFromTheIdentityAndSurvivesARestore() throws {
        let p = try program(Self.chargeThenRating)
        let session = try Session(program: p, options: RuntimeOptions(sessionID: "s1"))
        _ = try session.start()
        let first = try call(session.resume(.answers(["Amount": "4.00"])).step)
        XCTAssertFalse(first.effect.resumed)
        // The process dies here, after the state was saved, while the charge is on the wire.
        let resumed = try restored(session, p)
        let again = try call(resumed.start().step)
        XCTAssertEqual(again.effect.sequence, 1)
        XCTAssertTrue(again.effect.resumed)
        XCTAssertEqual(again.effect.idempotencyKey, first.effect.idempotencyKey)
        XCTAssertTrue(first.effect.idempotencyKey.hasPrefix("flow-"))
        XCTAssertEqual(first.effect.idempotencyKey.count, 45)
        XCTAssertFalse(first.effect.idempotencyKey.contains("s1"), "the key does not give the session's id away")
        // Another call or another session: another key.
        XCTAssertNotEqual(Effect(session: "s1", sequence: 2).idempotencyKey, first.effect.idempotencyKey)
        XCTAssertNotEqual(Effect(session: "s2", sequence: 1).idempotencyKey, first.effect.idempotencyKey)
        // Asked twice without a restore, the same call is the same effect.
        let twice = try call(resumed.start().step)
        XCTAssertEqual(twice.effect.sequence, 1)
    }

    func testAnInterruptedUnsafeCallWithoutAKeyIsNotSentAgain() throws {
        let p = try program("""
            ip Transfer(amount: number) {
              POST "http://bank.test/transfers"
              output id: text = json "id"
            }
            flow Main {
              ip Transfer(10) -> (id: id)
              on error {
                response "{error.kind}: {error.message}"
                finish failure "unknown"
              }
              response "sent {id}"
            }
            """)
        let session = try Session(program: p)
        _ = try call(session.start().step)
        let resumed = try restored(session, p)
        let end = try resumed.start()
        XCTAssertEqual(end.responses.count, 1)
        XCTAssertTrue(end.responses[0].hasPrefix("interrupted: the run stopped while 'Transfer' was being called"), end.responses[0])
        guard case .finished(let outcome) = end.step else { return XCTFail("expected the end") }
        XCTAssertEqual(outcome, Outcome(success: false, reason: "unknown"))
    }

    func testASafeCallCrossedByBackIsAnsweredFromItsRecord() throws {
        let p = try program("""
            ip Lookup(number: text) {
              GET "http://shop.test/orders/{number}"
              output status: text = json "status"
            }
            flow Main {
              question Order: text
              ip Lookup(Order.Order) -> (status: status)
              question Confirm: yesno
              response "{status}"
            }
            """)
        var events: [String] = []
        let session = try Session(program: p, options: RuntimeOptions(), trace: { e in
            if case .replay(let name, let sequence, _) = e { events.append("\(name) \(sequence)") }
        })
        _ = try session.start()
        let first = try call(session.resume(.answers(["Order": "A1"])).step)
        XCTAssertEqual(first.effect.sequence, 1)
        let confirm = try ask(session.resume(.result(["status": .text("shipped")])).step)
        XCTAssertTrue(confirm.canGoBack, "a GET changes nothing: back may cross it")
        _ = try ask(session.resume(.back).step)
        // The same answer: the recorded result, no call.
        _ = try ask(session.resume(.answers(["Order": "A1"])).step)
        XCTAssertEqual(events, ["Lookup 1"])
        // Back again and another order: a new call, a new identity.
        _ = try ask(session.resume(.back).step)
        let second = try call(session.resume(.answers(["Order": "B2"])).step)
        XCTAssertEqual(second.effect.sequence, 2)
        _ = try session.resume(.result(["status": .text("lost")]))
        let end = try session.resume(.answers(["Confirm": "yes"]))
        XCTAssertEqual(end.responses, ["lost"])
    }

    func testSafeAndUnsafeOverrideTheMethod() throws {
        let p = try program("""
            ip Quote(n: number) {
              POST "http://x.test/quotes"
              safe
              output v: number = json "v"
            }
            ip Reset() {
              GET "http://x.test/reset"
              unsafe
              output ok: bool = json "ok"
            }
            extension Dispense {
              run "dispense"
              unsafe
              output ok: bool
            }
            flow Main {
              question A: number
              ip Quote(A.A) -> (v: v)
              question B: number
              response "{v}"
            }
            """)
        XCTAssertTrue(p.integrationPoints[0].isSafe)
        XCTAssertFalse(p.integrationPoints[1].isSafe)
        XCTAssertFalse(p.extensions[0].isSafe)
        let session = try Session(program: p)
        _ = try session.start()
        _ = try call(session.resume(.answers(["A": "1"])).step)
        XCTAssertTrue(try ask(session.resume(.result(["v": .number(2)])).step).canGoBack)
    }

    func testSafetyIsSaidOnce() {
        let c = Frontend.compile(source: """
            ip Quote() {
              POST "http://x.test/quotes"
              safe
              unsafe
              output v: number = json "v"
            }
            flow Main {
              ip Quote() -> (v: v)
              response "{v}"
            }
            """)
        XCTAssertEqual(c.diagnostics.map(\.id), ["parse.safetyTwice"])
        XCTAssertEqual(c.diagnostics.first?.notes.map(\.message), ["said first here"])
    }

    func testResponsesBeforeARuntimeErrorTravelWithIt() throws {
        let p = try program("""
            flow Main {
              set zero = 0
              response "Your payment was taken"
              set x = 1 / zero
              response "{x}"
            }
            """)
        let session = try Session(program: p)
        XCTAssertThrowsError(try session.start()) { error in
            let e = error as? RuntimeError
            XCTAssertEqual(e?.diagnostic.id, "run.divisionByZero")
            XCTAssertEqual(e?.responses, ["Your payment was taken"])
        }
    }

    func testAForgedStateDoesNotFit() throws {
        let p = try program(Self.chargeThenRating)
        let session = try Session(program: p)
        _ = try session.start()
        XCTAssertTrue(session.state.fits(p))
        var forged = session.state
        forged.frames[0].pc = 10_000
        XCTAssertFalse(forged.fits(p))
        forged = session.state
        forged.frames[0].locals = []
        XCTAssertFalse(forged.fits(p))
        forged = session.state
        forged.frames = []
        XCTAssertFalse(forged.fits(p))
        forged = session.state
        forged.effects.nextSequence = 0
        XCTAssertFalse(forged.fits(p))
    }

    func testAFinishedSessionKeepsNoPassword() throws {
        let p = try program("""
            flow Main {
              question PIN: password
              question Name: text
              response "thanks {Name.Name}"
            }
            """)
        let session = try Session(program: p)
        _ = try session.start()
        _ = try session.resume(.answers(["PIN": "0918"]))
        XCTAssertTrue(String(decoding: try JSONEncoder().encode(session.state), as: UTF8.self).contains("918"))
        _ = try session.resume(.answers(["Name": "Ada"]))
        XCTAssertNotNil(session.state.outcome)
        let saved = String(decoding: try JSONEncoder().encode(session.state), as: UTF8.self)
        XCTAssertFalse(saved.contains("918"), saved)
        XCTAssertTrue(session.state.fits(p))
    }

    func testSHA256() {
        XCTAssertEqual(SHA256.hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(SHA256.hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(SHA256.hex(String(repeating: "a", count: 1000)),
                       "41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3")
    }
}
