import FlowKit
import Foundation
import XCTest

/// Exact decimal helpers, how values show in text, JSON in and out, and coercion to declared types.
final class ValueTests: XCTestCase {
    private func d(_ s: String) -> Decimal { Decimal(parsing: s)! }

    // MARK: - Decimal(parsing:)

    func testParsingLiterals() {
        XCTAssertEqual(Decimal(parsing: "12"), Decimal(12))
        XCTAssertEqual(Decimal(parsing: "-3.5"), Decimal(sign: .minus, exponent: -1, significand: 35))
        XCTAssertEqual(Decimal(parsing: "0.50"), Decimal(sign: .plus, exponent: -1, significand: 5))
        XCTAssertEqual(Decimal(parsing: "007"), Decimal(7))
        XCTAssertEqual(Decimal(parsing: "0"), Decimal(0))
        XCTAssertEqual(Decimal(parsing: "-0"), Decimal(0))
        XCTAssertFalse(Decimal(parsing: "-0")!.isNaN)
        XCTAssertEqual(Decimal(parsing: "100000000000000000000000"), Decimal(sign: .plus, exponent: 23, significand: 1))
        XCTAssertEqual(Decimal(parsing: "1.00000000000000000000000"), Decimal(1))
        XCTAssertEqual(Decimal(parsing: "0.0000000000000000000000001"), Decimal(sign: .plus, exponent: -25, significand: 1))
        XCTAssertEqual(Decimal(parsing: "12345678901234567890")?.description, "12345678901234567890")
        XCTAssertEqual(Decimal(parsing: "1234567890.1234567890123")?.description, "1234567890.1234567890123")
        XCTAssertEqual(Decimal(parsing: "12.5"[...]), d("12.5"))
        XCTAssertEqual(Decimal(parsing: "x12.5y".dropFirst().dropLast()), d("12.5"))
    }

    func testParsingRefusesOtherText() {
        for text in ["", "-", "+1", " 1", "1 ", ".5", "5.", "1e5", "1,000", "1.2.3", "abc", "1.5abc", "0x10", "--1", "١"] {
            XCTAssertNil(Decimal(parsing: text), "'\(text)'")
        }
    }

    // MARK: - Arithmetic

    func testSumsAreExact() {
        XCTAssertEqual(d("0.1") + d("0.2"), d("0.3"))
        XCTAssertEqual(Value.number(Number(d("0.1") + d("0.2"))).displayText(), "0.3")
        XCTAssertEqual(Value.number(Number(d("4.00") * 100)).displayText(), "400")
        XCTAssertEqual(Value.number(Number(d("19.99") * 3)).displayText(asCurrency: true), "59.97")
    }

    func testRemainderHasTheDividendsSign() {
        XCTAssertEqual(Decimal.remainder(7, 3), 1)
        XCTAssertEqual(Decimal.remainder(-7, 3), -1)
        XCTAssertEqual(Decimal.remainder(7, -3), 1)
        XCTAssertEqual(Decimal.remainder(-7, -3), -1)
        XCTAssertEqual(Decimal.remainder(6, 3), 0)
        XCTAssertEqual(Decimal.remainder(d("5.5"), 2), d("1.5"))
        XCTAssertEqual(Decimal.remainder(d("0.3"), d("0.1")), 0)
        XCTAssertEqual(Decimal.remainder(d("-0.75"), d("0.5")), d("-0.25"))
        XCTAssertEqual(Decimal.remainder(125, 60), 5)
        XCTAssertEqual(Decimal.remainder(d("12345678901234567890123456789"), 7),
                       d("12345678901234567890123456789") - (d("12345678901234567890123456789") / 7).truncatedToInteger() * 7)
        XCTAssertEqual(Decimal.remainder(d("100000000000000000000000000000000000001"), 10), 1)
        XCTAssertEqual(Decimal.remainder(d("2.9999999999999999999999999999999999999"), 3), d("2.9999999999999999999999999999999999999"))
        XCTAssertTrue(Decimal.remainder(5, 0).isNaN)
    }

    func testRoundingIsHalfAwayFromZero() {
        XCTAssertEqual(d("2.345").rounded(places: 2), d("2.35"))
        XCTAssertEqual(d("-2.345").rounded(places: 2), d("-2.35"))
        XCTAssertEqual(d("2.5").rounded(places: 0), 3)
        XCTAssertEqual(d("-2.5").rounded(places: 0), -3)
        XCTAssertEqual(d("2.4").rounded(places: 0), 2)
        XCTAssertEqual(d("1250").rounded(places: -2), 1300)
        XCTAssertEqual(d("7").rounded(places: 2), 7)
    }

    func testIntegers() {
        XCTAssertTrue(d("4.00").isInteger)
        XCTAssertTrue((d("4.00") * 100).isInteger)
        XCTAssertTrue(d("-12").isInteger)
        XCTAssertFalse(d("4.5").isInteger)
        XCTAssertFalse(Decimal.nan.isInteger)
        XCTAssertEqual(d("4.00").intValue, 4)
        XCTAssertEqual(d("-12").intValue, -12)
        XCTAssertEqual(d("9223372036854775807").intValue, Int.max)
        XCTAssertEqual(d("-9223372036854775808").intValue, Int.min)
        XCTAssertEqual(d("9007199254740993").intValue, 9_007_199_254_740_993)
        XCTAssertNil(d("9223372036854775808").intValue)
        XCTAssertNil(d("1.5").intValue)
        XCTAssertEqual(d("2.7").truncatedToInteger(), 2)
        XCTAssertEqual(d("-2.7").truncatedToInteger(), -2)
    }

    // MARK: - Display

    func testDisplayOfEachKind() {
        XCTAssertEqual(Value.text("héllo {x}").displayText(), "héllo {x}")
        XCTAssertEqual(Value.number(Number(d("12.50"))).displayText(), "12.5")
        XCTAssertEqual(Value.number(Number(d("-0.001"))).displayText(), "-0.001")
        XCTAssertEqual(Value.number(Number(d("100000000000000000000000"))).displayText(), "100000000000000000000000")
        XCTAssertEqual(Value.number(Number(d("0.0000000001"))).displayText(), "0.0000000001")
        XCTAssertEqual(Value.number(Number(d("1234567890123456789012.5"))).displayText(), "1234567890123456789012.5")
        XCTAssertEqual(Value.number(Number(d("-18446744073709551615"))).displayText(), "-18446744073709551615")
        XCTAssertEqual(Value.number(Number(d("18446744073709551616"))).displayText(), "18446744073709551616")
        XCTAssertEqual(Value.number(0).displayText(), "0")
        XCTAssertEqual(Value.number(Number(d("-0.5"))).displayText(), "-0.5")
        XCTAssertEqual(Value.number(Number(Decimal(sign: .plus, exponent: 30, significand: 7))).displayText(), "7" + String(repeating: "0", count: 30))
        XCTAssertEqual(Value.bool(true).displayText(), "yes")
        XCTAssertEqual(Value.bool(false).displayText(), "no")
        XCTAssertEqual(Value.null.displayText(), "")
        XCTAssertEqual(Value.date("2024-03-31").displayText(), "2024-03-31")
        XCTAssertEqual(Value.list([.text("Router"), .number(2), .bool(true)]).displayText(), "Router, 2, yes")
        XCTAssertEqual(Value.list([]).displayText(), "")
        XCTAssertEqual(Value.object(["b": .number(Number(d("0.1"))), "a": .text("x\"y")]).displayText(), #"{"a":"x\"y","b":0.1}"#)
    }

    func testCurrencyDisplayHasTwoDecimals() {
        XCTAssertEqual(Value.number(4).displayText(asCurrency: true), "4.00")
        XCTAssertEqual(Value.number(Number(d("1234.5"))).displayText(asCurrency: true), "1234.50")
        XCTAssertEqual(Value.number(Number(d("0.05"))).displayText(asCurrency: true), "0.05")
        XCTAssertEqual(Value.number(Number(d("-7.1"))).displayText(asCurrency: true), "-7.10")
        XCTAssertEqual(Value.number(Number(d("2.345"))).displayText(asCurrency: true), "2.35")
        XCTAssertEqual(Value.number(Number(d("-2.345"))).displayText(asCurrency: true), "-2.35")
        XCTAssertEqual(Value.number(Number(d("0.001"))).displayText(asCurrency: true), "0.00")
        XCTAssertEqual(Value.number(Number(d("10000"))).displayText(asCurrency: true), "10000.00")
        XCTAssertEqual(Value.number(Number(d("12345678901234567890123.5"))).displayText(asCurrency: true), "12345678901234567890123.50")
        XCTAssertEqual(Value.number(Number(d("-12345678901234567890123"))).displayText(asCurrency: true), "-12345678901234567890123.00")
        XCTAssertEqual(Value.number(0).displayText(asCurrency: true), "0.00")
        // Only numbers are affected.
        XCTAssertEqual(Value.text("4").displayText(asCurrency: true), "4")
    }

    // MARK: - JSON out

    func testJSONTextIsCompactSortedAndExact() {
        let v = Value.object([
            "zeta": .list([.number(Number(d("0.1"))), .number(Number(d("12345678901234567890"))), .null, .bool(false)]),
            "alpha": .object(["y": .date("2024-01-02"), "x": .text("line\nbreak\t\u{01}é🙂")]),
        ])
        XCTAssertEqual(v.jsonText(), #"{"alpha":{"x":"line\nbreak\t\u0001é🙂","y":"2024-01-02"},"zeta":[0.1,12345678901234567890,null,false]}"#)
        XCTAssertEqual(Value.text("a/b\\c").jsonText(), #""a/b\\c""#)
    }

    // MARK: - JSON in

    private func json(_ s: String) throws -> Value { try Value.fromJSON(Data(s.utf8)) }

    func testJSONNumbersAreExact() throws {
        XCTAssertEqual(try json(#"{"amount": 0.1}"#), .object(["amount": .number(Number(d("0.1")))]))
        XCTAssertEqual(try json("12345678901234567890"), .number(Number(d("12345678901234567890"))))
        XCTAssertEqual(try json("12345678901234567890").jsonText(), "12345678901234567890")
        XCTAssertEqual(try json("-0.000001"), .number(Number(d("-0.000001"))))
        XCTAssertEqual(try json("1.5e3"), .number(1500))
        XCTAssertEqual(try json("25E-2"), .number(Number(d("0.25"))))
        XCTAssertEqual(try json("1e+2"), .number(100))
        XCTAssertEqual(try json("-0"), .number(0))
        XCTAssertEqual(try json("0.1e1"), .number(1))
        XCTAssertEqual(try json("123456789012345678901234567890.5").jsonText(), "123456789012345678901234567890.5")
        let sum = try json("[0.1, 0.2]")
        guard case .list(let items) = sum, case .number(let a) = items[0], case .number(let b) = items[1] else {
            return XCTFail("not a list of numbers")
        }
        XCTAssertEqual(Value.number(a + b).displayText(), "0.3")
    }

    func testJSONRoundTrip() throws {
        let text = #"{"a":[1,2.50,{"b":null,"c":true}],"d":"x\"y\\z\u00e9\ud83d\ude00","e":{},"f":[],"g":-12.75}"#
        let v = try json(text)
        XCTAssertEqual(v.jsonText(), #"{"a":[1,2.5,{"b":null,"c":true}],"d":"x\"y\\zé😀","e":{},"f":[],"g":-12.75}"#)
        XCTAssertEqual(try json(v.jsonText()), v)
        XCTAssertEqual(try Value.fromJSON(v.jsonText()), v)
    }

    func testJSONStrings() throws {
        XCTAssertEqual(try json(#""\/\b\f\n\r\t""#), .text("/\u{08}\u{0C}\n\r\t"))
        XCTAssertEqual(try json(#""\ud800x""#), .text("\u{FFFD}x"))
        XCTAssertEqual(try json("\u{FEFF}\"bom\""), .text("bom"))
        XCTAssertEqual(try json(#"{"k":1,"k":2}"#), .object(["k": .number(2)]))
    }

    func testJSONErrors() {
        let bad: [(String, String)] = [
            ("", "the JSON text is empty"),
            ("   ", "the JSON text is empty"),
            ("[1,]", "expected a value, found ']'"),
            ("[1 2]", "expected ',' or ']', found '2'"),
            (#"{"a" 1}"#, "expected ':' after the key, found '1'"),
            ("{1:2}", "expected a key in double quotes, found '1'"),
            (#"{"a":1,}"#, "expected a key in double quotes, found '}'"),
            ("[1", "the JSON text ends too early"),
            (#""abc"#, "unterminated JSON string"),
            ("01", "a JSON number cannot start with 0"),
            ("1.", "expected a digit after '.' in a JSON number"),
            ("-", "expected a digit in a JSON number"),
            ("1e", "expected a digit in a JSON number's exponent"),
            ("1e400", "the number is too large or too small for an exact decimal"),
            ("tru", "expected a value, found 't'"),
            ("nul", "expected a value, found 'n'"),
            ("[1] x", "unexpected text after the JSON value"),
            (#""a\qb""#, "unknown escape '\\q' in a JSON string"),
            ("\"a\u{01}\"", "a control character must be escaped in a JSON string"),
            (#""\u12""#, "expected 4 hexadecimal digits after '\\u'"),
            ("NaN", "expected a value, found 'N'"),
        ]
        for (text, message) in bad {
            XCTAssertThrowsError(try json(text), "'\(text)'") { error in
                XCTAssertEqual((error as? JSONReadError)?.message, message, "'\(text)'")
            }
        }
        XCTAssertThrowsError(try json("[1 2]")) { error in
            XCTAssertEqual((error as? JSONReadError)?.offset, 3)
        }
    }

    func testDeepJSONIsRefusedWithoutCrashing() throws {
        let ok = String(repeating: "[", count: 512) + String(repeating: "]", count: 512)
        XCTAssertNoThrow(try json(ok))
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        XCTAssertThrowsError(try json(deep)) { error in
            XCTAssertEqual((error as? JSONReadError)?.message, "the JSON text is nested deeper than 512 levels")
        }
        let deepObjects = String(repeating: #"{"a":"#, count: 100_000)
        XCTAssertThrowsError(try json(deepObjects))
    }

    func testLargeJSONIsQuick() throws {
        // About 10 MB: 100,000 records.
        var text = "["
        for i in 0..<100_000 {
            if i > 0 { text += "," }
            text += #"{"id":"order-\#(i)","amount":\#(i).25,"paid":true,"items":[1,2,3],"note":"caf\u00e9 \"x\" and some padding text"}"#
        }
        text += "]"
        XCTAssertGreaterThan(text.utf8.count, 10_000_000)
        let start = Date()
        let v = try json(text)
        let elapsed = Date().timeIntervalSince(start)
        guard case .list(let items) = v else { return XCTFail("not a list") }
        XCTAssertEqual(items.count, 100_000)
        XCTAssertEqual(items[99_999], .object([
            "id": .text("order-99999"), "amount": .number(Number(d("99999.25"))), "paid": .bool(true),
            "items": .list([.number(1), .number(2), .number(3)]), "note": .text("café \"x\" and some padding text"),
        ]))
        // Generous: a debug build on a slow machine; it takes well under a second in release.
        XCTAssertLessThan(elapsed, 20)
    }

    // MARK: - From JSONSerialization objects

    func testJSONObjectConversion() throws {
        let object = try JSONSerialization.jsonObject(with: Data(#"{"a":0.1,"b":true,"c":[1,null,"x"],"d":12345678901234567890,"e":false,"f":-3}"#.utf8))
        XCTAssertEqual(Value(jsonObject: object), .object([
            "a": .number(Number(d("0.1"))), "b": .bool(true), "c": .list([.number(1), .null, .text("x")]),
            "d": .number(Number(d("12345678901234567890"))), "e": .bool(false), "f": .number(-3),
        ]))
        XCTAssertEqual(Value(jsonObject: 0.1), .number(Number(d("0.1"))))
        XCTAssertEqual(Value(jsonObject: 1 as Int), .number(1))
        XCTAssertEqual(Value(jsonObject: true), .bool(true))
        XCTAssertEqual(Value(jsonObject: UInt64.max), .number(Number(d("18446744073709551615"))))
        XCTAssertEqual(Value(jsonObject: d("0.3")), .number(Number(d("0.3"))))
        XCTAssertEqual(Value(jsonObject: Double.infinity), .null)
        XCTAssertEqual(Value(jsonObject: Value.date("2024-01-01")), .date("2024-01-01"))
        XCTAssertEqual(Value(jsonObject: ["k": [1, 2]] as [String: Any]), .object(["k": .list([.number(1), .number(2)])]))
        XCTAssertEqual(Value(jsonObject: Date(timeIntervalSince1970: 86_400 * 365)), .date("1971-01-01"))
    }

    // MARK: - Coercion

    func testCoercion() {
        XCTAssertEqual(Value.text("a").coerced(to: .text), .text("a"))
        XCTAssertEqual(Value.number(Number(d("12.50"))).coerced(to: .text), .text("12.5"))
        XCTAssertNil(Value.bool(true).coerced(to: .text))
        XCTAssertEqual(Value.text("s3").coerced(to: .secure), .text("s3"))

        XCTAssertEqual(Value.number(5).coerced(to: .number), .number(5))
        XCTAssertEqual(Value.number(5).coerced(to: .currency), .number(5))
        XCTAssertEqual(Value.text(" 12.50 ").coerced(to: .currency), .number(Number(d("12.5"))))
        XCTAssertEqual(Value.text("-3").coerced(to: .number), .number(-3))
        XCTAssertNil(Value.text("12abc").coerced(to: .number))
        XCTAssertNil(Value.text("1e5").coerced(to: .number))
        XCTAssertNil(Value.bool(true).coerced(to: .number))

        XCTAssertEqual(Value.bool(false).coerced(to: .bool), .bool(false))
        XCTAssertEqual(Value.text("TRUE").coerced(to: .bool), .bool(true))
        XCTAssertNil(Value.text("yes").coerced(to: .bool))
        XCTAssertNil(Value.number(1).coerced(to: .bool))

        XCTAssertEqual(Value.text("2024-02-29").coerced(to: .date), .date("2024-02-29"))
        XCTAssertEqual(Value.date("2024-02-29").coerced(to: .date), .date("2024-02-29"))
        XCTAssertNil(Value.text("2023-02-29").coerced(to: .date))
        XCTAssertNil(Value.text("2024-2-9").coerced(to: .date))

        XCTAssertEqual(Value.list([.number(1)]).coerced(to: .list), .list([.number(1)]))
        XCTAssertEqual(Value.text("[1, \"a\"]").coerced(to: .list), .list([.number(1), .text("a")]))
        XCTAssertNil(Value.text("{}").coerced(to: .list))
        XCTAssertEqual(Value.object([:]).coerced(to: .object), .object([:]))
        XCTAssertEqual(Value.object(["a": .null]).coerced(to: .record(0)), .object(["a": .null]))
        XCTAssertEqual(Value.text(#"{"a":0.1}"#).coerced(to: .object), .object(["a": .number(Number(d("0.1")))]))
        XCTAssertNil(Value.list([]).coerced(to: .object))

        for v: Value in [.text("x"), .number(1), .null, .list([]), .object([:]), .date("2024-01-01"), .bool(true)] {
            XCTAssertEqual(v.coerced(to: .any), v)
        }
        XCTAssertEqual(Value.null.coerced(to: .null), .null)
        XCTAssertNil(Value.null.coerced(to: .text))
        XCTAssertNil(Value.text("x").coerced(to: .null))
    }
}

/// `Value.forEachJSONMember` reads an object member by member with `fromJSON`'s reader: the same
/// members, and for a text that is not JSON the same error, at every cut and with damage.
final class JSONMembersTests: XCTestCase {
    private func check(_ text: String, file: StaticString = #filePath, line: UInt = #line) {
        let data = Data(text.utf8)
        var handed: [(String, Value)] = []
        let whole: Result<Value, JSONReadError> = Result { () throws(JSONReadError) -> Value in try Value.fromJSON(data) }
        let members: Result<Bool, JSONReadError> = Result { () throws(JSONReadError) -> Bool in
            try Value.forEachJSONMember(data) { name, value in
                handed.append((name, value))
                return true
            }
        }
        let opensAnObject = text.drop { " \n\r\t".contains($0) }.first == "{"
        switch (whole, members) {
        case (.success(.object(let fields)), .success(true)):
            // A name given twice: the last value, as the object keeps it.
            var last: [String: Value] = [:]
            for (name, value) in handed { last[name] = value }
            XCTAssertEqual(last, fields, text, file: file, line: line)
        case (.success, .success(false)), (.failure, .success(false)):
            XCTAssertFalse(opensAnObject, text, file: file, line: line)
            XCTAssertTrue(handed.isEmpty, text, file: file, line: line)
        case (.failure(let a), .failure(let b)):
            XCTAssertEqual(a, b, text, file: file, line: line)
        default:
            XCTFail("fromJSON: \(whole), members: \(members): \(text)", file: file, line: line)
        }
    }

    func testMembersAndErrorsAreFromJSONs() {
        let texts = [
            #"{"Q1.Q1": "a", "Q2.Q2": 4.00, "Q3": true, "Q4": null, "Q5": ["x", ["y", "z"]], "Q6": {"n": [1, {"m": "\u00e9"}]}, "Q1.Q1": "again"}"#,
            " { } ", "{}", "[1, 2]", "\"text\"", "12", "", "   ", "{\"a\": 1} x", "\u{FEFF}{\"a\": 1}",
            "{" + String(repeating: "[", count: 511) + String(repeating: "]", count: 511) + "}",
            "{\"a\":" + String(repeating: "[", count: 511) + String(repeating: "]", count: 511) + "}",
            "{\"a\":" + String(repeating: "[", count: 512) + String(repeating: "]", count: 512) + "}",
        ]
        for text in texts {
            check(text)
            // Cut at every byte, and each byte dropped.
            let bytes = Array(text.utf8)
            for k in 0..<bytes.count {
                check(String(decoding: bytes[..<k], as: UTF8.self))
                var dropped = bytes
                dropped.remove(at: k)
                check(String(decoding: dropped, as: UTF8.self))
            }
        }
        var random = SystemRandomNumberGenerator()
        let base = Array(texts[0].utf8)
        for _ in 0..<300 {
            var bytes = base
            for _ in 0..<Int.random(in: 1...3, using: &random) {
                bytes.insert([UInt8(ascii: "{"), UInt8(ascii: "}"), UInt8(ascii: ","), UInt8(ascii: ":"), UInt8(ascii: "\""), UInt8(ascii: "]"), 0x00].randomElement(using: &random)!,
                             at: Int.random(in: 0...bytes.count, using: &random))
            }
            check(String(decoding: bytes, as: UTF8.self))
        }
    }

    func testReadingStopsWhenAsked() throws {
        var names: [String] = []
        let isObject = try Value.forEachJSONMember(Data(#"{"a": 1, "b": 2, "c": 3} trailing"#.utf8)) { name, _ in
            names.append(name)
            return name != "b"
        }
        XCTAssertTrue(isObject)
        XCTAssertEqual(names, ["a", "b"])
    }
}
