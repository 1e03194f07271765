/// The flow parser's top level: a file's declarations (`import`, `config`, `secret`, `flow`), their
/// parameters and types. IP and extension declarations are in `Parser+IPSettings.swift`.
extension Parser {
    // MARK: - File and declarations

    mutating func parseFile() -> SourceFileSyntax {
        var declarations: [Declaration] = []
        parseDeclarations { declarations.append($0) }
        return SourceFileSyntax(file: file.id, declarations: declarations)
    }

    /// The file's declarations, each handed to `body` as soon as it is parsed: a reader that
    /// needs one at a time (`flow fmt`'s layout hints) never holds the whole tree.
    mutating func parseDeclarations(_ body: (Declaration) -> Void) {
        while true {
            skipNewlines()
            if at(.eof) { break }
            let before = current.start
            if !at(.rightBrace), let d = parseDeclaration() { body(d) }
            if !at(.rightBrace) { endStatement("a declaration") }
            if at(.rightBrace) {
                report(.unmatchedClosingBrace, at: range(of: current))
                advance()
            }
            // Progress guard: every iteration consumes at least one token.
            if current.start == before && !at(.eof) { advance() }
        }
    }

    mutating func parseDeclaration() -> Declaration? {
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
                report(.expectedDeclaration, at: range(of: current), label: found,
                       hint: suggestionHint(currentText, ["import", "config", "secret", "var", "flow", "ip", "extension"]))
            }
            recover()
            return nil
        }
    }

    func suggestionHint(_ word: String, _ options: [String]) -> String? {
        guard current.kind == .word, let s = Suggest.closest(to: word, in: options) else { return nil }
        return "did you mean '\(s)'?"
    }

    func isStatementKeyword(_ t: Token) -> Bool {
        switch t.keyword {
        case .page, .question, .set, .if, .label, .goto, .call, .finish, .response: true
        default: false
        }
    }

    mutating func parseType() -> TypeRef? {
        guard at(.word) else {
            report(.expectedType, at: missingRange, label: found,
                   hint: "one of: \(TypeRef.names.joined(separator: ", "))")
            return nil
        }
        let t = TypeRef(name: currentText, range: range(of: current))
        advance()
        return t
    }

    /// `( name [: type] [= default], ... )`
    mutating func parseParameters(_ what: String) -> [Parameter] {
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
        expectClosing(.rightParen, "\(what) list", openedAt: open)
        return params
    }

    mutating func parseFlow() -> Declaration? {
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
            report(.expectedBlock("flow '\(name.text)'"), at: missingRange, label: found,
                   hint: "flow \(name.text) {\n  question Payment\n}")
            recover()
            return nil
        }
        let (body, close) = parseBlock(reserving: 16)
        return .flow(FlowDecl(name: name, parameters: params, outputs: outputs, body: body, range: rangeFrom(s), endRange: close))
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
