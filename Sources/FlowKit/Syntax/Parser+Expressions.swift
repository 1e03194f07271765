/// Expressions: precedence climbing over unary, postfix (`.field`, `[index]`, calls) and primary
/// expressions, lists and objects.
extension Parser {
    // MARK: - Expressions

    static func binaryOperator(_ t: Token) -> (BinaryOperator, Int)? {
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
    mutating func parseBinary(_ minPrecedence: Int) -> Expr {
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


    mutating func parseUnary() -> Expr {
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

    mutating func parsePostfix() -> Expr {
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
                guard expectClosing(.rightBracket, "index", openedAt: open) else { return Expr(.error, rangeFrom(s)) }
                e = Expr(.index(e, index), rangeFrom(s))
            } else {
                return e
            }
        }
    }

    mutating func parsePrimary() -> Expr {
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
            expectClosing(.rightParen, "expression", openedAt: open)
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
            expectClosing(.rightBracket, "list", openedAt: open)
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
            return Expr(.name(name.text), name.range)
        default:
            report(.expectedExpression, at: missingRange, label: found)
            // Consume the offending token unless it ends the line or a block, so callers advance.
            if !(at(.newline) || at(.rightBrace) || at(.eof) || at(.rightParen) || at(.rightBracket) || at(.comma)) {
                advance()
            }
            return Expr(.error, rangeFrom(s))
        }
    }

    /// `{ "key": expr, ... }`
    mutating func parseObject() -> Expr {
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
        expectClosing(.rightBrace, "object", openedAt: open)
        return Expr(.object(fields), rangeFrom(s))
    }
}
