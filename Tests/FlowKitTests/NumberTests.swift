@testable import FlowKit
import Foundation
import Testing

@Suite struct NumberTests {
    func n(_ s: String) -> Number { Number(parsing: s)! }

    /// Found by CI's fuzz run (fuzz/crashes/eval/snapshot-39-digit-number): a quotient whose
    /// decimal holds 39 significant digits was written into a snapshot and refused when read back,
    /// since reading refused every number of more than 38 digits. Reading now refuses only what
    /// a decimal cannot hold exactly.
    @Test func whatADecimalHoldsReadsBackAndWhatItCannotIsRefused() throws {
        let quotient = n("1") / n("7") * n("100000000000000000000000000000000000000000000000000")
        let text = quotient.description
        #expect(Number(parsing: text) == quotient, "\(text)")
        let data = try JSONEncoder().encode(quotient)
        #expect(try JSONDecoder().decode(Number.self, from: data) == quotient)
        #expect(Number(parsing: "14285714285714285714285714285714285714100000000000") != nil)
        for refused in ["9999999999999999999999999999999999999999", "123456789012345678901234567890123456789012",
                        "0.1234567890123456789012345678901234567891"] {
            #expect(Number(parsing: refused) == nil, "\(refused)")
        }
    }

    @Test func arithmeticIsExact() {
        #expect(n("0.1") + n("0.2") == n("0.3"))
        #expect((n("4.00") * 100).description == "400")
        #expect((n("1") / n("4")).description == "0.25")
        #expect(n("10") % n("3") == 1)
        #expect(n("-7") % n("3") == -1)
        #expect(n("5.5") % n("2") == n("1.5"))
        #expect((-n("2.50")).description == "-2.5")
        #expect(n("2.345").rounded(places: 2) == n("2.35"))
        #expect(n("-2.345").rounded(places: 2) == n("-2.35"))
        #expect(n("4").formatted(places: 2) == "4.00")
        #expect(n("1234.5").formatted(places: 2) == "1234.50")
        #expect(n("0.005").formatted(places: 2) == "0.01")
    }

    @Test func overflowFallsBackToDecimalExactly() {
        let big = n("9223372036854775807")  // Int64.max
        let sum = big + 1
        #expect(sum.description == "9223372036854775808")
        #expect(sum - 1 == big)
        #expect((n("123456789012") * n("987654321098")).description == "121932631136585886175176")
        #expect(n("12345678901234567890123").description == "12345678901234567890123")
        // An inexact quotient keeps 38 digits, and is not mistaken for a small one.
        let third = n("1") / n("3")
        #expect(third.description.hasPrefix("0.3333333333333333"))
        #expect(third * 3 != 1 || third.description.count > 30)
    }

    @Test func equalValuesAreEqualAndHashAlike() {
        #expect(n("4.00") == n("4"))
        #expect(Set([n("4.00"), n("4"), n("4.0")]).count == 1)
        #expect(n("0.30") < n("0.4"))
        #expect(n("-1") < n("0"))
        #expect(n("4.00").isInteger && !n("4.5").isInteger)
        #expect(n("42.000").intValue == 42)
    }

    @Test func parsesOnlyPlainDecimals() {
        for bad in ["", "-", ".", "1.", ".5", "1e5", "+1", "1,000", " 1", "1 ", "0x10", "--1", "1.2.3"] {
            #expect(Number(parsing: bad) == nil, "\(bad)")
        }
        #expect(n("-0") == 0)
        #expect(n("007") == 7)
    }

    @Test func codableKeepsTheExactValue() throws {
        for text in ["0.1", "-12.50", "400", "123456789012345678901234567890"] {
            let data = try JSONEncoder().encode([n(text)])
            let back = try JSONDecoder().decode([Number].self, from: data)
            #expect(back == [n(text)])
        }
    }
}
