/// Text literals: plain strings and templates (`"Hello {name}"`), whose interpolations are
/// parsed by a parser of their own over the bytes between the braces.
extension Parser {
    // MARK: - Text literals

    /// Decodes a text literal that may not hold `{…}` (import paths, keys, JSON paths).
    mutating func decodePlainString(_ token: Token) -> String? {
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
    mutating func parseTemplate(_ token: Token) -> Expr {
        let tokenRange = range(of: token)
        let bytes = file.bytes
        let s = Int(token.start) + 1
        var end = Int(token.end)
        let terminated = end - s >= 1 && bytes[end - 1] == 0x22 && !isEscaped(bytes, end - 1, from: s)
        if terminated { end -= 1 }
        // Fast path: no escape, no brace: the text is the bytes as they are.
        // Each '{' makes at most two parts (the text before it and its expression), so the parts
        // are counted first: an array grown part by part made two or three buffers per template.
        var plain = true
        var braces = 0
        for k in s..<end {
            let b = bytes[k]
            if b == 0x7B {
                braces += 1
                plain = false
            } else if b == 0x5C || b == 0x7D {
                plain = false
            }
        }
        if plain { return Expr(.string(String(decoding: UnsafeBufferPointer(rebasing: bytes[s..<end]), as: UTF8.self)), tokenRange) }
        var parts: [TemplatePart] = []
        parts.reserveCapacity(2 * braces + 1)
        // The text read since the last part: bytes `run..<i` as written, after `text` (what escapes
        // made, with the bytes before them); most texts have no escape and make no array.
        var text: [UInt8] = []
        var run = s
        /// Ends the text at `i`, appending what is written since `run` to `text` when it holds some.
        func pendingText(_ i: Int) -> String? {
            if text.isEmpty {
                return i > run ? String(decoding: UnsafeBufferPointer(rebasing: bytes[run..<i]), as: UTF8.self) : nil
            }
            if i > run { text.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[run..<i])) }
            let t = String(decoding: text, as: UTF8.self)
            text.removeAll(keepingCapacity: true)
            return t
        }
        var i = s
        while i < end {
            let b = bytes[i]
            if b == 0x5C {  // backslash
                if i > run { text.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[run..<i])) }
                guard i + 1 < end else { i += 1; run = i; continue }
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
                run = i
            } else if b == 0x7B {
                // Find the matching '}' (nested strings and braces), as the lexer did.
                let close = matchingBrace(bytes, from: i, end: end)
                if let t = pendingText(i) { parts.append(.text(t)) }
                guard let close else {
                    // Already reported by the lexer as an unterminated template.
                    parts.append(.expr(Expr(.error, range(i, end))))
                    i = end
                    run = end
                    break
                }
                parts.append(.expr(parseInterpolation(from: i + 1, to: close)))
                i = close + 1
                run = i
            } else if b == 0x7D {
                report(.unmatchedTemplateBrace, at: range(i, i + 1), hint: "write a literal '}' as '\\}'")
                i += 1
            } else {
                i += 1
            }
        }
        let last = pendingText(end)
        if parts.isEmpty { return Expr(.string(last ?? ""), tokenRange) }
        if let last { parts.append(.text(last)) }
        if parts.count == 1, case .text(let t) = parts[0] { return Expr(.string(t), tokenRange) }
        return Expr(.template(parts), tokenRange)
    }

    mutating func parseInterpolation(from s: Int, to e: Int) -> Expr {
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
        if !sub.cursor.diagnostics.isEmpty { cursor.diagnostics += sub.cursor.diagnostics }
        reportedTooDeep = reportedTooDeep || sub.reportedTooDeep
        return expr
    }

    func isEscaped(_ bytes: UnsafeBufferPointer<UInt8>, _ i: Int, from s: Int) -> Bool {
        var n = 0
        var j = i - 1
        while j >= s && bytes[j] == 0x5C { n += 1; j -= 1 }
        return n % 2 == 1
    }

    func hexValue(_ b: UInt8) -> UInt32? {
        switch b {
        case 0x30...0x39: UInt32(b - 0x30)
        case 0x41...0x46: UInt32(b - 0x41 + 10)
        case 0x61...0x66: UInt32(b - 0x61 + 10)
        default: nil
        }
    }

    /// The index of the `}` closing the `{` at `open`, skipping nested braces and strings.
    func matchingBrace(_ bytes: UnsafeBufferPointer<UInt8>, from open: Int, end: Int) -> Int? {
        // Fast path: no brace or string before the first '}'.
        var i = open + 1
        while i < end {
            let b = bytes[i]
            if b == 0x7D { return i }
            if b == 0x22 || b == 0x7B { break }
            i += 1
        }
        if i >= end { return nil }
        var stack: [Bool] = [false]  // false: inside braces; true: inside a string
        var depth = [0]
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
