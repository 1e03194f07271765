import Foundation
import XCTest

@testable import FlowKit

/// A large file is parsed in pieces on two threads, each piece from a guessed restart point
/// (`Parser.parseSharingWork`); the result must be what one parse gives, whether the guesses were
/// restart points or fell inside a text, a comment or a block.
final class ParallelParseTests: XCTestCase {
    /// Asserts the result is one parse's; returns how many pieces' parses were joined.
    @discardableResult
    private func assertSameAsOneParse(_ text: String, _ message: String, pieces: Int = 2, file: StaticString = #filePath, line: UInt = #line) -> Int {
        assertSameAsOneParse(Array(text.utf8), message, pieces: pieces, file: file, line: line)
    }

    @discardableResult
    private func assertSameAsOneParse(_ bytes: [UInt8], _ message: String, pieces: Int = 2, starts: [Int]? = nil,
                                      file: StaticString = #filePath, line: UInt = #line) -> Int {
        let source = SourceFile(id: FileID(0), path: "test.flow", bytes: bytes)
        let (oneTree, oneDiagnostics) = Parser.parse(source)
        let ((sharedTree, sharedDiagnostics), joined, work) = starts.map { Parser.parseInPieces(source, starts: $0) }
            ?? Parser.parseInPieces(source, pieces: pieces)
        // Each piece's parse reads at most twice the piece's length, and one parse of the file
        // goes on from a piece that met no later start: at most about three times the file is
        // parsed, whatever the guesses.
        XCTAssertLessThanOrEqual(work, 3 * bytes.count, message, file: file, line: line)
        var one = "", shared = ""
        dump(oneTree, to: &one)
        dump(sharedTree, to: &shared)
        XCTAssertEqual(shared, one, message, file: file, line: line)
        XCTAssertEqual(sharedDiagnostics, oneDiagnostics, message, file: file, line: line)
        return joined
    }

    /// The example flows joined into one file, then the golden inputs (some are not UTF-8, some
    /// leave a block or a text open to the end): many declarations.
    private func joinedCorpus(goldenToo: Bool) throws -> [UInt8] {
        var bytes: [UInt8] = []
        for path in try FormatterTests.corpus() where goldenToo || !path.contains("/golden/") {
            bytes += try XCTUnwrap(FileManager.default.contents(atPath: path), path)
            bytes.append(UInt8(ascii: "\n"))
        }
        return bytes
    }

    func testTheGuessesAreRestartPointsInAFormattedFile() throws {
        let bytes = try joinedCorpus(goldenToo: false)
        let cuts = Parser.restartGuesses(bytes, pieces: 2)
        XCTAssertEqual(cuts.count, 1)
        XCTAssertLessThan(abs(try XCTUnwrap(cuts.first) - bytes.count / 2), bytes.count / 4, "near the middle")
        XCTAssertEqual(assertSameAsOneParse(bytes, "the examples joined"), 2, "the two parses were not joined")
        // In more pieces: each guess is a restart point, and every piece's parse is used.
        for pieces in [3, 5, 8] {
            let cuts = Parser.restartGuesses(bytes, pieces: pieces)
            // (A span within one long flow has no guess.)
            XCTAssertGreaterThanOrEqual(cuts.count, pieces / 2, "\(pieces) pieces")
            XCTAssertEqual(cuts, cuts.sorted(), "the cuts rise")
            XCTAssertEqual(assertSameAsOneParse(bytes, "\(pieces) pieces", pieces: pieces), cuts.count + 1, "\(pieces) pieces: not all joined")
        }
        // With errors in both halves (lexer and parser diagnostics from each thread).
        let broken = Array("flow Broken {\n  set x = (1 +\n  response \"\u{1}\n}\n".utf8)
        XCTAssertEqual(assertSameAsOneParse(broken + bytes + broken, "errors in both halves"), 2, "the two parses were not joined")
        XCTAssertEqual(assertSameAsOneParse(broken + bytes + broken + bytes + broken, "errors in four pieces", pieces: 4), 4)
        // The generated benchmark file.
        var generated = ""
        for k in 0..<200 { generated += "flow Step \(k)(n: number) -> (total: number) {\n  set total = n * \(k)\n  if total > 10 {\n    response \"{total}\"\n  }\n}\n\n" }
        XCTAssertEqual(assertSameAsOneParse(generated, "generated"), 2, "the two parses were not joined")
        XCTAssertEqual(assertSameAsOneParse(generated, "generated, 32 pieces", pieces: 32), 32)
        // And the golden inputs after them: whatever they leave open.
        assertSameAsOneParse(bytes + (try joinedCorpus(goldenToo: true)), "with the golden inputs")
        assertSameAsOneParse(bytes + (try joinedCorpus(goldenToo: true)), "with the golden inputs, in pieces", pieces: 7)
    }

    /// A piece starting inside a block is passed over: the piece before it parses on to the next
    /// start it meets as a restart point, and the pieces after that are joined as usual.
    func testAPieceStartingInsideABlockIsPassedOver() throws {
        let a = "flow A {\n  response \"a\"\n}\n"
        let text = String(repeating: a, count: 10) + "flow B {\n  if x {\nflow C {\n}\n  }\n}\n" + String(repeating: a, count: 10)
        let bytes = Array(text.utf8)
        /// The offsets at which `needle` is found in the text.
        func offsets(of needle: String) -> [Int] {
            let n = Array(needle.utf8)
            return bytes.indices.filter { $0 + n.count <= bytes.count && Array(bytes[$0..<$0 + n.count]) == n }
        }
        let inside = try XCTUnwrap(offsets(of: "\nflow C").first)
        let after = try XCTUnwrap(offsets(of: "\nflow A").last)
        let middle = try XCTUnwrap(offsets(of: "\nflow A").dropLast(3).last)
        // Pieces: the start, one inside flow B's block, one after it, one further on.
        XCTAssertEqual(assertSameAsOneParse(bytes, "passed over", starts: [0, inside, middle, after]), 3)
        // The piece inside the block is never met: it is thrown away, whatever it parsed.
        XCTAssertEqual(assertSameAsOneParse(bytes, "the last piece passed over", starts: [0, inside]), 1)
    }

    /// Files where no piece's parse meets the next piece's start: written without indentation
    /// (nearly every guess falls inside a flow), or every flow missing a closing brace (the parse
    /// never comes back to the top level). Each piece's parse stops at twice its length, and one
    /// parse goes on from the first (the bound on the work is in `assertSameAsOneParse`; parsing
    /// each piece to the end was about half the pieces' count times the file).
    func testFilesWhereNoPieceMeetsTheNextAreParsedAFewTimesAtMost() {
        var text = ""
        for k in 0..<40 {
            text += "flow A\(k)(n: number) {\n"
            for i in 0..<60 { text += "set x\(i) = n + \(i)\nresponse \"{x\(i)}\"\n" }
            text += "}\n"
        }
        let bytes = Array(text.utf8)
        XCTAssertGreaterThan(Parser.restartGuesses(bytes, pieces: 16).count, 10)
        assertSameAsOneParse(bytes, "no indentation, 16 pieces", pieces: 16)
        assertSameAsOneParse(bytes + Array("set stray = 1\n}\n".utf8) + bytes, "no indentation, damaged, 32 pieces", pieces: 32)
        let unclosed = String(repeating: "flow A {\n  if x {\n  response \"a\"\n}\n", count: 3000)
        XCTAssertEqual(assertSameAsOneParse(unclosed, "every flow missing a brace", pieces: 32), 1)
        assertSameAsOneParse(String(repeating: "flow A {\n", count: 10000), "only openings", pieces: 32)
    }

    /// The first token after a piece's start is read by the lexers of both pieces: an error in it
    /// is reported once, by the piece it starts.
    func testALexerErrorAtAPieceStartIsReportedOnce() throws {
        let a = "flow A {\n  response \"a\"\n}\n"
        let text = String(repeating: a, count: 5) + "f\u{202E}low X {\n}\n" + String(repeating: a, count: 5)
        let bytes = Array(text.utf8)
        let start = try XCTUnwrap(String(repeating: a, count: 5).utf8.count - 1)
        XCTAssertEqual(bytes[start], UInt8(ascii: "\n"))
        XCTAssertEqual(assertSameAsOneParse(bytes, "a lexer error in the first token of a piece", starts: [0, start]), 2)
        let one = Parser.parse(SourceFile(id: FileID(0), path: "test.flow", bytes: bytes)).1
        XCTAssertEqual(one.filter { $0.id == "lex.bidiControl" }.count, 1, "\(one.map(\.id))")
    }

    /// The guess inside a multi-line comment, a text, a block, an expression: the cut is not met
    /// by the first parse and the second is thrown away.
    func testAGuessThatIsNotARestartPointGivesTheSameResult() {
        let half = String(repeating: "flow A {\n  response \"a\"\n}\n", count: 40)
        var notJoined = 0
        for middle in [
            "flow B {\n  set x = 1 +\nflow C {\n  response \"c\"\n}\n",           // a line ending inside an expression
            "flow B {\n  if x {\nflow C {\n}\n",                                  // inside a block
            "flow B {\n  response \"unterminated\nflow C {\n  response \"c\"\n}\n", // inside an unterminated text
            "// a comment\nflow C {\n}\n}\n}\n",                                  // stray closing braces after it
        ] {
            // The guess falls in the middle piece's first line ends.
            if assertSameAsOneParse(half + middle + half, middle) < 2 { notJoined += 1 }
            assertSameAsOneParse(half + half + middle, middle)
            assertSameAsOneParse(middle + half + half, middle)
            for pieces in [3, 6] { assertSameAsOneParse(half + middle + half + middle + half, middle, pieces: pieces) }
        }
        // The second parse was thrown away at least there: that path is tested.
        XCTAssertGreaterThan(notJoined, 0)
    }

    /// Random cuts and insertions over the joined corpus: wherever the guess falls, the same.
    func testRandomlyDamagedFilesGiveTheSameResult() throws {
        let corpus = try joinedCorpus(goldenToo: false)
        var random = SystemRandomNumberGenerator()
        let pieces: [[UInt8]] = ["{", "}", "\"", "\n", "\nflow X {\n", "(", ")", "/*", "{{", "\\", "\u{0}", "\u{FF}"].map { Array($0.utf8) }
        var restartsMet = 0
        for round in 0..<60 {
            var bytes = corpus
            for _ in 0..<Int.random(in: 1...6, using: &random) {
                let at = Int.random(in: 0..<bytes.count, using: &random)
                if Bool.random(using: &random) {
                    bytes.insert(contentsOf: pieces.randomElement(using: &random)!, at: at)
                } else {
                    bytes.removeSubrange(at..<min(bytes.count, at + Int.random(in: 1...200, using: &random)))
                }
            }
            if assertSameAsOneParse(bytes, "round \(round)", pieces: 2 + round % 7) > 1 { restartsMet += 1 }
        }
        // Most damage leaves the middle's declaration a restart point: the joined path is tested.
        XCTAssertGreaterThan(restartsMet, 10)
    }

    /// The guesses read from the line starts are those a byte-by-byte search for line feeds gives
    /// (the rule as first written, with memchr): on random texts of line feeds, lone CRs, CRLFs,
    /// blank and comment lines, indented and unindented lines, cut into 2 to 9 pieces.
    func testTheGuessesAreThoseOfASearchForLineFeeds() {
        func searched(_ bytes: [UInt8], pieces: Int) -> [Int] {
            func guess(from: Int, to: Int) -> Int? {
                guard bytes.count >= 4 else { return nil }
                let limit = min(to, bytes.count - 1)
                var i = max(from, 0)
                while true {
                    while i < limit && bytes[i] != 0x0A { i += 1 }
                    guard i < limit else { return nil }
                    let c = bytes[i + 1] | 0x20
                    if c >= 0x61 && c <= 0x7A { break }
                    i += 1
                }
                var p = i
                while true {
                    if p > 0 && bytes[p - 1] == 0x0D { p -= 1 }
                    var lineStart = p
                    while lineStart > 0 && bytes[lineStart - 1] != 0x0A && bytes[lineStart - 1] != 0x0D { lineStart -= 1 }
                    var k = lineStart
                    while k < p && (bytes[k] == 0x20 || bytes[k] == 0x09) { k += 1 }
                    let trivia = k == p || (k + 1 < p && bytes[k] == 0x2F && bytes[k + 1] == 0x2F)
                    guard trivia, lineStart > 0 else { return p }
                    p = lineStart - 1
                }
            }
            var cuts: [Int] = []
            for k in 1..<pieces {
                let from = bytes.count / pieces * k
                let to = k == pieces - 1 ? bytes.count - 1 : bytes.count / pieces * (k + 1)
                if let cut = guess(from: from, to: to), cut > (cuts.last ?? 0) { cuts.append(cut) }
            }
            return cuts
        }
        let parts: [String] = ["\n", "\r", "\r\n", "  set x = 1\n", "flow A {\n", "}\n", "// note\n", "  // note\r\n", "\t\n", "x", "Q", " "]
        var random = SystemRandomNumberGenerator()
        var found = 0
        for round in 0..<400 {
            let text = (0..<(round % 60 + 1)).map { _ in parts.randomElement(using: &random)! }.joined()
            let bytes = Array(text.utf8)
            for pieces in 2...9 {
                let cuts = Parser.restartGuesses(bytes, pieces: pieces)
                XCTAssertEqual(cuts, searched(bytes, pieces: pieces), "\(pieces) pieces: \(text.debugDescription)")
                found += cuts.count
            }
        }
        XCTAssertGreaterThan(found, 100, "few texts had a guess")
    }
}
