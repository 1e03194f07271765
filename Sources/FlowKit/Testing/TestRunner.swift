/// Runs one test of a plan: a `Session` of the flow, hosted in process with the test's answers
/// and canned results (no terminal, no network, no extension process), then its expectations
/// checked against what the session did.
///
/// Design note: the runner is a host like any other; it sees the session only through steps,
/// replies and trace events (`Session.visit` for coverage), plus the final variable values read
/// from the session's state. A test that cannot go on (a question with no answer, a call with no
/// result, a refused answer, a run-time error of the flow) fails at that point and its
/// expectations are not checked; otherwise every expectation is checked and each one not met is
/// a failure of its own, located at its `expect` line.
public enum TestRunner {
    /// Runs `test` against `program`. With a recorder, every element and edge run is recorded.
    public static func run(_ test: TestCase, program: Program, maxSteps: Int = 100_000, coverage: CoverageRecorder? = nil) -> TestResult {
        var options = RuntimeOptions(maxSteps: maxSteps, configs: test.configs, arguments: test.arguments, flow: test.flow)
        if let today = test.today { options.today = { today } }
        let log = RecordedCalls()
        var result = TestResult(name: test.name, range: test.range, failures: [], responses: [], outcome: nil)
        var answers = ScriptCursor(test.answers)
        var results = ScriptCursor(test.results)
        var lastAnswer: [String: SourceRange] = [:]
        /// The `expect refused` lines already tried (by index), each when its question was first asked.
        var refusalsTried = Set<Int>()
        let session: Session
        do throws(RuntimeError) {
            session = try Session(program: program, options: options, trace: { event in
                if case .call(let kind, let name, let arguments, _) = event { log.calls.append(RecordedCall(kind: kind, name: name, arguments: arguments)) }
            })
            if let coverage { session.visit = { coverage.record($0) } }
            var step = try session.start()
            running: while true {
                result.responses += step.responses
                let reply: Reply
                switch step.step {
                case .finished(let outcome):
                    result.outcome = outcome
                    break running
                case .ask(let page):
                    if let refused = page.questions.first(where: { page.problems[$0.name] != nil }) {
                        result.failures.append(TestFailure(
                            Diagnostic(.testRefused(refused.reference, page.problems[refused.name]!), at: lastAnswer[refused.reference] ?? test.range)))
                        return result
                    }
                    for q in page.questions {
                        tryRefusals(q, test, &refusalsTried, &result)
                    }
                    var typed: [String: String] = [:]
                    for q in page.questions {
                        switch answers.next(q.reference) {
                        case .value(let text, let range):
                            typed[q.reference] = text
                            lastAnswer[q.reference] = range
                        case .none where q.defaultValue != nil || q.optional:
                            typed[q.reference] = ""  // takes the default, or leaves it unanswered
                        case .none:
                            result.failures.append(TestFailure(
                                Diagnostic(.testNoAnswer(q.reference), at: test.range, hint: "answer \(q.reference) = \(example(q))")))
                            return result
                        case .exhausted(let count):
                            result.failures.append(TestFailure(
                                Diagnostic(.testNoAnswer(q.reference), at: test.range,
                                           hint: "'\(q.reference)' is asked more often than the test gives answers (\(count)); give one answer per asking")))
                            return result
                        }
                    }
                    reply = .answers(typed)
                case .callIP(let call), .runExtension(let call):
                    let isIP: Bool
                    if case .callIP = step.step { isIP = true } else { isIP = false }
                    switch results.next(call.name) {
                    case .value(let canned, _):
                        reply = canned
                    case .none:
                        let outputs = isIP ? program.integrationPoints[call.index].outputs : program.extensions[call.index].outputs
                        let example = "{ " + outputs.map { "\"\($0.name)\": …" }.joined(separator: ", ") + " }"
                        result.failures.append(TestFailure(
                            Diagnostic(.testNoResult(isIP ? "integration point" : "extension", call.name), at: test.range,
                                       hint: "result \(call.name) = \(example)")))
                        return result
                    case .exhausted(let count):
                        result.failures.append(TestFailure(
                            Diagnostic(.testResultsExhausted(call.name, count), at: test.range, hint: "give one result per call, in order")))
                        return result
                    }
                }
                step = try session.resume(reply)
            }
        } catch {
            result.failures.append(TestFailure(error.diagnostic))
            return result
        }
        result.steps = session.state.steps
        check(test, session, log.calls, &result)
        for (k, e) in test.expectations.enumerated() where !refusalsTried.contains(k) {
            if case .refused(let reference, _, _, _) = e.kind {
                result.failures.append(TestFailure(Diagnostic(.testNotAsked(reference), at: e.range)))
            }
        }
        return result
    }

    /// Tries each `expect refused` answer for `q` that was not tried yet: the question, as it is
    /// asked now, must refuse it, as the session's answer reader (`AnswerParser`) does, and for
    /// the reason given.
    private static func tryRefusals(_ q: QuestionRequest, _ test: TestCase, _ tried: inout Set<Int>, _ result: inout TestResult) {
        for (k, e) in test.expectations.enumerated() where !tried.contains(k) {
            guard case .refused(let reference, let typed, let reason, let contains) = e.kind, reference == q.reference else { continue }
            tried.insert(k)
            let shown = q.type == .password ? "****" : typed
            switch AnswerParser.parse(typed, for: q) {
            case .success:
                result.failures.append(TestFailure(
                    Diagnostic(.testNotRefused(shown, reference), at: e.range),
                    expected: "refused" + (reason.map { (contains ? " for a reason containing " : ": ") + quote($0) } ?? ""),
                    actual: "accepted"))
            case .failure(let problem):
                guard let reason else { continue }
                if contains ? problem.message.contains(reason) : problem.message == reason { continue }
                result.failures.append(TestFailure(
                    Diagnostic(.testRefusedReason(shown, reference), at: e.range),
                    expected: (contains ? "a reason containing " : "") + quote(reason), actual: quote(problem.message)))
            }
        }
    }

    // MARK: - Expectations

    private static func check(_ test: TestCase, _ session: Session, _ calls: [RecordedCall], _ result: inout TestResult) {
        guard let outcome = result.outcome else { return }
        var nextResponse = 0
        for e in test.expectations {
            switch e.kind {
            case .response(let text, let contains):
                let rest = result.responses.indices.filter { $0 >= nextResponse }
                if let k = rest.first(where: { contains ? result.responses[$0].contains(text) : result.responses[$0] == text }) {
                    nextResponse = k + 1
                    continue
                }
                let after = nextResponse > 0 ? " after the one matched before" : ""
                let headline = contains ? "no response\(after) contains \(quote(text))" : "no response\(after) is \(quote(text))"
                let actual = rest.isEmpty ? "no responses" : rest.map { quote(result.responses[$0]) }.joined(separator: "\n")
                result.failures.append(TestFailure(
                    Diagnostic(.testResponse(headline), at: e.range),
                    expected: (contains ? "a response containing " : "a response ") + quote(text), actual: actual))
            case .outcome(let success, let reason, let contains):
                let reasonOK: Bool
                if let reason {
                    reasonOK = contains ? (outcome.reason ?? "").contains(reason) : outcome.reason == reason
                } else {
                    reasonOK = true
                }
                guard outcome.success != success || !reasonOK else { continue }
                let headline = outcome.success != success
                    ? "the flow finished with \(word(outcome.success)), not \(word(success))"
                    : "the flow finished with \(word(success)) for another reason"
                var expected = word(success)
                if let reason { expected += (contains ? " containing " : " ") + quote(reason) }
                result.failures.append(TestFailure(
                    Diagnostic(.testOutcome(headline), at: e.range), expected: expected, actual: describe(outcome)))
            case .called(let name, let arguments, let times, let negated):
                let all = calls.filter { $0.name == name }
                let matching = all.filter { call in
                    arguments.allSatisfy { a in
                        guard let given = call.arguments.first(where: { $0.name == a.name }), let v = given.value else { return false }
                        return PlanValues.matches(a.value, v)
                    }
                }
                let expected = arguments.isEmpty ? "'\(name)'" : "\(name)(" + arguments.map { "\($0.name): \(PlanValues.display($0.value))" }.joined(separator: ", ") + ")"
                let actual = all.isEmpty ? "'\(name)' was never called" : all.map(\.description).joined(separator: "\n")
                let withThese = arguments.isEmpty ? "" : " with these arguments"
                if negated {
                    guard !matching.isEmpty else { continue }
                    result.failures.append(TestFailure(
                        Diagnostic(.testNotCalled("'\(name)' was called\(withThese)\(matching.count > 1 ? " \(matching.count) times" : "")"), at: e.range),
                        expected: "no call of \(expected)", actual: actual))
                } else if let times {
                    guard matching.count != times else { continue }
                    result.failures.append(TestFailure(
                        Diagnostic(.testCalled("'\(name)' was called\(withThese) \(count(matching.count)), not \(count(times))"), at: e.range),
                        expected: "\(expected) called \(count(times))", actual: actual))
                } else {
                    guard matching.isEmpty else { continue }
                    let headline = all.isEmpty ? "'\(name)' was never called" : "no call of '\(name)' had these arguments"
                    result.failures.append(TestFailure(
                        Diagnostic(.testCalled(headline), at: e.range), expected: "a call of \(expected)", actual: actual))
                }
            case .refused:
                continue  // tried when its question was asked
            case .variable(let name, let slot, let value):
                let actual: Value?
                switch slot {
                case .local(let s):
                    let frame = session.state.frames.first
                    actual = frame.flatMap { s < $0.locals.count ? $0.locals[s] : nil }
                case .session(let i):
                    actual = i < session.state.sessionValues.count ? session.state.sessionValues[i] : nil
                }
                if let actual, PlanValues.matches(value, actual) { continue }
                let headline = actual == nil ? "variable '\(name)' was never set" : "variable '\(name)' has another value"
                result.failures.append(TestFailure(
                    Diagnostic(.testVariable(headline), at: e.range),
                    expected: PlanValues.display(value), actual: actual.map(PlanValues.display) ?? "not set"))
            }
        }
    }

    private static func word(_ success: Bool) -> String { success ? "success" : "failure" }

    private static func describe(_ outcome: Outcome) -> String {
        word(outcome.success) + (outcome.reason.map { " " + quote($0) } ?? "")
    }

    private static func count(_ n: Int) -> String { n == 1 ? "once" : "\(n) times" }

    private static func quote(_ s: String) -> String { JSONText.quote(s) }

    /// An answer that would do, for the "no answer" hint.
    private static func example(_ q: QuestionRequest) -> String {
        switch q.type {
        case .number, .currency: "12.50"
        case .yesno: "true"
        case .date: "\"2024-03-31\""
        case .choice, .choices: q.options.first.map(quote) ?? "\"…\""
        case .email: "\"ann@example.com\""
        default: "\"…\""
        }
    }
}

/// One test's result.
public struct TestResult: Sendable {
    public var name: String
    /// The range of the test's name in the plan.
    public var range: SourceRange
    /// Empty when the test passed.
    public var failures: [TestFailure]
    /// The responses shown, in order.
    public var responses: [String]
    /// Nil when the run stopped before the flow finished.
    public var outcome: Outcome?
    public var steps = 0

    public var passed: Bool { failures.isEmpty }
}

/// Why a test failed: a diagnostic (`test.*` at the expectation or the test, or the flow's own
/// run-time error where it happened) and, for an expectation, what was expected and what was
/// found, as text.
public struct TestFailure: Sendable {
    public var diagnostic: Diagnostic
    public var expected: String?
    public var actual: String?

    public init(_ diagnostic: Diagnostic, expected: String? = nil, actual: String? = nil) {
        self.diagnostic = diagnostic
        self.expected = expected
        self.actual = actual
    }
}

/// A call the session made, from its trace (secure arguments are nil there).
struct RecordedCall: CustomStringConvertible {
    var kind: String
    var name: String
    var arguments: [(name: String, value: Value?)]

    var description: String {
        "\(name)(" + arguments.map { "\($0.name): \($0.value.map(PlanValues.display) ?? "***")" }.joined(separator: ", ") + ")"
    }
}

/// Collects the calls of one run (the trace closure's box).
final class RecordedCalls {
    var calls: [RecordedCall] = []
}

/// Values as a plan writes them, and how a plan's expected value matches a run's.
public enum PlanValues {
    /// `"text"`, `4.5`, `true`, `null`, `["a", "b"]`, `{ "id": "ch_1" }` (keys sorted).
    public static func display(_ v: Value) -> String {
        switch v {
        case .text(let s), .date(let s): JSONText.quote(s)
        case .number(let n): n.description
        case .bool(let b): b ? "true" : "false"
        case .null: "null"
        case .list(let items): "[" + items.map(display).joined(separator: ", ") + "]"
        case .object(let fields):
            fields.isEmpty ? "{}" : "{ " + fields.keys.sorted().map { "\(JSONText.quote($0)): \(display(fields[$0]!))" }.joined(separator: ", ") + " }"
        }
    }

    /// Equal values; numbers by value (`4.00` matches `4`), a date by its `yyyy-mm-dd` text.
    public static func matches(_ expected: Value, _ actual: Value) -> Bool {
        switch (expected, actual) {
        case (.text(let a), .date(let b)), (.date(let a), .text(let b)), (.date(let a), .date(let b)): return a == b
        case (.list(let a), .list(let b)):
            return a.count == b.count && zip(a, b).allSatisfy { matches($0, $1) }
        case (.object(let a), .object(let b)):
            return a.count == b.count && a.allSatisfy { k, v in b[k].map { matches(v, $0) } ?? false }
        default:
            return expected == actual
        }
    }
}
