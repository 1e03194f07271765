/// The parse of one file, kept in pieces so that an edit parses again only the top-level
/// declarations it touches (what `flow lsp` does on every keystroke).
///
/// Design note (after rust-analyzer's and swift-syntax's incremental reparsing): the parser's top
/// level (`parseFile`) is a loop that, after skipping line ends, starts a declaration. At such a
/// point, when the token before is a line end, the parser's whole state is: the lexer's position
/// (just past the declaration's first token), that line end as the token consumed last, depth zero
/// and whether "too deeply nested" was reported already. So a parser started at that line end's
/// offset, with the same flag, goes on exactly as the full parse did. `IncrementalParse` records
/// these points (`Segment`s) with what the parser produced between them (declarations, parser
/// diagnostics; lexer diagnostics are split by position). After an edit it parses from the
/// segment two before the first changed byte and stops at the first point past the edit that was
/// also a point of the old parse at the same shifted offset, in the same state: from there the
/// text and the state are the old ones, so the rest is the old result moved by the edit's length
/// (`SyntaxShift`). The result is the same value `Parser.parse` gives; the language server's
/// random-edit test compares them after every edit.
public struct IncrementalParse: Sendable {
    struct Segment: Sendable {
        /// Offset of the declaration's first token.
        var start: Int
        /// Offset of the line-end token before the declaration (nil: none; not a restart point).
        var lineEnd: Int?
        /// Whether "too deeply nested" had been reported before this point.
        var tooDeep: Bool
        var declarations: [Declaration]
        var parserDiagnostics: [Diagnostic]
    }

    public private(set) var file: SourceFile
    var segments: [Segment]
    /// The parser diagnostics before the first declaration (none today; kept for exactness).
    var leadingDiagnostics: [Diagnostic]
    var lexerDiagnostics: [Diagnostic]

    /// How many declarations the last update parsed again (for tests and figures).
    public private(set) var reparsedDeclarations = 0

    /// Parses the whole file.
    public init(file: SourceFile) {
        self.file = file
        var parser = Parser(file: file)
        let (leading, segments) = parser.parseSegments(stop: { _, _, _ in false })
        self.segments = segments
        self.leadingDiagnostics = leading
        self.lexerDiagnostics = parser.cursor.lexer.diagnostics
        self.reparsedDeclarations = segments.count
    }

    /// The syntax tree and the diagnostics, as `Parser.parse(file)` gives them.
    public var result: (SourceFileSyntax, [Diagnostic]) {
        var declarations: [Declaration] = []
        declarations.reserveCapacity(segments.count)
        var parserDiagnostics = leadingDiagnostics
        for s in segments {
            declarations += s.declarations
            parserDiagnostics += s.parserDiagnostics
        }
        return (SourceFileSyntax(file: file.id, declarations: declarations), lexerDiagnostics + parserDiagnostics)
    }

    /// The parse of `newFile` (the same file after an edit), reusing this parse where the text
    /// before and after the changed bytes is the same.
    public func updated(to newFile: SourceFile) -> IncrementalParse {
        let old = file.bytes, new = newFile.bytes
        // The changed bytes: old[prefix ..< old.count - suffix] became new[prefix ..< new.count - suffix].
        let limit = min(old.count, new.count)
        var prefix = 0
        while prefix < limit && old[prefix] == new[prefix] { prefix += 1 }
        var suffix = 0
        while suffix < limit - prefix && old[old.count - 1 - suffix] == new[new.count - 1 - suffix] { suffix += 1 }
        let delta = new.count - old.count
        let newEditEnd = new.count - suffix

        // Restart two restart points before the first changed byte (one is enough for the parser
        // as it is; the second is a margin for any look-ahead past a declaration's end).
        var first = -1
        var skipped = 0
        var k = segments.count - 1
        while k >= 0 {
            if let e = segments[k].lineEnd, e + 1 <= prefix {
                if skipped == 1 { first = k; break }
                skipped += 1
            }
            k -= 1
        }
        var parser: Parser
        var restartOffset = 0
        if first >= 0, let e = segments[first].lineEnd {
            parser = Parser(file: newFile, start: e, end: new.count, depth: 0)
            parser.reportedTooDeep = segments[first].tooDeep
            restartOffset = e
        } else {
            first = -1
            parser = Parser(file: newFile)
        }
        // Where the new parse meets the old one: a restart point past the edit that the old parse
        // had at the same (moved) offset, in the same state.
        var resumeAt = segments.count
        var resumeLineEnd = new.count + 1
        let oldSegments = segments
        let searchFrom = max(first, 0)
        let (leading, fresh) = parser.parseSegments { start, lineEnd, tooDeep in
            guard let lineEnd, lineEnd >= newEditEnd else { return false }
            guard let j = oldSegments.index(ofStart: start - delta, from: searchFrom),
                  oldSegments[j].lineEnd == lineEnd - delta, oldSegments[j].tooDeep == tooDeep else { return false }
            resumeAt = j
            resumeLineEnd = lineEnd
            return true
        }
        var result = self
        result.file = newFile
        let shift = SyntaxShift(delta: delta)
        var segs = Array(segments[0..<max(first, 0)])
        segs.reserveCapacity(segs.count + fresh.count + segments.count - resumeAt)
        segs += fresh
        for s in segments[resumeAt...] {
            segs.append(Segment(start: s.start + delta, lineEnd: s.lineEnd.map { $0 + delta }, tooDeep: s.tooDeep,
                                declarations: s.declarations.map(shift.declaration),
                                parserDiagnostics: s.parserDiagnostics.map(shift.diagnostic)))
        }
        result.segments = segs
        if first < 0 { result.leadingDiagnostics = leading }
        // Lexer diagnostics: the old ones before the restart, the new ones up to where the old parse
        // resumes, the old ones after it (moved).
        let resumeOld = resumeAt < segments.count ? resumeLineEnd - delta : old.count + 1
        var lexical = first < 0 ? [] : lexerDiagnostics.filter { Int($0.range.start) < restartOffset }
        lexical += parser.cursor.lexer.diagnostics.filter { Int($0.range.start) < resumeLineEnd }
        for d in lexerDiagnostics where Int(d.range.start) >= resumeOld { lexical.append(shift.diagnostic(d)) }
        result.lexerDiagnostics = lexical
        result.reparsedDeclarations = fresh.count
        return result
    }
}

extension Array where Element == IncrementalParse.Segment {
    /// The segment whose declaration starts at `offset` (binary search: the starts grow).
    func index(ofStart offset: Int, from: Int) -> Int? {
        var lo = from, hi = count - 1
        while lo <= hi {
            let mid = (lo + hi) / 2
            let s = self[mid].start
            if s == offset { return mid }
            if s < offset { lo = mid + 1 } else { hi = mid - 1 }
        }
        return nil
    }
}

extension Parser {
    /// `parseFile`'s loop, recording a `Segment` at each declaration start; stops before the
    /// declaration at a restart point for which `stop(start, lineEnd, tooDeep)` is true. Returns the parser
    /// diagnostics made before the first declaration, and the segments.
    mutating func parseSegments(stop: (Int, Int?, Bool) -> Bool) -> ([Diagnostic], [IncrementalParse.Segment]) {
        var segments: [IncrementalParse.Segment] = []
        var leading: [Diagnostic] = []
        var mark = 0
        func close() {
            let made = Array(cursor.diagnostics[mark...])
            mark = cursor.diagnostics.count
            if segments.isEmpty { leading = made } else { segments[segments.count - 1].parserDiagnostics = made }
        }
        while true {
            let startOfLoop = current.start
            skipNewlines()
            let skippedLineEnd = current.start != startOfLoop && cursor.previous.kind == .newline
            if at(.eof) { break }
            let lineEnd: Int? = skippedLineEnd && depth == 0 && expressionDepth == 0 ? Int(cursor.previous.start) : nil
            if stop(Int(current.start), lineEnd, reportedTooDeep) {
                close()
                return (leading, segments)
            }
            close()
            segments.append(IncrementalParse.Segment(start: Int(current.start), lineEnd: lineEnd, tooDeep: reportedTooDeep, declarations: [], parserDiagnostics: []))
            let before = current.start
            if !at(.rightBrace), let d = parseDeclaration() { segments[segments.count - 1].declarations.append(d) }
            if !at(.rightBrace) { endStatement("a declaration") }
            if at(.rightBrace) {
                report(.unmatchedClosingBrace, at: range(of: current))
                advance()
            }
            // Progress guard: every iteration consumes at least one token.
            if current.start == before && !at(.eof) { advance() }
        }
        close()
        return (leading, segments)
    }
}
