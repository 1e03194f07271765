@testable import FlowKit
import Foundation
import XCTest

/// `Explorer`: small flows that each plant one defect, the finding it must give (kind, id and exact
/// span, by position markers), and proof that its reproduction reproduces it: the answers and
/// stubs, read back from their JSON the way `flow run --answers --stubs` reads them, are replayed
/// through a `Session` by `ReproductionHost` below (written here, independently of the explorer's
/// own `Reproduction.replay`).
final class ExploreTests: XCTestCase {
    static let today = "2026-11-26"

    /// Compiles and explores `marked` (markers removed).
    func explore(_ marked: String, maxRuns: Int = 2000, maxSteps: Int = 10_000, file: StaticString = #filePath, line: UInt = #line)
        throws -> (result: ExploreResult, program: Program, source: MarkedSource)
    {
        let source = MarkedSource(marked)
        let c = Frontend.compile(source: source.text, path: "test.flow")
        let rendered = DiagnosticRenderer(format: .gcc).render(c.diagnostics, sources: c.sources)
        let program = try XCTUnwrap(c.program, "does not compile:\n\(rendered)", file: file, line: line)
        let result = Explorer.explore(program, options: ExploreOptions(maxRuns: maxRuns, maxSteps: maxSteps, today: Self.today))
        return (result, program, source)
    }

    /// The one finding of `kind`, checked to span the markers `at`…`to`.
    @discardableResult
    func assertFinding(
        _ explored: (result: ExploreResult, program: Program, source: MarkedSource), _ kind: Finding.Kind, id: String,
        at: String = "1️⃣", to: String? = nil, file: StaticString = #filePath, line: UInt = #line
    ) throws -> Finding {
        let all = explored.result.findings.map { "\($0.kind) \($0.diagnostic.id): \($0.diagnostic.message)" }.joined(separator: "\n")
        let f = try XCTUnwrap(explored.result.findings.first { $0.kind == kind && $0.diagnostic.id == id },
                              "no \(kind) \(id) among:\n\(all)", file: file, line: line)
        XCTAssertEqual(Int(f.diagnostic.range.start), explored.source.markers[at], "starts at the wrong place", file: file, line: line)
        if let to {
            XCTAssertEqual(Int(f.diagnostic.range.end), explored.source.markers[to], "ends at the wrong place", file: file, line: line)
        }
        XCTAssertTrue(f.reproduced, "the explorer could not replay its own reproduction", file: file, line: line)
        return f
    }

    // MARK: - Planted defects

    func testDivisionByAnAnswerThatCanBeZero() throws {
        let explored = try explore("""
            flow Split {
              question People: number {
                min 0
                max 10
              }
              set share = 1️⃣100 / People2️⃣
              response "Each pays {share}."
            }
            """)
        let f = try assertFinding(explored, .runtimeError, id: "run.divisionByZero", to: "2️⃣")
        XCTAssertEqual(f.reproduction.answersJSON, #"{"People.People": "0"}"#)
        XCTAssertEqual(f.when, ["'People.People' answered '0' (min)"])
        let end = try ReproductionHost(f.reproduction, explored.program).run()
        XCTAssertEqual(end, .error("run.divisionByZero", f.diagnostic.range))
        XCTAssertEqual(explored.result.findings.count, 1)
        XCTAssertTrue(explored.result.complete)
    }

    /// `n` goes down by 2 from the answer: an odd answer never meets `n == 0`.
    func testLoopWhoseExitAnAnswerCannotMeetHitsTheStepLimit() throws {
        let explored = try explore("""
            flow Countdown {
              question Start: number {
                min 1
                max 9
              }
              set n = Start
              1️⃣label Loop2️⃣
              set n -= 2
              if n == 0 {
                finish success
              }
              goto Loop
            }
            """)
        let f = try assertFinding(explored, .endlessLoop, id: "explore.endlessLoop", to: "2️⃣")
        XCTAssertTrue(f.diagnostic.message.contains("10000 elements"), f.diagnostic.message)
        let end = try ReproductionHost(f.reproduction, explored.program).run()
        XCTAssertEqual(end.id, "run.stepLimit")
        // An even answer does finish: the finish is reached, so it is not reported.
        XCTAssertEqual(explored.result.coverage.reached, explored.result.coverage.total)
    }

    /// No answer the question accepts meets the loop's exit: every one asks again.
    func testLoopNoAcceptedAnswerLeaves() throws {
        let explored = try explore("""
            flow Code {
              label Ask
              1️⃣question Code: number {
                min 0
                max 9
              }
              if Code == 10 {
                finish success
              }
              goto Ask
            }
            """)
        let f = try assertFinding(explored, .noWayOut, id: "explore.noWayOut")
        // One answer, given every time it is asked, keeps the flow in the loop until the step limit.
        XCTAssertEqual(f.reproduction.answers.map(\.reference), ["Code.Code"])
        XCTAssertEqual(Set(f.reproduction.answers[0].typed).count, 1)
        XCTAssertFalse(f.reproduction.answersJSON.contains("["), f.reproduction.answersJSON)
        let end = try ReproductionHost(f.reproduction, explored.program).run()
        XCTAssertEqual(end.id, "run.stepLimit")
        XCTAssertEqual(explored.result.coverage.unreached.map(\.kind), ["finish"])
    }

    func testNullOutputThatALaterExpressionCannotTake() throws {
        let explored = try explore("""
            ip Lookup(id: text) {
              GET "https://people.example/{id}"
              output name: text = json "name"
              output vip: bool = json "vip"
            }
            flow Greet {
              ip Lookup("1") -> person
              on error {
                finish failure "no lookup"
              }
              response "Hello {1️⃣person.name + "!"2️⃣}"
              if person.vip {
                response "Welcome back."
              }
            }
            """)
        let f = try assertFinding(explored, .runtimeError, id: "run.typeMismatch", to: "2️⃣")
        XCTAssertEqual(f.when, ["'Lookup' returns null for 'name'"])
        XCTAssertTrue(f.reproduction.stubsJSON.contains(#""name": null"#), f.reproduction.stubsJSON)
        let end = try ReproductionHost(f.reproduction, explored.program).run()
        XCTAssertEqual(end, .error("run.typeMismatch", f.diagnostic.range))
        // Only text outputs can be null (a null `vip` is a malformed answer, for `on error`), so
        // `if person.vip` is no finding.
        XCTAssertEqual(explored.result.findings.filter { $0.kind == .runtimeError }.count, 1)
    }

    func testCallWithoutOnError() throws {
        let explored = try explore("""
            ip Lookup(id: text) {
              GET "https://people.example/{id}"
              output name: text = json "name"
            }
            flow Greet {
              1️⃣ip Lookup("1") -> name2️⃣
              response "Hello {name}"
            }
            """)
        let f = try assertFinding(explored, .unhandledFailure, id: "explore.unhandledFailure", to: "2️⃣")
        XCTAssertTrue(f.diagnostic.message.hasPrefix("a call failure with no 'on error': 'Lookup' fails"), f.diagnostic.message)
        XCTAssertTrue(f.reproduction.stubsJSON.contains(#"{"error": {"kind": "#), f.reproduction.stubsJSON)
        let end = try ReproductionHost(f.reproduction, explored.program).run()
        XCTAssertEqual(end, .error("run.callFailed", f.diagnostic.range))
        XCTAssertEqual(explored.result.findings.count, 1, "one finding per call, whatever the failure")
    }

    func testSubFlowThatFailsWithoutOnError() throws {
        let explored = try explore("""
            flow Main {
              1️⃣call Check2️⃣
              response "checked"
            }
            flow Check {
              question Ok: yesno
              if not Ok {
                finish failure "not ok"
              }
            }
            """)
        let f = try assertFinding(explored, .unhandledFailure, id: "explore.unhandledFailure", to: "2️⃣")
        XCTAssertEqual(f.diagnostic.message, "a call failure with no 'on error': 'Check' finishes with failure")
        XCTAssertEqual(f.reproduction.answersJSON, #"{"Ok.Ok": "no"}"#)
    }

    func testMinAboveMaxMakesAQuestionUnanswerable() throws {
        // The bound comes from an answer, so only a run can tell (constants are check's).
        let explored = try explore("""
            flow Pay {
              question Ceiling: number {
                min 5
                max 5
              }
              question 1️⃣Amount2️⃣: number {
                min 10
                max Ceiling
              }
              response "ok {Amount}"
            }
            """)
        let f = try assertFinding(explored, .unanswerable, id: "explore.unanswerable", to: "2️⃣")
        XCTAssertEqual(f.diagnostic.message, "no answer to 'Amount.Amount' is accepted")
        XCTAssertEqual(f.diagnostic.hint, "its 'min' (10) is above its 'max' (5)")
        XCTAssertEqual(f.diagnostic.notes.count, 2)
        let end = try ReproductionHost(f.reproduction, explored.program).run()
        XCTAssertEqual(end, .refused("Amount.Amount"))
    }

    /// Issue 14: what `flow check` reports from constants (here as warnings, since configs decide
    /// them) is not found again by exploring.
    func testWhatCheckReportsIsNotFoundTwice() throws {
        let source = """
            config LOWEST = 10
            config START = 0
            flow Pay {
              question Amount: number {
                min LOWEST
                max 5
              }
              question Count: number {
                default START
                min 1
              }
              response "ok {Amount} {Count}"
            }
            """
        let c = Frontend.compile(source: source, path: "test.flow")
        XCTAssertEqual(c.diagnostics.map(\.id), ["check.minAboveMax", "check.defaultOutOfRange"])
        XCTAssertEqual(c.diagnostics.map(\.severity), [.warning, .warning])
        let explored = try explore(source)
        XCTAssertEqual(explored.result.findings.map(\.diagnostic.id), [])
    }

    func testCurrencyBelowZeroWithoutANegativeMin() throws {
        let explored = try explore("""
            flow Refund {
              question 1️⃣Refund: currency {
                max -1
              }
              response "{Refund}"
            }
            """)
        let f = try assertFinding(explored, .unanswerable, id: "explore.unanswerable")
        XCTAssertEqual(f.diagnostic.hint, "its 'max' (-1) is below zero, and an amount may be negative only when 'min' is")
    }

    func testDefaultOutsideTheRules() throws {
        // The default comes from an answer, so only a run can tell (constants are check's).
        let explored = try explore("""
            flow Devices {
              question Floor: number {
                min 1
                max 1
              }
              question Count: number {
                default 1️⃣Floor - 12️⃣
                min 1
              }
              response "{Count}"
            }
            """)
        let f = try assertFinding(explored, .badDefault, id: "explore.badDefault", to: "2️⃣")
        XCTAssertEqual(f.diagnostic.severity, .warning)
        XCTAssertEqual(f.reproduction.answersJSON, #"{"Floor.Floor": "1", "Count.Count": null}"#)
        XCTAssertEqual(try ReproductionHost(f.reproduction, explored.program).run(), .finished(true))
    }

    // MARK: - No findings

    func testCleanFlowHasNoFindingsAndFullCoverage() throws {
        let explored = try explore("""
            ip Charge(amount: currency) {
              POST "https://pay.example/charges"
              output status: text = json "status"
              output id: text = json "id"
            }
            flow Hello {
              page About {
                question Name: text {
                  pattern "[A-Za-z ]+"
                }
                question Age: number {
                  min 0
                  max 130
                }
              }
              if About.Age >= 18 {
                response "Hello {About.Name}"
              } else {
                response "Hi {About.Name}"
              }
              ip Charge(5) -> charge
              on error {
                finish failure "{error.message}"
              }
              if charge.status == "succeeded" {
                finish success "{charge.id}"
              }
              finish failure "not charged"
            }
            """)
        XCTAssertEqual(explored.result.findings.map(\.diagnostic.message), [])
        XCTAssertTrue(explored.result.complete)
        XCTAssertEqual(explored.result.coverage.reached, explored.result.coverage.total,
                       "\(explored.result.coverage.unreached)")
        XCTAssertGreaterThan(explored.result.playthroughs, 10)
    }

    /// What a condition compares with is tried: the status the flow expects, a threshold and its
    /// neighbours, the date just answered as a date from a service.
    func testValuesTheFlowComparesWithAreTried() throws {
        let explored = try explore("""
            ip Order(number: text) {
              GET "https://shop.example/{number}"
              output placed: date = json "placed"
              output state: text = json "state"
              output eta: number = json "eta"
            }
            flow Check {
              page Lookup {
                question Number: text
                question Placed: date
                question Age: number
              }
              if Lookup.Age > 20 {
                response "over 20"
              } else if Lookup.Age == 20 {
                response "20"
              }
              ip Order(Lookup.Number) -> order
              on error {
                finish failure "lookup"
              }
              if order.placed != Lookup.Placed {
                finish failure "mismatch"
              }
              if contains(lower(order.state), "shipped") {
                response "shipped"
              }
              set wait = max(order.eta, 0)
              if wait > 60 {
                response "long"
              } else if wait == 60 {
                response "an hour"
              }
              finish success
            }
            """)
        XCTAssertEqual(explored.result.coverage.reached, explored.result.coverage.total,
                       "\(explored.result.coverage.unreached)")
    }

    func testTheBudgetStopsTheSearchAndSaysSo() throws {
        let explored = try explore("""
            flow Survey {
              question A: number
              question B: number
              question C: number
              response "{A.A + B.B + C.C}"
            }
            """, maxRuns: 3)
        XCTAssertFalse(explored.result.complete)
        XCTAssertGreaterThanOrEqual(explored.result.playthroughs, 3)
        XCTAssertTrue(ExploreReport(file: "s.flow").summary(explored.result).contains("(stopped at --max-runs 3)"))
    }

    /// A pattern no text can be made for stops the playthroughs there, with a note, not a finding.
    func testAPatternNoSampleMatchesIsANoteNotAFinding() throws {
        let explored = try explore(#"""
            flow Odd {
              question Code: text {
                pattern "(?=x)y"
              }
              response "{Code}"
            }
            """#)
        XCTAssertEqual(explored.result.findings.count, 0)
        XCTAssertEqual(explored.result.notes, ["no answer to 'Code.Code' was found that matches its pattern '(?=x)y'; playthroughs stop there"])
    }

    func testTheSameFlowGivesTheSameReport() throws {
        let source = """
            ip Lookup(id: text) {
              GET "https://people.example/{id}"
              output name: text = json "name"
              output age: number = json "age"
            }
            flow Greet {
              question Id: text
              ip Lookup(Id) -> person
              response "{person.name + ":"} is {100 / person.age}"
            }
            """
        let a = try explore(source)
        let b = try explore(source)
        let c = Frontend.compile(source: source, path: "test.flow")
        let report = ExploreReport(file: "test.flow")
        XCTAssertEqual(report.human(a.result, sources: c.sources), report.human(b.result, sources: c.sources))
        XCTAssertEqual(report.json(a.result, sources: c.sources), report.json(b.result, sources: c.sources))
        // In source order: the call, then where the response fails: a null name, then a zero age
        // (a number output is never null: that would be a malformed answer).
        XCTAssertEqual(a.result.findings.map(\.diagnostic.id),
                       ["explore.unhandledFailure", "run.typeMismatch", "run.divisionByZero"])
    }

    // MARK: - Reproductions

    func testReproductionForms() {
        let r = Reproduction(
            answers: [.init(reference: "PIN.PIN", typed: ["0000", "1234"]), .init(reference: "Amount.Amount", typed: ["", ""]),
                      .init(reference: "Name.Name", typed: ["it's"])],
            stubs: [.init(name: "Verify", results: [#"{"ok": false}"#, #"{"ok": true}"#]), .init(name: "Lookup", results: [#"{"id": 1}"#])],
            maxSteps: 50)
        XCTAssertEqual(r.answersJSON, #"{"PIN.PIN": ["0000", "1234"], "Amount.Amount": null, "Name.Name": "it's"}"#)
        XCTAssertEqual(r.stubsJSON, #"{"Verify": [{"ok": false}, {"ok": true}], "Lookup": {"id": 1}}"#)
        XCTAssertEqual(
            r.command(file: "my flows/a.flow", withSteps: true),
            #"flow run 'my flows/a.flow' --answer PIN.PIN=0000 --answer PIN.PIN=1234 --answer Amount.Amount= "#
                + #"--answer 'Name.Name=it'\''s' --stub 'Verify=[{"ok": false}, {"ok": true}]' --stub 'Lookup={"id": 1}' --max-steps 50"#)
    }

    /// A finding needing one changed answer is reported with exactly that one change, however
    /// many other playthroughs reach it.
    func testReproductionsAreTheSimplestFound() throws {
        let explored = try explore("""
            flow Quiz {
              question A: yesno
              question B: yesno
              question C: number {
                min 0
                max 3
              }
              set x = 1️⃣6 / C
              response "{x}"
            }
            """)
        let f = try assertFinding(explored, .runtimeError, id: "run.divisionByZero")
        XCTAssertEqual(f.when, ["'C.C' answered '0' (min)"])
        XCTAssertEqual(f.reproduction.answersJSON, #"{"A.A": "yes", "B.B": "yes", "C.C": "0"}"#)
    }

    // MARK: - Candidates

    func testPatternSamplesMatchTheirPattern() throws {
        for pattern in ["^[0-9]{8}$", "^[A-Za-z0-9]{6,12}$", "^[+]?[0-9]{8,15}$", "(foo|ba[rz])+\\d?", "[^@ ]+@[a-z]+\\.(com|org)",
                        "\\p{L}{2,}", "(?i)abc", "x{2}y*z?", "[A-Z]{2}\\d{2} ?\\d{4}"] {
            let samples = try XCTUnwrap(RegexSamples.samples(pattern), pattern)
            XCTAssertFalse(samples.isEmpty, pattern)
            for s in samples { XCTAssertTrue(ExploreSearch.matches(s, pattern), "'\(s)' does not match '\(pattern)'") }
        }
        XCTAssertNil(RegexSamples.samples("(?=a)b"), "look-arounds are not read")
        XCTAssertNil(RegexSamples.samples("(a)\\1"), "back-references are not read")
    }

    func testAnswerCandidatesKnowTheRules() {
        let q = QuestionRequest(name: "Amount", reference: "Amount.Amount", type: .currency, prompt: "",
                                min: .number(Number(parsing: "0.50")!), max: .number(100))
        let list = AnswerCandidates.candidates(for: q, hints: [], today: Self.today)
        func expected(_ typed: String) -> Bool?? { list.first { $0.typed == typed }.map(\.expected) }
        XCTAssertEqual(expected("0.50"), true)
        XCTAssertEqual(expected("100.00"), true)
        XCTAssertEqual(expected("0.49"), false)
        XCTAssertEqual(expected("100.01"), false)
        XCTAssertEqual(expected("12.345"), false)
        XCTAssertEqual(expected("-1.00"), false)
        XCTAssertEqual(expected(""), false)
        // The model agrees with the session's reader on every one of them.
        for c in list {
            guard let e = c.expected else { continue }
            let accepted = (try? AnswerParser.parse(c.typed, for: q).get()) != nil
            XCTAssertEqual(accepted, e, "'\(c.typed)' (\(c.label))")
        }
    }

    // MARK: - The examples

    /// Every example in flows/ explores within a bounded time, and every finding replays.
    func testExamplesExploreInBoundedTime() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let flows = root.appendingPathComponent("flows")
        let names = try FileManager.default.contentsOfDirectory(atPath: flows.path).filter { $0.hasSuffix(".flow") }.sorted()
        XCTAssertFalse(names.isEmpty)
        for name in names {
            let c = try Frontend.compile(path: flows.appendingPathComponent(name).path)
            let program = try XCTUnwrap(c.program, name)
            let start = Date()
            let result = Explorer.explore(program, options: ExploreOptions(today: Self.today))
            let seconds = Date().timeIntervalSince(start)
            XCTAssertLessThan(seconds, 10, "\(name) took \(seconds) s")
            for f in result.findings {
                XCTAssertTrue(f.reproduced, "\(name): \(f.diagnostic.id) \(f.diagnostic.message)")
                let expected: String? = switch f.kind {
                case .runtimeError: f.diagnostic.id
                case .unhandledFailure: "run.callFailed"
                case .endlessLoop, .noWayOut: "run.stepLimit"
                default: nil
                }
                if let expected {
                    XCTAssertEqual(try ReproductionHost(f.reproduction, program).run().id, expected, "\(name): \(f.diagnostic.message)")
                }
            }
        }
    }

    // MARK: - The rule of calls

    static let chargeFlow = """
        ip Lookup(id: text) {
          GET "https://shop.example/{id}"
          output total: currency = json "total"
        }
        ip Charge(amount: currency) {
          POST "https://pay.example/charges"
          form { amount = amount }
          idempotent
          output id: text = json "id"
        }
        flow Pay {
          page Order {
            question Id: text
          }
          ip Lookup(Order.Id) -> order
          on error {
            finish failure "no such order"
          }
          page Confirm {
            question Tip: currency
          }
          ip Charge(order.total + Confirm.Tip) -> paid
          on error {
            finish failure "not charged"
          }
          page Done {
            question Rating: text
          }
          response "Charged {paid.id}"
          finish success
        }
        """

    /// `back` is tried where the session offers it (from Confirm, across the safe Lookup, to
    /// Order), never past the unsafe Charge, and the report names Charge as a point of no return.
    func testBackMovesAreExploredAndUnsafeCallsListed() throws {
        let c = Frontend.compile(source: Self.chargeFlow, path: "test.flow")
        let program = try XCTUnwrap(c.program)
        let search = ExploreSearch(program: program, options: ExploreOptions(today: Self.today))
        search.run()
        XCTAssertGreaterThan(search.backMoves, 0, "no 'back' was tried")
        let result = search.result()
        XCTAssertEqual(result.findings.map(\.diagnostic.id), [])
        XCTAssertEqual(result.backStopsAfter.map(\.name), ["Charge"])
        let human = ExploreReport(file: "test.flow").human(result, sources: c.sources)
        XCTAssertTrue(human.contains("back stops after: Charge (test.flow:22)\n"), human)
        let json = ExploreReport(file: "test.flow").json(result, sources: c.sources)
        XCTAssertTrue(json.contains(#""backStopsAfter": [{"name": "Charge", "file": "test.flow", "line": 22"#), json)
    }

    /// The detector of the rule fires on a path that breaks it: a real playthrough, then the
    /// same steps altered as a faulty session would give them.
    func testTheRuleOfCallsDetectorFires() throws {
        let c = Frontend.compile(source: Self.chargeFlow, path: "test.flow")
        let program = try XCTUnwrap(c.program)
        let session = try Session(program: program, options: RuntimeOptions(today: { Self.today }))
        var trail = EffectTrail()
        func arrive(_ r: StepResult, byBack: Bool = false) -> [EffectTrail.Violation] {
            trail.arrive(at: r.step, state: ExploreStateKey(session.state), byBack: byBack)
        }
        let order = try session.start()
        let orderState = ExploreStateKey(session.state)
        XCTAssertEqual(arrive(order), [])
        let lookup = try session.resume(.answers(["Order.Id": "7"]))
        XCTAssertEqual(arrive(lookup), [])
        trail.complete(try XCTUnwrap(callOf(lookup)), safe: true)
        let confirm = try session.resume(.result(["total": .number(Number(10))]))
        XCTAssertEqual(arrive(confirm), [])
        let chargeStep = try session.resume(.answers(["Confirm.Tip": "2"]))
        XCTAssertEqual(arrive(chargeStep), [])
        let charge = try XCTUnwrap(callOf(chargeStep))
        // The same effect number asked for again with other arguments.
        var other = charge
        other.arguments[0].value = .number(Number(99))
        let repeated = trail.arrive(at: .callIP(other), state: ExploreStateKey(session.state), byBack: false)
        XCTAssertEqual(repeated.map(\.rule), [.callRepeated(charge.effect.sequence, "Charge")])
        trail.complete(charge, safe: false)
        let done = try session.resume(.result(["id": .text("ch_1")]))
        guard case .ask(let page) = done.step else { return XCTFail("not a page: \(done.step)") }
        // As the session gives it, the page after Charge is right.
        XCTAssertFalse(page.canGoBack)
        XCTAssertEqual(page.backStoppedBy, "Charge")
        var good = trail
        XCTAssertEqual(good.arrive(at: done.step, state: ExploreStateKey(session.state), byBack: false), [])
        // A page after Charge that offers `back`.
        var wrong = page
        wrong.canGoBack = true
        wrong.backStoppedBy = nil
        let notStopped = trail.arrive(at: .ask(wrong), state: ExploreStateKey(session.state), byBack: false)
        XCTAssertEqual(notStopped.map(\.rule), [.backNotStopped("Charge")])
        // A `back` that returns to Order, shown before Charge.
        let past = trail.arrive(at: order.step, state: orderState, byBack: true)
        XCTAssertEqual(past.map(\.rule), [.backPastCall("Charge")])
    }

    private func callOf(_ r: StepResult) -> CallRequest? {
        if case .callIP(let call) = r.step { return call }
        return nil
    }

}

/// Replays a reproduction from its JSON, the way `flow run --answers FILE --stubs FILE` reads
/// those files: a value is typed every time the question is asked, a list gives one per asking;
/// a stub object is the result of every call, a list one per call; `{"error": {…}}` is a failure.
struct ReproductionHost {
    enum End: Equatable {
        case finished(Bool)
        case error(String, SourceRange)
        case refused(String)
        case stuck(String)

        var id: String? {
            if case .error(let id, _) = self { return id }
            return nil
        }
    }

    let program: Program
    var answers: [String: [String]] = [:]
    var once: Set<String> = []
    var stubs: [String: [Value]] = [:]

    init(_ r: Reproduction, _ program: Program) throws {
        self.program = program
        guard case .object(let a) = try Value.fromJSON(r.answersJSON), case .object(let s) = try Value.fromJSON(r.stubsJSON) else {
            throw ReproductionError.notAnObject
        }
        func typed(_ v: Value) -> String {
            switch v {
            case .null: ""
            case .bool(let b): b ? "yes" : "no"
            case .text(let t): t
            default: v.displayText()
            }
        }
        for (name, v) in a {
            if case .list(let items) = v { answers[name] = items.map(typed) } else { answers[name] = [typed(v)]; once.insert(name) }
        }
        for (name, v) in s {
            if case .list(let items) = v { stubs[name] = items } else { stubs[name] = [v]; once.insert("stub:" + name) }
        }
    }

    enum ReproductionError: Error { case notAnObject }

    func run() throws -> End {
        var asked: [String: Int] = [:]
        var called: [String: Int] = [:]
        let options = RuntimeOptions(maxSteps: 10_000, today: { ExploreTests.today })
        do throws(RuntimeError) {
            let session = try Session(program: program, options: options)
            var result = try session.start()
            while true {
                switch result.step {
                case .finished(let outcome):
                    return .finished(outcome.success)
                case .ask(let page):
                    if let q = page.questions.first(where: { page.problems[$0.name] != nil }) { return .refused(q.reference) }
                    var typed: [String: String] = [:]
                    for q in page.questions {
                        guard let list = answers[q.reference] else { return .stuck("no answer for \(q.reference)") }
                        let k = asked[q.reference, default: 0]
                        asked[q.reference] = k + 1
                        if once.contains(q.reference) { typed[q.reference] = list[0]; continue }
                        guard k < list.count else { return .stuck("no answer left for \(q.reference)") }
                        typed[q.reference] = list[k]
                    }
                    result = try session.resume(.answers(typed))
                case .callIP(let call), .runExtension(let call):
                    guard let list = stubs[call.name] else { return .stuck("no stub for \(call.name)") }
                    let k = called[call.name, default: 0]
                    called[call.name] = k + 1
                    let stub = once.contains("stub:" + call.name) ? list[0] : (k < list.count ? list[k] : nil)
                    guard let stub else { return .stuck("no result left for \(call.name)") }
                    result = try session.resume(reply(stub, call))
                }
            }
        } catch {
            return .error(error.diagnostic.id, error.diagnostic.range)
        }
    }

    private func reply(_ stub: Value, _ call: CallRequest) -> Reply {
        guard case .object(let fields) = stub else { return .result([:]) }
        if fields.count == 1, case .object(let e)? = fields["error"] {
            var message = ""
            if case .text(let m)? = e["message"] { message = m }
            var kind = "connection"
            if case .text(let k)? = e["kind"] { kind = k }
            var status: Int?
            if case .number(let n)? = e["status"] { status = n.intValue }
            return .failure(CallFailure(kind: kind, message: message, status: status, body: e["body"]))
        }
        let outputs = program.integrationPoints.first { $0.name == call.name }?.outputs
            ?? program.extensions.first { $0.name == call.name }?.outputs ?? []
        var values: [String: Value] = [:]
        for o in outputs {
            let v = fields[o.name] ?? .null
            values[o.name] = v == .null ? .null : v.coerced(to: o.type)
        }
        return .result(values)
    }
}
