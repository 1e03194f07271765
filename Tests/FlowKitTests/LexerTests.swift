@testable import FlowKit
import XCTest

final class LexerTests: XCTestCase {
    func tokens(_ text: String) -> [(TokenKind, String)] {
        let file = SourceFile(path: "t.flow", text: text)
        var lexer = Lexer(file: file)
        var out: [(TokenKind, String)] = []
        while true {
            let t = lexer.next()
            if t.kind == .eof { break }
            out.append((t.kind, file.text(file.range(Int(t.start), Int(t.end)))))
        }
        return out
    }

    func testDesignLinesTokenize() {
        let kinds = tokens("ip StripeCharge(amount, token, description) -> result").map(\.0)
        XCTAssertEqual(kinds, [.word, .word, .leftParen, .word, .comma, .word, .comma, .word, .rightParen, .arrow, .word])
    }

    func testOperatorsAndNumbers() {
        let t = tokens("a += 4.00 -= 3 == != <= >= < > -> % * / -")
        XCTAssertEqual(t.map(\.0), [.word, .plusEqual, .number, .minusEqual, .number, .equalEqual, .bangEqual, .lessEqual,
                                    .greaterEqual, .less, .greater, .arrow, .percent, .star, .slash, .minus])
        XCTAssertEqual(t[2].1, "4.00")
    }

    func testEveryKeywordIsFoundAndOnlyKeywords() {
        for k in Keyword.allCases where k != .none {
            let file = SourceFile(path: "t", text: k.text)
            var lexer = Lexer(file: file)
            XCTAssertEqual(lexer.next().keyword, k, k.text)
        }
        for word in ["questions", "Page", "ands", "o", "secrets", "flowchart", "x"] {
            let file = SourceFile(path: "t", text: word)
            var lexer = Lexer(file: file)
            XCTAssertEqual(lexer.next().keyword, Keyword.none, word)
        }
    }

    /// Keywords are matched by loading up to 8 bytes at once when that many follow the word, and
    /// byte by byte near the end of the file: both ways, for every keyword, its longer and shorter
    /// neighbours, and words that share its first 8 bytes.
    func testKeywordsAreFoundInTheMiddleOfTextAndAtItsEnd() {
        func keywords(_ text: String) -> [Keyword] {
            let file = SourceFile(path: "t", text: text)
            var lexer = Lexer(file: file)
            var out: [Keyword] = []
            while true {
                let t = lexer.next()
                if t.kind == .eof { return out }
                if t.kind == .word { out.append(t.keyword) }
            }
        }
        for k in Keyword.allCases where k != .none {
            XCTAssertEqual(keywords("\(k.text) long tail of words"), [k, .none, .none, .none, .none], k.text)
            XCTAssertEqual(keywords("x \(k.text)"), [.none, k], k.text)
            XCTAssertEqual(keywords("\(k.text)s \(k.text)x9 \(k.text.dropLast()) tail"), [.none, .none, .none, .none], k.text)
            XCTAssertEqual(keywords("X\(k.text) \(k.text.uppercased()) tail"), [.none, .none, .none], k.text)
        }
        XCTAssertEqual(keywords("extensionz extension extensio extensions"), [.none, .extension, .none, .none])
        XCTAssertEqual(keywords("questionnaire question"), [.none, .question])
    }

    /// The lexer reads word bytes from a table; it must say what `isWordByte` says of every byte.
    func testTheWordByteTableAgreesWithTheRule() {
        let table = Lexer.wordBytes
        XCTAssertEqual(table.utf8CodeUnitCount, 256)
        for b in 0...255 {
            XCTAssertEqual(table.utf8Start[b] == 0x31, Lexer.isWordByte(UInt8(b)), "byte \(b)")
        }
    }

    func testCommentsAndBlankLinesFoldIntoOneNewline() {
        XCTAssertEqual(tokens("a // note\n\n  // more\n\nb").map(\.0), [.word, .newline, .word])
    }

    func testStringWithNestedTemplateIsOneToken() {
        let t = tokens(#"response "a {upper("x {y}")} b" c"#)
        XCTAssertEqual(t.map(\.0), [.word, .string, .word])
        XCTAssertEqual(t[1].1, #""a {upper("x {y}")} b""#)
    }

    func testNonASCIIWords() {
        XCTAssertEqual(tokens("Straße Café").map(\.0), [.word, .word])
    }
}

final class SourceFileTests: XCTestCase {
    func testLineAndColumnCountCharacters() {
        let file = SourceFile(path: "t", text: "ab\r\nçd\ne")
        XCTAssertEqual(file.location(of: 0), SourceLocation(line: 1, column: 1))
        XCTAssertEqual(file.location(of: 4), SourceLocation(line: 2, column: 1))
        // 'ç' is two bytes, one character.
        XCTAssertEqual(file.location(of: 6), SourceLocation(line: 2, column: 2))
        XCTAssertEqual(file.location(of: 8), SourceLocation(line: 3, column: 1))
        XCTAssertEqual(file.lineText(0), "ab")
    }

    /// After invalid bytes, a column counts what the line shows: each invalid sequence is one
    /// U+FFFD. (Counting lead bytes, stray continuation bytes counted nothing, `C0 80` one and
    /// `ED A0 80` one, so carets after them were off.)
    func testColumnsAfterInvalidBytesCountWhatTheLineShows() {
        let cases: [[UInt8]] = [[0x80], [0x80, 0x80, 0xBF], [0xC0, 0x80], [0xED, 0xA0, 0x80], [0xF0, 0x9F, 0x98], [0xFF, 0xFE]]
        for invalid in cases {
            let bytes = Array("x = \"".utf8) + invalid + Array("\" + y".utf8)
            let file = SourceFile(id: FileID(0), path: "t", bytes: bytes)
            let shown = Array(file.lineText(0).unicodeScalars)
            let y = bytes.count - 1
            XCTAssertEqual(shown[file.location(of: y).column - 1], "y", "\(invalid): \(file.lineText(0))")
            XCTAssertEqual(file.location(of: y).column, shown.count, "\(invalid)")
        }
    }

    /// The line starts are those a byte-by-byte reading gives (a LF, a lone CR or a CRLF ends a
    /// line): for every byte value around a line feed, for random texts of short lengths with
    /// and without CRs, and for an editor's document extended from an offset.
    func testLineStartsAreThoseOfAByteByByteReading() {
        func expected(_ bytes: [UInt8], from: Int = 0) -> [Int] {
            var starts: [Int] = []
            var i = from
            while i < bytes.count {
                if bytes[i] == 0x0A {
                    starts.append(i + 1)
                } else if bytes[i] == 0x0D {
                    if i + 1 < bytes.count && bytes[i + 1] == 0x0A { i += 1 }
                    starts.append(i + 1)
                }
                i += 1
            }
            return starts
        }
        var texts: [[UInt8]] = []
        for b in 0...255 where b != 0x0D {
            texts.append([UInt8(b), 0x0A, UInt8(b), UInt8(b), 0x0A, 0x0A, UInt8(b), 0x41, 0x42, UInt8(b), 0x0A, UInt8(b)])
        }
        var random = SystemRandomNumberGenerator()
        let alphabet: [UInt8] = [0x0A, 0x0A, 0x0B, 0x09, 0x20, 0x61, 0x8A, 0x0A, 0x01, 0xFF]
        for length in 0..<40 {
            for _ in 0..<20 { texts.append((0..<length).map { _ in alphabet.randomElement(using: &random)! }) }
        }
        for _ in 0..<20 { texts.append((0..<64).map { _ in [0x0A, 0x0D, 0x61].randomElement(using: &random)! }) }
        for bytes in texts {
            let file = SourceFile(id: FileID(0), path: "t", bytes: bytes)
            XCTAssertEqual(file.lineStarts, [0] + expected(bytes), "\(bytes)")
            for from in [1, 7, 9] where from < bytes.count {
                var starts: [Int] = []
                SourceFile.appendLineStarts(of: bytes, from: from, to: &starts)
                XCTAssertEqual(starts, expected(bytes, from: from), "from \(from): \(bytes)")
            }
        }
    }
}
