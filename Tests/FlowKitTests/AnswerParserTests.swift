@testable import FlowKit
import Foundation
import XCTest

/// What callers type, question type by question type: what is accepted as which value, and what
/// is refused with which words.
final class AnswerParserTests: XCTestCase {
    // MARK: - Helpers

    private func question(_ type: QuestionType, options: [String] = [], default value: Value? = nil,
                          optional: Bool = false, min: Value? = nil, max: Value? = nil,
                          pattern: String? = nil) -> QuestionRequest {
        QuestionRequest(name: "Q", reference: "P.Q", type: type, prompt: "?", options: options,
                        defaultValue: value, optional: optional, min: min, max: max, pattern: pattern)
    }

    private func accepts(_ typed: String, _ q: QuestionRequest, _ expected: Value,
                         file: StaticString = #filePath, line: UInt = #line) {
        switch AnswerParser.parse(typed, for: q) {
        case .success(let v): XCTAssertEqual(v, expected, "for '\(typed)'", file: file, line: line)
        case .failure(let p): XCTFail("'\(typed)' refused: \(p.message)", file: file, line: line)
        }
    }

    private func refuses(_ typed: String, _ q: QuestionRequest, _ message: String,
                         file: StaticString = #filePath, line: UInt = #line) {
        switch AnswerParser.parse(typed, for: q) {
        case .success(let v): XCTFail("'\(typed)' accepted as \(v)", file: file, line: line)
        case .failure(let p): XCTAssertEqual(p.message, message, "for '\(typed)'", file: file, line: line)
        }
    }

    private func num(_ s: String) -> Value { .number(Number(Decimal(parsing: s)!)) }

    // MARK: - Empty answers

    func testEmptyAnswerIsRequired() {
        for type in QuestionType.allCases {
            refuses("", question(type, options: ["A"]), "an answer is required")
            refuses("   \t ", question(type, options: ["A"]), "an answer is required")
        }
    }

    func testEmptyAnswerTakesTheDefault() {
        accepts("", question(.number, default: num("3")), num("3"))
        accepts("  ", question(.choices, options: ["A", "B"], default: .list([.text("B")])), .list([.text("B")]))
        // The default wins over optional.
        accepts("", question(.text, default: .text("x"), optional: true), .text("x"))
    }

    func testEmptyOptionalAnswerIsNull() {
        for type in QuestionType.allCases {
            accepts("", question(type, options: ["A"], optional: true), .null)
        }
        accepts(" , ,", question(.choices, options: ["A"], optional: true), .null)
        refuses(" , ,", question(.choices, options: ["A"]), "an answer is required")
    }

    // MARK: - text

    func testTextIsTrimmed() {
        accepts("  hello world \n", question(.text), .text("hello world"))
    }

    func testTextLengthCountsCharacters() {
        let q = question(.text, min: num("2"), max: num("4"))
        accepts("ab", q, .text("ab"))
        accepts("héé🙂", q, .text("héé🙂"))
        refuses("a", q, "enter at least 2 characters")
        refuses("abcde", q, "enter at most 4 characters")
        refuses("abc", question(.text, min: num("4"), max: num("4")), "enter exactly 4 characters")
        refuses("ab", question(.text, max: num("1")), "enter at most 1 character")
    }

    func testTextPatternMatchesTheWholeAnswer() {
        let q = question(.text, pattern: "[0-9]{4}")
        accepts("1234", q, .text("1234"))
        refuses("12345", q, "enter an answer that matches the pattern '[0-9]{4}'")
        refuses("x1234", q, "enter an answer that matches the pattern '[0-9]{4}'")
        // Alternatives: the whole answer must match one of them, not a prefix.
        accepts("ab", question(.text, pattern: "a|ab"), .text("ab"))
        // Anchors written by the author are fine too.
        accepts("AB12", question(.text, pattern: "^[A-Z]{2}[0-9]+$"), .text("AB12"))
    }

    // MARK: - number

    func testNumbersAreExact() {
        let q = question(.number)
        accepts("12", q, num("12"))
        accepts("-3.5", q, num("-3.5"))
        accepts("+3.5", q, num("3.5"))
        accepts("−2", q, num("-2"))
        accepts(".5", q, num("0.5"))
        accepts("0.1", q, num("0.1"))
        accepts("1,234.50", q, num("1234.5"))
        accepts("1,234,567", q, num("1234567"))
        accepts("007", q, num("7"))
        accepts("12345678901234567890.123", q, num("12345678901234567890.123"))
        accepts("-0", q, num("0"))
    }

    func testNumberFormsRefused() {
        let q = question(.number)
        for typed in ["twelve", "1e5", "12,5", "1,23", "1234,567", "5.", "1.2.3", "--1", "1 000", "$5", "0x10", "-", ".", "١٢"] {
            refuses(typed, q, "enter a number like 12 or -3.5")
        }
        refuses(String(repeating: "9", count: 39), q, "enter a number with at most 38 digits")
        accepts(String(repeating: "9", count: 38), q, num(String(repeating: "9", count: 38)))
    }

    func testNumberBounds() {
        let q = question(.number, min: num("1"), max: num("10.5"))
        accepts("1", q, num("1"))
        accepts("10.5", q, num("10.5"))
        refuses("0.99", q, "enter at least 1")
        refuses("10.51", q, "enter at most 10.5")
        refuses("-4", question(.number, min: num("-3")), "enter at least -3")
        accepts("-4", question(.number), num("-4"))
    }

    // MARK: - currency

    func testCurrencyForms() {
        let q = question(.currency)
        accepts("12.50", q, num("12.5"))
        accepts("12", q, num("12"))
        accepts("$12.50", q, num("12.5"))
        accepts("$ 1,234.50", q, num("1234.5"))
        accepts("€5", q, num("5"))
        accepts("12.50 €", q, num("12.5"))
        accepts("12.500", q, num("12.5"))
        accepts("0.1", q, num("0.1"))
        for typed in ["12,50", "twelve", "$$5", "5$$", "USD 5", "1e2", "$", "12.5.0"] {
            refuses(typed, q, "enter an amount like 12.50")
        }
        refuses("12.505", q, "enter an amount with at most 2 decimals, like 12.50")
        refuses("0.001", q, "enter an amount with at most 2 decimals, like 12.50")
        refuses("$" + String(repeating: "1", count: 39), q, "enter a number with at most 38 digits")
        accepts("12345678901234567890123.45", q, num("12345678901234567890123.45"))
    }

    func testCurrencyIsNotNegativeUnlessMinAllows() {
        refuses("-5", question(.currency), "enter an amount that is not negative, like 12.50")
        refuses("-$5", question(.currency), "enter an amount that is not negative, like 12.50")
        refuses("-5", question(.currency, min: num("0.5")), "enter at least 0.50")
        let credit = question(.currency, min: num("-100"))
        accepts("-$5.25", credit, num("-5.25"))
        accepts("$-5.25", credit, num("-5.25"))
        refuses("-100.01", credit, "enter at least -100.00")
    }

    func testCurrencyBoundsShowTwoDecimals() {
        let q = question(.currency, min: num("0.50"), max: num("10000"))
        accepts("0.50", q, num("0.5"))
        accepts("10000", q, num("10000"))
        accepts("$10,000.00", q, num("10000"))
        refuses("0.49", q, "enter at least 0.50")
        refuses("10000.01", q, "enter at most 10000.00")
    }

    // MARK: - yesno

    func testYesNo() {
        let q = question(.yesno)
        for typed in ["yes", "YES", "Y", "y", "true", "True"] { accepts(typed, q, .bool(true)) }
        for typed in ["no", "No", "N", "n", "false", "FALSE"] { accepts(typed, q, .bool(false)) }
        for typed in ["maybe", "1", "0", "yess", "ja"] { refuses(typed, q, "answer yes or no") }
    }

    // MARK: - choice

    func testChoiceByTextOrNumber() {
        let q = question(.choice, options: ["Router", "Mobile app", "Billing"])
        accepts("Router", q, .text("Router"))
        accepts("mobile APP", q, .text("Mobile app"))
        accepts("2", q, .text("Mobile app"))
        accepts(" 3 ", q, .text("Billing"))
        for typed in ["0", "4", "Fax", "Router, Billing", "-1", "1.0"] {
            refuses(typed, q, "choose 1 to 3, or type an option")
        }
        refuses("2", question(.choice, options: ["Only"]), "choose 1, or type the option")
    }

    func testChoiceIgnoresCaseAndExtraBlanks() {
        let q = question(.choice, options: ["Mobile app", "Yes, please"])
        accepts("  mobile   APP ", q, .text("Mobile app"))
        accepts("yes,please", q, .text("Yes, please"))
        accepts("YES ,  PLEASE", q, .text("Yes, please"))
        refuses("mobileapp", q, "choose 1 to 2, or type an option")
    }

    func testChoiceTextWinsOverNumber() {
        let q = question(.choice, options: ["10", "20", "1"])
        accepts("1", q, .text("1"))
        accepts("2", q, .text("20"))
        accepts("10", q, .text("10"))
    }

    // MARK: - choices

    func testChoicesByTextAndNumber() {
        let q = question(.choices, options: ["Router", "Mobile app", "Billing"])
        accepts("1, 3", q, .list([.text("Router"), .text("Billing")]))
        accepts("billing,router", q, .list([.text("Billing"), .text("Router")]))
        accepts("2", q, .list([.text("Mobile app")]))
        accepts("1, Router, 1", q, .list([.text("Router")]))
        accepts("1,,3,", q, .list([.text("Router"), .text("Billing")]))
        refuses("1, Fax", q, "'Fax' is not an option; choose any of 1 to 3 separated by commas, like 1, 3")
        refuses("4", q, "'4' is not an option; choose any of 1 to 3 separated by commas, like 1, 3")
        refuses("x", question(.choices, options: ["A"]), "'x' is not an option; choose 1, or type the option")
    }

    func testChoicesWithCommasInOptions() {
        let q = question(.choices, options: ["Yes, please", "No, thanks", "Maybe"])
        accepts("yes, please", q, .list([.text("Yes, please")]))
        accepts("Yes, please, Maybe", q, .list([.text("Yes, please"), .text("Maybe")]))
        accepts("3, no,thanks", q, .list([.text("Maybe"), .text("No, thanks")]))
        refuses("Yes", q, "'Yes' is not an option; choose any of 1 to 3 separated by commas, like 1, 3")
    }

    func testChoicesCount() {
        let q = question(.choices, options: ["A", "B", "C", "D"], min: num("2"), max: num("3"))
        accepts("a, b", q, .list([.text("A"), .text("B")]))
        refuses("a", q, "choose at least 2 options")
        refuses("a, a", q, "choose at least 2 options")
        refuses("1,2,3,4", q, "choose at most 3 options")
        refuses("1,2", question(.choices, options: ["A", "B"], max: num("1")), "choose at most 1 option")
        refuses("1", question(.choices, options: ["A", "B"], min: num("2"), max: num("2")), "choose exactly 2 options")
    }

    func testChoicesLongInputIsQuick() {
        let q = question(.choices, options: ["A", "B", "C, D"])
        let typed = Array(repeating: "1", count: 50_000).joined(separator: ",")
        accepts(typed, q, .list([.text("A")]))
    }

    // MARK: - date

    func testDates() {
        let q = question(.date)
        accepts("2024-03-31", q, .date("2024-03-31"))
        accepts("2024-3-5", q, .date("2024-03-05"))
        accepts("2024-02-29", q, .date("2024-02-29"))
        accepts("2000-02-29", q, .date("2000-02-29"))
        refuses("2023-02-29", q, "2023-02-29 is not a real date; enter a date like 2024-03-31")
        refuses("1900-02-29", q, "1900-02-29 is not a real date; enter a date like 2024-03-31")
        refuses("2024-04-31", q, "2024-04-31 is not a real date; enter a date like 2024-03-31")
        refuses("2024-13-01", q, "2024-13-01 is not a real date; enter a date like 2024-03-31")
        refuses("0000-01-01", q, "0000-01-01 is not a real date; enter a date like 2024-03-31")
        for typed in ["31/03/2024", "03/31/2024", "2024/03/31", "20240331", "24-03-31", "2024-03-31T10:00", "tomorrow", "2024-+3-01"] {
            refuses(typed, q, "enter a date as year-month-day, like 2024-03-31")
        }
    }

    func testDateBounds() {
        let q = question(.date, min: .date("2024-01-01"), max: .date("2024-12-31"))
        accepts("2024-01-01", q, .date("2024-01-01"))
        accepts("2024-12-31", q, .date("2024-12-31"))
        refuses("2023-12-31", q, "enter a date on or after 2024-01-01")
        refuses("2025-01-01", q, "enter a date on or before 2024-12-31")
    }

    // MARK: - email

    func testEmail() {
        let q = question(.email)
        accepts(" jo.smith+tag@example.co.uk ", q, .text("jo.smith+tag@example.co.uk"))
        accepts("a@b.io", q, .text("a@b.io"))
        for typed in ["name@example", "@example.com", "name@@example.com", "na me@example.com", "name@.example.com",
                      "name@example.com.", "name@example..com", "name@example.c", "name", "a@b@c.com", "<a@b.com>", "a,b@c.com"] {
            refuses(typed, q, "enter an e-mail address like name@example.com")
        }
    }

    func testEmailLengthAndPattern() {
        refuses("a@example.com", question(.email, max: num("10")), "enter at most 10 characters")
        let q = question(.email, pattern: ".*@example\\.com")
        accepts("a@example.com", q, .text("a@example.com"))
        refuses("a@example.org", q, "enter an answer that matches the pattern '.*@example\\.com'")
    }

    // MARK: - password

    func testPasswordIsKeptAsTyped() {
        let q = question(.password)
        accepts("s3cret", q, .text("s3cret"))
        accepts(" pass word \r\n", q, .text(" pass word "))
        refuses("  ", q, "an answer is required")
    }

    func testPasswordBoundsNeverEchoTheSecret() {
        let q = question(.password, min: num("8"), pattern: ".*[0-9].*")
        refuses("short1", q, "enter at least 8 characters")
        refuses("longenough", q, "enter an answer that matches the pattern '.*[0-9].*'")
        accepts("longenough1", q, .text("longenough1"))
    }

    /// The ASCII way to an option's key gives what the Unicode way gives, on every kind of ASCII
    /// text (capitals, blanks of each kind, commas, runs of them, at either end); and a text with
    /// anything else takes the Unicode way. Some texts are long, past what the ASCII way keeps
    /// on the stack.
    func testTheASCIIKeyIsTheUnicodeKey() {
        let alphabet = Array("aZ ,\t\n\r\u{0B}\u{0C}1-.Q  ,,")
        var random = SystemRandomNumberGenerator()
        for n in 0..<5_000 {
            let length = n % 100 == 0 ? Int.random(in: 1_000...20_000, using: &random) : Int.random(in: 0...40, using: &random)
            let text = String((0..<length).map { _ in alphabet.randomElement(using: &random)! })
            XCTAssertEqual(AnswerParser.asciiKey(text), AnswerParser.unicodeKey(text), "\(Array(text.unicodeScalars))")
            XCTAssertEqual(AnswerParser.asciiKey(text[...]), AnswerParser.unicodeKey(text), "a substring")
        }
        XCTAssertEqual(AnswerParser.key("  Mobile \t APP ,  no,Thanks "), "mobile app,no,thanks")
        XCTAssertNil(AnswerParser.asciiKey("caf\u{E9}"))
        XCTAssertEqual(AnswerParser.key("Caf\u{C9}\u{A0}Au  Lait"), "caf\u{E9} au lait")
    }

    /// Trimming an answer: the ASCII shortcut (printable at both ends: nothing to trim) gives
    /// what trimming scalar by scalar gives, on texts with blanks, controls and non-ASCII
    /// characters (a no-break space, an ideographic space, an accent) at either end.
    func testTrimmingBlanksIsTrimmingScalarByScalar() {
        func blank(_ c: Unicode.Scalar) -> Bool {
            c.value < 0x80 ? (c == " " || (c.value >= 0x09 && c.value <= 0x0D)) : c.properties.isWhitespace
        }
        func reference(_ text: String) -> String {
            var scalars = Array(text.unicodeScalars)
            while let f = scalars.first, blank(f) { scalars.removeFirst() }
            while let l = scalars.last, blank(l) { scalars.removeLast() }
            var out = String.UnicodeScalarView()
            out.append(contentsOf: scalars)
            return String(out)
        }
        let alphabet: [Unicode.Scalar] = ["a", "4", ".", "~", "!", " ", "\t", "\n", "\r", "\u{0B}", "\u{0C}", "\u{00}", "\u{1F}", "\u{7F}",
                                          "\u{A0}", "\u{3000}", "\u{E9}", "\u{301}", "\u{1F600}"]
        var random = SystemRandomNumberGenerator()
        for _ in 0..<5_000 {
            var view = String.UnicodeScalarView()
            for _ in 0..<Int.random(in: 0...8, using: &random) { view.append(alphabet.randomElement(using: &random)!) }
            let text = String(view)
            XCTAssertEqual(text.trimmingBlanks(), reference(text), "\(Array(text.unicodeScalars))")
        }
        XCTAssertEqual(" 4.00\n".trimmingBlanks(), "4.00")
        XCTAssertEqual("4.00".trimmingBlanks(), "4.00")
        XCTAssertEqual("\u{A0}4.00\u{3000}".trimmingBlanks(), "4.00")
    }
}
