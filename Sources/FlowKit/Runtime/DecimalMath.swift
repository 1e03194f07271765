import Foundation

/// Exact arithmetic helpers on `Decimal`, the type of every number and amount at run time.
///
/// Design note: a `Decimal` holds up to 38 significant digits and a decimal exponent in
/// -128...127, so `0.1 + 0.2 == 0.3` holds and `4.00 * 100` is `400`. Results here are exact
/// whenever they fit in 38 digits; beyond that Foundation rounds, as it does for `+` and `*`.
/// Nothing here goes through `Double`.
extension Decimal {
    /// The remainder of `dividend / divisor`, with the sign of the dividend, like Swift's `%` on
    /// integers: `remainder(7, 3) == 1`, `remainder(-7, 3) == -1`, `remainder(5.5, 2) == 1.5`.
    /// A zero divisor, or an operand that is not a number, gives `.nan`: check the divisor first.
    public static func remainder(_ dividend: Decimal, _ divisor: Decimal) -> Decimal {
        guard !divisor.isZero, !divisor.isNaN, !dividend.isNaN else { return .nan }
        let step = divisor.magnitude
        var r = dividend
        // `r / divisor` is rounded to 38 digits, so one pass can leave `|r| >= |divisor|` when
        // the quotient is longer than that; each pass removes about 38 digits of it.
        var passes = 0
        while r.magnitude >= step && passes < 16 {
            r -= (r / divisor).truncatedToInteger() * divisor
            passes += 1
        }
        // A quotient rounded up across an integer leaves a remainder of the wrong sign.
        if !r.isZero && (r < 0) != (dividend < 0) {
            r += dividend < 0 ? -step : step
        }
        return r
    }

    /// This number rounded to `places` decimals, halves away from zero: `2.345` → `2.35`,
    /// `-2.345` → `-2.35`, `2.5` with 0 places → `3`. A negative `places` rounds to tens,
    /// hundreds, …
    public func rounded(places: Int) -> Decimal {
        guard isFinite else { return self }
        var source = self
        var result = Decimal()
        // `.plain` is "round half up" on the magnitude, which is half away from zero.
        NSDecimalRound(&result, &source, places, .plain)
        return result
    }

    /// The integer part, rounded toward zero: `2.7` → `2`, `-2.7` → `-2`.
    public func truncatedToInteger() -> Decimal {
        guard isFinite else { return self }
        var source = self
        var result = Decimal()
        NSDecimalRound(&result, &source, 0, self < 0 ? .up : .down)
        return result
    }

    /// Whether this is a whole number (`4.00` is).
    public var isInteger: Bool {
        guard isFinite else { return false }
        if exponent >= 0 { return true }
        return self == truncatedToInteger()
    }

    /// This number as an `Int`, when it is a whole number within `Int`'s range; else nil.
    public var intValue: Int? {
        guard isInteger, self >= Decimal.intMin, self <= Decimal.intMax else { return nil }
        // Exact: `NSDecimalNumber` converts from the decimal mantissa, not through `Double`.
        return NSDecimalNumber(decimal: self).intValue
    }

    private static let intMin = Decimal(Int.min)
    private static let intMax = Decimal(Int.max)

    /// Reads a number literal `-?digits(.digits)?` (`12`, `-3.5`, `0.50`, `007`) exactly;
    /// nil for anything else: no `+`, no blanks, no exponent, no `.5`, no `5.`, no separators.
    /// Up to 19 significant digits are read without Foundation's parser; longer literals are
    /// handed to it (and rounded to 38 significant digits).
    public init?(parsing text: String) {
        var text = text
        guard let d = text.withUTF8({ Decimal.parseLiteral($0) }) else { return nil }
        self = d
    }

    /// Reads a number literal `-?digits(.digits)?`; see `init?(parsing: String)`.
    public init?(parsing text: Substring) {
        var text = text
        guard let d = text.withUTF8({ Decimal.parseLiteral($0) }) else { return nil }
        self = d
    }

    /// The literal grammar of `init?(parsing:)` over UTF-8 bytes.
    static func parseLiteral(_ bytes: UnsafeBufferPointer<UInt8>) -> Decimal? {
        var i = 0
        let n = bytes.count
        var negative = false
        if i < n && bytes[i] == UInt8(ascii: "-") {
            negative = true
            i += 1
        }
        let intStart = i
        while i < n && bytes[i] &- 48 < 10 { i += 1 }
        let intEnd = i
        guard intEnd > intStart else { return nil }
        var fracStart = i
        var fracEnd = i
        if i < n && bytes[i] == UInt8(ascii: ".") {
            i += 1
            fracStart = i
            while i < n && bytes[i] &- 48 < 10 { i += 1 }
            fracEnd = i
            guard fracEnd > fracStart else { return nil }
        }
        guard i == n else { return nil }
        return assemble(bytes, negative: negative, integer: intStart..<intEnd, fraction: fracStart..<fracEnd, exponent: 0)
    }

    /// The most significant digits a `Decimal` always holds exactly (its significand is 128
    /// bits: every 38-digit number fits, not every 39-digit one).
    static let exactDigits = 38

    /// How many significant digits `integer.fraction` has: without leading zeros, and without
    /// trailing zeros (which an exponent holds exactly).
    static func significantDigits(_ bytes: UnsafeBufferPointer<UInt8>, integer: Range<Int>, fraction: Range<Int>) -> Int {
        var first: Int?
        var last = 0
        var position = 0
        for range in [integer, fraction] {
            for k in range {
                if bytes[k] != UInt8(ascii: "0") {
                    if first == nil { first = position }
                    last = position
                }
                position += 1
            }
        }
        guard let first else { return 0 }
        return last - first + 1
    }

    /// Builds `±integer.fraction × 10^exponent` from digit ranges of `bytes`, exactly when the
    /// significant digits fit a `UInt64`; otherwise through Foundation's parser. Nil when the
    /// number is out of `Decimal`'s range.
    static func assemble(_ bytes: UnsafeBufferPointer<UInt8>, negative: Bool, integer: Range<Int>,
                         fraction: Range<Int>, exponent: Int) -> Decimal? {
        // Significant digits: leading zeros of the integer part and trailing zeros of the
        // fraction change nothing; trailing zeros of the whole digit string go to the exponent.
        var first = integer.lowerBound
        while first < integer.upperBound && bytes[first] == UInt8(ascii: "0") { first += 1 }
        var fracEnd = fraction.upperBound
        while fracEnd > fraction.lowerBound && bytes[fracEnd - 1] == UInt8(ascii: "0") { fracEnd -= 1 }
        var exp = exponent - (fracEnd - fraction.lowerBound)
        var head = first..<integer.upperBound
        var tail = fraction.lowerBound..<fracEnd
        if tail.isEmpty {
            // No fraction digits left: strip the integer part's trailing zeros too.
            var intEnd = integer.upperBound
            while intEnd > first && bytes[intEnd - 1] == UInt8(ascii: "0") { intEnd -= 1 }
            exp += integer.upperBound - intEnd
            head = first..<intEnd
        } else if head.isEmpty {
            // `0.000123`: skip the fraction's leading zeros.
            var f = fraction.lowerBound
            while f < fracEnd && bytes[f] == UInt8(ascii: "0") { f += 1 }
            tail = f..<fracEnd
        }
        let count = head.count + tail.count
        if count == 0 { return Decimal(0) }
        if count <= 19 && exp <= 127 {
            guard exp >= -128 else { return nil }
            var significand: UInt64 = 0
            for k in head { significand = significand &* 10 &+ UInt64(bytes[k] &- 48) }
            for k in tail { significand = significand &* 10 &+ UInt64(bytes[k] &- 48) }
            // The significand ends in a non-zero digit, so `Decimal(significand)` has exponent 0
            // and the sum stays in range. (Multiplying it by 10 to absorb a larger exponent does
            // not work: `Decimal` drops the zeros again, and the exponent overflows to NaN.)
            return Decimal(sign: negative ? .minus : .plus, exponent: exp, significand: Decimal(significand))
        }
        // Longer than a UInt64, or an exponent beyond 127: let Foundation read the canonical
        // spelling `±digits e exp`. `Decimal`'s exponent stops at 127, so a larger one is moved
        // into the digits as zeros while they fit its 38 (`606e128` is read as `6060e127`).
        var spelled = negative ? "-" : ""
        for range in [head, tail] { spelled += String(decoding: UnsafeBufferPointer(rebasing: bytes[range]), as: UTF8.self) }
        if exp > 127 && count + (exp - 127) <= 38 {
            spelled += String(repeating: "0", count: exp - 127)
            exp = 127
        }
        spelled += "e\(exp)"
        guard let d = Decimal(string: spelled, locale: nil), d.isFinite else { return nil }
        return d
    }
}
