/// The elements of a flow: blocks and the statements in them (pages and questions, calls,
/// decisions, `set`, `response`, `finish`), their bindings and argument lists.
extension Parser {
    // MARK: - Blocks and statements

    /// `{ statement* }`; returns the statements and the range of the closing brace.
    /// `reserving`: room made for that many statements first (a flow's body: most hold more than
    /// a few, and an array grown from empty took a buffer per doubling).
    mutating func parseBlock(reserving: Int = 0) -> ([Statement], SourceRange) {
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
        statements.reserveCapacity(reserving)
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

    mutating func parseStatement() -> Statement? {
        let s = start
        func done(_ kind: StatementKind) -> Statement { Statement(kind: kind, range: rangeFrom(s)) }
        switch current.keyword {
        case .page:
            guard let page = parsePage() else { return nil }
            return done(.page(page))
        case .question:
            guard let q = parseQuestion() else { return nil }
            return done(.question(q))
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
                       label: found, hint: example)
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
            report(.expectedAfter("'success' or 'failure'", "'finish'"), at: missingRange, label: found,
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
            report(.expectedElement, at: range(of: current), label: found, hint: hint)
            recover()
            return nil
        }
    }

    /// Parses `{`, then one item a line (each read by `item`) until `}`; a missing `}` is reported
    /// with a note at the `{`. Each pass consumes at least one token, so the loop ends.
    mutating func parseLines(closing construct: String, endOf what: String, _ item: (inout Parser) -> Void) {
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

    mutating func parseIf() -> Statement? {
        let s = start
        var branches: [Conditional] = []
        var otherwise: [Statement]?
        repeat {
            let bs = start
            advance()  // if
            let condition = parseExpression()
            guard at(.leftBrace) else {
                report(.expectedBlock("condition"), at: missingRange, label: found,
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
                report(.expectedBlock("'else'"), at: missingRange, label: found)
                recover()
                break
            }
            otherwise = parseBlock().0
            break
        } while true
        return Statement(kind: .decision(branches: branches, otherwise: otherwise), range: rangeFrom(s))
    }

    mutating func parsePage() -> Page? {
        let s = start
        advance()  // page
        guard let name = parseName("page name", hint: "page Contact Details {") else { recover(); return nil }
        guard at(.leftBrace) else {
            report(.expectedBlock("page '\(name.text)'"), at: missingRange, label: found,
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
        return Page(name: name, title: title, questions: questions, range: rangeFrom(s))
    }

    mutating func parseQuestion() -> Question? {
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
                let word = currentText
                let suggestion = at(.word) ? Suggest.closest(to: word, in: QuestionType.allCases.map(\.rawValue)) : nil
                report(.unknownQuestionType, at: missingRange, label: found,
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

    mutating func parseQuestionProperty() -> QuestionProperty? {
        let s = start
        guard at(.word), let kind = QuestionProperty.Kind.spelled.first(where: { atWord($0.1) })?.0 else {
            let names = QuestionProperty.Kind.allCases.map(\.rawValue)
            report(.unknownQuestionProperty, at: range(of: current), label: found,
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
            values.reserveCapacity(4)  // most lists are short: one buffer, not one per doubling
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
    mutating func parseCall(_ kind: CallKind) -> CallStatement? {
        let keyword = currentText
        advance()
        let example: String
        switch kind {
        case .ip: example = "ip StripeCharge(amount, token, description) -> result"
        case .extension: example = "extension Tokenize -> token"
        case .flow: example = "call Verify Identity(account: number) -> verified"
        }
        guard let callee = parseName("\(CallStatement.noun(kind)) name after '\(keyword)'", hint: example) else { recover(); return nil }
        var arguments: [Argument] = []
        var argumentsRange: SourceRange?
        if at(.leftParen) {
            let s = start
            arguments = parseArguments()
            argumentsRange = rangeFrom(s)
        } else if kind == .ip {
            report(.expectedAfter("'('", "integration point name"), at: missingRange, label: found,
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
                report(.expectedAfter("'error'", "'on'"), at: missingRange, label: found,
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
                report(.expectedAfter("'{' or 'goto'", "'on error'"), at: missingRange, label: found,
                       hint: "on error goto Try Again")
                recover()
            }
        }
        return CallStatement(kind: kind, callee: callee, arguments: arguments, argumentsRange: argumentsRange, binding: binding, onError: onError)
    }

    func kindNoun(_ kind: CallKind) -> String {
        switch kind {
        case .ip: "integration point"
        case .extension: "extension"
        case .flow: "sub-flow"
        }
    }

    mutating func parseBinding() -> Binding? {
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
            guard expectClosing(.rightParen, "output mapping", openedAt: open) else {
                return nil
            }
            return .mapping(pairs)
        }
        guard let name = parseName("variable name after '->'", hint: "-> result") else { return nil }
        return .variable(name)
    }

    /// `( [label:] expr, ... )`
    mutating func parseArguments() -> [Argument] {
        let open = range(of: current)
        advance()  // (
        var arguments: [Argument] = []
        skipNewlines()
        guard enterExpression() else { skipNested(); leaveExpression(); return [] }
        defer { leaveExpression() }
        while !at(.rightParen) && !at(.eof) {
            let s = start
            let label = parseArgumentLabel()
            if at(.rightParen) || at(.comma) || at(.newline) || at(.eof) {
                report(.expectedExpression, at: missingRange, label: found)
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
        if !expectClosing(.rightParen, "argument list", openedAt: open) { recover() }
        return arguments
    }
}
