/// Matches a plan's syntax against the compiled flow: every name (question, IP, extension,
/// flow, parameter, config, variable) must exist, with "did you mean"; every value must be a
/// constant (no names, operators or templates) of a shape that fits where it goes: a result
/// gives every declared output with the output's type, a failure has a message, an answer is
/// what could be typed. Each problem is a located `plan.*` diagnostic; a plan with any is not run.
struct PlanResolver {
    let program: Program
    let sources: SourceManager
    var diagnostics: [Diagnostic] = []
    /// Every question's `Page.Question`, and lone questions by their name: made on first use.
    var questionIndex: QuestionIndex?

    struct QuestionIndex {
        var references: [String]
        var known: Set<String>
        var lone: [String: String]
    }

    init(program: Program, sources: SourceManager) {
        self.program = program
        self.sources = sources
    }

    private mutating func report(_ message: Message, _ range: SourceRange, notes: [DiagnosticNote] = [], hint: String? = nil) {
        diagnostics.append(Diagnostic(message, at: range, notes: notes, hint: hint))
    }

    private static func didYouMean(_ name: String, _ known: [String], _ what: String) -> String {
        if let match = Suggest.closest(to: name, in: known) { return "did you mean '\(match)'?" }
        if known.isEmpty { return "this flow has no \(what)" }
        let shown = known.prefix(12).map { "'\($0)'" }.joined(separator: ", ")
        return "the \(what) are: \(shown)\(known.count > 12 ? ", …" : "")"
    }

    mutating func resolve(_ syntax: PlanSyntax, planPath: String, flowPath: String) -> TestPlan {
        var plan = TestPlan(path: planPath, flowPath: flowPath, tests: [])
        for test in syntax.tests {
            plan.tests.append(resolve(test, settings: syntax.settings))
        }
        return plan
    }

    // MARK: - One test

    private mutating func resolve(_ test: TestSyntax, settings: [PlanItem]) -> TestCase {
        var result = TestCase(name: test.name, range: test.nameRange, flow: nil, arguments: [:], configs: [:], today: nil,
                              answers: [:], results: [:], expectations: [])
        let items = settings + test.items
        // The flow comes first: arguments and variables are its own.
        var flowIndex = program.entry
        var flowGiven: SourceRange?
        for item in test.items {
            guard case .flow(let name) = item.kind else { continue }
            if let first = flowGiven {
                report(.planDuplicateSetting("the flow to run"), item.range, notes: [DiagnosticNote("it is given here", at: first)])
                continue
            }
            flowGiven = item.range
            if let i = program.flows.firstIndex(where: { $0.name == name.text }) {
                flowIndex = i
                result.flow = name.text
            } else {
                report(.planUnknownFlow(name.text), name.range, hint: Self.didYouMean(name.text, program.flows.map(\.name), "flows"))
            }
        }
        let flow = program.flows.indices.contains(flowIndex) ? program.flows[flowIndex] : nil
        /// Parameters given a value, right or wrong (a wrong one is not also "missing").
        var given = Set<String>()
        var answerLines: [String: [(String, SourceRange, fromList: Bool)]] = [:]
        var resultLines: [String: [(Reply, SourceRange, fromList: Bool)]] = [:]
        for item in items {
            switch item.kind {
            case .flow:
                break
            case .today(let text, let range):
                if CalendarDate(iso: text) == nil {
                    report(.planBadToday, range, hint: "today \"2024-06-01\"")
                } else {
                    result.today = text
                }
            case .config(let name, let expr):
                guard let config = program.configs.first(where: { $0.name == name.text }) else {
                    report(.planUnknownConfig(name.text), name.range, hint: Self.didYouMean(name.text, program.configs.map(\.name), "configs"))
                    continue
                }
                guard let value = constant(expr) else { continue }
                let text = Self.optionText(value)
                guard Value.text(text).coerced(to: config.type) != nil else {
                    report(.planConfigType(name.text, Self.article(config.type)), expr.range)
                    continue
                }
                result.configs[name.text] = text
            case .argument(let name, let expr):
                guard let flow else { continue }
                guard let parameter = flow.parameters.first(where: { $0.name == name.text }) else {
                    report(.planUnknownParameter(name.text, flow.name), name.range,
                           hint: Self.didYouMean(name.text, flow.parameters.map(\.name), "parameters"))
                    continue
                }
                given.insert(name.text)
                guard let value = constant(expr) else { continue }
                let text = Self.optionText(value)
                guard Value.text(text).coerced(to: parameter.type) != nil else {
                    report(.planArgumentType(name.text, Self.article(parameter.type)), expr.range)
                    continue
                }
                result.arguments[name.text] = text
            case .answer(let page, let question, let expr):
                guard let reference = questionReference(page, question) else { continue }
                guard let value = constant(expr) else { continue }
                guard let typed = answers(value, expr, reference) else { continue }
                answerLines[reference, default: []] += typed
            case .result(let name, let expr, let isFailure):
                guard let callee = callee(name) else { continue }
                guard let value = constant(expr) else { continue }
                guard let replies = replies(value, expr, name.text, callee, isFailure: isFailure) else { continue }
                resultLines[name.text, default: []] += replies
            case .expect(let e):
                if let expectation = expectation(e, item.range, flow) { result.expectations.append(expectation) }
            }
        }
        if let flow {
            for p in flow.parameters where p.defaultValue == nil && !given.contains(p.name) {
                report(.planMissingArgument(p.name, flow.name), test.nameRange, hint: "argument \(p.name) = \(Self.example(p.type))")
            }
        }
        for (name, lines) in answerLines {
            result.answers[name] = Scripted(values: lines.map { ($0.0, $0.1) }, repeats: lines.count == 1 && !lines[0].fromList)
        }
        for (name, lines) in resultLines {
            result.results[name] = Scripted(values: lines.map { ($0.0, $0.1) }, repeats: lines.count == 1 && !lines[0].fromList)
        }
        return result
    }

    // MARK: - Values

    /// The constant an expression spells, or nil (reported) when it is not one.
    private mutating func constant(_ e: Expr) -> Value? {
        switch e.kind {
        case .string(let s): return .text(s)
        case .template:
            report(.planTemplate, e.range, hint: "write a literal '{' as '\\{'")
            return nil
        case .number(let text):
            guard let n = Number(parsing: text) else { report(.planExpectedValue, e.range); return nil }
            return .number(n)
        case .unary(.negate, let inner):
            if case .number(let text) = inner.kind, let n = Number(parsing: "-" + text) { return .number(n) }
            report(.planExpectedValue, e.range, hint: "a negative number is written -5")
            return nil
        case .bool(let b): return .bool(b)
        // As at a terminal, yes and no answer a yes/no question.
        case .name(let n) where ["yes", "no"].contains(n.lowercased()):
            return .bool(n.lowercased() == "yes")
        case .null: return .null
        case .list(let items):
            var values: [Value] = []
            for item in items {
                guard let v = constant(item) else { return nil }
                values.append(v)
            }
            return .list(values)
        case .object(let fields):
            var values: [String: Value] = [:]
            for f in fields {
                guard let v = constant(f.value) else { return nil }
                values[f.key] = v
            }
            return .object(values)
        case .error:
            return nil
        case .name, .member, .index, .call, .unary, .binary:
            report(.planExpectedValue, e.range, hint: "a test plan holds values only: \"pm_card_visa\", 4.00, true, [\"a\", \"b\"], { \"id\": \"ch_1\" }")
            return nil
        }
    }

    /// How a config or parameter value is given to the session (as `--define` and `--arg` are).
    private static func optionText(_ v: Value) -> String {
        switch v {
        case .text(let s), .date(let s): s
        case .number(let n): n.description
        case .bool(let b): b ? "true" : "false"
        case .null: ""
        case .list, .object: v.jsonText()
        }
    }

    private static func article(_ type: ValueType) -> String {
        switch type {
        case .number, .currency: "a number"
        case .bool: "true or false"
        case .date: "a date as \"yyyy-mm-dd\""
        case .list: "a list"
        case .object, .record: "an object"
        default: "text"
        }
    }

    private static func example(_ type: ValueType) -> String {
        switch type {
        case .number, .currency: "12.50"
        case .bool: "true"
        case .date: "\"2024-03-31\""
        case .list: "[\"a\", \"b\"]"
        case .object, .record: "{ \"a\": 1 }"
        default: "\"text\""
        }
    }

    // MARK: - Answers

    /// `Page.Question`, or a lone question's name alone, as the reference the session uses.
    private mutating func questionReference(_ page: Name?, _ question: Name) -> String? {
        // The program's questions, gathered once per plan: gathered for every answer, a plan
        // answering each question of a large flow took time quadratic in the flow.
        if questionIndex == nil {
            var references: [String] = []
            var lone: [String: String] = [:]
            for flow in program.flows {
                for p in flow.pages {
                    for q in p.questions { references.append(q.reference) }
                    if p.isLoneQuestion, let q = p.questions.first { lone[q.name] = q.reference }
                }
            }
            questionIndex = QuestionIndex(references: references, known: Set(references), lone: lone)
        }
        let references = questionIndex!.references
        let lone = questionIndex!.lone
        let written = page.map { "\($0.text).\(question.text)" } ?? question.text
        let range = page.map { $0.range.union(question.range) } ?? question.range
        if page != nil, questionIndex!.known.contains(written) { return written }
        if page == nil, let reference = lone[written] { return reference }
        let hint: String
        if page == nil, references.contains(where: { $0.hasSuffix(".\(written)") }) {
            let full = references.first(where: { $0.hasSuffix(".\(written)") })!
            hint = "a question on a page is named with its page: answer \(full) = …"
        } else {
            hint = Self.didYouMean(written, references + lone.keys.sorted(), "questions")
        }
        report(.planUnknownQuestion(written), range, hint: hint)
        return nil
    }

    /// What would be typed: text as is, a number as written, true/false as yes/no, null as
    /// nothing (the default); a list gives one answer per asking, a list in it the picks of a
    /// `choices` question.
    private mutating func answers(_ value: Value, _ expr: Expr, _ reference: String) -> [(String, SourceRange, fromList: Bool)]? {
        if case .list(let items) = value {
            guard !items.isEmpty else { report(.planEmptyList, expr.range); return nil }
            var out: [(String, SourceRange, fromList: Bool)] = []
            let parts: [Expr]
            if case .list(let exprs) = expr.kind { parts = exprs } else { parts = [] }
            for (k, item) in items.enumerated() {
                let part = k < parts.count ? parts[k] : expr
                if case .list(let picks) = item {
                    var typed: [String] = []
                    for (j, p) in picks.enumerated() {
                        var pickExpr = part
                        if case .list(let pe) = part.kind, j < pe.count { pickExpr = pe[j] }
                        guard let t = typedAnswer(p, pickExpr, reference) else { return nil }
                        typed.append(t)
                    }
                    out.append((typed.joined(separator: ", "), part.range, fromList: true))
                } else {
                    guard let t = typedAnswer(item, part, reference) else { return nil }
                    out.append((t, part.range, fromList: true))
                }
            }
            return out
        }
        guard let t = typedAnswer(value, expr, reference) else { return nil }
        return [(t, expr.range, fromList: false)]
    }

    private mutating func typedAnswer(_ value: Value, _ expr: Expr, _ reference: String) -> String? {
        switch value {
        case .text(let s): return s
        case .number(let n):
            // As written: `4.00` is typed "4.00".
            switch expr.kind {
            case .number(let text): return text
            case .unary(.negate, let inner): if case .number(let text) = inner.kind { return "-" + text }
            default: break
            }
            return n.description
        case .bool(let b): return b ? "yes" : "no"
        case .null: return ""
        case .date(let s): return s
        case .list, .object:
            report(.planAnswerShape(reference, value.kindName), expr.range,
                   hint: "a list gives one answer per time the question is asked: answer PIN = [\"0000\", \"1234\"]")
            return nil
        }
    }

    // MARK: - Results and failures

    private enum Callee {
        case ip(Int)
        case `extension`(Int)
    }

    private mutating func callee(_ name: Name) -> Callee? {
        if let i = program.integrationPoints.firstIndex(where: { $0.name == name.text }) { return .ip(i) }
        if let i = program.extensions.firstIndex(where: { $0.name == name.text }) { return .extension(i) }
        var hint = Self.didYouMean(name.text, program.integrationPoints.map(\.name) + program.extensions.map(\.name),
                                   "integration points and extensions")
        if program.flows.contains(where: { $0.name == name.text }) {
            hint = "'\(name.text)' is a flow: it runs, so it takes no canned result"
        }
        report(.planUnknownCallee("integration point or extension", name.text), name.range, hint: hint)
        return nil
    }

    private mutating func replies(_ value: Value, _ expr: Expr, _ name: String, _ callee: Callee, isFailure: Bool)
        -> [(Reply, SourceRange, fromList: Bool)]?
    {
        if case .list(let items) = value {
            guard !items.isEmpty else { report(.planEmptyList, expr.range); return nil }
            var parts: [Expr] = []
            if case .list(let exprs) = expr.kind { parts = exprs }
            var out: [(Reply, SourceRange, fromList: Bool)] = []
            for (k, item) in items.enumerated() {
                let part = k < parts.count ? parts[k] : expr
                guard let reply = reply(item, part, name, callee, isFailure: isFailure) else { return nil }
                out.append((reply, part.range, fromList: true))
            }
            return out
        }
        guard let reply = reply(value, expr, name, callee, isFailure: isFailure) else { return nil }
        return [(reply, expr.range, fromList: false)]
    }

    private mutating func reply(_ value: Value, _ expr: Expr, _ name: String, _ callee: Callee, isFailure: Bool) -> Reply? {
        let outputs: [OutputInfo]
        let isIP: Bool
        switch callee {
        case .ip(let i): outputs = program.integrationPoints[i].outputs; isIP = true
        case .extension(let i): outputs = program.extensions[i].outputs; isIP = false
        }
        guard case .object(let fields) = value else {
            let what = isFailure ? "a failure is an object with a message: { \"message\": \"…\" }" : "a result is an object of outputs: "
                + Self.exampleResult(outputs)
            report(.planExpectedValue, expr.range, hint: what)
            return nil
        }
        // Where a field's value is written, for pointing at it.
        var fieldRanges: [String: SourceRange] = [:]
        if case .object(let fs) = expr.kind { for f in fs { fieldRanges[f.key] = f.keyRange.union(f.value.range) } }
        if isFailure { return failure(fields, expr, fieldRanges, isIP: isIP) }
        var ok = true
        for key in fields.keys.sorted() where !outputs.contains(where: { $0.name == key }) {
            report(.planUnknownOutput(name, key), fieldRanges[key] ?? expr.range,
                   hint: Self.didYouMean(key, outputs.map(\.name), "outputs"))
            ok = false
        }
        let missing = outputs.filter { fields[$0.name] == nil }.map { "'\($0.name)'" }
        if !missing.isEmpty {
            report(.planMissingOutput(name, missing), expr.range, hint: "a result gives every output: " + Self.exampleResult(outputs))
            ok = false
        }
        var typed: [String: Value] = [:]
        for output in outputs {
            guard let v = fields[output.name] else { continue }
            // Null fits any output, as the session allows (an API may answer null).
            guard let t = v == .null ? .null : v.coerced(to: output.type) else {
                report(.planOutputType(name, output.name, Self.article(output.type), v.kindName), fieldRanges[output.name] ?? expr.range)
                ok = false
                continue
            }
            typed[output.name] = t
        }
        return ok ? .result(typed) : nil
    }

    private mutating func failure(_ f: [String: Value], _ expr: Expr, _ ranges: [String: SourceRange], isIP: Bool) -> Reply? {
        let fields = ["kind", "message", "status", "code", "body"]
        for key in f.keys.sorted() where !fields.contains(key) {
            report(.planBadFailure("it has no field '\(key)'"), ranges[key] ?? expr.range,
                   hint: Suggest.closest(to: key, in: fields).map { "did you mean '\($0)'?" } ?? "its fields are kind, message, status, code and body")
            return nil
        }
        guard case .text(let message)? = f["message"] else {
            report(.planBadFailure("it needs a 'message' (text)"), ranges["message"] ?? expr.range,
                   hint: "{ \"status\": 402, \"message\": \"Your card was declined.\" }")
            return nil
        }
        var status: Int?
        switch f["status"] {
        case nil, .null?: break
        case .number(let n)?:
            guard let s = n.intValue else { report(.planBadFailure("'status' should be a whole number"), ranges["status"] ?? expr.range); return nil }
            status = s
        default:
            report(.planBadFailure("'status' should be a number"), ranges["status"] ?? expr.range)
            return nil
        }
        var code: String?
        switch f["code"] {
        case nil, .null?: break
        case .text(let c)?: code = c
        default:
            report(.planBadFailure("'code' should be text"), ranges["code"] ?? expr.range)
            return nil
        }
        let kind: String
        switch f["kind"] {
        case .text(let k)?: kind = k
        case nil, .null?: kind = status != nil ? "http" : (isIP ? "connection" : "extension")
        default:
            report(.planBadFailure("'kind' should be text"), ranges["kind"] ?? expr.range)
            return nil
        }
        return .failure(CallFailure(kind: kind, message: message, status: status, code: code, body: f["body"]))
    }

    private static func exampleResult(_ outputs: [OutputInfo]) -> String {
        "{ " + outputs.map { "\"\($0.name)\": \(example($0.type))" }.joined(separator: ", ") + " }"
    }

    // MARK: - Expectations

    private mutating func expectation(_ e: ExpectSyntax, _ range: SourceRange, _ flow: FlowGraph?) -> Expectation? {
        switch e {
        case .response(let text, let contains):
            return Expectation(kind: .response(text, contains: contains), range: range)
        case .outcome(let success, let reason, let contains):
            return Expectation(kind: .outcome(success: success, reason: reason, contains: contains), range: range)
        case .refused(let page, let question, let expr, let reason, let contains):
            guard let reference = questionReference(page, question), let value = constant(expr),
                  let typed = typedAnswer(value, expr, reference) else { return nil }
            return Expectation(kind: .refused(reference: reference, typed: typed, reason: reason, contains: contains), range: range)
        case .variable(let name, let expr):
            guard let flow else { return nil }
            let slot: VariableRef
            if let i = flow.variables.firstIndex(of: name.text) {
                slot = .local(i)
            } else if let i = program.sessionVariables.firstIndex(where: { $0.name == name.text }) {
                slot = .session(i)
            } else {
                report(.planUnknownVariable(name.text, flow.name), name.range,
                       hint: Self.didYouMean(name.text, flow.variables + program.sessionVariables.map(\.name), "variables"))
                return nil
            }
            guard let value = constant(expr) else { return nil }
            return Expectation(kind: .variable(name: name.text, slot: slot, value: value), range: range)
        case .called(let name, let arguments, let times, let negated):
            let parameters: [ParameterInfo]
            if let ip = program.integrationPoints.first(where: { $0.name == name.text }) {
                parameters = ip.parameters
            } else if let ext = program.extensions.first(where: { $0.name == name.text }) {
                parameters = ext.parameters
            } else if let f = program.flows.first(where: { $0.name == name.text }) {
                parameters = f.parameters
            } else {
                let known = program.integrationPoints.map(\.name) + program.extensions.map(\.name) + program.flows.map(\.name)
                report(.planUnknownCallee("integration point, extension or flow", name.text), name.range,
                       hint: Self.didYouMean(name.text, known, "integration points, extensions and flows"))
                return nil
            }
            var expected: [(name: String, value: Value)] = []
            var ok = true
            for (k, a) in (arguments ?? []).enumerated() {
                let parameter: ParameterInfo
                if let label = a.label {
                    guard let p = parameters.first(where: { $0.name == label.text }) else {
                        report(.planUnknownArgument(label.text, name.text), label.range,
                               hint: Self.didYouMean(label.text, parameters.map(\.name), "parameters"))
                        ok = false
                        continue
                    }
                    parameter = p
                } else {
                    guard k < parameters.count else {
                        // Once, from the first argument too many to the last.
                        let extra = arguments!.last!.range
                        report(.planTooManyArguments(name.text, parameters.count), SourceRange(file: a.range.file, start: Int(a.range.start), end: Int(extra.end)),
                               hint: parameters.isEmpty ? nil : "\(name.text)(\(parameters.map(\.name).joined(separator: ", ")))")
                        ok = false
                        break
                    }
                    parameter = parameters[k]
                }
                if parameter.type == .secure {
                    report(.planSecureArgument(parameter.name), a.range, hint: "leave it out; the other arguments are still compared")
                    ok = false
                    continue
                }
                guard let value = constant(a.value) else { ok = false; continue }
                expected.append((parameter.name, value))
            }
            guard ok else { return nil }
            return Expectation(kind: .called(name: name.text, arguments: expected, times: times, negated: negated), range: range)
        }
    }
}
