/// Reads tokens into a `SourceFileSyntax`.
///
/// Design note (after swift-syntax's Parser and jlox):
/// - Recursive descent, one token of lookahead (`current`); where the grammar needs more (a named
///   argument `name: value`, an `on error` or `else` on the next line) the parser copies the lexer,
///   looks, and restores the copy. The lexer is a value, so a look-ahead costs no allocation.
/// - The parser never stops at the first error. A statement that goes wrong is reported once and
///   the parser skips to the end of its line (`recover`), keeping `{ }` balanced, then goes on.
///   Every loop either consumes a token or leaves it; each `while` below is checked to advance.
/// - Nesting (blocks, parentheses, templates inside templates, and chains of operators, `.field` and
///   `[index]`, which nest the tree as deep as they are long) is capped at `maxDepth`; deeper input
///   gets one diagnostic and is skipped without recursion, so no input can overflow the stack.
/// - Positions: each node's range runs from its first token's start to its last token's end.
public struct Parser {
    public static let maxDepth = 100

    private var lexer: Lexer
    private var current: Token
    /// End offset of the token consumed last, for node ranges.
    private var previousEnd: Int = 0
    private var depth = 0
    /// Expression nesting, counted apart from block nesting.
    private var expressionDepth = 0
    private var reportedTooDeep = false
    private var diagnostics: [Diagnostic] = []
    private let file: SourceFile

    public init(file: SourceFile) {
        self.file = file
        self.lexer = Lexer(file: file)
        self.current = lexer.next()
    }

    private init(file: SourceFile, start: Int, end: Int, depth: Int) {
        self.file = file
        self.lexer = Lexer(file: file, start: start, end: end)
        self.current = lexer.next()
        self.expressionDepth = depth
        self.previousEnd = start
    }

    /// Parses a whole file. Diagnostics from the lexer and the parser are returned together.
    public static func parse(_ file: SourceFile) -> (SourceFileSyntax, [Diagnostic]) {
        var parser = Parser(file: file)
        let syntax = parser.parseFile()
        return (syntax, parser.lexer.diagnostics + parser.diagnostics)
    }

    // MARK: - Token helpers

    private func range(_ start: Int, _ end: Int) -> SourceRange { file.range(start, end) }
    private func range(of token: Token) -> SourceRange { file.range(Int(token.start), Int(token.end)) }
    private func rangeFrom(_ start: Int) -> SourceRange { file.range(start, max(start, previousEnd)) }
    private var start: Int { Int(current.start) }

    private mutating func advance() {
        if current.kind != .eof {
            previousEnd = Int(current.end)
            current = lexer.next()
        }
    }

    private func at(_ kind: TokenKind) -> Bool { current.kind == kind }
    private func at(_ keyword: Keyword) -> Bool { current.kind == .word && current.keyword == keyword }

    /// True when the current token is the word spelled by `bytes`.
    private func atWord(_ bytes: [UInt8]) -> Bool {
        guard current.kind == .word, Int(current.end - current.start) == bytes.count else { return false }
        let buf = file.bytes
        var i = 0
        while i < bytes.count {
            if buf[Int(current.start) + i] != bytes[i] { return false }
            i += 1
        }
        return true
    }

    /// True when the current token is the word `text` (a contextual keyword).
    private func atWord(_ text: StaticString) -> Bool {
        guard current.kind == .word else { return false }
        let count = Int(current.end - current.start)
        guard count == text.utf8CodeUnitCount else { return false }
        let buf = file.bytes
        let p = text.utf8Start
        for i in 0..<count where buf[Int(current.start) + i] != p[i] { return false }
        return true
    }

    private var currentText: String { file.text(range(of: current)) }

    @discardableResult
    private mutating func match(_ kind: TokenKind) -> Bool {
        if at(kind) { advance(); return true }
        return false
    }

    private mutating func report(
        _ message: Message, at range: SourceRange, label: String? = nil, notes: [DiagnosticNote] = [], hint: String? = nil
    ) {
        diagnostics.append(Diagnostic(message, at: range, label: label, notes: notes, hint: hint))
    }

    /// The range to point at when something is missing before the current token: the current
    /// token, or just after the previous one when the line ended.
    private var missingRange: SourceRange {
        if at(.newline) || at(.eof) { return range(previousEnd, previousEnd + (at(.eof) ? 0 : 1)) }
        return range(of: current)
    }

    private var foundDescription: String {
        switch current.kind {
        case .word: return "'\(currentText)'"
        case .number: return "'\(currentText)'"
        default: return current.kind.display
        }
    }

    /// Consumes `kind` or reports `message` and returns false (consuming nothing).
    @discardableResult
    private mutating func expect(_ kind: TokenKind, _ message: Message, hint: String? = nil, notes: [DiagnosticNote] = []) -> Bool {
        if match(kind) { return true }
        report(message, at: missingRange, label: "found \(foundDescription)", notes: notes, hint: hint)
        return false
    }

    private mutating func skipNewlines() {
        while at(.newline) { advance() }
    }

    /// Looks past line ends: is the next real token the keyword `k`?
    private func nextLineStarts(with k: Keyword) -> Bool {
        var copy = self
        copy.skipNewlines()
        return copy.at(k)
    }

    /// Skips to the end of the line, keeping braces balanced: after an error, the rest of the
    /// statement is passed over (with any block it opens) so one mistake gives one diagnostic.
    private mutating func recover() {
        var braces = 0
        while !at(.eof) {
            if at(.newline) && braces == 0 { return }
            if at(.leftBrace) { braces += 1 }
            if at(.rightBrace) {
                if braces == 0 { return }
                braces -= 1
            }
            advance()
        }
    }

    /// Requires the end of a statement: a line end, a closing brace or the end of the file.
    private mutating func endStatement(_ what: String) {
        if at(.newline) || at(.rightBrace) || at(.eof) { return }
        report(.expectedEndOfLine(after: what), at: range(of: current), label: "found \(foundDescription)")
        recover()
    }

    // MARK: - Depth

    private mutating func enter() -> Bool {
        depth += 1
        return checkDepth(depth)
    }

    private mutating func enterExpression() -> Bool {
        expressionDepth += 1
        return checkDepth(expressionDepth)
    }

    private mutating func leaveExpression() { expressionDepth -= 1 }

    private mutating func checkDepth(_ depth: Int) -> Bool {
        if depth > Parser.maxDepth {
            if !reportedTooDeep {
                reportedTooDeep = true
                report(.tooDeep(Parser.maxDepth), at: range(of: current),
                       hint: "split deep logic into a sub-flow, or name intermediate values with 'set'")
            }
            return false
        }
        return true
    }

    private mutating func leave() { depth -= 1 }

    /// Skips the rest of an expression that is nested too deep, without recursion: up to the end
    /// of the line, a ',' or a close that is not its own.
    private mutating func skipRestOfExpression() {
        while true {
            switch current.kind {
            case .newline, .eof, .comma, .rightParen, .rightBracket, .rightBrace: return
            case .leftParen, .leftBracket, .leftBrace: skipNested()  // a whole group; consumes its opening
            default: advance()
            }
        }
    }

    /// Skips a construct that is nested too deep, without recursion: everything up to the
    /// matching close of whatever opens from here.
    private mutating func skipNested() {
        var level = 0
        while !at(.eof) {
            switch current.kind {
            case .leftBrace, .leftParen, .leftBracket: level += 1
            case .rightBrace, .rightParen, .rightBracket:
                if level == 0 { return }
                level -= 1
                if level == 0 { advance(); return }
            case .newline where level == 0: return
            default: break
            }
            advance()
        }
    }

    // MARK: - Names

    private var atNameStart: Bool {
        (at(.word) && !current.keyword.isReserved) || at(.quotedName)
    }

    /// After a name's first word: another word, or a whole number (`Step 2`, `Address line 2`).
    private var atLaterNameWord: Bool {
        if at(.word) { return !current.keyword.isReserved }
        if at(.number) {
            return file.bytes[Int(current.start)..<Int(current.end)].allSatisfy { $0 >= 0x30 && $0 <= 0x39 }
        }
        return false
    }

    /// name = word { word | digits } | quoted-name
    private mutating func parseName(_ what: String, hint: String? = nil) -> Name? {
        if at(.quotedName) {
            let r = range(of: current)
            let inner = file.text(range(Int(current.start) + 1, max(Int(current.start) + 1, Int(current.end) - 1)))
            advance()
            return Name(inner, r)
        }
        guard at(.word) && !current.keyword.isReserved else {
            var hint = hint
            if at(.word) && current.keyword.isReserved {
                hint = "'\(currentText)' is a reserved word; quote the name with backticks: `\(currentText)`"
            }
            report(.expectedName(what), at: missingRange, label: "found \(foundDescription)", hint: hint)
            return nil
        }
        let first = current
        advance()
        if !atLaterNameWord {
            return Name(file.text(range(of: first)), range(of: first))
        }
        // Words are joined by single spaces; when the source already has exactly that, the name is
        // its text as written (one string made, no joining).
        var singleSpaced = true
        var lastEnd = Int(first.end)
        while atLaterNameWord {
            if Int(current.start) != lastEnd + 1 || file.bytes[lastEnd] != 0x20 { singleSpaced = false }
            lastEnd = Int(current.end)
            advance()
        }
        let whole = range(Int(first.start), previousEnd)
        if singleSpaced { return Name(file.text(whole), whole) }
        let words = file.text(whole).split(whereSeparator: { $0 == " " || $0 == "\t" })
        return Name(words.joined(separator: " "), whole)
    }

    // MARK: - File and declarations

    mutating func parseFile() -> SourceFileSyntax {
        var declarations: [Declaration] = []
        while true {
            skipNewlines()
            if at(.eof) { break }
            let before = current.start
            if !at(.rightBrace), let d = parseDeclaration() { declarations.append(d) }
            if !at(.rightBrace) { endStatement("a declaration") }
            if at(.rightBrace) {
                report(.unmatchedClosingBrace, at: range(of: current))
                advance()
            }
            // Progress guard: every iteration consumes at least one token.
            if current.start == before && !at(.eof) { advance() }
        }
        return SourceFileSyntax(file: file.id, declarations: declarations)
    }

    private mutating func parseDeclaration() -> Declaration? {
        let s = start
        switch current.keyword {
        case .import:
            advance()
            guard at(.string) else {
                report(.expectedImportPath, at: missingRange, hint: "import \"lib/common.flow\"")
                recover()
                return nil
            }
            let pathRange = range(of: current)
            let path = decodePlainString(current)
            advance()
            guard let path else { return nil }
            return .import(path: path, range: pathRange)
        case .config:
            advance()
            guard let name = parseName("config value name") else { recover(); return nil }
            guard expect(.equal, .expectedAfter("'='", "config name"), hint: "config STRIPE_BASE = \"https://api.stripe.com\"") else {
                recover(); return nil
            }
            let value = parseExpression()
            return .config(name: name, value: value, range: rangeFrom(s))
        case .secret:
            advance()
            guard let name = parseName("secret name", hint: "secret STRIPE_SECRET_KEY") else { recover(); return nil }
            if at(.equal) {
                let eq = start
                recover()
                report(.secretWithValue, at: range(eq, previousEnd),
                       hint: "declare only the name: secret \(name.text)\nits value is supplied when the flow runs, never written in a file")
            }
            return .secret(name: name, range: rangeFrom(s))
        case .var:
            advance()
            guard let name = parseName("variable name") else { recover(); return nil }
            var type: TypeRef?
            if match(.colon) { type = parseType() }
            guard expect(.equal, .expectedAfter("'='", "session variable name"), hint: "var customer tier: text = \"standard\"") else {
                recover(); return nil
            }
            let value = parseExpression()
            return .variable(Parameter(name: name, type: type, defaultValue: value, range: rangeFrom(s)))
        case .flow:
            return parseFlow()
        case .ip:
            return parseIPDecl()
        case .extension:
            return parseExtensionDecl()
        default:
            if isStatementKeyword(current) {
                report(.statementOutsideFlow(currentText), at: range(of: current),
                       hint: "elements belong inside a flow:\n  flow Payment {\n    \(file.lineText(file.lineIndex(of: start)).trimmingSpaces())\n  }")
            } else {
                report(.expectedDeclaration, at: range(of: current), label: "found \(foundDescription)",
                       hint: suggestionHint(currentText, ["import", "config", "secret", "var", "flow", "ip", "extension"]))
            }
            recover()
            return nil
        }
    }

    private func suggestionHint(_ word: String, _ options: [String]) -> String? {
        guard current.kind == .word, let s = Suggest.closest(to: word, in: options) else { return nil }
        return "did you mean '\(s)'?"
    }

    private func isStatementKeyword(_ t: Token) -> Bool {
        switch t.keyword {
        case .page, .question, .set, .if, .label, .goto, .call, .finish, .response: true
        default: false
        }
    }

    private mutating func parseType() -> TypeRef? {
        guard at(.word) else {
            report(.expectedType, at: missingRange, label: "found \(foundDescription)",
                   hint: "one of: \(TypeRef.names.joined(separator: ", "))")
            return nil
        }
        let t = TypeRef(name: currentText, range: range(of: current))
        advance()
        return t
    }

    /// `( name [: type] [= default], ... )`
    private mutating func parseParameters(_ what: String) -> [Parameter] {
        var params: [Parameter] = []
        let open = range(of: current)
        advance()  // (
        skipNewlines()
        while !at(.rightParen) && !at(.eof) {
            let s = start
            guard let name = parseName("\(what) name") else {
                while !at(.comma) && !at(.rightParen) && !at(.eof) && !at(.leftBrace) { advance() }
                if !match(.comma) { break }
                skipNewlines()
                continue
            }
            var type: TypeRef?
            var value: Expr?
            if match(.colon) { type = parseType() }
            if match(.equal) { value = parseExpression() }
            params.append(Parameter(name: name, type: type, defaultValue: value, range: rangeFrom(s)))
            skipNewlines()
            if !match(.comma) { break }
            skipNewlines()
        }
        expect(.rightParen, .expectedClosing("')'", "\(what) list"), notes: [DiagnosticNote("to match this '('", at: open)])
        return params
    }

    private mutating func parseFlow() -> Declaration? {
        let s = start
        advance()  // flow
        guard let name = parseName("flow name", hint: "flow Secure Payment {") else { recover(); return nil }
        var params: [Parameter] = []
        var outputs: [Parameter] = []
        if at(.leftParen) { params = parseParameters("parameter") }
        if match(.arrow) {
            if at(.leftParen) {
                outputs = parseParameters("output")
            } else {
                report(.expectedAfter("'('", "'->' in a flow header"), at: missingRange,
                       hint: "flow Verify Identity(account: text) -> (verified: bool) {")
            }
        }
        guard at(.leftBrace) else {
            report(.expectedBlock("flow '\(name.text)'"), at: missingRange, label: "found \(foundDescription)",
                   hint: "flow \(name.text) {\n  question Payment\n}")
            recover()
            return nil
        }
        let (body, close) = parseBlock()
        return .flow(FlowDecl(name: name, parameters: params, outputs: outputs, body: body, range: rangeFrom(s), endRange: close))
    }

    // MARK: - Blocks and statements

    /// `{ statement* }`; returns the statements and the range of the closing brace.
    private mutating func parseBlock() -> ([Statement], SourceRange) {
        let open = range(of: current)
        advance()  // {
        guard enter() else {
            // Too deep: skip the block's contents without recursion.
            var level = 1
            while !at(.eof) && level > 0 {
                if at(.leftBrace) { level += 1 }
                if at(.rightBrace) { level -= 1 }
                advance()
            }
            leave()
            return ([], range(previousEnd, previousEnd))
        }
        defer { leave() }
        var statements: [Statement] = []
        while true {
            skipNewlines()
            if at(.rightBrace) || at(.eof) { break }
            let before = current.start
            if let st = parseStatement() { statements.append(st) }
            endStatement("an element")
            if current.start == before && !at(.eof) && !at(.rightBrace) { advance() }
        }
        let close = range(of: current)
        if !match(.rightBrace) {
            report(.expectedClosing("'}'", "block"), at: missingRange,
                   notes: [DiagnosticNote("to match this '{'", at: open)])
            return (statements, range(previousEnd, previousEnd))
        }
        return (statements, close)
    }

    private mutating func parseStatement() -> Statement? {
        let s = start
        func done(_ kind: StatementKind) -> Statement { Statement(kind: kind, range: rangeFrom(s)) }
        switch current.keyword {
        case .page:
            guard let page = parsePage() else { return nil }
            return done(.page(page))
        case .question:
            guard let q = parseQuestion() else { return nil }
            return done(.page(Page(name: q.name, title: nil, questions: [q], isLoneQuestion: true, range: q.range)))
        case .extension:
            guard let c = parseCall(.extension) else { return nil }
            return done(.call(c))
        case .ip:
            guard let c = parseCall(.ip) else { return nil }
            return done(.call(c))
        case .call:
            guard let c = parseCall(.flow) else { return nil }
            return done(.call(c))
        case .response:
            advance()
            if at(.newline) || at(.rightBrace) || at(.eof) {
                report(.expectedAfter("text", "'response'"), at: missingRange, hint: "response \"Thank you, {name}\"")
                return nil
            }
            return done(.response(parseExpression()))
        case .set:
            advance()
            guard let target = parseName("variable name", hint: "set total = total + 1") else { recover(); return nil }
            let op: AssignOperator
            switch current.kind {
            case .equal: op = .assign
            case .plusEqual: op = .add
            case .minusEqual: op = .subtract
            case .dot:
                report(.setPath, at: range(of: current), hint: "set a variable: set charge id = result.id")
                recover()
                return nil
            default:
                // `set tries 0`: the number was read as the last word of the name.
                var example = "set \(target.text) = 0"
                let words = target.text.split(separator: " ")
                if words.count > 1, let last = words.last, last.allSatisfy(\.isNumber) {
                    example = "set \(words.dropLast().joined(separator: " ")) = \(last)"
                }
                report(.expectedAfter("'=', '+=' or '-='", "the variable name"), at: missingRange,
                       label: "found \(foundDescription)", hint: example)
                recover()
                return nil
            }
            advance()
            return done(.set(target: target, op: op, value: parseExpression()))
        case .if:
            return parseIf()
        case .label:
            advance()
            guard let name = parseName("label name", hint: "label Ask Amount") else { recover(); return nil }
            return done(.label(name))
        case .goto:
            advance()
            guard let name = parseName("label name after 'goto'", hint: "goto Ask Amount") else { recover(); return nil }
            return done(.goto(name))
        case .finish:
            advance()
            if at(.success) {
                advance()
                var reason: Expr?
                if !(at(.newline) || at(.rightBrace) || at(.eof)) { reason = parseExpression() }
                return done(.finish(success: true, reason: reason))
            }
            if at(.failure) {
                advance()
                if at(.newline) || at(.rightBrace) || at(.eof) {
                    report(.finishFailureReason, at: missingRange, hint: "finish failure \"card declined\"")
                    return done(.finish(success: false, reason: nil))
                }
                return done(.finish(success: false, reason: parseExpression()))
            }
            report(.expectedAfter("'success' or 'failure'", "'finish'"), at: missingRange, label: "found \(foundDescription)",
                   hint: "finish success\nfinish failure \"card declined\"")
            recover()
            return nil
        case .else:
            report(.elseWithoutIf, at: range(of: current))
            recover()
            return nil
        case .import, .config, .secret, .var, .flow:
            report(.declarationInFlow(currentText), at: range(of: current))
            recover()
            return nil
        default:
            let word = current.kind == .word ? currentText : nil
            let options = ["page", "question", "extension", "ip", "call", "response", "set", "if", "label", "goto", "finish"]
            var hint: String? = word.flatMap { w in Suggest.closest(to: w, in: options).map { "did you mean '\($0)'?" } }
            if hint == nil && current.kind == .word && !current.keyword.isReserved {
                hint = "to change a variable, write: set \(currentText) = …"
            }
            report(.expectedElement, at: range(of: current), label: "found \(foundDescription)", hint: hint)
            recover()
            return nil
        }
    }

    /// Parses `{`, then one item a line (each read by `item`) until `}`; a missing `}` is reported
    /// with a note at the `{`. Each pass consumes at least one token, so the loop ends.
    private mutating func parseLines(closing construct: String, endOf what: String, _ item: (inout Parser) -> Void) {
        let open = range(of: current)
        advance()  // {
        while true {
            skipNewlines()
            if at(.rightBrace) || at(.eof) { break }
            let before = current.start
            item(&self)
            endStatement(what)
            if current.start == before && !at(.eof) && !at(.rightBrace) { advance() }
        }
        if !match(.rightBrace) {
            report(.expectedClosing("'}'", construct), at: missingRange, notes: [DiagnosticNote("to match this '{'", at: open)])
        }
    }

    private mutating func parseIf() -> Statement? {
        let s = start
        var branches: [Conditional] = []
        var otherwise: [Statement]?
        repeat {
            let bs = start
            advance()  // if
            let condition = parseExpression()
            guard at(.leftBrace) else {
                report(.expectedBlock("condition"), at: missingRange, label: "found \(foundDescription)",
                       hint: "if amount > 100 {\n  response \"That is a large payment\"\n}")
                recover()
                return nil
            }
            let (body, _) = parseBlock()
            branches.append(Conditional(condition: condition, body: body, range: rangeFrom(bs)))
            guard nextLineStarts(with: .else) else { break }
            skipNewlines()
            advance()  // else
            if at(.if) { continue }
            guard at(.leftBrace) else {
                report(.expectedBlock("'else'"), at: missingRange, label: "found \(foundDescription)")
                recover()
                break
            }
            otherwise = parseBlock().0
            break
        } while true
        return Statement(kind: .decision(branches: branches, otherwise: otherwise), range: rangeFrom(s))
    }

    private mutating func parsePage() -> Page? {
        let s = start
        advance()  // page
        guard let name = parseName("page name", hint: "page Contact Details {") else { recover(); return nil }
        guard at(.leftBrace) else {
            report(.expectedBlock("page '\(name.text)'"), at: missingRange, label: "found \(foundDescription)",
                   hint: "page \(name.text) {\n  question Email: email\n}")
            recover()
            return nil
        }
        var title: Expr?
        var questions: [Question] = []
        parseLines(closing: "page", endOf: "a page item") { p in
            if p.atWord("title") {
                if title != nil { p.report(.duplicateTitle, at: p.range(of: p.current)) }
                p.advance()
                title = p.parseExpression()
            } else if p.at(.question) {
                if let q = p.parseQuestion() { questions.append(q) }
            } else {
                p.report(.expectedPageItem, at: p.range(of: p.current), label: "found \(p.foundDescription)",
                         hint: "a page holds a 'title' and questions:\n  question Email: email")
                p.recover()
            }
        }
        if questions.isEmpty { report(.emptyPage(name.text), at: name.range, hint: "add a question: question Email: email") }
        return Page(name: name, title: title, questions: questions, isLoneQuestion: false, range: rangeFrom(s))
    }

    private mutating func parseQuestion() -> Question? {
        let s = start
        advance()  // question
        guard let name = parseName("question name", hint: "question Amount: currency") else { recover(); return nil }
        var type = QuestionType.text
        var typeRange: SourceRange?
        if match(.colon) {
            if at(.word), let t = QuestionType.spelled.first(where: { atWord($0.1) })?.0 {
                type = t
                typeRange = range(of: current)
                advance()
            } else {
                let found = currentText
                let suggestion = at(.word) ? Suggest.closest(to: found, in: QuestionType.allCases.map(\.rawValue)) : nil
                report(.unknownQuestionType, at: missingRange, label: "found \(foundDescription)",
                       hint: (suggestion.map { "did you mean '\($0)'? " } ?? "")
                           + "question types: " + QuestionType.allCases.map(\.rawValue).joined(separator: ", "))
                if at(.word) { advance() }
            }
        }
        var properties: [QuestionProperty] = []
        if at(.leftBrace) {
            parseLines(closing: "question", endOf: "a question property") { p in
                if let property = p.parseQuestionProperty() { properties.append(property) }
            }
        }
        return Question(name: name, type: type, typeRange: typeRange, properties: properties, range: rangeFrom(s))
    }

    private mutating func parseQuestionProperty() -> QuestionProperty? {
        let s = start
        guard at(.word), let kind = QuestionProperty.Kind.spelled.first(where: { atWord($0.1) })?.0 else {
            let names = QuestionProperty.Kind.allCases.map(\.rawValue)
            report(.unknownQuestionProperty, at: range(of: current), label: "found \(foundDescription)",
                   hint: at(.word) ? Suggest.closest(to: currentText, in: names).map { "did you mean '\($0)'?" }
                       ?? "properties: \(names.joined(separator: ", "))" : "properties: \(names.joined(separator: ", "))")
            recover()
            return nil
        }
        advance()
        var values: [Expr] = []
        switch kind {
        case .optional, .required:
            break
        case .options:
            values.append(parseExpression())
            while match(.comma) {
                skipNewlines()
                values.append(parseExpression())
            }
        default:
            if at(.newline) || at(.rightBrace) || at(.eof) {
                report(.expectedAfter("a value", "'\(kind.rawValue)'"), at: missingRange)
                return nil
            }
            values.append(parseExpression())
        }
        return QuestionProperty(kind: kind, values: values, range: rangeFrom(s))
    }

    /// `ip Name(args) -> binding on error …`, also for `extension` and `call`.
    private mutating func parseCall(_ kind: CallKind) -> CallStatement? {
        let keyword = currentText
        advance()
        let example: String
        switch kind {
        case .ip: example = "ip StripeCharge(amount, token, description) -> result"
        case .extension: example = "extension Tokenize -> token"
        case .flow: example = "call Verify Identity(account: number) -> verified"
        }
        guard let callee = parseName("\(kindNoun(kind)) name after '\(keyword)'", hint: example) else { recover(); return nil }
        var arguments: [Argument] = []
        var argumentsRange: SourceRange?
        if at(.leftParen) {
            let s = start
            arguments = parseArguments()
            argumentsRange = rangeFrom(s)
        } else if kind == .ip {
            report(.expectedAfter("'('", "integration point name"), at: missingRange, label: "found \(foundDescription)",
                   hint: "an IP call lists its arguments, even when there are none: ip \(callee.text)() -> result")
            recover()
            return nil
        }
        var binding: Binding?
        if match(.arrow) {
            binding = parseBinding()
            if binding == nil { recover(); return nil }
        } else if atNameStart {
            let hint = "\(keyword) \(callee.text)\(arguments.isEmpty && argumentsRange == nil ? "" : "(…)") -> \(currentText)"
            let r = range(of: current)
            // Read the name as the binding, so later uses of it are not reported again.
            if let name = parseName("variable name") {
                report(.expectedArrow(kindNoun(kind)), at: name.range, label: "found '\(name.text)'", hint: hint)
                binding = .variable(name)
            } else {
                report(.expectedArrow(kindNoun(kind)), at: r, hint: hint)
            }
        }
        var onError: ErrorHandler?
        if nextLineStarts(with: .on) {
            skipNewlines()
            advance()  // on
            guard at(.error) else {
                report(.expectedAfter("'error'", "'on'"), at: missingRange, label: "found \(foundDescription)",
                       hint: "on error {\n  response \"Sorry: {error.message}\"\n}")
                recover()
                return CallStatement(kind: kind, callee: callee, arguments: arguments, argumentsRange: argumentsRange, binding: binding, onError: nil)
            }
            advance()
            if at(.leftBrace) {
                let s = start
                let (body, _) = parseBlock()
                onError = .block(body, range: rangeFrom(s))
            } else if at(.goto) {
                advance()
                if let label = parseName("label name after 'goto'") { onError = .goto(label) }
            } else {
                report(.expectedAfter("'{' or 'goto'", "'on error'"), at: missingRange, label: "found \(foundDescription)",
                       hint: "on error goto Try Again")
                recover()
            }
        }
        return CallStatement(kind: kind, callee: callee, arguments: arguments, argumentsRange: argumentsRange, binding: binding, onError: onError)
    }

    private func kindNoun(_ kind: CallKind) -> String {
        switch kind {
        case .ip: "integration point"
        case .extension: "extension"
        case .flow: "sub-flow"
        }
    }

    private mutating func parseBinding() -> Binding? {
        if at(.leftParen) {
            let open = range(of: current)
            advance()
            skipNewlines()
            var pairs: [(output: Name, variable: Name)] = []
            while !at(.rightParen) && !at(.eof) {
                guard let output = parseName("output name") else { return nil }
                guard expect(.colon, .expectedAfter("':'", "output name"), hint: "-> (id: charge id, paid: was paid)") else { return nil }
                guard let variable = parseName("variable name") else { return nil }
                pairs.append((output, variable))
                skipNewlines()
                if !match(.comma) { break }
                skipNewlines()
            }
            guard expect(.rightParen, .expectedClosing("')'", "output mapping"), notes: [DiagnosticNote("to match this '('", at: open)]) else {
                return nil
            }
            return .mapping(pairs)
        }
        guard let name = parseName("variable name after '->'", hint: "-> result") else { return nil }
        return .variable(name)
    }

    /// `( [label:] expr, ... )`
    private mutating func parseArguments() -> [Argument] {
        let open = range(of: current)
        advance()  // (
        var arguments: [Argument] = []
        skipNewlines()
        guard enterExpression() else { skipNested(); leaveExpression(); return [] }
        defer { leaveExpression() }
        while !at(.rightParen) && !at(.eof) {
            let s = start
            var label: Name?
            if atNameStart {
                // A label is a name followed by ':'; look ahead without committing.
                var look = self
                if let n = look.parseName("argument"), look.at(.colon) {
                    self = look
                    advance()  // :
                    skipNewlines()
                    label = n
                }
            }
            if at(.rightParen) || at(.comma) || at(.newline) || at(.eof) {
                report(.expectedExpression, at: missingRange, label: "found \(foundDescription)")
                if !match(.comma) { break }
                skipNewlines()
                continue
            }
            let value = parseExpression()
            arguments.append(Argument(label: label, value: value, range: rangeFrom(s)))
            skipNewlines()
            if !match(.comma) { break }
            skipNewlines()
        }
        if !match(.rightParen) {
            report(.expectedClosing("')'", "argument list"), at: missingRange, label: "found \(foundDescription)",
                   notes: [DiagnosticNote("to match this '('", at: open)])
            recover()
        }
        return arguments
    }

    // MARK: - Integration point and extension declarations

    private mutating func parseIPDecl() -> Declaration? {
        let s = start
        advance()  // ip
        guard let name = parseName("integration point name", hint: "ip StripeCharge(amount: currency) {") else { recover(); return nil }
        if at(.leftParen) {
            // Could be a call written at the top level: `ip X(a, b) -> r`. Parameters have names.
        }
        let params = at(.leftParen) ? parseParameters("parameter") : []
        if at(.arrow) {
            report(.callOutsideFlow("ip"), at: rangeFrom(s),
                   hint: "calls belong inside a flow:\n  flow Main {\n    ip \(name.text)(…) -> result\n  }")
            recover()
            return nil
        }
        var decl = IPDecl(name: name, parameters: params, isSOAP: false, method: nil, soapVersion: nil, url: nil, action: nil,
                          namespaces: [], query: [], headers: [], body: nil, auth: nil, timeout: nil, retry: nil,
                          idempotent: false, outputs: [], range: range(s, s))
        guard at(.leftBrace) else {
            report(.expectedBlock("integration point '\(name.text)'"), at: missingRange, label: "found \(foundDescription)",
                   hint: "ip \(name.text)(amount: currency) {\n  POST \"{STRIPE_BASE}/v1/charges\"\n}")
            recover()
            return nil
        }
        parseLines(closing: "integration point", endOf: "an integration point setting") { p in p.parseIPItem(&decl) }
        decl.range = rangeFrom(s)
        return .ip(decl)
    }

    static let ipItems = ["GET", "POST", "PUT", "PATCH", "DELETE", "soap", "action", "namespace", "query", "headers",
                          "form", "json", "body", "auth", "timeout", "retry", "idempotent", "safe", "unsafe", "output"]

    private mutating func parseIPItem(_ decl: inout IPDecl) {
        guard at(.word) else {
            report(.unknownIPSetting, at: range(of: current), label: "found \(foundDescription)",
                   hint: "settings: \(Parser.ipItems.joined(separator: ", "))")
            recover()
            return
        }
        let word = currentText
        let wordRange = range(of: current)
        if let method = HTTPMethod(rawValue: word) {
            advance()
            if decl.method != nil { report(.duplicateSetting("request line"), at: wordRange) }
            decl.method = method
            decl.methodRange = wordRange
            decl.url = parseExpression()
            return
        }
        switch word {
        case "soap":
            advance()
            if decl.isSOAP { report(.duplicateSetting("request line"), at: wordRange) }
            decl.isSOAP = true
            if at(.number) && (currentText == "1.1" || currentText == "1.2") {
                decl.soapVersion = currentText
                advance()
            } else {
                report(.expectedSOAPVersion, at: missingRange, label: "found \(foundDescription)", hint: "soap 1.2 \"https://bank.example/AccountService\"")
                if at(.number) { advance() }
                if !at(.string) { recover(); return }
            }
            if decl.method == nil { decl.url = parseExpression() } else { _ = parseExpression() }
        case "action":
            advance()
            decl.action = parseExpression()
        case "namespace":
            advance()
            guard at(.word) else { report(.expectedName("namespace prefix"), at: missingRange); recover(); return }
            let prefix = currentText
            advance()
            guard expect(.equal, .expectedAfter("'='", "namespace prefix"), hint: "namespace b = \"http://bank.example/accounts\"") else {
                recover(); return
            }
            guard at(.string) else { report(.expectedAfter("a text literal", "'='"), at: missingRange); recover(); return }
            decl.namespaces.append((prefix, decodePlainString(current) ?? "", wordRange.union(range(of: current))))
            advance()
        case "query", "headers", "form":
            advance()
            let pairs = parseKeyValues(word)
            if word == "query" { decl.query += pairs }
            else if word == "headers" { decl.headers += pairs }
            else { setBody(&decl, .form(pairs), wordRange) }
        case "json":
            advance()
            setBody(&decl, .json(parseExpression()), wordRange)
        case "body":
            advance()
            if at(.leftBrace) {
                setBody(&decl, .soap(parseXMLElements()), wordRange)
            } else {
                setBody(&decl, .raw(parseExpression()), wordRange)
            }
        case "auth":
            advance()
            if atWord("bearer") {
                advance()
                if let n = parseName("secret name after 'bearer'", hint: "auth bearer STRIPE_SECRET_KEY") { decl.auth = .bearer(n) }
            } else if atWord("basic") {
                advance()
                let user = parseExpression()
                guard expect(.comma, .expectedAfter("','", "the user name"), hint: "auth basic \"merchant\", BANK_PASSWORD") else { recover(); return }
                if let n = parseName("secret name") { decl.auth = .basic(user: user, password: n) }
            } else {
                report(.expectedAfter("'bearer' or 'basic'", "'auth'"), at: missingRange, label: "found \(foundDescription)",
                       hint: "auth bearer STRIPE_SECRET_KEY")
                recover()
            }
        case "timeout":
            advance()
            decl.timeout = parseExpression()
        case "retry":
            advance()
            decl.retry = parseExpression()
        case "idempotent":
            advance()
            decl.idempotent = true
        case "safe", "unsafe":
            parseSafety(&decl.safety, &decl.safetyRange)
        case "output":
            if let o = parseOutput(allowSource: true) { decl.outputs.append(o) }
        default:
            report(.unknownIPSetting, at: wordRange, label: "found '\(word)'",
                   hint: Suggest.closest(to: word, in: Parser.ipItems).map { "did you mean '\($0)'?" }
                       ?? "settings: \(Parser.ipItems.joined(separator: ", "))")
            recover()
        }
    }

    private mutating func setBody(_ decl: inout IPDecl, _ body: RequestBody, _ at: SourceRange) {
        if decl.body != nil { report(.duplicateSetting("body"), at: at, hint: "an integration point sends one body: form, json or body") }
        decl.body = body
        decl.bodyRange = at
    }

    /// `{ key = expr ... }` with keys as names or text literals.
    private mutating func parseKeyValues(_ what: String) -> [KeyValue] {
        guard at(.leftBrace) else {
            report(.expectedBlock("'\(what)'"), at: missingRange, label: "found \(foundDescription)", hint: "\(what) {\n  currency = \"usd\"\n}")
            recover()
            return []
        }
        var pairs: [KeyValue] = []
        parseLines(closing: "'\(what)'", endOf: "a key and value") { p in
            var key: String?
            var keyRange = p.range(of: p.current)
            if p.at(.string) {
                key = p.decodePlainString(p.current) ?? ""
                p.advance()
            } else if let n = p.parseName("key") {
                key = n.text
                keyRange = n.range
            }
            guard let key, p.expect(.equal, .expectedAfter("'='", "key"), hint: "\(what) {\n  currency = \"usd\"\n}") else {
                p.recover()
                return
            }
            pairs.append(KeyValue(key: key, keyRange: keyRange, value: p.parseExpression()))
        }
        return pairs
    }

    /// SOAP body elements: `prefix:Name = expr` or `prefix:Name { … }`, nested.
    private mutating func parseXMLElements() -> [XMLElementSpec] {
        guard enter() else { advance(); skipNested(); leave(); return [] }
        defer { leave() }
        var elements: [XMLElementSpec] = []
        parseLines(closing: "element list", endOf: "an element") { p in
            let s = p.start
            guard p.at(.word) else {
                p.report(.expectedName("element name"), at: p.range(of: p.current), label: "found \(p.foundDescription)",
                         hint: "b:GetBalance {\n  b:Account = account\n}")
                p.recover()
                return
            }
            var name = p.currentText
            p.advance()
            if p.at(.colon) && Int(p.current.start) == p.previousEnd {
                p.advance()
                if p.at(.word) && Int(p.current.start) == p.previousEnd {
                    name += ":" + p.currentText
                    p.advance()
                } else {
                    p.report(.expectedName("element name after the namespace prefix"), at: p.missingRange)
                }
            }
            let nameRange = p.rangeFrom(s)
            if p.match(.equal) {
                elements.append(XMLElementSpec(name: name, range: nameRange, content: .value(p.parseExpression())))
            } else if p.at(.leftBrace) {
                elements.append(XMLElementSpec(name: name, range: nameRange, content: .children(p.parseXMLElements())))
            } else {
                p.report(.expectedAfter("'=' or '{'", "element name"), at: p.missingRange, label: "found \(p.foundDescription)",
                         hint: "b:Account = account")
                p.recover()
            }
        }
        return elements
    }

    /// `output name [: type] [= source]`
    private mutating func parseOutput(allowSource: Bool) -> OutputDecl? {
        let s = start
        advance()  // output
        guard let name = parseName("output name", hint: "output id: text = json \"id\"") else { recover(); return nil }
        var type: TypeRef?
        if match(.colon) { type = parseType() }
        var source: OutputSource?
        if match(.equal) {
            if !allowSource {
                let eq = previousEnd - 1
                recover()
                report(.extensionOutputSource, at: range(eq, previousEnd),
                       hint: "an extension's outputs are the keys of the JSON object it prints: output \(name.text)\(type.map { ": \($0.name)" } ?? "")")
                return OutputDecl(name: name, type: type, source: nil, range: rangeFrom(s))
            }
            let sourceRange = range(of: current)
            if atWord("json") || atWord("xml") || atWord("header") {
                let kind = currentText
                advance()
                guard at(.string) else {
                    report(.expectedAfter("a path in quotes", "'\(kind)'"), at: missingRange, hint: "output id: text = json \"id\"")
                    recover()
                    return nil
                }
                let path = decodePlainString(current) ?? ""
                let r = range(of: current)
                advance()
                switch kind {
                case "json": source = .json(path, r)
                case "xml": source = .xml(path, r)
                default: source = .header(path, r)
                }
            } else if atWord("status") {
                advance()
                source = .status
            } else if atWord("text") {
                advance()
                source = .text
            } else {
                report(.expectedOutputSource, at: sourceRange, label: "found \(foundDescription)",
                       hint: "json \"path\", xml \"path\", header \"Name\", status or text")
                recover()
                return OutputDecl(name: name, type: type, source: nil, range: rangeFrom(s))
            }
        } else if allowSource {
            report(.expectedAfter("'='", "output name"), at: missingRange, label: "found \(foundDescription)",
                   hint: "say where the output comes from: output \(name.text)\(type.map { ": \($0.name)" } ?? "") = json \"\(name.text)\"")
        }
        return OutputDecl(name: name, type: type, source: source, range: rangeFrom(s))
    }

    private mutating func parseExtensionDecl() -> Declaration? {
        let s = start
        advance()  // extension
        guard let name = parseName("extension name", hint: "extension Tokenize {") else { recover(); return nil }
        let params = at(.leftParen) ? parseParameters("parameter") : []
        if at(.arrow) {
            report(.callOutsideFlow("extension"), at: rangeFrom(s),
                   hint: "calls belong inside a flow; a declaration has a body:\n  extension \(name.text) {\n    run \"extensions/tokenize\"\n    output token: text\n  }")
            recover()
            return nil
        }
        var decl = ExtensionDecl(name: name, parameters: params, command: nil, timeout: nil, outputs: [], range: range(s, s))
        guard at(.leftBrace) else {
            report(.expectedBlock("extension '\(name.text)'"), at: missingRange, label: "found \(foundDescription)",
                   hint: "extension \(name.text) {\n  run \"extensions/tokenize\"\n  output token: text\n}")
            recover()
            return nil
        }
        let items = ["run", "timeout", "safe", "unsafe", "output"]
        parseLines(closing: "extension", endOf: "an extension setting") { p in
            if p.atWord("safe") || p.atWord("unsafe") {
                p.parseSafety(&decl.safety, &decl.safetyRange)
            } else if p.atWord("run") {
                p.advance()
                decl.command = p.parseExpression()
            } else if p.atWord("timeout") {
                p.advance()
                decl.timeout = p.parseExpression()
            } else if p.atWord("output") {
                if let o = p.parseOutput(allowSource: false) { decl.outputs.append(o) }
            } else {
                p.report(.unknownExtensionSetting, at: p.range(of: p.current), label: "found \(p.foundDescription)",
                         hint: (p.at(.word) ? Suggest.closest(to: p.currentText, in: items).map { "did you mean '\($0)'? " } : nil) ?? ""
                             + "settings: run, timeout, safe, unsafe, output")
                p.recover()
            }
        }
        decl.range = rangeFrom(s)
        return .extension(decl)
    }

    /// `safe` or `unsafe`, once per declaration.
    private mutating func parseSafety(_ safety: inout CallSafety?, _ where_: inout SourceRange?) {
        let wordRange = range(of: current)
        let value = CallSafety(rawValue: currentText)!
        advance()
        if let earlier = where_ {
            report(.safetyTwice(value.rawValue), at: wordRange, notes: [DiagnosticNote("said first here", at: earlier)],
                   hint: "say 'safe' when a call changes nothing, 'unsafe' when it may; once")
            return
        }
        safety = value
        where_ = wordRange
    }

    // MARK: - Expressions

    private static func binaryOperator(_ t: Token) -> (BinaryOperator, Int)? {
        switch t.kind {
        case .word:
            if t.keyword == .or { return (.or, 1) }
            if t.keyword == .and { return (.and, 2) }
            return nil
        case .equalEqual: return (.equal, 4)
        case .bangEqual: return (.notEqual, 4)
        case .less: return (.less, 4)
        case .lessEqual: return (.lessEqual, 4)
        case .greater: return (.greater, 4)
        case .greaterEqual: return (.greaterEqual, 4)
        case .plus: return (.add, 5)
        case .minus: return (.subtract, 5)
        case .star: return (.multiply, 6)
        case .slash: return (.divide, 6)
        case .percent: return (.remainder, 6)
        default: return nil
        }
    }

    public mutating func parseExpression() -> Expr { parseBinary(1) }

    /// Precedence climbing: or (1) < and (2) < not (3) < comparison (4) < + - (5) < * / % (6).
    private mutating func parseBinary(_ minPrecedence: Int) -> Expr {
        let s = start
        guard enterExpression() else {
            skipRestOfExpression()
            leaveExpression()
            return Expr(.error, rangeFrom(s))
        }
        defer { leaveExpression() }
        var left: Expr
        if at(.not) {
            advance()
            let operand = parseBinary(3)
            left = Expr(.unary(.not, operand), rangeFrom(s))
        } else {
            left = parseUnary()
        }
        // Each operator of a chain nests the tree one level deeper (`a + b + c` is `(a + b) + c`),
        // and later stages recurse over it, so a chain counts towards the depth limit.
        var chain = 0
        defer { expressionDepth -= chain }
        while let (op, precedence) = Parser.binaryOperator(current), precedence >= minPrecedence {
            let opRange = range(of: current)
            chain += 1
            guard enterExpression() else {
                skipRestOfExpression()
                return Expr(.error, rangeFrom(s))
            }
            advance()
            let right = parseBinary(precedence + 1)
            left = Expr(.binary(op, left, right), rangeFrom(s))
            if precedence == 4, let (next, p) = Parser.binaryOperator(current), p == 4 {
                report(.chainedComparison, at: range(of: current),
                       notes: [DiagnosticNote("the first comparison is here", at: opRange)],
                       hint: "combine comparisons with 'and': a < b and b < c")
                _ = next
                // The rest of the chain follows from this error: skipped, not reported again.
                while let (_, p) = Parser.binaryOperator(current), p == 4 {
                    advance()
                    _ = parseBinary(5)
                }
                left = Expr(.error, rangeFrom(s))
            }
        }
        return left
    }


    private mutating func parseUnary() -> Expr {
        // A character the lexer already reported ('!', '$') is passed over, not reported again.
        while at(.unknown) { advance() }
        let s = start
        if at(.minus) {
            advance()
            guard enterExpression() else { skipNested(); leaveExpression(); return Expr(.error, rangeFrom(s)) }
            defer { leaveExpression() }
            let operand = parseUnary()
            return Expr(.unary(.negate, operand), rangeFrom(s))
        }
        return parsePostfix()
    }

    private mutating func parsePostfix() -> Expr {
        let s = start
        var e = parsePrimary()
        // Each `.field` or `[index]` nests the tree one level deeper, as a binary chain does.
        var chain = 0
        defer { expressionDepth -= chain }
        while true {
            if at(.dot) || at(.leftBracket) {
                chain += 1
                guard enterExpression() else {
                    skipRestOfExpression()
                    return Expr(.error, rangeFrom(s))
                }
            }
            if at(.dot) {
                advance()
                if at(.number) {
                    report(.numericMember, at: range(of: current), hint: "index lists with brackets: items[0]")
                    advance()
                    e = Expr(.error, rangeFrom(s))
                    continue
                }
                guard let member = parseName("field name after '.'", hint: "result.id") else {
                    return Expr(.error, rangeFrom(s))
                }
                e = Expr(.member(e, member), rangeFrom(s))
            } else if at(.leftBracket) {
                let open = range(of: current)
                advance()
                let index = parseExpression()
                if !match(.rightBracket) {
                    report(.expectedClosing("']'", "index"), at: missingRange, label: "found \(foundDescription)",
                           notes: [DiagnosticNote("to match this '['", at: open)])
                    return Expr(.error, rangeFrom(s))
                }
                e = Expr(.index(e, index), rangeFrom(s))
            } else {
                return e
            }
        }
    }

    private mutating func parsePrimary() -> Expr {
        let s = start
        switch current.kind {
        case .number:
            let text = currentText
            advance()
            return Expr(.number(text), rangeFrom(s))
        case .string:
            let token = current
            advance()
            return parseTemplate(token)
        case .leftParen:
            let open = range(of: current)
            advance()
            skipNewlines()
            let inner = parseExpression()
            skipNewlines()
            if !match(.rightParen) {
                report(.expectedClosing("')'", "expression"), at: missingRange, label: "found \(foundDescription)",
                       notes: [DiagnosticNote("to match this '('", at: open)])
            }
            return Expr(inner.kind, rangeFrom(s))
        case .leftBracket:
            let open = range(of: current)
            advance()
            var items: [Expr] = []
            skipNewlines()
            while !at(.rightBracket) && !at(.eof) && !at(.rightBrace) {
                items.append(parseExpression())
                skipNewlines()
                if !match(.comma) { break }
                skipNewlines()
            }
            if !match(.rightBracket) {
                report(.expectedClosing("']'", "list"), at: missingRange, label: "found \(foundDescription)",
                       notes: [DiagnosticNote("to match this '['", at: open)])
            }
            return Expr(.list(items), rangeFrom(s))
        case .leftBrace:
            return parseObject()
        case .word where current.keyword == .true:
            advance()
            return Expr(.bool(true), rangeFrom(s))
        case .word where current.keyword == .false:
            advance()
            return Expr(.bool(false), rangeFrom(s))
        case .word where current.keyword == .null:
            advance()
            return Expr(.null, rangeFrom(s))
        case .word where !current.keyword.isReserved, .quotedName:
            guard let name = parseName("name") else { return Expr(.error, rangeFrom(s)) }
            if at(.leftParen) && Int(current.start) == previousEnd {
                let arguments = parseArguments()
                return Expr(.call(name, arguments), rangeFrom(s))
            }
            return Expr(.name(name), name.range)
        default:
            report(.expectedExpression, at: missingRange, label: "found \(foundDescription)")
            // Consume the offending token unless it ends the line or a block, so callers advance.
            if !(at(.newline) || at(.rightBrace) || at(.eof) || at(.rightParen) || at(.rightBracket) || at(.comma)) {
                advance()
            }
            return Expr(.error, rangeFrom(s))
        }
    }

    /// `{ "key": expr, ... }`
    private mutating func parseObject() -> Expr {
        let s = start
        let open = range(of: current)
        advance()
        guard enterExpression() else { skipNested(); leaveExpression(); return Expr(.error, rangeFrom(s)) }
        defer { leaveExpression() }
        var fields: [ObjectField] = []
        skipNewlines()
        while !at(.rightBrace) && !at(.eof) {
            var key: String?
            var keyRange = range(of: current)
            if at(.string) {
                key = decodePlainString(current) ?? ""
                advance()
            } else if let n = parseName("field name") {
                key = n.text
                keyRange = n.range
            }
            guard let key else { recover(); break }
            guard expect(.colon, .expectedAfter("':'", "field name"), hint: "{ \"amount\": amount, \"currency\": \"usd\" }") else {
                recover(); break
            }
            skipNewlines()
            fields.append(ObjectField(key: key, keyRange: keyRange, value: parseExpression()))
            skipNewlines()
            if !match(.comma) { break }
            skipNewlines()
        }
        if !match(.rightBrace) {
            report(.expectedClosing("'}'", "object"), at: missingRange, label: "found \(foundDescription)",
                   notes: [DiagnosticNote("to match this '{'", at: open)])
        }
        return Expr(.object(fields), rangeFrom(s))
    }

    // MARK: - Text literals

    /// Decodes a text literal that may not hold `{…}` (import paths, keys, JSON paths).
    private mutating func decodePlainString(_ token: Token) -> String? {
        let e = parseTemplate(token)
        switch e.kind {
        case .string(let s): return s
        case .template:
            report(.templateNotAllowed, at: e.range, hint: "write a literal '{' as '\\{'")
            return nil
        default: return nil
        }
    }

    /// Splits a string token into text and `{expression}` parts; each expression is parsed by a
    /// parser over just its bytes, so positions stay exact.
    private mutating func parseTemplate(_ token: Token) -> Expr {
        let tokenRange = range(of: token)
        let bytes = file.bytes
        let s = Int(token.start) + 1
        var end = Int(token.end)
        let terminated = end - s >= 1 && bytes[end - 1] == 0x22 && !isEscaped(bytes, end - 1, from: s)
        if terminated { end -= 1 }
        // Fast path: no escape, no brace: the text is the bytes as they are.
        var plain = true
        for k in s..<end where bytes[k] == 0x5C || bytes[k] == 0x7B || bytes[k] == 0x7D {
            plain = false
            break
        }
        if plain { return Expr(.string(String(decoding: UnsafeBufferPointer(rebasing: bytes[s..<end]), as: UTF8.self)), tokenRange) }
        var parts: [TemplatePart] = []
        var text: [UInt8] = []
        var i = s
        while i < end {
            let b = bytes[i]
            if b == 0x5C {  // backslash
                guard i + 1 < end else { i += 1; continue }
                let e = bytes[i + 1]
                switch e {
                case 0x22: text.append(0x22); i += 2
                case 0x5C: text.append(0x5C); i += 2
                case 0x6E: text.append(0x0A); i += 2
                case 0x74: text.append(0x09); i += 2
                case 0x72: text.append(0x0D); i += 2
                case 0x7B: text.append(0x7B); i += 2
                case 0x7D: text.append(0x7D); i += 2
                case 0x75:  // \u{XXXX}
                    var j = i + 2
                    var value: UInt32 = 0
                    var ok = j < end && bytes[j] == 0x7B
                    j += 1
                    var digits = 0
                    while ok && j < end && bytes[j] != 0x7D {
                        guard let d = hexValue(bytes[j]), digits < 6 else { ok = false; break }
                        value = value * 16 + d
                        digits += 1
                        j += 1
                    }
                    if ok && j < end && digits > 0, let scalar = UnicodeScalar(value) {
                        text.append(contentsOf: Array(String(Character(scalar)).utf8))
                        i = j + 1
                    } else {
                        // Pass over the whole escape, up to its '}' if it has one on this line.
                        while j < end && bytes[j] != 0x7D && bytes[j] != 0x22 { j += 1 }
                        report(.invalidUnicodeEscape, at: range(i, min(end, j + 1)), hint: "write a code point in hex: \\u{E9}")
                        i = min(end, j + 1)
                    }
                default:
                    report(.invalidEscape, at: range(i, i + 2), hint: "escapes: \\\" \\\\ \\n \\t \\r \\{ \\} \\u{…}")
                    i += 2
                }
            } else if b == 0x7B {
                // Find the matching '}' (nested strings and braces), as the lexer did.
                let close = matchingBrace(bytes, from: i, end: end)
                if !text.isEmpty {
                    parts.append(.text(String(decoding: text, as: UTF8.self)))
                    text.removeAll(keepingCapacity: true)
                }
                guard let close else {
                    // Already reported by the lexer as an unterminated template.
                    parts.append(.expr(Expr(.error, range(i, end))))
                    i = end
                    break
                }
                parts.append(.expr(parseInterpolation(from: i + 1, to: close)))
                i = close + 1
            } else if b == 0x7D {
                report(.unmatchedTemplateBrace, at: range(i, i + 1), hint: "write a literal '}' as '\\}'")
                text.append(b)
                i += 1
            } else {
                text.append(b)
                i += 1
            }
        }
        if !text.isEmpty { parts.append(.text(String(decoding: text, as: UTF8.self))) }
        if parts.isEmpty { return Expr(.string(""), tokenRange) }
        if parts.count == 1, case .text(let t) = parts[0] { return Expr(.string(t), tokenRange) }
        return Expr(.template(parts), tokenRange)
    }

    private mutating func parseInterpolation(from s: Int, to e: Int) -> Expr {
        var sub = Parser(file: file, start: s, end: e, depth: expressionDepth + 1)
        sub.reportedTooDeep = reportedTooDeep
        if sub.expressionDepth > Parser.maxDepth {
            if !reportedTooDeep {
                reportedTooDeep = true
                report(.tooDeep(Parser.maxDepth), at: range(s, e))
            }
            return Expr(.error, range(s, e))
        }
        if sub.at(.eof) {
            report(.emptyInterpolation, at: range(s - 1, e + 1), hint: "put an expression between the braces: {amount}, or write '\\{' for a brace")
            return Expr(.error, range(s - 1, e + 1))
        }
        let expr = sub.parseExpression()
        if !sub.at(.eof) {
            sub.report(.expectedClosing("'}'", "template expression"), at: sub.range(of: sub.current), label: "found \(sub.foundDescription)")
        }
        // The sub-lexer re-reads bytes the outer lexer already checked; keep only the parser's findings.
        diagnostics += sub.diagnostics
        reportedTooDeep = reportedTooDeep || sub.reportedTooDeep
        return expr
    }

    private func isEscaped(_ bytes: UnsafeBufferPointer<UInt8>, _ i: Int, from s: Int) -> Bool {
        var n = 0
        var j = i - 1
        while j >= s && bytes[j] == 0x5C { n += 1; j -= 1 }
        return n % 2 == 1
    }

    private func hexValue(_ b: UInt8) -> UInt32? {
        switch b {
        case 0x30...0x39: UInt32(b - 0x30)
        case 0x41...0x46: UInt32(b - 0x41 + 10)
        case 0x61...0x66: UInt32(b - 0x61 + 10)
        default: nil
        }
    }

    /// The index of the `}` closing the `{` at `open`, skipping nested braces and strings.
    private func matchingBrace(_ bytes: UnsafeBufferPointer<UInt8>, from open: Int, end: Int) -> Int? {
        var stack: [Bool] = [false]  // false: inside braces; true: inside a string
        var depth = [0]
        var i = open + 1
        while i < end {
            let b = bytes[i]
            if stack.last! {
                if b == 0x5C { i += 2; continue }
                if b == 0x22 { stack.removeLast(); depth.removeLast() }
                else if b == 0x7B { stack.append(false); depth.append(0) }
            } else {
                if b == 0x22 { stack.append(true); depth.append(0) }
                else if b == 0x7B { depth[depth.count - 1] += 1 }
                else if b == 0x7D {
                    if depth[depth.count - 1] == 0 {
                        stack.removeLast(); depth.removeLast()
                        if stack.isEmpty { return i }
                    } else {
                        depth[depth.count - 1] -= 1
                    }
                }
            }
            i += 1
        }
        return nil
    }
}

extension Parser {
    /// Parses one expression of the flow language embedded in another format (test plans, which
    /// write values with the flow's own literals): from byte `start` of `file`, stopping before the
    /// first token that cannot continue the expression. Returns the expression, the offset just
    /// after its last token (where the caller's own lexer resumes), and the lexer's and parser's
    /// diagnostics about the expression's bytes (none about the token after it, which the caller
    /// lexes again).
    static func parseEmbeddedExpression(in file: SourceFile, from start: Int) -> (expression: Expr, end: Int, diagnostics: [Diagnostic]) {
        var parser = Parser(file: file, start: start, end: file.bytes.count, depth: 0)
        let expression = parser.parseExpression()
        let end = max(start, parser.previousEnd)
        let lexical = parser.lexer.diagnostics.filter { Int($0.range.start) < end }
        return (expression, end, lexical + parser.diagnostics)
    }
}

extension TypeRef {
    public static let names = ["text", "number", "currency", "bool", "date", "list", "object", "secure"]
}

extension String {
    func trimmingSpaces() -> String {
        var s = Substring(self)
        while s.first == " " || s.first == "\t" { s.removeFirst() }
        while s.last == " " || s.last == "\t" { s.removeLast() }
        return String(s)
    }
}
