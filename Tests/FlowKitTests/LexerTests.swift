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
}

