/// Reads a test plan (`*.flowtest`) into a `PlanSyntax`.
///
/// Design note: a plan is written in the flow language's own tokens, so the flow's `Lexer`
/// reads it (comments, names with spaces, quoted names, text escapes, secret-key scanning all
/// behave exactly as in a flow), and every value after `=` is a flow-language expression read
/// by `Parser.parseEmbeddedExpression`; after it, this parser's lexer starts again where the
/// expression ended. The grammar is line-oriented, as the flow's is: one item a line. A line
/// that goes wrong is reported once and skipped to its end, keeping `{ }` balanced (`recover`);
/// the cursor, names and recovery are the flow parser's own (`TokenCursor.swift`). A test's closing `}` always ends the test. Every loop either consumes a token or leaves. The
/// parser resolves no names: `PlanResolver` matches the plan against the flow.
public struct PlanParser: TokenParser {
    /// The tokens, and the toolkit over them, of the flow parser (`TokenCursor.swift`).
    var cursor: TokenCursor
    /// Diagnostics of lexers already replaced (after an embedded expression).
    private var lexical: [Diagnostic] = []

    static let topLevelWords = ["test", "config", "today"]
    static let itemWords = ["answer", "result", "failure", "expect", "flow", "argument", "config", "today"]
    static let expectWords = ["response", "outcome", "called", "not called", "variable", "refused"]

    private init(file: SourceFile) {
        cursor = TokenCursor(file: file)
    }

    /// Parses a whole plan. Diagnostics of the lexer and the parser come together, each once,
    /// sorted by position.
    public static func parse(_ file: SourceFile) -> (PlanSyntax, [Diagnostic]) {
        var parser = PlanParser(file: file)
        let plan = parser.parsePlan()
        var seen = Set<String>()
        let all = (parser.lexical + parser.cursor.lexer.diagnostics + parser.cursor.diagnostics).filter {
            seen.insert("\($0.id) \($0.range.start) \($0.range.end)").inserted
        }
        return (plan, all.sortedByPosition())
    }

    // MARK: - Lines

    /// Requires the end of an item's line.
    private mutating func endLine(after what: String) {
        endLine(.planExpectedEndOfLine(what))
    }

    // MARK: - Plan and tests

    private mutating func parsePlan() -> PlanSyntax {
        var plan = PlanSyntax(flowPath: nil, settings: [], tests: [])
        skipNewlines()
        if atWord("tests") {
            advance()
            if let path = parseText(after: "'tests'") { plan.flowPath = path }
            endLine(after: "the flow file")
        } else {
            report(.planExpectedTests, at: missingRange, label: found, hint: "tests \"payment.flow\"")
        }
        var names: [String: SourceRange] = [:]
        while true {
            skipNewlines()
            if at(.eof) { break }
            let s = start
            if atWord("test") {
                guard let test = parseTest() else { continue }
                if let first = names[test.name] {
                    report(.planDuplicateTest(test.name), at: test.nameRange,
                           notes: [DiagnosticNote("the first test named '\(test.name)' is here", at: first)])
                } else {
                    names[test.name] = test.nameRange
                }
                plan.tests.append(test)
            } else if atWord("config") || atWord("today") {
                if let item = parseItem() { plan.settings.append(item) }
            } else if atWord("tests") {
                report(.planDuplicateSetting("the flow file"), at: range(of: current), hint: "a plan tests one flow file; write another plan for another file")
                recover()
            } else {
                let word = current.kind == .word ? currentText : ""
                report(.planExpectedTopLevel, at: range(of: current), label: found,
                       hint: Suggest.closest(to: word, in: Self.topLevelWords).map { "did you mean '\($0)'?" }
                           ?? "test \"a card is charged\" {\n  …\n}")
                recover()
                if at(.rightBrace) { advance() }
            }
            if start == s && !at(.eof) { advance() }  // never loop without consuming
        }
        return plan
    }

    /// `test "name" { items }`
    private mutating func parseTest() -> TestSyntax? {
        advance()  // test
        guard let (name, nameRange) = parseText(after: "'test'") else {
            recover()
            return nil
        }
        guard at(.leftBrace) else {
            report(.planExpectedAfter("'{'", "the test's name"), at: missingRange, label: found, hint: "test \"\(name)\" {")
            recover()
            return nil
        }
        let open = range(of: current)
        advance()
        endLine(after: "'{'")
        var test = TestSyntax(name: name, nameRange: nameRange, items: [])
        while true {
            skipNewlines()
            if at(.rightBrace) {
                advance()
                endLine(after: "'}'")
                break
            }
            if at(.eof) {
                report(.planExpectedClosingBrace(name), at: missingRange, notes: [DiagnosticNote("to match this '{'", at: open)])
                break
            }
            let s = start
            if let item = parseItem() { test.items.append(item) }
            if start == s && !atLineEnd { advance() }
        }
        return test
    }

    // MARK: - Items

    /// One line of a test (or a `config`/`today` line of the plan).
    private mutating func parseItem() -> PlanItem? {
        let s = start
        guard current.kind == .word else {
            report(.planExpectedItem, at: range(of: current), label: found)
            recover()
            return nil
        }
        let keyword = currentText
        let kind: PlanItemKind?
        switch keyword {
        case "today":
            advance()
            kind = parseText(after: "'today'").map { .today($0.0, $0.1) }
        case "config", "argument":
            advance()
            guard let name = parseName(keyword == "config" ? "config name" : "parameter name"), expectEquals(after: "the name"),
                let value = parseValue()
            else { kind = nil; break }
            kind = keyword == "config" ? .config(name, value) : .argument(name, value)
        case "flow":
            advance()
            kind = parseName("flow name").map { .flow($0) }
        case "answer":
            advance()
            guard let first = parseName("question name", hint: "answer Embedded Payment.Embedded Payment = \"4.00\"") else {
                kind = nil
                break
            }
            var page: Name?
            var question = first
            if at(.dot) {
                advance()
                guard let q = parseName("question name") else { kind = nil; break }
                page = first
                question = q
            }
            guard expectEquals(after: "the question"), let value = parseValue() else { kind = nil; break }
            kind = .answer(page: page, question: question, value)
        case "result", "failure":
            advance()
            guard let name = parseName("integration point or extension name"), expectEquals(after: "the name"),
                let value = parseValue()
            else { kind = nil; break }
            kind = .result(name, value, isFailure: keyword == "failure")
        case "expect":
            advance()
            kind = parseExpectation().map { .expect($0) }
        default:
            let hint = Suggest.closest(to: keyword, in: Self.itemWords).map { "did you mean '\($0)'?" }
                ?? Suggest.closest(to: keyword, in: Self.expectWords).map { "did you mean 'expect \($0)'?" }
            report(.planExpectedItem, at: range(of: current), label: found, hint: hint)
            kind = nil
        }
        guard let kind else {
            recover()
            return nil
        }
        let item = PlanItem(kind: kind, range: rangeFrom(s))
        endLine(after: "'\(keyword)'")
        return item
    }

    private mutating func parseExpectation() -> ExpectSyntax? {
        if atWord("response") {
            advance()
            let contains = atWord("contains")
            if contains { advance() }
            return parseText(after: contains ? "'contains'" : "'response'").map { .response($0.0, contains: contains) }
        }
        if atWord("outcome") {
            advance()
            let success: Bool
            if atWord("success") {
                success = true
            } else if atWord("failure") {
                success = false
            } else {
                report(.planExpectedOutcome, at: missingRange, label: found, hint: "expect outcome failure \"card declined\"")
                return nil
            }
            advance()
            let contains = atWord("contains")
            if contains { advance() }
            if !contains && atLineEnd { return .outcome(success: success, reason: nil, contains: false) }
            guard let (reason, _) = parseText(after: contains ? "'contains'" : "the outcome") else { return nil }
            return .outcome(success: success, reason: reason, contains: contains)
        }
        if atWord("refused") {
            advance()
            guard let first = parseName("question name", hint: "expect refused Amount = 0.10 \"enter at least 0.50\"") else { return nil }
            var page: Name?
            var question = first
            if at(.dot) {
                advance()
                guard let q = parseName("question name") else { return nil }
                page = first
                question = q
            }
            guard expectEquals(after: "the question"), let value = parseValue() else { return nil }
            let contains = atWord("contains")
            if contains { advance() }
            if !contains && atLineEnd { return .refused(page: page, question: question, value, reason: nil, contains: false) }
            guard let (reason, _) = parseText(after: contains ? "'contains'" : "the answer") else { return nil }
            return .refused(page: page, question: question, value, reason: reason, contains: contains)
        }
        if atWord("variable") {
            advance()
            guard let name = parseName("variable name"), expectEquals(after: "the variable"), let value = parseValue() else { return nil }
            return .variable(name, value)
        }
        var negated = false
        if current.kind == .word && current.keyword == .not {
            negated = true
            advance()
            guard atWord("called") else {
                report(.planExpectedAfter("'called'", "'not'"), at: missingRange, label: found, hint: "expect not called Lock Card")
                return nil
            }
        }
        if atWord("called") {
            advance()
            guard let name = parseName("integration point, extension or flow name", hint: "expect called StripeCharge") else { return nil }
            var arguments: [Argument]?
            if at(.leftParen) {
                guard let parsed = parseArguments() else { return nil }
                arguments = parsed
            }
            var times: Int?
            if negated && at(.number) {
                report(.planExpectedEndOfLine("the name"), at: range(of: current), label: found,
                       hint: "'not called' means no call at all; to count calls: expect called \(name.text) 2 times")
                return nil
            }
            if at(.number) {
                guard let n = Int(currentText) else {
                    report(.planExpectedAfter("a whole number of calls", "the name"), at: range(of: current), label: found)
                    return nil
                }
                advance()
                guard atWord("times") else {
                    report(.planExpectedAfter("'times'", "the number of calls"), at: missingRange, label: found,
                           hint: "expect called \(name.text) \(n) times")
                    return nil
                }
                advance()
                times = n
            }
            return .called(name, arguments: arguments, times: times, negated: negated)
        }
        let word = current.kind == .word ? currentText : ""
        report(.planExpectedExpectation, at: missingRange, label: found,
               hint: Suggest.closest(to: word, in: Self.expectWords).map { "did you mean '\($0)'?" })
        return nil
    }

    /// `( [name ":"] value { "," [name ":"] value } )`; line ends inside are ignored.
    private mutating func parseArguments() -> [Argument]? {
        let open = range(of: current)
        advance()  // (
        var arguments: [Argument] = []
        skipNewlines()
        while !at(.rightParen) && !at(.eof) {
            let s = start
            let label = parseArgumentLabel(stopBeforeTimes: true)
            guard let value = parseValue() else { return nil }
            arguments.append(Argument(label: label, value: value, range: rangeFrom(s)))
            skipNewlines()
            if !at(.comma) { break }
            advance()
            skipNewlines()
        }
        guard at(.rightParen) else {
            report(.planExpectedAfter("')'", "the arguments"), at: missingRange, label: found,
                   notes: [DiagnosticNote("to match this '('", at: open)])
            return nil
        }
        advance()
        return arguments
    }

    // MARK: - Pieces

    private mutating func expectEquals(after what: String) -> Bool {
        expect(.equal, .planExpectedAfter("'='", what))
    }

    /// A text literal without templates: its text and range.
    private mutating func parseText(after what: String) -> (String, SourceRange)? {
        guard at(.string) else {
            report(.planExpectedText(what), at: missingRange, label: found)
            return nil
        }
        guard let value = parseValue() else { return nil }
        switch value.kind {
        case .string(let s): return (s, value.range)
        case .template: report(.planTemplate, at: value.range, hint: "write a literal '{' as '\\{'")
        default: report(.planExpectedText(what), at: value.range, label: "found more than a text")  // "a" + "b"
        }
        return nil
    }

    /// A flow-language expression, read by the flow's parser from the current token on.
    private mutating func parseValue() -> Expr? {
        if at(.newline) || at(.eof) {
            report(.planExpectedValue, at: missingRange, label: found)
            return nil
        }
        let s = start
        let (expression, end, found) = Parser.parseEmbeddedExpression(in: file, from: s)
        cursor.diagnostics += found
        // The current token was lexed by this parser's lexer and again by the expression's.
        lexical += cursor.restart(at: end, previousFrom: s).filter { Int($0.range.start) < s }
        if case .error = expression.kind { return nil }
        return expression
    }

    /// A name as the flow language writes it (`TokenParser.parseName`). A name stops before
    /// `N times` at the end of an `expect called` line.
    private mutating func parseName(_ what: String, hint: String? = nil) -> Name? {
        let missing = Message.planExpectedAfter("a \(what)", "'\(file.text(range(of: cursor.previous)))'")
        return parseName(missing: missing, hint: hint, stopBeforeTimes: true)
    }
}
