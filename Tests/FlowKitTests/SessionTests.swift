@testable import FlowKit
import Foundation
import XCTest

/// A scripted host for sessions: answers by `Page.Question`, canned results by callee name.
struct ScriptedHost {
    var answers: [String: String] = [:]
    var results: [String: Reply] = [:]
    /// Snapshot the session at every step and continue in a fresh `Session` restored from it.
    var restoreAtEveryStep = false

    struct Run: Equatable {
        var responses: [String] = []
        var outcome: Outcome?
        var asked: [String] = []
        var calls: [String] = []
    }

    func run(_ program: Program, options: RuntimeOptions = RuntimeOptions(today: { "2026-11-26" })) throws -> Run {
        var session = try Session(program: program, options: options)
        var run = Run()
        var result = try session.start()
        while true {
            run.responses += result.responses
            if restoreAtEveryStep {
                let data = try JSONEncoder().encode(session.state)
                let state = try JSONDecoder().decode(SessionState.self, from: data)
                XCTAssertEqual(state, session.state)
                session = Session(program: program, state: state, options: options)
                // A restored session reports the same step it was waiting on.
                let again = try session.start()
                XCTAssertTrue(again.responses.isEmpty)
            }
            switch result.step {
            case .finished(let outcome):
                run.outcome = outcome
                return run
            case .ask(let page):
                if let problem = page.problems.first { throw HostError.refused(problem.key, problem.value) }
                var typed: [String: String] = [:]
                for q in page.questions {
                    run.asked.append(q.reference)
                    guard let a = answers[q.reference] else { throw HostError.missingAnswer(q.reference) }
                    typed[q.reference] = a
                }
                result = try session.resume(.answers(typed))
            case .callIP(let call), .runExtension(let call):
                run.calls.append(call.name + "(" + call.arguments.map { "\($0.name): \($0.value.displayText())" }.joined(separator: ", ") + ")")
                guard let reply = results[call.name] else { throw HostError.missingStub(call.name) }
                result = try session.resume(reply)
            }
        }
    }

    enum HostError: Error, Equatable {
        case missingAnswer(String)
        case missingStub(String)
        case refused(String, String)
    }
}

func program(_ source: String, file: StaticString = #filePath, line: UInt = #line) throws -> Program {
    let c = Frontend.compile(source: source)
    let rendered = DiagnosticRenderer(format: .gcc).render(c.diagnostics, sources: c.sources)
    return try XCTUnwrap(c.program, "does not compile:\n\(rendered)", file: file, line: line)
}

final class SessionTests: XCTestCase {
    func testExactDecimalArithmetic() throws {
        let p = try program("""
            flow A {
              set a = 0.1 + 0.2
              set b = 4.00 * 100
              set c = 10 % 3
              set d = -7 % 3
              set e = round(2.345, 2)
              response "{a} {a == 0.3} {b} {c} {d} {e} {1 / 4}"
            }
            """)
        let run = try ScriptedHost().run(p)
        XCTAssertEqual(run.responses, ["0.3 yes 400 1 -1 2.35 0.25"])
        XCTAssertEqual(run.outcome, Outcome(success: true, reason: nil))
    }

    /// A template's bytes are gathered on the stack up to 256 bytes, then on the heap: texts
    /// shorter than, exactly at, and longer than that come out whole, multi-byte text included.
    func testLongTemplatesComeOutWhole() throws {
        let long = String(repeating: "é-x", count: 120)
        let p = try program("""
            flow A {
              set a = "\(long)"
              set n = 7
              response "{a}"
              response "{a}{n}{a}"
              response "\(String(repeating: "y", count: 250)){n}{n}{n}{n}{n}{n}{n}"
              response "only text"
              response ""
            }
            """)
        let run = try ScriptedHost().run(p)
        XCTAssertEqual(run.responses, [long, long + "7" + long, String(repeating: "y", count: 250) + String(repeating: "7", count: 7), "only text", ""])
    }

    /// A template's part that is a local, or a field of a local, is written from where its value
    /// is held, numbers digit by digit: every value comes out as `displayText` spells it, for
    /// currencies and numbers of every scale, text, yes/no and null.
    func testTemplatePartsReadInPlaceSpellAsDisplayTextDoes() throws {
        let p = try program("""
            ip Lookup(id: text) {
              GET "https://x.test/{id}"
              output tier: text = json "tier"
              output limit: currency = json "limit"
              output count: number = json "count"
              output ok: bool = json "ok"
              output note: text = json "note"
            }
            flow A {
              ip Lookup("a") -> r
              set limit = r.limit
              set count = r.count
              set tier = r.tier
              set ok = r.ok
              response "{r.tier}|{r.limit}|{r.count}|{r.ok}|{r.note}|{tier}|{limit}|{count}|{ok}|{today()}"
            }
            """)
        let numbers = ["4", "4.5", "4.05", "4.005", "-0.05", "0", "400.00", "-7", "2.50", "0.000001",
                       "9223372036854775807", "-9223372036854775808", "92233720368547758.07", "12345678901234567890.5"]
        for limit in numbers {
            for count in numbers {
                let l = try XCTUnwrap(Number(parsing: limit)), c = try XCTUnwrap(Number(parsing: count))
                var host = ScriptedHost()
                host.results["Lookup"] = .result(["tier": .text("gold"), "limit": .number(l), "count": .number(c), "ok": .bool(true), "note": .null])
                let run = try host.run(p)
                let money = Value.number(l).displayText(asCurrency: true), plain = Value.number(c).displayText()
                XCTAssertEqual(run.responses, ["gold|\(money)|\(plain)|yes||gold|\(money)|\(plain)|yes|2026-11-26"], "limit \(limit), count \(count)")
            }
        }
        var host = ScriptedHost()
        host.results["Lookup"] = .result(["tier": .text("gold"), "limit": .number(Number(parsing: "4.5")!), "count": .number(Number(parsing: "400")!),
                                          "ok": .bool(false), "note": .text("é")])
        XCTAssertEqual(try host.run(p).responses, ["gold|4.50|400|no|é|gold|4.50|400|no|2026-11-26"])
    }

    /// An object of more than 8 fields is looked up by hashing, not by walking its keys: a
    /// template reads each of its fields, the first and last among them, as `displayText` spells it.
    func testTemplateFieldsOfAnObjectOfMoreThanEightFields() throws {
        let names = (0..<12).map { "f\($0)" }
        let p = try program("""
            ip Wide(id: text) {
              GET "https://x.test/{id}"
            \(names.enumerated().map { "  output \($1): \($0 % 2 == 0 ? "currency" : "text") = json \"\($1)\"" }.joined(separator: "\n"))
            }
            flow A {
              ip Wide("a") -> r
              set copy = r
              response "\(names.map { "{r.\($0)}" }.joined(separator: "|"))"
              response "\(names.reversed().map { "{copy.\($0)}" }.joined(separator: "|"))"
            }
            """)
        var fields: [String: Value] = [:]
        for (k, n) in names.enumerated() { fields[n] = k % 2 == 0 ? .number(Number(parsing: "\(k).5")!) : .text("t\(k)") }
        var host = ScriptedHost()
        host.results["Wide"] = .result(fields)
        let spelled = names.enumerated().map { k, n in fields[n]!.displayText(asCurrency: k % 2 == 0) }
        XCTAssertEqual(spelled.first, "0.50")
        XCTAssertEqual(try host.run(p).responses, [spelled.joined(separator: "|"), spelled.reversed().joined(separator: "|")])
    }

    func testEveryElementKind() throws {
        let p = try program("""
            ip Lookup(id: text) {
              GET "https://x.test/{id}"
              output tier: text = json "tier"
              output limit: currency = json "limit"
            }
            extension Scan {
              run "scan"
              output code: text
            }
            flow Main {
              page Who {
                title "Hello"
                question Name: text
                question Age: number
              }
              extension Scan -> (code: code)
              ip Lookup(Who.Name) -> customer
              call Check Tier(tier: customer.tier) -> (vip: is vip)
              set total = 0
              label Again
              set total += customer.limit
              if total < 300 {
                goto Again
              } else if is vip {
                response "VIP {Who.Name} ({Who.Age}), code {code}, total {total}"
              } else {
                response "no"
              }
              finish success "done"
            }
            flow Check Tier(tier: text) -> (vip: bool) {
              set vip = tier == "gold"
            }
            """)
        var host = ScriptedHost()
        host.answers = ["Who.Name": "Ann", "Who.Age": "42"]
        host.results = [
            "Scan": .result(["code": .text("X1")]),
            "Lookup": .result(["tier": .text("gold"), "limit": .number(100)]),
        ]
        let run = try host.run(p)
        XCTAssertEqual(run.responses, ["VIP Ann (42), code X1, total 300.00"])
        XCTAssertEqual(run.outcome, Outcome(success: true, reason: "done"))
        XCTAssertEqual(run.calls, ["Scan()", "Lookup(id: Ann)"])
        host.restoreAtEveryStep = true
        XCTAssertEqual(try host.run(p), run)
    }

    /// A `-> name` binding is the outputs bound to their declared types: the host's object as it
    /// is when every output already has its type, else an object built anew with every output
    /// converted (those before the first converted one too); the trace shows the bound values.
    func testAWholeResultHoldsTheOutputsBoundToTheirTypes() throws {
        let p = try program("""
            ip Fetch() {
              GET "https://x.test"
              output id: text = json "id"
              output count: number = json "count"
              output paid: bool = json "paid"
              output note: text = json "note"
            }
            flow A {
              ip Fetch() -> r
              response "{r.id} {r.count + 1} {r.paid} [{r.note}]"
            }
            """)
        let exact: [String: Value] = ["id": .text("ch_1"), "count": .number(12), "paid": .bool(true), "note": .null]
        let converted: [String: Value] = ["id": .text("ch_1"), "count": .text(" 12 "), "paid": .text("true"), "note": .null]
        let wrongName: [String: Value] = ["id": .text("ch_1"), "count": .number(12), "paid": .bool(true), "notes": .null]
        for outputs in [exact, converted, exact.merging(["count": .text("12")]) { $1 }, exact.merging(["paid": .text("TRUE")]) { $1 }] {
            var results: [[String: Value?]] = []
            let session = try Session(program: p, options: RuntimeOptions(today: { "2026-11-26" })) { event in
                if case .result(_, let shown, _) = event { results.append(shown) }
            }
            _ = try session.start()
            let done = try session.resume(.result(outputs))
            XCTAssertEqual(done.responses, ["ch_1 13 yes []"], "\(outputs)")
            let bound: [String: Value?] = ["id": .text("ch_1"), "count": .number(12), "paid": .bool(true), "note": .null]
            XCTAssertEqual(results, [bound], "\(outputs)")
            guard case .object(let object)? = session.state.frames.first?.locals.compactMap({ $0 }).first else {
                return XCTFail("no object bound")
            }
            XCTAssertEqual(object, ["id": .text("ch_1"), "count": .number(12), "paid": .bool(true), "note": .null], "\(outputs)")
        }
        let session = try Session(program: p)
        _ = try session.start()
        XCTAssertThrowsError(try session.resume(.result(wrongName))) { error in
            XCTAssertEqual((error as? RuntimeError)?.diagnostic.message, "'Fetch' returned no value for its output 'note'")
        }
    }

    /// Config values: literal ones are shared by every session not given others; a config
    /// computed from others, the host's overrides and a changed declaration are evaluated.
    func testConfigValuesAreTheDeclaredOnesUnlessOverridden() throws {
        var p = try program("""
            config BASE = "https://x.test"
            config TRIES = 3
            flow A {
              response "{BASE} {TRIES}"
            }
            """)
        XCTAssertEqual(try p.configValues(overrides: [:]), [.text("https://x.test"), .number(3)])
        XCTAssertEqual(try p.configValues(overrides: ["TRIES": "5"]), [.text("https://x.test"), .number(5)])
        XCTAssertEqual(try Session(program: p).start().responses, ["https://x.test 3"])
        p.configs[1].value = IRExpr(kind: .constant(.number(4)), type: .number, range: p.configs[1].range)
        XCTAssertEqual(try p.configValues(overrides: [:]), [.text("https://x.test"), .number(4)])
        XCTAssertEqual(try Session(program: p).start().responses, ["https://x.test 4"])
        let computed = try program("""
            config BASE = "https://x.test"
            config URL = BASE + "/v1"
            flow A {
              response "{URL}"
            }
            """)
        XCTAssertEqual(try computed.configValues(overrides: [:]), [.text("https://x.test"), .text("https://x.test/v1")])
        XCTAssertEqual(try Session(program: computed).start().responses, ["https://x.test/v1"])
    }

    func testErrorHandlerReceivesTheFailure() throws {
        let p = try program("""
            ip Charge(amount: currency) {
              POST "https://x.test"
              output id: text = json "id"
            }
            flow A {
              ip Charge(5) -> (id: id)
              on error {
                response "{error.kind} {error.status}: {error.message}"
                finish failure "declined"
              }
              response "{id}"
            }
            """)
        var host = ScriptedHost()
        host.results["Charge"] = .failure(CallFailure(kind: "http", message: "Your card was declined.", status: 402))
        let run = try host.run(p)
        XCTAssertEqual(run.responses, ["http 402: Your card was declined."])
        XCTAssertEqual(run.outcome, Outcome(success: false, reason: "declined"))
    }

    func testUnhandledFailureIsARuntimeErrorAtTheCall() throws {
        let p = try program("""
            ip Charge(amount: currency) {
              POST "https://x.test"
              output id: text = json "id"
            }
            flow A {
              ip Charge(5) -> (id: id)
              response "{id}"
            }
            """)
        var host = ScriptedHost()
        host.results["Charge"] = .failure(CallFailure(kind: "timeout", message: "no answer in 30 s"))
        XCTAssertThrowsError(try host.run(p)) { error in
            let d = (error as? RuntimeError)?.diagnostic
            XCTAssertEqual(d?.id, "run.callFailed")
            XCTAssertEqual(d?.message, "the call of 'Charge' failed: no answer in 30 s")
        }
    }

    func testRuntimeErrorsCarryTheExpressionRange() throws {
        let source = MarkedSource("""
            flow A {
              question Divisor: number
              set x = 10 / 1️⃣Divisor2️⃣
              response "{x}"
            }
            """)
        let p = try program(source.text)
        var host = ScriptedHost()
        host.answers["Divisor.Divisor"] = "0"
        XCTAssertThrowsError(try host.run(p)) { error in
            let d = (error as? RuntimeError)?.diagnostic
            XCTAssertEqual(d?.id, "run.divisionByZero")
            XCTAssertEqual(d.map { Int($0.range.start) }, source.markers["1️⃣"].map { $0 - 5 })
        }
    }

    /// Operators, members and indexes read their operands in place (`IROperands`): values come
    /// out as before, `and`/`or` skip their right side, and an operand's failure is reported at
    /// that operand's range.
    func testOperandsAreEvaluatedInPlaceWithTheirRanges() throws {
        let source = MarkedSource("""
            ip Get() {
              GET "https://x.test"
              output n: number = json "n"
              output xs: list = json "xs"
              output o: object = json "o"
            }
            flow A {
              ip Get() -> (n: n, xs: xs, o: o)
              response "{not (n > 1) or xs[3️⃣3 - n4️⃣] == 2} {-(n * 3) + o.k} {len(xs)} {[n, n + 1][1]} {o.name}"
              if 1️⃣o.flag2️⃣ and true {
                response "flagged"
              }
              response "{xs[len(xs) - n]}"
            }
            """)
        let p = try program(source.text)
        func run(n: Int, flag: Value) throws -> ScriptedHost.Run {
            var host = ScriptedHost()
            host.results["Get"] = .result([
                "n": .number(Number(n)), "xs": .list([.number(1), .number(2)]),
                "o": .object(["k": .number(4), "name": .text("Ann"), "flag": flag]),
            ])
            return try host.run(p)
        }
        func failure(n: Int, flag: Value) -> (id: String, range: Range<Int>)? {
            do {
                _ = try run(n: n, flag: flag)
                return nil
            } catch {
                return (error as? RuntimeError).map { ($0.diagnostic.id, Int($0.diagnostic.range.start) ..< Int($0.diagnostic.range.end)) }
            }
        }

        // n = 1: `not (1 > 1)` is true, so `or` does not evaluate `xs[2]` (outside the list).
        XCTAssertEqual(try run(n: 1, flag: .bool(true)).responses, ["yes 1 2 2 Ann", "flagged", "2"])
        // n = 2: `or` evaluates `xs[1] == 2`; -(6) + 4 = -2; `and` stops at false.
        XCTAssertEqual(try run(n: 2, flag: .bool(false)).responses, ["yes -2 2 3 Ann", "1"])

        // n = 5: `or` evaluates `xs[-2]`, outside the list: the error is at the index.
        let outside = failure(n: 5, flag: .bool(false))
        XCTAssertEqual(outside?.id, "run.indexOutOfRange")
        XCTAssertEqual(outside?.range, source.markers["3️⃣"]! ..< source.markers["4️⃣"]!)
        // A number where `and` needs yes or no: at the left operand.
        let notBool = failure(n: 1, flag: .number(3))
        XCTAssertEqual(notBool?.id, "run.typeMismatch")
        XCTAssertEqual(notBool?.range, source.markers["1️⃣"]! ..< source.markers["2️⃣"]!)
    }

    func testStepLimitStopsALoop() throws {
        let p = try program("""
            flow A {
              set n = 0
              label Loop
              set n += 1
              if n < 100000 {
                goto Loop
              }
              response "{n}"
            }
            """)
        XCTAssertThrowsError(try ScriptedHost().run(p, options: RuntimeOptions(maxSteps: 50))) { error in
            XCTAssertEqual((error as? RuntimeError)?.diagnostic.id, "run.stepLimit")
        }
        let done = try ScriptedHost().run(p, options: RuntimeOptions(maxSteps: 10_000_000))
        XCTAssertEqual(done.responses, ["100000"])
    }

    func testBackUndoesWhatWasSetSince() throws {
        let p = try program("""
            flow A {
              question First: number
              set doubled = First * 2
              question Second: text
              response "{doubled} {Second}"
            }
            """)
        let session = try Session(program: p)
        guard case .ask(let first) = try session.start().step else { return XCTFail("expected a page") }
        XCTAssertFalse(first.canGoBack)
        guard case .ask(let second) = try session.resume(.answers(["First": "5"])).step else { return XCTFail("expected a page") }
        XCTAssertTrue(second.canGoBack)
        XCTAssertEqual(session.state.frames[0].locals[0], .number(10))
        guard case .ask(let again) = try session.resume(.back).step else { return XCTFail("expected a page") }
        XCTAssertEqual(again.name, "First")
        XCTAssertNil(session.state.frames[0].locals[0], "doubled is undone")
        _ = try session.resume(.answers(["First.First": "7"]))
        let end = try session.resume(.answers(["Second": "ok"]))
        XCTAssertEqual(end.responses, ["14 ok"])
    }

    func testRefusedAnswerIsAskedAgainWithTheReason() throws {
        let p = try program("""
            flow A {
              question Amount: currency {
                min 1
              }
              response "{Amount}"
            }
            """)
        let session = try Session(program: p)
        _ = try session.start()
        guard case .ask(let page) = try session.resume(.answers(["Amount": "lots"])).step else { return XCTFail("expected a page") }
        XCTAssertNotNil(page.problems["Amount"])
        XCTAssertEqual(try session.resume(.answers(["Amount": "2.5"])).responses, ["2.50"])
    }

    func testSubFlowFailureTakesTheCallersErrorEdge() throws {
        let p = try program("""
            flow Main {
              call Verify -> (ok: ok)
              on error {
                response "verify failed: {error.message}"
              }
            }
            flow Verify -> (ok: bool) {
              finish failure "no match"
            }
            """)
        let run = try ScriptedHost().run(p)
        XCTAssertEqual(run.responses, ["verify failed: no match"])
        XCTAssertEqual(run.outcome, Outcome(success: true, reason: nil))
    }

    /// A finished session keeps no password in its state (the answer and the back history are
    /// dropped), and keeps the other answers of a flow that has no password.
    func testAFinishedSessionKeepsNoPassword() throws {
        let withPIN = try program("""
            ip Login(pin: secure) {
              POST "https://x.test"
              output ok: bool = json "ok"
            }
            flow A {
              page Sign In {
                question Name: text
                question PIN: password
              }
              ip Login(Sign In.PIN) -> (ok: ok)
              response "{Sign In.Name} {ok}"
            }
            """)
        var session = try Session(program: withPIN)
        _ = try session.start()
        _ = try session.resume(.answers(["Sign In.Name": "Ann", "Sign In.PIN": "4921"]))
        XCTAssertTrue(String(decoding: try JSONEncoder().encode(session.state), as: UTF8.self).contains("4921"), "kept while running")
        let done = try session.resume(.result(["ok": .bool(true)]))
        XCTAssertEqual(done.responses, ["Ann yes"])
        var state = String(decoding: try JSONEncoder().encode(session.state), as: UTF8.self)
        XCTAssertFalse(state.contains("4921"), state)
        XCTAssertTrue(state.contains("Ann"), state)

        let plain = try program("""
            flow A {
              question Name: text
              response "{Name}"
            }
            """)
        session = try Session(program: plain)
        _ = try session.start()
        _ = try session.resume(.answers(["Name.Name": "Ann"]))
        state = String(decoding: try JSONEncoder().encode(session.state), as: UTF8.self)
        XCTAssertNotNil(session.state.outcome)
        XCTAssertTrue(state.contains("Ann"), state)
    }

    func testPasswordsNeverReachTheTrace() throws {
        let c = Frontend.compile(source: """
            ip Login(pin: secure) {
              POST "https://x.test"
              output ok: bool = json "ok"
            }
            flow A {
              question PIN: password
              ip Login(PIN) -> (ok: ok)
              response "{ok}"
            }
            """)
        let p = try XCTUnwrap(c.program)
        var events: [String] = []
        let session = try Session(program: p, trace: { events.append($0.jsonLine(sources: c.sources)) })
        _ = try session.start()
        _ = try session.resume(.answers(["PIN": "4921"]))
        _ = try session.resume(.result(["ok": .bool(true)]))
        XCTAssertFalse(events.isEmpty)
        XCTAssertFalse(events.joined().contains("4921"))
        XCTAssertTrue(events.joined().contains("\"***\""))
    }
}

/// Every example flow, run to its end by a host that picks a valid answer for each question and a
/// plausible result for each call; once straight through and once snapshotted and restored (through
/// JSON, in a new `Session`) at every step. Both runs must agree exactly.
final class ExampleFlowSessionTests: XCTestCase {
    static let candidates: [QuestionType: [String]] = [
        .text: ["Router", "1234", "12345678", "hello", "A1"], .number: ["1", "5", "10", "100"], .currency: ["25.00", "1.00", "100.00"],
        .yesno: ["yes"], .date: ["2026-01-15", "2027-06-01"], .email: ["ann@example.com"], .password: ["4921", "secret1"],
    ]

    func answer(_ q: QuestionRequest) -> String {
        var options = Self.candidates[q.type] ?? []
        if q.type == .choice || q.type == .choices { options = q.options.isEmpty ? ["1"] : ["1", q.options[0]] }
        return options.first { if case .success = AnswerParser.parse($0, for: q) { true } else { false } } ?? "1"
    }

    func result(_ shape: [OutputShape]) -> [String: Value] {
        var values: [String: Value] = [:]
        for o in shape {
            switch o.type {
            case .bool: values[o.name] = .bool(true)
            case .number, .currency: values[o.name] = .number(Number(parsing: "42.50")!)
            case .date: values[o.name] = .date("2026-11-26")
            case .list: values[o.name] = .list([.object(["id": .text("o1"), "status": .text("shipped")])])
            case .object, .record: values[o.name] = .object(["id": .text("o1")])
            default: values[o.name] = .text(o.name == "status" ? "succeeded" : "7")
            }
        }
        return values
    }

    func drive(_ program: Program, restore: Bool) throws -> [String] {
        let options = RuntimeOptions(today: { "2026-11-26" })
        var session = try Session(program: program, options: options)
        var log: [String] = []
        var step = try session.start()
        var guardCount = 0
        while guardCount < 1000 {
            guardCount += 1
            log += step.responses
            if restore {
                let data = try JSONEncoder().encode(session.state)
                let state = try JSONDecoder().decode(SessionState.self, from: data)
                XCTAssertEqual(state, session.state)
                session = Session(program: program, state: state, options: options)
                XCTAssertTrue(try session.start().responses.isEmpty)
            }
            switch step.step {
            case .finished(let outcome):
                log.append("finished \(outcome.success) \(outcome.reason ?? "")")
                return log
            case .ask(let page):
                guard page.problems.isEmpty else {
                    XCTFail("\(page.problems)")
                    return log
                }
                var typed: [String: String] = [:]
                for q in page.questions { typed[q.reference] = answer(q) }
                log.append("asked \(page.name)")
                step = try session.resume(.answers(typed))
            case .callIP(let call):
                log.append("ip \(call.name)")
                step = try session.resume(.result(result(program.integrationPoints[call.index].shape)))
            case .runExtension(let call):
                log.append("extension \(call.name)")
                step = try session.resume(.result(result(program.extensions[call.index].shape)))
            }
        }
        XCTFail("the flow did not finish in 1000 steps")
        return log
    }

    func testEveryExampleRunsTheSameWhenRestoredAtEveryStep() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let flows = try FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent("flows").path)
            .filter { $0.hasSuffix(".flow") }.sorted()
        XCTAssertGreaterThanOrEqual(flows.count, 5)
        for name in flows {
            let program = try XCTUnwrap(try Frontend.compile(path: root.appendingPathComponent("flows/\(name)").path).program, name)
            let straight = try drive(program, restore: false)
            let restored = try drive(program, restore: true)
            XCTAssertEqual(straight, restored, name)
            XCTAssertTrue(straight.last?.hasPrefix("finished") ?? false, "\(name): \(straight)")
            XCTAssertGreaterThan(straight.count, 2, name)
        }
    }
}
