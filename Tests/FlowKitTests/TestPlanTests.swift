import FlowKit
import XCTest

/// Test plans (`*.flowtest`): the parser and resolver (located `plan.*` diagnostics), the runner
/// (each kind of expectation met and not met, with its message), and coverage numbers.
final class TestPlanTests: XCTestCase {
    /// A small flow with an extension, an IP with an error handler, a decision and a variable.
    static let flow = """
        ip Charge(amount: number, token: text, note: text = "ivr") {
          POST "https://pay.example/charge"
          output id: text = json "id"
          output paid: bool = json "paid"
        }
        extension Read Card {
          run "read-card"
          output token: text
        }
        var Channel = "phone"
        flow Pay {
          question Amount: number
          extension Read Card -> (token: token)
          ip Charge(Amount, token) -> result
          on error {
            response "Declined: {error.message}"
            finish failure "declined"
          }
          set total = Amount
          if result.paid {
            response "Paid {result.id}."
          } else {
            response "Not paid."
          }
          finish success "paid {total}"
        }
        flow Refund(amount: number) {
          response "Refunded {amount}."
        }
        """

    static let paid = """
          answer Amount = 4.00
          result Read Card = { "token": "tok_1" }
          result Charge = { "id": "ch_1", "paid": true }
        """

    func load(_ plan: String, flow: String = TestPlanTests.flow) -> LoadedPlan {
        TestPlanLoader.load(path: "t.flowtest", files: ["t.flowtest": plan, "t.flow": flow])
    }

    /// Asserts the plan gives exactly these diagnostics, at its markers (offsets in the plan).
    func assertPlanDiagnostics(
        _ marked: String, _ expected: [DiagnosticSpec], flow: String = TestPlanTests.flow, file: StaticString = #filePath, line: UInt = #line
    ) {
        let source = MarkedSource(marked)
        let loaded = load(source.text, flow: flow)
        let rendered = DiagnosticRenderer(format: .gcc).render(loaded.diagnostics, sources: loaded.sources)
        XCTAssertEqual(loaded.diagnostics.count, expected.count, "diagnostics:\n\(rendered)", file: file, line: line)
        XCTAssertNil(loaded.plan, "a plan with errors is not run", file: file, line: line)
        for (d, spec) in zip(loaded.diagnostics, expected) {
            XCTAssertEqual(d.id, spec.id, "diagnostics:\n\(rendered)", file: file, line: line)
            XCTAssertEqual(d.range.file, FileID(0), "\(d.id) is not in the plan", file: file, line: line)
            if let m = spec.message {
                XCTAssertTrue(d.message.contains(m) || (d.hint ?? "").contains(m), "'\(d.message)' (hint: \(d.hint ?? "none")) lacks '\(m)'", file: file, line: line)
            }
            XCTAssertEqual(Int(d.range.start), source.markers[spec.at], "\(d.id) '\(d.message)' starts at the wrong place", file: file, line: line)
            if let to = spec.to {
                XCTAssertEqual(Int(d.range.end), source.markers[to], "\(d.id) '\(d.message)' ends at the wrong place", file: file, line: line)
            }
        }
    }

    /// Runs every test of a plan that must load cleanly.
    func run(_ plan: String, coverage: CoverageRecorder? = nil, file: StaticString = #filePath, line: UInt = #line) -> (LoadedPlan, [TestResult]) {
        let loaded = load(plan)
        let rendered = DiagnosticRenderer(format: .gcc).render(loaded.diagnostics, sources: loaded.sources)
        guard let p = loaded.plan, let program = loaded.program else {
            XCTFail("the plan does not load:\n\(rendered)", file: file, line: line)
            return (loaded, [])
        }
        return (loaded, p.tests.map { TestRunner.run($0, program: program, coverage: coverage) })
    }

    /// Runs a plan of one test and returns its failures as (id, message, expected, actual, line in the plan).
    func failures(_ body: String, file: StaticString = #filePath, line: UInt = #line) -> [(id: String, message: String, expected: String?, actual: String?, line: Int)] {
        let (loaded, results) = run("tests \"t.flow\"\ntest \"one\" {\n\(body)\n}\n", file: file, line: line)
        guard let result = results.first else { return [] }
        return result.failures.map { f in
            let l = loaded.sources[f.diagnostic.range.file].location(of: Int(f.diagnostic.range.start)).line
            return (f.diagnostic.id, f.diagnostic.message, f.expected, f.actual, l)
        }
    }

    // MARK: - Parsing

    func testAWholePlanParses() throws {
        let loaded = load("""
            // comments and blank lines anywhere

            tests "t.flow"
            today "2024-06-01"
            config X = 1

            test "paid" {
              answer Amount.Amount = "4.00"
              result Read Card = { "token": "tok_1" }
              result Charge = [
                { "id": "ch_1", "paid": true },
                { "id": "ch_2", "paid": false }
              ]
              failure Charge = { "kind": "http", "status": 402, "message": "Declined", "code": "card_declined", "body": { "a": [1, null] } }
              expect response "Paid ch_1."
              expect response contains "Paid"
              expect outcome success "paid 4"
              expect outcome failure contains "dec"
              expect called Charge(4.00, token: "tok_1") 2 times
              expect not called Refund
              expect variable total = 4
              expect variable Channel = "phone"
            }
            test "refund" {
              flow Refund
              argument amount = -2.5
            }
            """, flow: Self.flow.replacingOccurrences(of: "var Channel", with: "config X = 0\nvar Channel"))
        XCTAssertEqual(loaded.diagnostics.map(\.id), [])
        let plan = try XCTUnwrap(loaded.plan)
        XCTAssertEqual(plan.flowPath, "t.flow")
        XCTAssertEqual(plan.tests.map(\.name), ["paid", "refund"])
        let paid = plan.tests[0]
        XCTAssertEqual(paid.today, "2024-06-01")
        XCTAssertEqual(paid.configs, ["X": "1"])
        XCTAssertEqual(paid.answers["Amount.Amount"]?.values.map(\.value), ["4.00"])
        XCTAssertEqual(paid.results["Charge"]?.values.count, 3, "two results from the list, then a failure, one per call")
        XCTAssertEqual(paid.results["Charge"]?.repeats, false)
        XCTAssertEqual(paid.results["Read Card"]?.repeats, true, "one result answers every call")
        XCTAssertEqual(paid.expectations.count, 8)
        guard case .called(let name, let arguments, let times, let negated) = paid.expectations[4].kind else { return XCTFail("not a call") }
        XCTAssertEqual(name, "Charge")
        XCTAssertEqual(arguments.map(\.name), ["amount", "token"])
        XCTAssertEqual(times, 2)
        XCTAssertFalse(negated)
        XCTAssertEqual(plan.tests[1].flow, "Refund")
        XCTAssertEqual(plan.tests[1].arguments, ["amount": "-2.5"])
    }

    func testAnswersAreWhatWouldBeTyped() throws {
        let loaded = load("""
            tests "t.flow"
            test "a" {
              answer Amount = 4.00
              answer Amount = -1
              answer Amount = true
              answer Amount = null
              answer Amount = ["12", [" a", "b"]]
            }
            """)
        let answers = try XCTUnwrap(loaded.plan?.tests[0].answers["Amount.Amount"])
        XCTAssertEqual(answers.values.map(\.value), ["4.00", "-1", "yes", "", "12", " a, b"])
        XCTAssertFalse(answers.repeats)
    }

    /// Issue 14: plans take yes and no as a terminal does.
    func testYesAndNoAreAnswers() throws {
        let loaded = load("""
            tests "t.flow"
            test "a" {
              answer Amount = [yes, no, Yes]
            }
            """)
        let answers = try XCTUnwrap(loaded.plan?.tests[0].answers["Amount.Amount"])
        XCTAssertEqual(answers.values.map(\.value), ["yes", "no", "yes"])
    }

    /// Issue 14: `expect refused` tries an answer the question must refuse, when it is asked, and
    /// the reason it gives; each way it can fail has its own message.
    func testExpectRefused() {
        let flow = """
            flow Ask {
              question Devices: number {
                min 1
                max 50
              }
              question Down: yesno
            }
            flow Never {
              question Skipped: text
            }
            """
        let plan = """
            tests "t.flow"
            test "met" {
              answer Devices = 3
              answer Down = yes
              expect refused Devices = 0 "enter at least 1"
              expect refused Devices = 99 contains "at most"
              expect refused Down = "maybe"
            }
            test "not met" {
              answer Devices = 3
              answer Down = no
              expect refused Devices = 5
              expect refused Devices = 0 "enter at most 50"
              expect refused Skipped = "x"
            }
            """
        let loaded = TestPlanLoader.load(path: "t.flowtest", files: ["t.flowtest": plan, "t.flow": flow])
        guard let p = loaded.plan, let program = loaded.program else {
            return XCTFail(DiagnosticRenderer(format: .gcc).render(loaded.diagnostics, sources: loaded.sources))
        }
        let met = TestRunner.run(p.tests[0], program: program)
        XCTAssertEqual(met.failures.map(\.diagnostic.id), [])
        let notMet = TestRunner.run(p.tests[1], program: program)
        XCTAssertEqual(notMet.failures.map(\.diagnostic.id), ["test.notRefused", "test.refusedReason", "test.notAsked"])
        XCTAssertEqual(notMet.failures.map(\.diagnostic.message), [
            "the answer '5' for 'Devices.Devices' was accepted, not refused",
            "the answer '0' for 'Devices.Devices' was refused for another reason",
            "'Skipped.Skipped' was never asked, so no answer to it was refused",
        ])
        XCTAssertEqual(notMet.failures[1].actual, "\"enter at least 1\"")
    }

    func testTheHeaderIsRequired() {
        assertPlanDiagnostics("""
            1️⃣test "a" {
            }
            """, [DiagnosticSpec("plan.expectedTests", "tests \"payment.flow\"", at: "1️⃣")])
    }

    func testAMissingFlowFileIsReportedAtItsPath() {
        assertPlanDiagnostics("""
            tests 1️⃣"nope.flow"2️⃣
            test "a" {
            }
            """, [DiagnosticSpec("plan.flowNotFound", "cannot read the flow 'nope.flow': no such file", at: "1️⃣", to: "2️⃣")])
    }

    func testAPlanWithoutTests() {
        assertPlanDiagnostics("tests 1️⃣\"t.flow\"\n", [DiagnosticSpec("plan.noTests", at: "1️⃣")])
    }

    func testSyntaxErrorsAreLocatedAndTheParserGoesOn() {
        assertPlanDiagnostics("""
            tests "t.flow"
            1️⃣tset "x" {
              answer Amount = 1
            }
            test "a" {
              2️⃣respond "x"
              expect 3️⃣answered Amount
              expect outcome 4️⃣done
              expect response 5️⃣declined
              answer Amount 6️⃣"4"
              expect response "x" 7️⃣12
              expect called Charge(1) 2 8️⃣time
            }
            test 9️⃣a {
            }
            """, [
                DiagnosticSpec("plan.expectedTopLevel", "did you mean 'test'?", at: "1️⃣"),
                DiagnosticSpec("plan.expectedItem", "did you mean 'expect response'?", at: "2️⃣"),
                DiagnosticSpec("plan.expectedExpectation", at: "3️⃣"),
                DiagnosticSpec("plan.expectedOutcome", at: "4️⃣"),
                DiagnosticSpec("plan.expectedText", "expected a text in quotes after 'response'", at: "5️⃣"),
                DiagnosticSpec("plan.expectedAfter", "expected '=' after the question", at: "6️⃣"),
                DiagnosticSpec("plan.expectedEndOfLine", at: "7️⃣"),
                DiagnosticSpec("plan.expectedAfter", "expected 'times' after the number of calls", at: "8️⃣"),
                DiagnosticSpec("plan.expectedText", "after 'test'", at: "9️⃣"),
            ])
    }

    func testMoreThanATextAndCountingWhatIsNotCalled() {
        assertPlanDiagnostics("""
            tests "t.flow"
            test "a" {
              expect response 1️⃣"a" + "b"2️⃣
              expect not called Charge 3️⃣2 times
              expect called 4️⃣`on`
            }
            """, [
                DiagnosticSpec("plan.expectedText", at: "1️⃣", to: "2️⃣"),
                DiagnosticSpec("plan.expectedEndOfLine", "'not called' means no call at all", at: "3️⃣"),
                DiagnosticSpec("plan.unknownCallee", "no integration point, extension or flow 'on'", at: "4️⃣"),
            ])
    }

    func testAnUnclosedTestPointsAtItsBrace() {
        assertPlanDiagnostics("""
            tests "t.flow"
            test "a" {
              expect outcome success
            1️⃣
            """, [DiagnosticSpec("plan.expectedClosingBrace", "expected '}' to close test 'a'", at: "1️⃣")])
    }

    func testValuesMustBeConstants() {
        assertPlanDiagnostics("""
            tests "t.flow"
            test "a" {
              answer Amount = 1️⃣amount
              expect response 2️⃣"Paid {x}"
              expect variable total = 3️⃣1 + 2
              answer Amount =4️⃣ 
              answer Amount = 5️⃣[]
              answer Amount = 6️⃣{ "a": 1 }
            }
            """, [
                DiagnosticSpec("plan.expectedValue", at: "1️⃣"),
                DiagnosticSpec("plan.template", at: "2️⃣"),
                DiagnosticSpec("plan.expectedValue", at: "3️⃣"),
                DiagnosticSpec("plan.expectedValue", at: "4️⃣"),
                DiagnosticSpec("plan.emptyList", at: "5️⃣"),
                DiagnosticSpec("plan.answerShape", "is an object", at: "6️⃣"),
            ])
    }

    func testDuplicateTestNames() {
        assertPlanDiagnostics("""
            tests "t.flow"
            test "a" {
            }
            test 1️⃣"a" {
            }
            """, [DiagnosticSpec("plan.duplicateTest", at: "1️⃣")])
    }

    func testNamesAreCheckedAgainstTheFlowWithDidYouMean() {
        assertPlanDiagnostics("""
            tests "t.flow"
            config 1️⃣Y = 1
            test "a" {
              flow 2️⃣Refnd
              answer 3️⃣Amont = 4
              answer 4️⃣Amount.Amont = 4
              result 5️⃣Read Crd = { "token": "x" }
              result 6️⃣Refund = { }
              expect called 7️⃣Charg
              expect variable 8️⃣totl = 4
            }
            """, [
                DiagnosticSpec("plan.unknownConfig", at: "1️⃣"),
                DiagnosticSpec("plan.unknownFlow", "did you mean 'Refund'?", at: "2️⃣"),
                DiagnosticSpec("plan.unknownQuestion", "did you mean 'Amount'?", at: "3️⃣"),
                DiagnosticSpec("plan.unknownQuestion", "did you mean 'Amount.Amount'?", at: "4️⃣"),
                DiagnosticSpec("plan.unknownCallee", "did you mean 'Read Card'?", at: "5️⃣"),
                DiagnosticSpec("plan.unknownCallee", "'Refund' is a flow", at: "6️⃣"),
                DiagnosticSpec("plan.unknownCallee", "did you mean 'Charge'?", at: "7️⃣"),
                DiagnosticSpec("plan.unknownVariable", "did you mean 'total'?", at: "8️⃣"),
            ])
    }

    func testResultsMustFitTheDeclaredOutputs() {
        assertPlanDiagnostics("""
            tests "t.flow"
            test "a" {
              result Read Card = { "token": "x", 2️⃣"tokn": "y" }
              result Charge = 3️⃣{ "id": "ch_1" }
              result Charge = { "id": "ch_1", 4️⃣"paid": "maybe" }
              failure Charge = 5️⃣{ "status": 402 }
              failure Charge = { "message": "x", 6️⃣"stauts": 402 }
              result Charge = 7️⃣"ch_1"
            }
            """, [
                DiagnosticSpec("plan.unknownOutput", "did you mean 'token'?", at: "2️⃣"),
                DiagnosticSpec("plan.missingOutput", "no value for its output 'paid'", at: "3️⃣"),
                DiagnosticSpec("plan.outputType", "output 'paid' of 'Charge' takes true or false, not text", at: "4️⃣"),
                DiagnosticSpec("plan.badFailure", "it needs a 'message'", at: "5️⃣"),
                DiagnosticSpec("plan.badFailure", "did you mean 'status'?", at: "6️⃣"),
                DiagnosticSpec("plan.expectedValue", "a result is an object of outputs", at: "7️⃣"),
            ])
    }

    func testArgumentsAndConfigsAreChecked() {
        assertPlanDiagnostics("""
            tests "t.flow"
            test 1️⃣"refund" {
              flow Refund
              argument 2️⃣amont = 1
            }
            test "typed" {
              flow Refund
              argument amount = 3️⃣"lots"
              expect called Charge(4️⃣amout: 4)
              expect called Charge(1, "a", "b", 5️⃣"c", "d"6️⃣)
            }
            """, [
                DiagnosticSpec("plan.missingArgument", "argument amount = 12.50", at: "1️⃣"),
                DiagnosticSpec("plan.unknownParameter", "did you mean 'amount'?", at: "2️⃣"),
                DiagnosticSpec("plan.argumentType", "takes a number", at: "3️⃣"),
                DiagnosticSpec("plan.unknownArgument", "did you mean 'amount'?", at: "4️⃣"),
                DiagnosticSpec("plan.tooManyArguments", "'Charge' takes 3 arguments", at: "5️⃣", to: "6️⃣"),
            ])
    }

    func testSecureArgumentsCannotBeCompared() {
        let flow = """
            ip Login(user: text, pin: secure) {
              POST "https://bank.example/login"
              output ok: bool = json "ok"
            }
            flow Main {
              question PIN: password
              ip Login("ann", PIN) -> (ok: ok)
            }
            """
        assertPlanDiagnostics("""
            tests "t.flow"
            test "a" {
              expect called Login(user: "ann", 1️⃣pin: "1234")
            }
            """, [DiagnosticSpec("plan.secureArgument", at: "1️⃣")], flow: flow)
    }

    func testAFlowWithErrorsGivesItsOwnDiagnostics() {
        let loaded = load("tests \"t.flow\"\ntest \"a\" {\n}\n", flow: "flow Main {\n  set x = \n}\n")
        XCTAssertNil(loaded.plan)
        XCTAssertNil(loaded.program)
        XCTAssertEqual(loaded.diagnostics.map(\.id), ["parse.expectedExpression"])
        XCTAssertEqual(loaded.sources[loaded.diagnostics[0].range.file].path, "t.flow")
    }

    func testTheFlowPathIsRelativeToThePlan() throws {
        let loaded = TestPlanLoader.load(path: "tests/p.flowtest", files: [
            "tests/p.flowtest": "tests \"../flows/t.flow\"\ntest \"a\" {\n\(Self.paid)\n}\n",
            "flows/t.flow": Self.flow,
        ])
        XCTAssertEqual(loaded.diagnostics.map(\.id), [])
        XCTAssertEqual(loaded.plan?.flowPath, "flows/t.flow")
    }

    // MARK: - Running: each expectation met

    func testEveryKindOfExpectationCanPass() {
        let (_, results) = run("""
            tests "t.flow"
            test "paid" {
            \(Self.paid)
              expect response contains "Paid"
              expect outcome success "paid 4"
              expect outcome success contains "paid"
              expect called Charge(4, "tok_1", note: "ivr")
              expect called Charge 1 times
              expect called Read Card
              expect not called Charge(5)
              expect not called Refund
              expect variable total = 4.0
              expect variable Channel = "phone"
            }
            test "declined" {
              answer Amount = 12
              result Read Card = { "token": "tok_1" }
              failure Charge = { "status": 402, "message": "no funds" }
              expect response "Declined: no funds"
              expect outcome failure "declined"
              expect variable total = 0
            }
            """)
        XCTAssertEqual(results.map(\.passed), [true, false])
        XCTAssertEqual(results[1].failures.map(\.diagnostic.id), ["test.variable"])
        XCTAssertEqual(results[1].failures.first?.diagnostic.message, "variable 'total' was never set")
        XCTAssertEqual(results[1].failures.first?.actual, "not set")
        XCTAssertEqual(results[0].responses, ["Paid ch_1."])
        XCTAssertEqual(results[0].outcome, Outcome(success: true, reason: "paid 4"))
    }

    // MARK: - Running: each expectation not met

    func testResponseExpectationsMatchInOrder() {
        let f = failures("""
            \(Self.paid)
              expect response "Paid ch_1"
              expect response contains "ch_1"
              expect response contains "ch_1"
            """)
        XCTAssertEqual(f.map(\.id), ["test.response", "test.response"])
        XCTAssertEqual(f[0].message, "no response is \"Paid ch_1\"")
        XCTAssertEqual(f[0].expected, "a response \"Paid ch_1\"")
        XCTAssertEqual(f[0].actual, "\"Paid ch_1.\"")
        XCTAssertEqual(f[0].line, 6)
        XCTAssertEqual(f[1].message, "no response after the one matched before contains \"ch_1\"")
        XCTAssertEqual(f[1].actual, "no responses")
        XCTAssertEqual(f[1].line, 8)
    }

    func testOutcomeExpectations() {
        let f = failures("""
            \(Self.paid)
              expect outcome failure
              expect outcome success "paid 5"
              expect outcome success contains "unpaid"
            """)
        XCTAssertEqual(f.map(\.id), ["test.outcome", "test.outcome", "test.outcome"])
        XCTAssertEqual(f[0].message, "the flow finished with success, not failure")
        XCTAssertEqual(f[0].expected, "failure")
        XCTAssertEqual(f[0].actual, "success \"paid 4\"")
        XCTAssertEqual(f[1].message, "the flow finished with success for another reason")
        XCTAssertEqual(f[1].expected, "success \"paid 5\"")
        XCTAssertEqual(f[2].expected, "success containing \"unpaid\"")
    }

    func testCalledExpectations() {
        let f = failures("""
            \(Self.paid)
              expect called Charge(amount: 5)
              expect called Refund
              expect called Charge 2 times
              expect not called Charge(token: "tok_1")
            """)
        XCTAssertEqual(f.map(\.id), ["test.called", "test.called", "test.called", "test.notCalled"])
        XCTAssertEqual(f[0].message, "no call of 'Charge' had these arguments")
        XCTAssertEqual(f[0].expected, "a call of Charge(amount: 5)")
        XCTAssertEqual(f[0].actual, "Charge(amount: 4, token: \"tok_1\", note: \"ivr\")")
        XCTAssertEqual(f[1].message, "'Refund' was never called")
        XCTAssertEqual(f[1].actual, "'Refund' was never called")
        XCTAssertEqual(f[2].message, "'Charge' was called once, not 2 times")
        XCTAssertEqual(f[2].expected, "'Charge' called 2 times")
        XCTAssertEqual(f[3].message, "'Charge' was called with these arguments")
        XCTAssertEqual(f[3].expected, "no call of Charge(token: \"tok_1\")")
    }

    func testVariableExpectations() {
        let f = failures("""
            \(Self.paid)
              expect variable total = "4"
              expect variable total = 5
              expect variable Channel = "web"
            """)
        XCTAssertEqual(f.map(\.id), ["test.variable", "test.variable", "test.variable"])
        XCTAssertEqual(f[0].message, "variable 'total' has another value")
        XCTAssertEqual(f[0].expected, "\"4\"")
        XCTAssertEqual(f[0].actual, "4")
        XCTAssertEqual(f[1].expected, "5")
        XCTAssertEqual(f[2].actual, "\"phone\"")
    }

    func testARunThatCannotGoOnFailsWhereItStopped() {
        var f = failures("  expect outcome success")
        XCTAssertEqual(f.map(\.id), ["test.noAnswer"])
        XCTAssertEqual(f.first?.message, "no answer for 'Amount.Amount'")
        XCTAssertEqual(f.first?.line, 2, "at the test's name")

        f = failures("  answer Amount = 4\n  expect outcome success")
        XCTAssertEqual(f.map(\.id), ["test.noResult"])
        XCTAssertEqual(f.first?.message, "no result for extension 'Read Card'")

        f = failures("  answer Amount = \"four\"")
        XCTAssertEqual(f.map(\.id), ["test.refused"])
        XCTAssertEqual(f.first?.line, 3, "at the answer")

        f = failures("""
              answer Amount = [4, 5]
              result Read Card = { "token": "t" }
              result Charge = [{ "id": "ch_1", "paid": true }]
            """)
        XCTAssertEqual(f.map(\.id), [], "each asked once, called once")
    }

    func testAListOfResultsRunsOut() {
        let flow = """
            ip Ping() {
              GET "https://example.com/ping"
              output ok: bool = json "ok"
            }
            flow Main {
              ip Ping() -> (ok: a)
              ip Ping() -> (ok: b)
            }
            """
        let loaded = TestPlanLoader.load(path: "t.flowtest", files: [
            "t.flowtest": "tests \"t.flow\"\ntest \"a\" {\n  result Ping = [{ \"ok\": true }]\n}\n", "t.flow": flow,
        ])
        let result = TestRunner.run(loaded.plan!.tests[0], program: loaded.program!)
        XCTAssertEqual(result.failures.map(\.diagnostic.id), ["test.resultsExhausted"])
        XCTAssertEqual(result.failures.first?.diagnostic.message, "'Ping' was called more often than the test gives results (1)")
    }

    func testARuntimeErrorFailsTheTestAtItsPlaceInTheFlow() {
        let flow = "config ZERO = 0\nflow Main {\n  set x = 1 / ZERO\n}\n"
        let loaded = TestPlanLoader.load(path: "t.flowtest", files: ["t.flowtest": "tests \"t.flow\"\ntest \"a\" {\n}\n", "t.flow": flow])
        let result = TestRunner.run(loaded.plan!.tests[0], program: loaded.program!)
        XCTAssertEqual(result.failures.count, 1)
        let d = result.failures[0].diagnostic
        XCTAssertTrue(d.id.hasPrefix("run."), d.id)
        XCTAssertEqual(loaded.sources[d.range.file].path, "t.flow")
    }

    func testTodayIsTheTestsDate() {
        let flow = "flow Main {\n  response \"{today()}\"\n}\n"
        let loaded = TestPlanLoader.load(path: "t.flowtest", files: [
            "t.flowtest": "tests \"t.flow\"\ntoday \"2024-02-29\"\ntest \"a\" {\n  expect response \"2024-02-29\"\n}\n", "t.flow": flow,
        ])
        XCTAssertEqual(TestRunner.run(loaded.plan!.tests[0], program: loaded.program!).passed, true)
    }

    // MARK: - Failures rendered

    func testAFailureShowsTheLocationExpectedAndActual() {
        let (loaded, results) = run("tests \"t.flow\"\ntest \"a\" {\n\(Self.paid)\n  expect outcome failure \"declined\"\n}\n")
        let text = TestReportRenderer().failure(results[0].failures[0], sources: loaded.sources)
        XCTAssertEqual(text, """
            error[test.outcome]: the flow finished with success, not failure
             --> t.flowtest:6:3
              |
            6 |   expect outcome failure "declined"
              |   ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
              = expected: failure "declined"
              = actual:   success "paid 4"


            """)
    }

    // MARK: - Coverage

    func testCoverageCountsElementsAndBranches() {
        let loaded = load("tests \"t.flow\"\ntest \"paid\" {\n\(Self.paid)\n}\n")
        let program = loaded.program!
        let coverage = CoverageRecorder(program: program)
        _ = TestRunner.run(loaded.plan!.tests[0], program: program, coverage: coverage)
        var report = CoverageReport()
        report.add(coverage, sources: loaded.sources)
        let file = report.files(["t.flow"])[0]
        // Pay: page, extension, ip, handler response and finish, set, if, two responses, finish
        // (its implicit end is unreachable); Refund: response, end.
        XCTAssertEqual(file.elementsTotal, 12)
        XCTAssertEqual(file.elementsCovered, 7)
        XCTAssertEqual(file.branchesTotal, 4, "the ip's ok and error, the if's yes and no")
        XCTAssertEqual(file.branchesCovered, 2)
        XCTAssertEqual(file.elementPercent, 58)
        XCTAssertEqual(file.branchPercent, 50)
        XCTAssertEqual(file.missed.map { "\($0.line):\($0.column) \($0.text): \($0.missedText)" }, [
            "14:3 ip Charge(Amount, token) -> result: never failed",
            "16:5 response \"Declined: {error.message}\": never run",
            "17:5 finish failure \"declined\": never run",
            "20:6 if result.paid: never false",
            "23:5 response \"Not paid.\": never run",
            "28:3 response \"Refunded {amount}.\": never run",
            "29:1 the end of flow 'Refund': never run",
        ])

        // A second test, in another program of the same file, fills in the rest of Pay.
        let declined = load("tests \"t.flow\"\ntest \"d\" {\n  answer Amount = 1\n  result Read Card = { \"token\": \"t\" }\n  failure Charge = { \"message\": \"no\" }\n}\n")
        let second = CoverageRecorder(program: declined.program!)
        _ = TestRunner.run(declined.plan!.tests[0], program: declined.program!, coverage: second)
        report.add(second, sources: declined.sources)
        let merged = report.files(["./t.flow"])[0]
        XCTAssertEqual(merged.elementsCovered, 9)
        XCTAssertEqual(merged.branchesCovered, 3)
    }

    func testCoverageOfATestThatFailsIsStillCounted() {
        let loaded = load("tests \"t.flow\"\ntest \"a\" {\n  answer Amount = 1\n}\n")
        let coverage = CoverageRecorder(program: loaded.program!)
        let result = TestRunner.run(loaded.plan!.tests[0], program: loaded.program!, coverage: coverage)
        XCTAssertFalse(result.passed)
        var report = CoverageReport()
        report.add(coverage, sources: loaded.sources)
        XCTAssertEqual(report.files(["t.flow"])[0].elementsCovered, 2, "the page and the extension call that had no result")
    }
}
