import Foundation

extension Parser {
    /// What `parse(file)` gives, with a large file parsed in pieces on two threads.
    ///
    /// Design note: a piece starts at a restart point of `IncrementalParse` (a line end before a
    /// declaration, at depth zero), guessed from the text: a line end followed by a letter, where
    /// a top-level declaration starts in a file laid out as `flow fmt` lays it out. A piece's parse
    /// stops at the first later piece's start that it reaches as a restart point in the state that
    /// piece's parse started from (as `IncrementalParse.updated` stops where the old parse
    /// resumes); the pieces joined along those stops are then what one parse gives. When a guess
    /// was wrong (it fell inside a text, a comment or a block), the piece before it parses on to
    /// the next start it does meet, or to the end (again at the join, past the text its first
    /// parse read: see `parseInPieces(_:starts:)`), and the pieces it passed over are thrown away:
    /// the same result, later.
    ///
    /// The two threads take the pieces from both ends (`SecondThread.Ends`), this one from the
    /// first on and the second from the last back, so that neither waits for the other: a cut in
    /// two made in advance left this thread waiting for the second one's half, which took 20 to
    /// 30% longer in most checks of the generated benchmark file (and twice as long in some)
    /// whichever half it was given.
    public static func parseSharingWork(_ file: SourceFile, minimumBytes: Int = 128 * 1024) -> (SourceFileSyntax, [Diagnostic]) {
        guard file.bytes.count >= minimumBytes, SecondThread.isAvailable else { return parse(file) }
        return parseInPieces(file).result
    }

    /// How many pieces a file of `byteCount` bytes is cut into: one per 64 KB, at least two and at
    /// most 32 (a piece is then about a millisecond of parsing or more).
    static func pieceCount(_ byteCount: Int) -> Int { max(2, min(32, byteCount / (64 * 1024))) }

    /// The parse of a piece: from its start to the start of piece `endsAt` (nil: to the end,
    /// unless `capped`).
    private struct Piece {
        var leading: [Diagnostic] = []
        var segments: [IncrementalParse.Segment] = []
        var lexerDiagnostics: [Diagnostic] = []
        var endsAt: Int?
        /// The parse met no later piece's start before its text ended, at twice the piece's
        /// length: what it made after its last stop is not what one parse makes.
        var capped = false
        /// Bytes parsed, for tests.
        var work = 0
    }

    /// `parseSharingWork` on any machine and for any size, in `pieces` pieces (fewer when the text
    /// has fewer restart guesses); `joined`: how many pieces' parses were used (1: one parse from
    /// the start, because there was no guess or the first parse met none); `work`: the bytes
    /// parsed in all (for tests).
    static func parseInPieces(_ file: SourceFile, pieces: Int? = nil) -> (result: (SourceFileSyntax, [Diagnostic]), joined: Int, work: Int) {
        parseInPieces(file, starts: [0] + restartGuesses(file, pieces: pieces ?? pieceCount(file.bytes.count)))
    }

    /// The same, from the pieces' starts given (0, then rising offsets of line ends).
    ///
    /// A piece's parse reads at most twice the piece's length of text (its lexer's end), so that
    /// a file where no parse meets the next piece's start (every flow missing a closing brace, say)
    /// is not parsed from each start to the end of the file: that took up to half the pieces'
    /// count times the work of one parse. When the pieces are joined, a piece whose parse ran out
    /// of text before meeting a later piece's start is parsed again here, from its start, with
    /// the whole text, to the next piece's start it meets or to the end: at worst the file is
    /// parsed about three times, twice of it on two threads.
    static func parseInPieces(_ file: SourceFile, starts: [Int]) -> (result: (SourceFileSyntax, [Diagnostic]), joined: Int, work: Int) {
        guard starts.count > 1 else { return (parse(file), 1, file.bytes.count) }
        let count = starts.count
        var parsed = [Piece](repeating: Piece(), count: count)
        parsed.withUnsafeMutableBufferPointer { parsed in
            let base = parsed.baseAddress!
            SecondThread.fromBothEnds(count, there: { j in base[j] = parsePiece(file, starts, j, capped: true) },
                                      here: { j in base[j] = parsePiece(file, starts, j, capped: true) })
        }
        var work = parsed.reduce(0) { $0 + $1.work }
        // The pieces joined: from the first, to the piece each one stopped at.
        var chain: [Int] = [0]
        while true {
            let j = chain[chain.count - 1]
            if parsed[j].capped {
                parsed[j] = parsePiece(file, starts, j, capped: false)
                work += parsed[j].work
            }
            guard let next = parsed[j].endsAt else { break }
            // A piece met as a restart point starts as one parse goes on from there; checked anyway.
            guard parsed[next].leading.isEmpty, parsed[next].segments.first?.lineEnd == starts[next] else {
                return (parse(file), 1, work + file.bytes.count)
            }
            chain.append(next)
        }
        var declarationCount = 0
        for j in chain { declarationCount += parsed[j].segments.count }
        var declarations: [Declaration] = []
        declarations.reserveCapacity(declarationCount)
        var lexical: [Diagnostic] = []
        var parserDiagnostics = parsed[0].leading
        for (k, j) in chain.enumerated() {
            for s in parsed[j].segments {
                declarations += s.declarations
                parserDiagnostics += s.parserDiagnostics
            }
            if k + 1 < chain.count {
                // The lexer read a token or two past the stop; the next piece's lexer reads them too.
                let next = starts[chain[k + 1]]
                lexical += parsed[j].lexerDiagnostics.filter { Int($0.range.start) < next }
            } else {
                lexical += parsed[j].lexerDiagnostics
            }
        }
        return ((SourceFileSyntax(file: file.id, declarations: declarations), lexical + parserDiagnostics), chain.count, work)
    }

    /// Parses piece `j`: from `starts[j]` until a later piece's start is reached as a restart point
    /// (not having reported "too deeply nested", as a piece's parse starts), or to the end of the
    /// text: with `capped`, twice the piece's length (the last piece's, the whole file's).
    private static func parsePiece(_ file: SourceFile, _ starts: [Int], _ j: Int, capped: Bool) -> Piece {
        let from = starts[j]
        var end = file.bytes.count
        if capped && j + 1 < starts.count { end = min(end, starts[j + 1] + (starts[j + 1] - from)) }
        var parser = Parser(file: file, start: from, end: end, depth: 0)
        var later = j + 1
        var endsAt: Int?
        let (leading, segments) = parser.parseSegments { _, lineEnd, tooDeep in
            guard let lineEnd, lineEnd > from, !tooDeep else { return false }
            while later < starts.count && starts[later] < lineEnd { later += 1 }
            guard later < starts.count, starts[later] == lineEnd else { return false }
            endsAt = later
            return true
        }
        return Piece(leading: leading, segments: segments, lexerDiagnostics: parser.cursor.lexer.diagnostics, endsAt: endsAt,
                     capped: endsAt == nil && end < file.bytes.count, work: parser.previousEnd - from)
    }

    /// Restart guesses cutting `file` into about `pieces` pieces: for each of the `pieces - 1`
    /// points evenly spread, a restart guess in the piece after it (`restartGuess`), kept when it
    /// is past the one before.
    static func restartGuesses(_ file: SourceFile, pieces: Int) -> [Int] {
        var cuts: [Int] = []
        guard pieces > 1 else { return cuts }
        cuts.reserveCapacity(pieces - 1)
        let bytes = file.bytes
        file.lineStarts.withUnsafeBufferPointer { lineStarts in
            for k in 1..<pieces {
                let from = bytes.count / pieces * k
                let to = k == pieces - 1 ? bytes.count - 1 : bytes.count / pieces * (k + 1)
                // The first line starting after `from`: its line end is the first at `from` or later.
                let firstLine = file.lineIndex(of: from) + 1
                if let cut = restartGuess(bytes, lineStarts, firstLine: firstLine, to: to), cut > (cuts.last ?? 0) { cuts.append(cut) }
            }
        }
        return cuts
    }

    static func restartGuesses(_ bytes: [UInt8], pieces: Int) -> [Int] {
        restartGuesses(SourceFile(id: FileID(0), path: "", bytes: bytes), pieces: pieces)
    }

    /// A line end in `bytes`, from the one before line `firstLine` to `to`, where a declaration
    /// may start: the first of the line ends, blank lines and comment lines before a line that
    /// starts with a letter (the lexer makes them one newline token, at that first line end); nil
    /// when there is none (one long flow has none: its lines are indented).
    ///
    /// The line feeds are read from the line starts (a line feed ends the line before each of
    /// them, or a CR does), not searched for: in one long flow every line of the span is looked at
    /// and none is taken, and a call of memchr for each line cost more than the rest of the guess.
    static func restartGuess(_ bytes: UnsafeBufferPointer<UInt8>, _ lineStarts: UnsafeBufferPointer<Int>, firstLine: Int, to: Int) -> Int? {
        let lf = UInt8(ascii: "\n"), cr = UInt8(ascii: "\r"), space = UInt8(ascii: " "), tab = UInt8(ascii: "\t")
        let slash = UInt8(ascii: "/")
        guard bytes.count >= 4 else { return nil }
        let limit = min(to, bytes.count - 1)
        var i = -1
        for n in firstLine..<max(firstLine, lineStarts.count) {
            let end = lineStarts[n] - 1
            guard end < limit else { return nil }
            // Only a line feed is looked at, as the search did: a line ended by a lone CR is passed.
            guard bytes[end] == lf else { continue }
            let c = bytes[end + 1] | 0x20
            if c >= UInt8(ascii: "a") && c <= UInt8(ascii: "z") { i = end; break }
        }
        guard i >= 0 else { return nil }
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
}
