/// Prints a flow file in the one canonical layout (`flow fmt`).
///
/// Design note (after gofmt and swift-format's pretty printer, at a smaller scale):
/// - The formatter works on the file's tokens and comments, not on the syntax tree, so everything
///   the tree forgets survives as written: comments, the spelling of numbers, quoted names and
///   text literals (byte for byte; templates are never touched), `on error` on its own line or
///   not, and where lines break. Lines are never re-wrapped; the only lines joined are a `}` and
///   an `else` on the next line.
/// - The lexer is used unchanged: it folds comments into newlines, so the formatter finds them
///   itself in the gaps between tokens (a gap holds only blanks, line ends and comments; `//`
///   inside a text literal or a quoted name is part of a token, never of a gap).
/// - The syntax tree only answers questions that tokens alone cannot: which `(` and `[` follow a
///   name (a call or an index: no space), which `-` is a unary minus (no space after it), which
///   `:` is inside a SOAP element name (`b:Account`: no space), where `options` lists start. See
///   `LayoutHints`.
/// - Indentation is 2 spaces per open bracket (`{`, `(`, `[`); brackets opened on one line count
///   once, and a line that starts by closing brackets gets the indentation of the line that
///   opened the first of them. The one list that goes on after a line end outside brackets, a
///   question's `options a,` + `b`, is indented one more step.
/// - Only files without syntax errors are formatted. The result is re-read before it is returned:
///   its tokens must be the input's tokens (apart from the line end between `}` and `else`), so a
///   bug here can produce an `internalError`, never a file that means something else.
///
/// The layout itself is described in grammar.md, "Canonical layout".
public enum FlowFormatter {
    public enum Outcome: Sendable {
        /// The file in the canonical layout (the same text when it already was).
        case formatted(String)
        /// The file has syntax errors (lexer and parser diagnostics, by position); nothing was formatted.
        case syntaxErrors([Diagnostic])
        /// A bug in the formatter: its output would not read as the same tokens. Nothing may be written.
        case internalError(String)
    }

    /// Formats a file that has been read into a `SourceFile`.
    public static func format(_ file: SourceFile) -> Outcome {
        // The syntax tree is only read for the hints, one declaration at a time, each freed once
        // read: the whole tree, kept to the end, was the largest part of what `flow fmt` held.
        var parser = Parser(file: file)
        var hints = LayoutHints()
        parser.parseDeclarations { hints.add($0) }
        let diagnostics = parser.cursor.lexer.diagnostics + parser.cursor.diagnostics
        return layOut(file, diagnostics: diagnostics) { hints }
    }

    /// The canonical layout of a parsed file (a flow or a plan): nothing when the parse found
    /// errors; the printed text, checked to read as the same tokens, otherwise.
    static func layOut(_ file: SourceFile, diagnostics: [Diagnostic], hints: () -> LayoutHints) -> Outcome {
        if diagnostics.contains(where: { $0.severity == .error }) {
            return .syntaxErrors(diagnostics.sortedByPosition())
        }
        // The pieces and the hints are freed before the text is read back.
        let text: String
        do {
            guard let pieces = Piece.read(file) else {
                return .internalError("unexpected text between the tokens of '\(file.path)'")
            }
            text = LayoutPrinter(file: file, pieces: pieces, hints: hints()).print()
        }
        if let problem = verify(text, against: file) { return .internalError(problem) }
        return .formatted(text)
    }

    /// Formats source text held in memory.
    public static func format(source: String, path: String = "input.flow") -> Outcome {
        format(SourceFile(path: path, text: source))
    }

    /// The formatted text must lex without problems into the same tokens as the original (same
    /// kinds and bytes, same line ends except the one between `}` and a joined `else`).
    ///
    /// Both texts are read token by token side by side: listing every token of each first held
    /// two arrays of the file's tokens at once.
    static func verify(_ text: String, against original: SourceFile) -> String? {
        let formatted = SourceFile(id: original.id, path: original.path, text: text)
        var after = SignificantTokens(formatted)
        var before = SignificantTokens(original)
        let a = original.bytes
        let b = formatted.bytes
        var i = 0
        var changed: String?
        while true {
            let x = before.next(), y = after.next()
            let same = x.kind == y.kind && x.end - x.start == y.end - y.start
                && (x.kind == .newline || a[Int(x.start)..<Int(x.end)].elementsEqual(b[Int(y.start)..<Int(y.end)]))
            if !same {
                let text = original.text(original.range(Int(x.start), Int(x.end)))
                let line = original.location(of: Int(x.start)).line
                changed = "formatting '\(original.path)' would change token \(i + 1) ('\(text)' at line \(line))"
                break
            }
            if x.kind == .eof { break }
            i += 1
        }
        // A formatted text that does not lex cleanly is reported first, wherever its problem is.
        after.readToEnd()
        if let problem = after.lexer.diagnostics.first {
            return "the formatted text of '\(original.path)' does not read back: \(problem.message)"
        }
        return changed
    }

    /// A file's tokens up to and including the end of file, one at a time, without the newlines
    /// the formatter may remove or add: at the start and the end of the file, and just before
    /// `else` (where it joins lines).
    struct SignificantTokens {
        var lexer: Lexer
        private var lookahead: Token?
        private var started = false
        private var ended = false

        init(_ file: SourceFile) { lexer = Lexer(file: file) }

        private mutating func take() -> Token {
            if let t = lookahead {
                lookahead = nil
                return t
            }
            return lexer.next()
        }

        /// The next token; the end of file again once it has been reached.
        mutating func next() -> Token {
            var t = take()
            while !started && t.kind == .newline { t = take() }
            started = true
            if t.kind == .newline {
                // Kept unless `else` or the end of the file comes next.
                let after = take()
                if (after.kind == .word && after.keyword == .else) || after.kind == .eof {
                    t = after
                } else {
                    lookahead = after
                }
            }
            if t.kind == .eof {
                ended = true
                lookahead = t
            }
            return t
        }

        /// Lexes the rest of the file (for its diagnostics).
        mutating func readToEnd() {
            while !ended { _ = next() }
        }
    }
}

// MARK: - Tokens and comments

/// A token, or a comment found in the gap before a token, with the number of line ends between
/// it and what came before.
///
/// 16 bytes: a comment is kept as a `.newline` token over its text (`//` up to, not including,
/// the line end). No newline token is a piece, and a file has a piece for about every four of
/// its bytes, so the enum of a token or a comment beside an `Int` (32 bytes) weighed.
struct Piece {
    private var stored: Token
    var breaks: UInt32

    init(token: Token, breaks: Int) {
        stored = token
        self.breaks = UInt32(clamping: breaks)
    }

    init(commentFrom start: Int, to end: Int, breaks: Int) {
        stored = Token(.newline, start: start, end: end)
        self.breaks = UInt32(clamping: breaks)
    }

    var token: Token? { stored.kind == .newline ? nil : stored }

    /// The comment's bytes (`//` up to the line end), nil for a token.
    var comment: (start: Int, end: Int)? { stored.kind == .newline ? (Int(stored.start), Int(stored.end)) : nil }

    /// The file's tokens (without newlines and the end of file) and comments, in order. Nil when a
    /// gap holds something other than blanks, line ends and comments (the lexer would have
    /// reported it; only files without errors get here).
    static func read(_ file: SourceFile) -> [Piece]? {
        let buf = file.bytes
        var lexer = Lexer(file: file)
        var pieces: [Piece] = []
        var breaks = 0
        var gapStart = 0
        while true {
            let t = lexer.next()
            if t.kind == .newline { continue }
            var i = gapStart
            let gapEnd = Int(t.start)
            while i < gapEnd {
                let b = buf[i]
                if b == 0x20 || b == 0x09 {
                    i += 1
                } else if b == 0x0A {
                    breaks += 1
                    i += 1
                } else if b == 0x0D {
                    breaks += 1
                    i += i + 1 < gapEnd && buf[i + 1] == 0x0A ? 2 : 1
                } else if b == 0x2F && i + 1 < gapEnd && buf[i + 1] == 0x2F {
                    var j = i + 2
                    while j < gapEnd && buf[j] != 0x0A && buf[j] != 0x0D { j += 1 }
                    pieces.append(Piece(commentFrom: i, to: j, breaks: breaks))
                    breaks = 0
                    i = j
                } else {
                    return nil
                }
            }
            if t.kind == .eof { return pieces }
            pieces.append(Piece(token: t, breaks: breaks))
            breaks = 0
            gapStart = Int(t.end)
        }
    }
}

// MARK: - What the syntax tree tells about spacing

/// Facts about tokens that only the syntax tree knows, by byte offset.
struct LayoutHints {
    /// Ends of names: a `(` or `[` right after one is a call or an index, written without a space.
    var nameEnds = Set<UInt32>()
    /// Ends of expressions that are indexed (`(a + b)[0]`, `"abc"[0]`, `[1, 2][0]`).
    var indexedEnds = Set<UInt32>()
    /// Starts of the operands of unary minus: the `-` just before one is written without a space after it.
    var negatedStarts = Set<UInt32>()
    /// The `:` inside SOAP element names (`b:Account`), written without spaces.
    var xmlColons = Set<UInt32>()
    /// Starts of question properties `options a, b`, whose list may go on after a line end.
    var optionsStarts = Set<UInt32>()

    /// No hints yet: they are added declaration by declaration (`add(_:)`).
    init() {}

    mutating func add(_ declaration: Declaration) {
        switch declaration {
        case .import:
            break
        case .config(let name, let value, _):
            add(name)
            add(value)
        case .secret(let name, _):
            add(name)
        case .variable(let parameter):
            add(parameter)
        case .ip(let ip):
            add(ip.name)
            ip.parameters.forEach { add($0) }
            for e in [ip.url, ip.action, ip.timeout, ip.retry] { if let e { add(e) } }
            for pair in ip.query + ip.headers { add(pair.value) }
            switch ip.body {
            case .form(let pairs): pairs.forEach { add($0.value) }
            case .json(let e), .raw(let e): add(e)
            case .soap(let elements): elements.forEach { add($0) }
            case nil: break
            }
            switch ip.auth {
            case .bearer(let name): add(name)
            case .basic(let user, let password):
                add(user)
                add(password)
            case nil: break
            }
            ip.outputs.forEach { add($0.name) }
        case .extension(let ext):
            add(ext.name)
            ext.parameters.forEach { add($0) }
            for e in [ext.command, ext.web, ext.timeout] { if let e { add(e) } }
            ext.outputs.forEach { add($0.name) }
        case .flow(let flow):
            add(flow.name)
            (flow.parameters + flow.outputs).forEach { add($0) }
            flow.body.forEach { add($0) }
        }
    }

    private mutating func add(_ element: XMLElementSpec) {
        let name = element.name.utf8
        if let colon = name.firstIndex(of: 0x3A) {
            xmlColons.insert(element.range.start + UInt32(name.distance(from: name.startIndex, to: colon)))
        }
        switch element.content {
        case .value(let e): add(e)
        case .children(let children): children.forEach { add($0) }
        }
    }

    private mutating func add(_ name: Name) { nameEnds.insert(name.range.end) }

    private mutating func add(_ parameter: Parameter) {
        add(parameter.name)
        if let e = parameter.defaultValue { add(e) }
    }

    private mutating func add(_ question: Question) {
        add(question.name)
        for property in question.properties {
            if property.kind == .options { optionsStarts.insert(property.range.start) }
            property.values.forEach { add($0) }
        }
    }

    private mutating func add(_ statement: Statement) {
        switch statement.kind {
        case .page(let page):
            add(page.name)
            if let title = page.title { add(title) }
            page.questions.forEach { add($0) }
        case .question(let question):
            add(question)
        case .call(let call):
            add(call.callee)
            for argument in call.arguments {
                if let label = argument.label { add(label) }
                add(argument.value)
            }
            switch call.binding {
            case .variable(let name): add(name)
            case .mapping(let pairs):
                for pair in pairs {
                    add(pair.output)
                    add(pair.variable)
                }
            case nil: break
            }
            switch call.onError {
            case .block(let body, _): body.forEach { add($0) }
            case .goto(let label): add(label)
            case nil: break
            }
        case .response(let e):
            add(e)
        case .set(let target, _, let value):
            add(target)
            add(value)
        case .decision(let branches, let otherwise):
            for branch in branches {
                add(branch.condition)
                branch.body.forEach { add($0) }
            }
            otherwise?.forEach { add($0) }
        case .label(let name), .goto(let name):
            add(name)
        case .finish(_, let reason):
            if let reason { add(reason) }
        }
    }

    private mutating func add(_ e: Expr) {
        switch e.kind {
        case .string, .template, .number, .bool, .null, .error:
            // Expressions inside templates are part of a text literal token: nothing to space.
            break
        case .name(let text):
            add(Name(text, e.range))
        case .member(let base, let name):
            add(base)
            add(name)
        case .index(let base, let index):
            indexedEnds.insert(base.range.end)
            add(base)
            add(index)
        case .call(let name, let arguments):
            add(name)
            for argument in arguments {
                if let label = argument.label { add(label) }
                add(argument.value)
            }
        case .unary(let op, let operand):
            if op == .negate { negatedStarts.insert(operand.range.start) }
            add(operand)
        case .binary(_, let left, let right):
            add(left)
            add(right)
        case .list(let items):
            items.forEach { add($0) }
        case .object(let fields):
            fields.forEach { add($0.value) }
        }
    }
}

// MARK: - Printing

/// Lays out the pieces line by line: indentation, spaces between tokens, blank lines.
struct LayoutPrinter {
    let file: SourceFile
    let pieces: [Piece]
    let hints: LayoutHints

    /// One output line, before blank lines are decided. Its text (without the indentation) is
    /// `texts[textStart..<textEnd]`: one buffer for every line, not an array for each.
    private struct Line {
        var textStart = 0
        var textEnd = 0
        var indent = 0
        var isComment = false
        var startsWithCloser = false
        var endsWithOpener = false
        var startsWithOn = false
        /// A code line at the top level that starts a declaration.
        var startsDeclaration = false
        /// It starts with `flow`, `ip` or `extension`: a declaration with a body.
        var startsBlockDeclaration = false
        /// A blank line came before it in the source.
        var blankBefore = false
    }

    /// An open bracket: the line it was opened on, that line's indentation, and the indentation
    /// of the lines inside it.
    private struct Open {
        var line: Int
        var lineIndent: Int
        var content: Int
    }

    init(file: SourceFile, pieces: [Piece], hints: LayoutHints) {
        self.file = file
        self.pieces = pieces
        self.hints = hints
    }

    func print() -> String {
        var texts: [UInt8] = []
        texts.reserveCapacity(file.bytes.count + file.bytes.count / 8)
        var lines = layOut(groupLines(), into: &texts)
        decideBlankLines(&lines)
        // The text is written once, straight into the string: its length is known first.
        var length = 0
        for line in lines { length += (line.blankBefore ? 1 : 0) + 2 * line.indent + line.textEnd - line.textStart + 1 }
        return texts.withUnsafeBufferPointer { texts in
            String(unsafeUninitializedCapacity: length) { out in
                var at = 0
                for line in lines {
                    if line.blankBefore {
                        out[at] = 0x0A
                        at += 1
                    }
                    for _ in 0..<2 * line.indent {
                        out[at] = 0x20
                        at += 1
                    }
                    for k in line.textStart..<line.textEnd {
                        out[at] = texts[k]
                        at += 1
                    }
                    out[at] = 0x0A
                    at += 1
                }
                return at
            }
        }
    }

    /// A source line's pieces: `pieces[start..<end]`, and whether a blank line came before it.
    private struct Group {
        var start: Int
        var end: Int
        var blankBefore: Bool
    }

    /// Pieces grouped by source line, with whether a blank line came before; a line starting
    /// with `else` joins a line that ends with `}`. A line's pieces follow one another, so a
    /// line is a range of them.
    private func groupLines() -> [Group] {
        var lines: [Group] = []
        for (k, piece) in pieces.enumerated() {
            if k > 0 && piece.breaks == 0 {
                lines[lines.count - 1].end = k + 1
                continue
            }
            if let t = piece.token, t.kind == .word && t.keyword == .else,
               let last = lines.last, pieces[last.end - 1].token?.kind == .rightBrace
            {
                lines[lines.count - 1].end = k + 1
                continue
            }
            lines.append(Group(start: k, end: k + 1, blankBefore: k > 0 && piece.breaks > 1))
        }
        return lines
    }

    private func isOpener(_ kind: TokenKind) -> Bool {
        kind == .leftBrace || kind == .leftParen || kind == .leftBracket
    }

    private func isCloser(_ kind: TokenKind) -> Bool {
        kind == .rightBrace || kind == .rightParen || kind == .rightBracket
    }

    private func layOut(_ grouped: [Group], into texts: inout [UInt8]) -> [Line] {
        var stack: [Open] = []
        var lines: [Line] = []
        lines.reserveCapacity(grouped.count)
        // The only list that may go on after a line end outside brackets is a question's
        // `options a,` + `b`: while it does (at this stack depth), lines are indented one more step.
        var optionsDepth: Int?
        for (index, group) in grouped.enumerated() {
            var line = Line()
            line.blankBefore = group.blankBefore
            line.textStart = texts.count
            let first = pieces[group.start]
            let continues = optionsDepth == stack.count ? 1 : 0
            guard let firstToken = first.token else {
                line.isComment = true
                line.indent = (stack.last?.content ?? 0) + continues
                appendComment(first, to: &texts)
                line.textEnd = texts.count
                lines.append(line)
                continue
            }
            line.startsWithCloser = isCloser(firstToken.kind)
            line.startsWithOn = firstToken.kind == .word && firstToken.keyword == .on
            line.startsDeclaration = stack.isEmpty && !line.startsWithCloser
            line.startsBlockDeclaration = line.startsDeclaration && firstToken.kind == .word
                && (firstToken.keyword == .flow || firstToken.keyword == .ip || firstToken.keyword == .extension)
            line.indent = line.startsWithCloser ? (stack.last?.lineIndent ?? 0) : (stack.last?.content ?? 0) + continues
            let depth = stack.count
            let startsOptions = hints.optionsStarts.contains(firstToken.start)

            var previous: Token?
            for k in group.start..<group.end {
                let piece = pieces[k]
                guard let t = piece.token else {
                    // An end-of-line comment, one space after the code.
                    texts.append(0x20)
                    appendComment(piece, to: &texts)
                    continue
                }
                if let previous, spaced(previous, t) { texts.append(0x20) }
                texts.append(contentsOf: file.bytes[Int(t.start)..<Int(t.end)])
                if isOpener(t.kind) {
                    let content = stack.last.map { $0.line == index ? $0.content : line.indent + 1 } ?? line.indent + 1
                    stack.append(Open(line: index, lineIndent: line.indent, content: content))
                } else if isCloser(t.kind) {
                    _ = stack.popLast()
                }
                previous = t
            }
            if let previous { line.endsWithOpener = isOpener(previous.kind) }
            let endsWithComma = previous?.kind == .comma && stack.count == depth
            optionsDepth = endsWithComma && (startsOptions || continues == 1) ? depth : nil
            line.textEnd = texts.count
            lines.append(line)
        }
        return lines
    }

    /// `// text`: the text as written, without trailing blanks, with one space after `//` when
    /// the text starts right after it (`//note`), except for rulers and doc-like `///`.
    private func appendComment(_ piece: Piece, to text: inout [UInt8]) {
        guard let (start, comment) = piece.comment else { return }
        var end = comment
        let buf = file.bytes
        while end > start + 2 && (buf[end - 1] == 0x20 || buf[end - 1] == 0x09) { end -= 1 }
        text.append(contentsOf: buf[start..<start + 2])
        if end > start + 2 {
            let b = buf[start + 2]
            if b != 0x20 && b != 0x09 && b != 0x2F { text.append(0x20) }
            text.append(contentsOf: buf[start + 2..<end])
        }
    }

    /// Whether one space goes between two tokens on a line.
    private func spaced(_ a: Token, _ b: Token) -> Bool {
        switch b.kind {
        case .comma, .rightParen, .rightBracket, .dot, .colon: return false
        default: break
        }
        switch a.kind {
        case .leftParen, .leftBracket, .dot: return false
        case .colon: return !hints.xmlColons.contains(a.start)
        case .minus where hints.negatedStarts.contains(b.start): return false
        case .leftBrace where b.kind == .rightBrace: return false
        default: break
        }
        switch b.kind {
        case .leftParen: return !hints.nameEnds.contains(a.end)
        case .leftBracket: return !(hints.nameEnds.contains(a.end) || hints.indexedEnds.contains(a.end))
        default: return true
        }
    }

    /// At most one blank line in a row (the source's); none at the start of the file, after a line
    /// that opens a bracket, before a line that closes one, or before `on error`. Between two
    /// top-level declarations where either is a `flow`, `ip` or `extension` or spans several
    /// lines, at least one (right after the first when the source has none); one-line
    /// declarations (`import`, `config`, `secret`, `var`) may stay grouped without one, as
    /// constants are in most code.
    private func decideBlankLines(_ lines: inout [Line]) {
        for i in lines.indices {
            if i == 0 || lines[i - 1].endsWithOpener || lines[i].startsWithCloser || lines[i].startsWithOn {
                lines[i].blankBefore = false
            }
        }
        let starts = lines.indices.filter { !lines[$0].isComment && lines[$0].startsDeclaration }
        // The last code line of each declaration.
        var ends: [Int] = []
        for (n, s) in starts.enumerated() {
            var e = (n + 1 < starts.count ? starts[n + 1] : lines.count) - 1
            while e > s && lines[e].isComment { e -= 1 }
            ends.append(e)
        }
        for n in starts.indices.dropLast() {
            func isBlock(_ k: Int) -> Bool { ends[k] > starts[k] || lines[starts[k]].startsBlockDeclaration }
            guard isBlock(n) || isBlock(n + 1) else { continue }
            let between = (ends[n] + 1)...starts[n + 1]
            if !between.contains(where: { lines[$0].blankBefore }) { lines[ends[n] + 1].blankBefore = true }
        }
    }
}
