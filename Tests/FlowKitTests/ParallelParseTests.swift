import Foundation
import XCTest

@testable import FlowKit

/// A large file's second half is parsed on another thread from a guessed restart point
/// (`Parser.parseSharingWork`); the result must be what one parse gives, whether the guess was
/// a restart point or fell inside a text, a comment or a block.
final class ParallelParseTests: XCTestCase {
    /// Asserts the result is one parse's; returns whether the second parse was joined.
    @discardableResult
    private func assertSameAsOneParse(_ text: String, _ message: String, file: StaticString = #filePath, line: UInt = #line) -> Bool {
        assertSameAsOneParse(Array(text.utf8), message, file: file, line: line)
    }

    @discardableResult
    private func assertSameAsOneParse(_ bytes: [UInt8], _ message: String, file: StaticString = #filePath, line: UInt = #line) -> Bool {
        let source = SourceFile(id: FileID(0), path: "test.flow", bytes: bytes)
        let (oneTree, oneDiagnostics) = Parser.parse(source)
        let ((sharedTree, sharedDiagnostics), joined) = Parser.parseInTwo(source)
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

    func testTheGuessIsARestartPointInAFormattedFile() throws {
        let bytes = try joinedCorpus(goldenToo: false)
        let cut = try XCTUnwrap(Parser.restartGuess(bytes))
        XCTAssertLessThan(abs(cut - bytes.count / 2), bytes.count / 4, "near the middle")
        XCTAssertTrue(assertSameAsOneParse(bytes, "the examples joined"), "the two parses were not joined")
        // With errors in both halves (lexer and parser diagnostics from each thread).
        let broken = Array("flow Broken {\n  set x = (1 +\n  response \"\u{1}\n}\n".utf8)
        XCTAssertTrue(assertSameAsOneParse(broken + bytes + broken, "errors in both halves"), "the two parses were not joined")
        // The generated benchmark file.
        var generated = ""
        for k in 0..<200 { generated += "flow Step \(k)(n: number) -> (total: number) {\n  set total = n * \(k)\n  if total > 10 {\n    response \"{total}\"\n  }\n}\n\n" }
        XCTAssertTrue(assertSameAsOneParse(generated, "generated"), "the two parses were not joined")
        // And the golden inputs after them: whatever they leave open.
        assertSameAsOneParse(bytes + (try joinedCorpus(goldenToo: true)), "with the golden inputs")
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
            if !assertSameAsOneParse(half + middle + half, middle) { notJoined += 1 }
            assertSameAsOneParse(half + half + middle, middle)
            assertSameAsOneParse(middle + half + half, middle)
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
            if assertSameAsOneParse(bytes, "round \(round)") { restartsMet += 1 }
        }
        // Most damage leaves the middle's declaration a restart point: the joined path is tested.
        XCTAssertGreaterThan(restartsMet, 10)
    }
}
