import Foundation

extension Parser {
    /// What `parse(file)` gives, with the second half of a large file parsed on another thread.
    ///
    /// Design note: the cut is a restart point of `IncrementalParse` (a line end before a
    /// declaration, at depth zero), guessed from the text: a line end near the middle followed by
    /// a letter, where a top-level declaration starts in a file laid out as `flow fmt` lays it out.
    /// The second thread parses from there. This thread parses from the start and stops at the
    /// cut only when its own parse reaches the cut as a restart point in the state the second
    /// parse started from (as `IncrementalParse.updated` stops where the old parse resumes); the
    /// two results joined are then what one parse gives. When the guess was wrong (the cut fell
    /// inside a text, a comment or a block), this thread parses on to the end and the second
    /// parse is thrown away: the same result, later.
    public static func parseSharingWork(_ file: SourceFile, minimumBytes: Int = 128 * 1024) -> (SourceFileSyntax, [Diagnostic]) {
        guard file.bytes.count >= minimumBytes, SecondThread.isAvailable else { return parse(file) }
        return parseInTwo(file).result
    }

    /// `parseSharingWork` on any machine and for any size; `joined`: whether the second parse
    /// was used (the guess was a restart point), for tests.
    static func parseInTwo(_ file: SourceFile) -> (result: (SourceFileSyntax, [Diagnostic]), joined: Bool) {
        guard let cut = restartGuess(file.bytes) else { return (parse(file), false) }
        var tailResult: ([Diagnostic], [IncrementalParse.Segment]) = ([], [])
        var tailLexerDiagnostics: [Diagnostic] = []
        var head = Parser(file: file)
        var met = false
        var leading: [Diagnostic] = []
        var headSegments: [IncrementalParse.Segment] = []
        SecondThread.run({
            var tail = Parser(file: file, start: cut, end: file.bytes.count, depth: 0)
            tailResult = tail.parseSegments(stop: { _, _, _ in false })
            tailLexerDiagnostics = tail.cursor.lexer.diagnostics
        }, alongside: {
            (leading, headSegments) = head.parseSegments { _, lineEnd, tooDeep in
                guard lineEnd == cut, !tooDeep else { return false }
                met = true
                return true
            }
        })
        let (tailLeading, tailSegments) = tailResult
        var declarations: [Declaration] = []
        var parserDiagnostics = leading
        for s in headSegments {
            declarations += s.declarations
            parserDiagnostics += s.parserDiagnostics
        }
        guard met, tailLeading.isEmpty, tailSegments.first?.lineEnd == cut else {
            // The guess was not a restart point: `head` parsed the whole file.
            return ((SourceFileSyntax(file: file.id, declarations: declarations), head.cursor.lexer.diagnostics + parserDiagnostics), false)
        }
        for s in tailSegments {
            declarations += s.declarations
            parserDiagnostics += s.parserDiagnostics
        }
        var all: [Diagnostic] = head.cursor.lexer.diagnostics.filter { Int($0.range.start) < cut }
        all += tailLexerDiagnostics
        all += parserDiagnostics
        return ((SourceFileSyntax(file: file.id, declarations: declarations), all), true)
    }

    /// A line end near the middle of `bytes` where a declaration may start: the first of the line
    /// ends, blank lines and comment lines before a line that starts with a letter (the lexer makes
    /// them one newline token, at that first line end); nil when there is none in the third
    /// quarter (one long flow has none: its lines are indented).
    static func restartGuess(_ bytes: UnsafeBufferPointer<UInt8>) -> Int? {
        let lf = UInt8(ascii: "\n"), cr = UInt8(ascii: "\r"), space = UInt8(ascii: " "), tab = UInt8(ascii: "\t")
        let slash = UInt8(ascii: "/")
        guard let base = bytes.baseAddress, bytes.count >= 4 else { return nil }
        let limit = bytes.count / 4 * 3
        var i = bytes.count / 2
        while true {
            // The next line end, found by memchr.
            guard i < limit, let found = memchr(base + i, Int32(lf), limit - i) else { return nil }
            i = base.distance(to: found.assumingMemoryBound(to: UInt8.self))
            let c = bytes[i + 1] | 0x20
            if c >= UInt8(ascii: "a") && c <= UInt8(ascii: "z") { break }
            i += 1
        }
        // Back over the lines before it that are blank or only a comment.
        var p = i
        while true {
            if p > 0 && bytes[p - 1] == cr { p -= 1 }
            var lineStart = p
            while lineStart > 0 && bytes[lineStart - 1] != lf && bytes[lineStart - 1] != cr { lineStart -= 1 }
            var k = lineStart
            while k < p && (bytes[k] == space || bytes[k] == tab) { k += 1 }
            let trivia = k == p || (k + 1 < p && bytes[k] == slash && bytes[k + 1] == slash)
            guard trivia, lineStart > 0 else { return p }
            p = lineStart - 1
        }
    }

    static func restartGuess(_ bytes: [UInt8]) -> Int? {
        bytes.withUnsafeBufferPointer { restartGuess($0) }
    }
}
