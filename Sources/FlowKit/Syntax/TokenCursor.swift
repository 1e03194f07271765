/// The token cursor and recovery toolkit shared by the flow parser (`Parser`) and the test plan
/// parser (`PlanParser`), which read the same tokens from the same `Lexer`.
///
/// Design note (after swift-syntax's `TokenConsumer`, which its `Parser` and `Lookahead` share,
/// and jlox's `match`/`check`/`advance`/`consume`/`synchronize`):
/// - `TokenCursor` is the state: the lexer, the current token (one token of lookahead), the
///   token consumed last and the parser's own diagnostics. It is a value, so a parser looks further
///   ahead by copying itself (`var look = self`) and commits by assigning the copy back.
/// - `TokenParser` is the toolkit over it: asking what the current token is (`at`, `atWord`),
///   consuming (`advance`, `match`, `expect`), reporting (`report`, with `missingRange` and
///   `found` saying where and what), and recovering: `recover` skips to the end of the line
///   keeping `{ }` balanced, so one mistake gives one diagnostic; `skipNested` and
///   `skipRestOfExpression` pass over what is nested too deep without recursion. Every helper
///   that loops either consumes a token or returns.
/// - Names (`word { word | digits }` or a quoted name) are read here too: both languages write them
///   the same way.
/// - Positions: `rangeFrom(start)` runs from a node's first token's start to the end of the token
///   consumed last.
struct TokenCursor {
    let file: SourceFile
    var lexer: Lexer
    private(set) var current: Token
    /// The token consumed last, for "expected … after '…'".
    private(set) var previous = Token(.eof, start: 0, end: 0)
    /// End offset of the token consumed last, for node ranges.
    private(set) var previousEnd: Int
    /// The parser's own findings (the lexer keeps its own).
    var diagnostics: [Diagnostic] = []

    /// A cursor over bytes `start..<end` of `file` (the whole file by default).
    init(file: SourceFile, start: Int = 0, end: Int? = nil) {
        self.file = file
        self.lexer = Lexer(file: file, start: start, end: end)
        self.current = lexer.next()
        self.previousEnd = start
    }

    mutating func advance() {
        if current.kind != .eof {
            previousEnd = Int(current.end)
            previous = current
            current = lexer.next()
        }
    }

    /// Starts lexing again at `offset`, as if the bytes before it (up to the last one) were the
    /// token consumed last; the replaced lexer's diagnostics are returned.
    mutating func restart(at offset: Int, previousFrom start: Int) -> [Diagnostic] {
        let replaced = lexer.diagnostics
        lexer = Lexer(file: file, start: offset)
        previousEnd = offset
        previous = Token(.unknown, start: max(start, offset - 1), end: offset)
        current = lexer.next()
        return replaced
    }
}

/// A parser reading tokens through a `TokenCursor`: the toolkit above, said once for both parsers.
protocol TokenParser {
    var cursor: TokenCursor { get set }
}

extension TokenParser {
    // MARK: - Where the cursor is

    var file: SourceFile { cursor.file }
    var current: Token { cursor.current }
    var previousEnd: Int { cursor.previousEnd }
    var start: Int { Int(cursor.current.start) }
    var currentText: String { file.text(range(of: current)) }

    func range(_ start: Int, _ end: Int) -> SourceRange { file.range(start, end) }
    func range(of token: Token) -> SourceRange { file.range(Int(token.start), Int(token.end)) }
    func rangeFrom(_ start: Int) -> SourceRange { file.range(start, max(start, previousEnd)) }

    func at(_ kind: TokenKind) -> Bool { current.kind == kind }
    func at(_ keyword: Keyword) -> Bool { current.kind == .word && current.keyword == keyword }

    /// True when the current token is the word spelled by `bytes`.
    func atWord(_ bytes: [UInt8]) -> Bool {
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
    func atWord(_ text: StaticString) -> Bool {
        guard current.kind == .word else { return false }
        let count = Int(current.end - current.start)
        guard count == text.utf8CodeUnitCount else { return false }
        let buf = file.bytes
        let p = text.utf8Start
        for i in 0..<count where buf[Int(current.start) + i] != p[i] { return false }
        return true
    }

    /// The end of a line-oriented item: a line end, a closing brace or the end of the file.
    var atLineEnd: Bool { at(.newline) || at(.rightBrace) || at(.eof) }

    // MARK: - Consuming

    mutating func advance() { cursor.advance() }

    @discardableResult
    mutating func match(_ kind: TokenKind) -> Bool {
        if at(kind) {
            advance()
            return true
        }
        return false
    }

    mutating func skipNewlines() {
        while at(.newline) { advance() }
    }

    /// Looks past line ends: is the next real token the keyword `k`?
    func nextLineStarts(with k: Keyword) -> Bool {
        guard at(.newline) else { return at(k) }
        // Only the lexer is copied (the parser is larger, and a copy of it retains more).
        var lexer = cursor.lexer
        var token = lexer.next()
        while token.kind == .newline { token = lexer.next() }
        return token.kind == .word && token.keyword == k
    }

    // MARK: - Reporting

    mutating func report(
        _ message: Message, at range: SourceRange, label: String? = nil, notes: [DiagnosticNote] = [],
        hint: String? = nil
    ) {
        cursor.diagnostics.append(Diagnostic(message, at: range, label: label, notes: notes, hint: hint))
    }

    /// The range to point at when something is missing before the current token: the current
    /// token, or just after the previous one when the line ended.
    var missingRange: SourceRange {
        if at(.newline) || at(.eof) { return range(previousEnd, previousEnd + (at(.eof) ? 0 : 1)) }
        return range(of: current)
    }

    /// The current token as a label says what was found: `'word'`, `'12'`, `a line end`.
    var foundDescription: String {
        switch current.kind {
        case .word, .number: "'\(currentText)'"
        default: current.kind.display
        }
    }

    /// `found 'word'`: the label under what was found instead of what was expected.
    var found: String { "found \(foundDescription)" }

    /// Consumes `kind` or reports `message` and returns false (consuming nothing).
    @discardableResult
    mutating func expect(
        _ kind: TokenKind, _ message: @autoclosure () -> Message, hint: @autoclosure () -> String? = nil,
        notes: @autoclosure () -> [DiagnosticNote] = []
    ) -> Bool {
        if match(kind) { return true }
        report(message(), at: missingRange, label: found, notes: notes(), hint: hint())
        return false
    }

    /// Consumes the `close` of a group whose opening token is at `open` (the ')' of a '('), or
    /// reports `expected ')' to close the <what>` at what was found, with a note at the opening,
    /// and returns false (consuming nothing).
    @discardableResult
    mutating func expectClosing(_ close: TokenKind, _ what: String, openedAt open: SourceRange) -> Bool {
        // The note (an array and a string) is made only when the close is missing.
        if match(close) { return true }
        let note = DiagnosticNote("to match this '\(file.text(open))'", at: open)
        return expect(
            close, .expectedClosing(close.display, what),
            notes: [note])
    }

    // MARK: - Recovery

    /// Skips to the end of the line, keeping braces balanced: after an error, the rest of the
    /// statement is passed over (with any block it opens) so one mistake gives one diagnostic.
    mutating func recover() {
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

    /// Requires the end of a line-oriented item, or reports `message` at what follows and
    /// recovers.
    mutating func endLine(_ message: @autoclosure () -> Message) {
        if atLineEnd { return }
        report(message(), at: range(of: current), label: found)
        recover()
    }

    /// Skips the rest of an expression that is nested too deep, without recursion: up to the end
    /// of the line, a ',' or a close that is not its own.
    mutating func skipRestOfExpression() {
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
    mutating func skipNested() {
        var level = 0
        while !at(.eof) {
            switch current.kind {
            case .leftBrace, .leftParen, .leftBracket: level += 1
            case .rightBrace, .rightParen, .rightBracket:
                if level == 0 { return }
                level -= 1
                if level == 0 {
                    advance()
                    return
                }
            case .newline where level == 0: return
            default: break
            }
            advance()
        }
    }

    // MARK: - Names

    var atNameStart: Bool {
        (at(.word) && !current.keyword.isReserved) || at(.quotedName)
    }

    /// After a name's first word: another word, or a whole number (`Step 2`, `Address line 2`);
    /// with `stopBeforeTimes`, not a number followed by `times` (`expect called Charge 2 times`).
    func atLaterNameWord(stopBeforeTimes: Bool) -> Bool {
        if at(.word) { return !current.keyword.isReserved }
        if at(.number) {
            guard file.bytes[Int(current.start)..<Int(current.end)].allSatisfy({ $0 >= 0x30 && $0 <= 0x39 })
            else { return false }
            guard stopBeforeTimes else { return true }
            var look = self
            look.advance()
            return !look.atWord("times")
        }
        return false
    }

    /// name = word { word | digits } | quoted-name. When there is none, `missing` is reported
    /// (with a hint to quote a reserved word found instead).
    mutating func parseName(
        missing: @autoclosure () -> Message, hint: String? = nil, stopBeforeTimes: Bool = false
    ) -> Name? {
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
            report(missing(), at: missingRange, label: found, hint: hint)
            return nil
        }
        let first = current
        advance()
        if !atLaterNameWord(stopBeforeTimes: stopBeforeTimes) {
            return Name(file.text(range(of: first)), range(of: first))
        }
        // Words are joined by single spaces; when the source already has exactly that, the name is
        // its text as written (one string made, no joining).
        var singleSpaced = true
        var lastEnd = Int(first.end)
        while atLaterNameWord(stopBeforeTimes: stopBeforeTimes) {
            if Int(current.start) != lastEnd + 1 || file.bytes[lastEnd] != 0x20 { singleSpaced = false }
            lastEnd = Int(current.end)
            advance()
        }
        let whole = range(Int(first.start), previousEnd)
        if singleSpaced { return Name(file.text(whole), whole) }
        let words = file.text(whole).split(whereSeparator: { $0 == " " || $0 == "\t" })
        return Name(words.joined(separator: " "), whole)
    }

    /// At a name's start: is the token after the name a ':'? (As `parseName` reads the name,
    /// without `stopBeforeTimes`.)
    func colonFollowsName() -> Bool {
        var lexer = cursor.lexer
        var token = lexer.next()
        if at(.word) {
            let bytes = file.bytes
            while true {
                if token.kind == .word && !token.keyword.isReserved {
                    token = lexer.next()
                } else if token.kind == .number
                    && bytes[Int(token.start)..<Int(token.end)].allSatisfy({ $0 >= 0x30 && $0 <= 0x39 })
                {
                    token = lexer.next()
                } else {
                    break
                }
            }
        }
        return token.kind == .colon
    }

    /// `name:` before an argument's value: a name followed by ':' is a label, consumed with the
    /// ':' and any line ends after it; anything else is left for the value (nothing reported).
    mutating func parseArgumentLabel(stopBeforeTimes: Bool = false) -> Name? {
        guard atNameStart else { return nil }
        // Most arguments have no label: a look at the tokens after the name, with a copy of the
        // lexer alone, says so without copying the parser or making the name's string.
        if !stopBeforeTimes && !colonFollowsName() { return nil }
        var look = self
        guard let name = look.parseName(missing: .expectedName("argument"), stopBeforeTimes: stopBeforeTimes),
            look.at(.colon)
        else { return nil }
        self = look
        advance()  // :
        skipNewlines()
        return name
    }
}
