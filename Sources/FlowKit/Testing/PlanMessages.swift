/// The catalogue of test plan messages, sorted by id: `plan.*` for a plan that cannot be read or
/// does not fit its flow (found before anything runs), `test.*` for an expectation a run did not
/// meet. No message text lives elsewhere. Each entry shows a line that triggers it.
extension Message {
    // MARK: - plan.*

    /// `answer PIN = { "pin": "1234" }`
    static func planAnswerShape(_ question: String, _ kind: String) -> Message { Message("plan.answerShape", .error, "the answer for '\(question)' is \(kind), not text, a number, yes/no or null") }
    /// `argument devices = "many"` for `devices: number`
    static func planArgumentType(_ name: String, _ type: String) -> Message { Message("plan.argumentType", .error, "parameter '\(name)' takes \(type)") }
    /// `failure StripeCharge = { "status": 402 }`
    static func planBadFailure(_ detail: String) -> Message { Message("plan.badFailure", .error, "this failure is not valid: \(detail)") }
    /// `today "31/12/2024"`
    static let planBadToday = Message("plan.badToday", .error, "expected a date as 'yyyy-mm-dd'")
    /// `config MAX_TRIES = "many"` for a number config
    static func planConfigType(_ name: String, _ type: String) -> Message { Message("plan.configType", .error, "config '\(name)' takes \(type)") }
    /// `test "paid" { … }` twice
    static func planDuplicateTest(_ name: String) -> Message { Message("plan.duplicateTest", .error, "a test named '\(name)' already exists in this plan") }
    /// `flow Triage` twice in one test, or `tests "a.flow"` twice
    static func planDuplicateSetting(_ what: String) -> Message { Message("plan.duplicateSetting", .error, "\(what) is already given") }
    /// `answer PIN = []`
    static let planEmptyList = Message("plan.emptyList", .error, "an empty list gives nothing; leave the line out instead")
    /// `expect called StripeCharge(amount 4)`, `result Tokenize { … }`
    static func planExpectedAfter(_ what: String, _ after: String) -> Message { Message("plan.expectedAfter", .error, "expected \(what) after \(after)") }
    /// `test "a" {` … end of file
    static func planExpectedClosingBrace(_ test: String) -> Message { Message("plan.expectedClosingBrace", .error, "expected '}' to close test '\(test)'") }
    /// `response "x" 12`
    static func planExpectedEndOfLine(_ after: String) -> Message { Message("plan.expectedEndOfLine", .error, "expected the end of the line after \(after)") }
    /// `expect answered X`
    static let planExpectedExpectation = Message(
        "plan.expectedExpectation", .error, "expected 'response', 'outcome', 'called', 'not called', 'variable' or 'refused' after 'expect'")
    /// `test "a" { respond "x" }`
    static let planExpectedItem = Message(
        "plan.expectedItem", .error,
        "expected 'answer', 'result', 'failure', 'expect', 'flow', 'argument', 'config' or 'today' in a test")
    /// `tset "a" { }` at the top level
    static let planExpectedTopLevel = Message("plan.expectedTopLevel", .error, "expected 'test', 'config' or 'today'")
    /// `expect outcome done`
    static let planExpectedOutcome = Message("plan.expectedOutcome", .error, "expected 'success' or 'failure' after 'outcome'")
    /// a plan that does not start with `tests "file.flow"`
    static let planExpectedTests = Message("plan.expectedTests", .error, "a test plan starts with 'tests' and the flow file it tests")
    /// `test paid { … }`, `expect response declined`
    static func planExpectedText(_ after: String) -> Message { Message("plan.expectedText", .error, "expected a text in quotes after \(after)") }
    /// `answer Amount = amount`
    static let planExpectedValue = Message(
        "plan.expectedValue", .error, "expected a value: text, a number, true, false, null, a list or an object")
    /// `tests "missing.flow"`
    static func planFlowNotFound(_ path: String, _ reason: String) -> Message { Message("plan.flowNotFound", .error, "cannot read the flow '\(path)': \(reason)") }
    /// `flow Open Ticket` whose `subject` has no default and no `argument subject = …`
    static func planMissingArgument(_ name: String, _ flow: String) -> Message { Message("plan.missingArgument", .error, "flow '\(flow)' needs a value for its parameter '\(name)'") }
    /// `result Tokenize = { }`
    static func planMissingOutput(_ callee: String, _ outputs: [String]) -> Message {
        Message("plan.missingOutput", .error,
                "the result for '\(callee)' has no value for its output\(outputs.count == 1 ? "" : "s") \(outputs.joined(separator: ", "))")
    }
    /// a plan with no `test`
    static let planNoTests = Message("plan.noTests", .error, "this plan has no tests")
    /// `result Tokenize = { "token": 12 }` where the output is a list, …
    static func planOutputType(_ callee: String, _ output: String, _ type: String, _ kind: String) -> Message { Message("plan.outputType", .error, "output '\(output)' of '\(callee)' takes \(type), not \(kind)") }
    /// `expect called Verify PIN(pin: "1234")`
    static func planSecureArgument(_ name: String) -> Message { Message("plan.secureArgument", .error, "parameter '\(name)' is secure: its value is never recorded, so a test cannot compare it") }
    /// `response "You paid {amount}"` in a plan
    static let planTemplate = Message("plan.template", .error, "a test plan's text cannot hold a '{…}' template")
    /// `expect called StripeCharge(1, 2, 3, 4)`
    static func planTooManyArguments(_ callee: String, _ count: Int) -> Message { Message("plan.tooManyArguments", .error, "'\(callee)' takes \(count) argument\(count == 1 ? "" : "s")") }
    /// `expect called StripeCharge(amout: 4)`
    static func planUnknownArgument(_ name: String, _ callee: String) -> Message { Message("plan.unknownArgument", .error, "'\(callee)' has no parameter '\(name)'") }
    /// `result Tokenise = …`, `expect called Tokenise`
    static func planUnknownCallee(_ what: String, _ name: String) -> Message { Message("plan.unknownCallee", .error, "no \(what) '\(name)' in this flow") }
    /// `config STRIPE_BAS = "…"`
    static func planUnknownConfig(_ name: String) -> Message { Message("plan.unknownConfig", .error, "no config '\(name)' in this flow") }
    /// `flow Triag`
    static func planUnknownFlow(_ name: String) -> Message { Message("plan.unknownFlow", .error, "no flow '\(name)' in this program") }
    /// `result Tokenize = { "tokn": "x" }`
    static func planUnknownOutput(_ callee: String, _ key: String) -> Message { Message("plan.unknownOutput", .error, "'\(callee)' has no output '\(key)'") }
    /// `argument product = "Router"` for a flow without that parameter
    static func planUnknownParameter(_ name: String, _ flow: String) -> Message { Message("plan.unknownParameter", .error, "flow '\(flow)' has no parameter '\(name)'") }
    /// `answer Embeded Payment = 4`
    static func planUnknownQuestion(_ name: String) -> Message { Message("plan.unknownQuestion", .error, "no question '\(name)' in this flow") }
    /// `expect variable amout = 4`
    static func planUnknownVariable(_ name: String, _ flow: String) -> Message { Message("plan.unknownVariable", .error, "flow '\(flow)' has no variable '\(name)'") }

    // MARK: - test.*

    /// `expect called Lock Card` when it never was; `expect called X 2 times` when it was once
    static func testCalled(_ detail: String) -> Message { Message("test.called", .error, detail) }
    /// a page asks a question the test gives no (more) answers for
    static func testNoAnswer(_ question: String) -> Message { Message("test.noAnswer", .error, "no answer for '\(question)'") }
    /// a call of an IP or extension the test gives no (more) results for
    static func testNoResult(_ kind: String, _ name: String) -> Message { Message("test.noResult", .error, "no result for \(kind) '\(name)'") }
    /// `expect refused Amount = 0.10` when the test never reaches the question
    static func testNotAsked(_ question: String) -> Message { Message("test.notAsked", .error, "'\(question)' was never asked, so no answer to it was refused") }
    /// `expect not called Lock Card` when it was
    static func testNotCalled(_ detail: String) -> Message { Message("test.notCalled", .error, detail) }
    /// `expect refused Amount = 4` when the question accepts 4
    static func testNotRefused(_ typed: String, _ question: String) -> Message { Message("test.notRefused", .error, "the answer '\(typed)' for '\(question)' was accepted, not refused") }
    /// `expect outcome success` when the flow failed
    static func testOutcome(_ detail: String) -> Message { Message("test.outcome", .error, detail) }
    /// an answer the flow refused (`answer Embedded Payment = 0.10` below its `min`)
    static func testRefused(_ question: String, _ reason: String) -> Message { Message("test.refused", .error, "the answer for '\(question)' was refused: \(reason)") }
    /// `expect refused Amount = 0.10 "enter at least 1"` when the reason is "enter at least 0.50"
    static func testRefusedReason(_ typed: String, _ question: String) -> Message { Message("test.refusedReason", .error, "the answer '\(typed)' for '\(question)' was refused for another reason") }
    /// `expect response "Thank you."` that no response matched
    static func testResponse(_ detail: String) -> Message { Message("test.response", .error, detail) }
    /// `result Verify PIN = [a, b]` and a third call
    static func testResultsExhausted(_ name: String, _ count: Int) -> Message { Message("test.resultsExhausted", .error, "'\(name)' was called more often than the test gives results (\(count))") }
    /// `expect variable amount = 4.00` when it is 12.50
    static func testVariable(_ detail: String) -> Message { Message("test.variable", .error, detail) }
}
