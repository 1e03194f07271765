@testable import FlowKit
import Foundation
import XCTest

/// Defects that fuzzing (`fuzz/run`, README "Fuzzing") found, each as the smallest source or
/// call that shows it. The fuzzer's own inputs are kept in `fuzz/crashes/<target>/` and are
/// run again, as seeds, on every fuzz run.
final class FuzzRegressionTests: XCTestCase {
    /// fuzz eval: `Int64.min % -1` and `Int64.min / -1` trapped in `Number` ("Division results
    /// in an overflow in remainder operation", Number.swift `%` and `/`), stopping the process.
    func testSmallestSmallNumberDividedByMinusOne() throws {
        let p = try program("""
            flow A {
              set smallest = -9223372036854775807 - 1
              response "{smallest % -1} {smallest / -1} {smallest % 10} {smallest / 2} {smallest * -1}"
            }
            """)
        XCTAssertEqual(try ScriptedHost().run(p).responses, ["0 9223372036854775808 -8 -4611686018427387904 9223372036854775808"])
    }

    /// fuzz eval: a product beyond `Decimal`'s range (about 1e165) was NaN: shown as `NaN`, and a
    /// snapshot of the session holding it did not decode ("'NaN' is not a number").
    func testResultBeyondDecimalRangeIsARunTimeError() throws {
        let p = try program("""
            flow A {
              set big = 99999999999999999999999999999999999999
              set x = big * big * big * big * big
              response "{x}"
            }
            """)
        XCTAssertThrowsError(try ScriptedHost(restoreAtEveryStep: true).run(p)) { error in
            XCTAssertEqual((error as? RuntimeError)?.diagnostic.id, "run.resultOutOfRange", "\(error)")
        }
    }

    /// Found probing the one above: a product below `Decimal`'s range (`1e-65 * 1e-64`, written
    /// out in digits) trapped inside FoundationEssentials' `Decimal *` (Swift 6.3.1), which
    /// `Number *` falls back to, stopping the process.
    func testResultBelowDecimalRangeIsARunTimeError() throws {
        let tiny = "0." + String(repeating: "0", count: 64) + "1"
        let p = try program("""
            flow A {
              set x = \(tiny) * \(tiny)
              response "{x}"
            }
            """)
        XCTAssertThrowsError(try ScriptedHost().run(p)) { error in
            XCTAssertEqual((error as? RuntimeError)?.diagnostic.id, "run.resultOutOfRange", "\(error)")
        }
    }

    /// Found with the two above: `jsonText` wrote a number that is not a number as `NaN`, which
    /// no JSON reader takes; its documentation says `null`.
    func testNotANumberIsWrittenAsJSONNull() {
        XCTAssertEqual(Value.number(Number(Decimal.nan)).jsonText(), "null")
        XCTAssertEqual(Value.list([.number(Number(Decimal.nan)), .number(1)]).jsonText(), "[null,1]")
    }

    /// fuzz answers: a 37-digit amount was accepted, but the same amount shown with its two
    /// decimals was refused ("enter a number with at most 38 digits"): zeros after the last
    /// non-zero decimal counted as significant digits.
    func testTrailingDecimalZerosAreNotSignificantDigits() {
        let digits = "9994990004069516666666666666666666661"
        for type in [QuestionType.currency, .number] {
            let q = QuestionRequest(name: "Q", reference: "Q.Q", type: type, prompt: "?")
            XCTAssertEqual(AnswerParser.parse(digits + ".00", for: q), AnswerParser.parse(digits, for: q), "\(type)")
            XCTAssertEqual(AnswerParser.parse(digits + ".0000", for: q), AnswerParser.parse(digits, for: q), "\(type)")
            // 39 significant digits are still too many.
            XCTAssertEqual(AnswerParser.parse(digits + "12", for: q), .failure(.tooManyDigits), "\(type)")
        }
    }

    /// fuzz answers (in CI's one-minute run): an option starting with a combining mark could
    /// not be picked after `, `: the blank and the mark make one character, so the blank was
    /// not dropped when options were compared. Options are now compared by Unicode scalars.
    func testAnOptionStartingWithACombiningMarkCanBePickedAfterAComma() {
        let q = QuestionRequest(name: "Q", reference: "Q.Q", type: .choices, prompt: "?", options: ["\u{FFFD}", "\u{0300}x"])
        XCTAssertEqual(AnswerParser.parse("\u{FFFD}, \u{0300}x", for: q), .success(.list([.text("\u{FFFD}"), .text("\u{0300}x")])))
        XCTAssertEqual(AnswerParser.parse("1,2", for: q), .success(.list([.text("\u{FFFD}"), .text("\u{0300}x")])))
        // Found next (CI again): an option that is only a combining mark, picked after `, `, was
        // dropped as a blank piece; and after a bare comma the two were not split at all.
        let mark = QuestionRequest(name: "Q", reference: "Q.Q", type: .choices, prompt: "?", options: ["a0", "\u{0304}"])
        XCTAssertEqual(AnswerParser.parse("a0, \u{0304}", for: mark), .success(.list([.text("a0"), .text("\u{0304}")])))
        XCTAssertEqual(AnswerParser.parse("a0,\u{0304}", for: mark), .success(.list([.text("a0"), .text("\u{0304}")])))
        // And an option that begins with a comma, picked after `, `: the blank piece before its
        // comma was skipped before the pieces were joined.
        let comma = QuestionRequest(name: "Q", reference: "Q.Q", type: .choices, prompt: "?", options: ["a", ",b", "c"])
        XCTAssertEqual(AnswerParser.parse("a, ,b", for: comma), .success(.list([.text("a"), .text(",b")])))
        XCTAssertEqual(AnswerParser.parse("a, , c", for: comma), .success(.list([.text("a"), .text("c")])))
        let single = QuestionRequest(name: "Q", reference: "Q.Q", type: .choice, prompt: "?", options: ["a", "\u{0300}x"])
        XCTAssertEqual(AnswerParser.parse(" \u{0300}x", for: single), .success(.text("\u{0300}x")))
    }

    /// fuzz json: numbers from 1e128 up to `Decimal`'s limit (about 1e165) were read as NaN
    /// (`1e130`, `[2E+40, 1551E140]`): the reader multiplied the significand by 10 to lower the
    /// exponent to 127, and `Decimal` took the zeros off again. The same numbers written out in
    /// digits (`606` and 128 zeros) were refused.
    func testJSONNumbersUpToDecimalsLimitReadExactly() throws {
        let zeros = { (n: Int) in String(repeating: "0", count: n) }
        for text in ["1e130", "1551E140", "606" + zeros(128), "9.9e164", "-2.5e150", "12345678901234567890e120"] {
            let value = try Value.fromJSON(text)
            guard case .number(let n) = value else { return XCTFail("\(text) read as \(value)") }
            XCTAssertTrue(n.decimal.isFinite, text)
            XCTAssertEqual(try Value.fromJSON(value.jsonText()), value, text)
        }
        XCTAssertEqual(try Value.fromJSON("1e130").jsonText(), "1" + zeros(130))
        XCTAssertEqual(try Value.fromJSON("[2E+40, 1551E140]").jsonText(), "[2" + zeros(40) + ",1551" + zeros(140) + "]")
        XCTAssertThrowsError(try Value.fromJSON("1e200"))
        XCTAssertThrowsError(try Value.fromJSON("1e-140"))
    }
}
