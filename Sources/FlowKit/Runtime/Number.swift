import Foundation

/// An exact decimal number: every number and amount a flow computes with.
///
/// Design note: Foundation's `Decimal` is exact but slow on Linux (hundreds of nanoseconds for an
/// addition), too slow for a loop of ten million steps a second. So a `Number` is usually small:
/// a count of 10^-scale in an `Int64` (`4.00` is 400 at scale 2), computed with integer
/// arithmetic and overflow checks. Whatever does not fit (more than 18 digits, an inexact
/// quotient such as 1/3) is a `Decimal` with its 38 digits. Both forms are exact and never go
/// through binary floating point; equal values are equal whatever their form or scale
/// (`4.00 == 4`).
public struct Number: Sendable, Hashable, Comparable, Codable, CustomStringConvertible, ExpressibleByIntegerLiteral {
    enum Storage: Sendable {
        /// mantissa × 10^-scale, scale 0...18
        case small(Int64, UInt8)
        case large(Decimal)
    }

    var storage: Storage

    init(small mantissa: Int64, scale: UInt8) { storage = .small(mantissa, scale) }

    public init(_ value: Int) { storage = .small(Int64(value), 0) }
    public init(integerLiteral value: Int) { storage = .small(Int64(value), 0) }

    /// An exact copy of a `Decimal` (small when it fits).
    public init(_ decimal: Decimal) {
        if decimal.isFinite, let small = Number(parsing: decimal.description), case .small = small.storage {
            self = small
        } else {
            storage = .large(decimal)
        }
    }

    /// The digits of a plain decimal text without its sign, point, leading and trailing zeros.
    static func significantDigits<S: StringProtocol>(_ text: S) -> [UInt8] {
        Array(text.utf8.filter { $0 != 0x2D && $0 != 0x2E }.drop { $0 == 0x30 }.reversed().drop { $0 == 0x30 }.reversed())
    }

    static let powers: [Int64] = (0...18).map { k in (0..<k).reduce(Int64(1)) { p, _ in p * 10 } }

    /// Reads `-?digits(.digits)?` exactly; nil for anything else, and for a number whose digits a
    /// decimal cannot hold exactly (more than 38 or 39 significant digits, by their value): never
    /// rounded.
    public init?<S: StringProtocol>(parsing text: S) {
        var mantissa: Int64 = 0
        var scale = 0
        var digits = 0
        var negative = false
        var seenDot = false
        var overflow = false
        var first = true
        for b in text.utf8 {
            defer { first = false }
            if b == 0x2D && first { negative = true; continue }
            if b == 0x2E {
                if seenDot || digits == 0 { return nil }
                seenDot = true
                continue
            }
            guard b >= 0x30 && b <= 0x39 else { return nil }
            digits += 1
            if seenDot { scale += 1 }
            let (m, o1) = mantissa.multipliedReportingOverflow(by: 10)
            let (n, o2) = m.addingReportingOverflow(Int64(b - 0x30))
            if o1 || o2 || scale > 18 { overflow = true }
            mantissa = n
        }
        guard digits > 0, !(seenDot && text.hasSuffix(".")) else { return nil }
        if overflow {
            // Exact or refused: the decimal read must hold the very digits written. Foundation's
            // Decimal keeps a 128-bit mantissa, 38 digits always and 39 for some (what it writes
            // for a snapshot, `1428…141` and 11 zeros, must read back), and rounds the rest.
            let written = Self.significantDigits(text)
            guard written.count <= 40,
                  let d = Decimal(string: String(text), locale: Locale(identifier: "en_US_POSIX")),
                  Self.significantDigits(Value.numberText(d)) == written
            else { return nil }
            storage = .large(d)
        } else {
            storage = .small(negative ? -mantissa : mantissa, UInt8(scale))
        }
    }

    /// The value as a Foundation `Decimal`.
    public var decimal: Decimal {
        switch storage {
        case .small(let m, let s): return Decimal(sign: m < 0 ? .minus : .plus, exponent: -Int(s), significand: Decimal(m.magnitude))
        case .large(let d): return d
        }
    }

    /// Held as a count of 10^-scale in an `Int64` (not as a `Decimal`).
    var isSmall: Bool {
        if case .small = storage { return true }
        return false
    }

    public var isZero: Bool {
        switch storage {
        case .small(let m, _): return m == 0
        case .large(let d): return d.isZero
        }
    }

    var isNegative: Bool {
        switch storage {
        case .small(let m, _): return m < 0
        case .large(let d): return d < 0
        }
    }

    // MARK: Arithmetic

    /// Both small, brought to one scale; nil when that would overflow.
    @inline(__always)
    private static func aligned(_ a: Number, _ b: Number) -> (Int64, Int64, UInt8)? {
        guard case .small(let x, let sa) = a.storage, case .small(let y, let sb) = b.storage else { return nil }
        return aligned(x, sa, y, sb)
    }

    /// Two small numbers' integers and scales brought to the larger scale; nil when that would
    /// overflow. (The run loop's integers path computes with these, `HotCode.small`.)
    @inline(__always)
    static func aligned(_ x: Int64, _ sa: UInt8, _ y: Int64, _ sb: UInt8) -> (Int64, Int64, UInt8)? {
        if sa == sb { return (x, y, sa) }
        if sa < sb {
            let (r, o) = x.multipliedReportingOverflow(by: powers[Int(sb - sa)])
            return o ? nil : (r, y, sb)
        }
        let (r, o) = y.multipliedReportingOverflow(by: powers[Int(sa - sb)])
        return o ? nil : (x, r, sa)
    }

    public static func + (a: Number, b: Number) -> Number {
        if let (x, y, s) = aligned(a, b) {
            let (r, o) = x.addingReportingOverflow(y)
            if !o { return Number(small: r, scale: s) }
        }
        return Number(a.decimal + b.decimal)
    }

    public static func - (a: Number, b: Number) -> Number {
        if let (x, y, s) = aligned(a, b) {
            let (r, o) = x.subtractingReportingOverflow(y)
            if !o { return Number(small: r, scale: s) }
        }
        return Number(a.decimal - b.decimal)
    }

    public static func * (a: Number, b: Number) -> Number {
        if case .small(let x, let sa) = a.storage, case .small(let y, let sb) = b.storage, Int(sa) + Int(sb) <= 18 {
            let (r, o) = x.multipliedReportingOverflow(by: y)
            if !o { return Number(small: r, scale: sa + sb).trimmed(keeping: max(sa, sb)) }
        }
        let (x, y) = (a.decimal, b.decimal)
        // FoundationEssentials (Swift 6.3) traps in `*` when the product's exponent falls below
        // -128 (`1e-65 * 1e-64`, even `5e-128 * 0.2`): such a product is out of range, NaN,
        // which the evaluator reports.
        if !x.isZero && !y.isZero && Int(x.exponent) + Int(y.exponent) < -128 { return Number(Decimal.nan) }
        return Number(x * y)
    }

    /// Exact when the quotient has a finite decimal expansion within 18 digits; otherwise
    /// Foundation's 38-digit quotient. The divisor must not be zero.
    public static func / (a: Number, b: Number) -> Number {
        if let (x, y, _) = aligned(a, b), y != 0 {
            // x/y with both at one scale: find the smallest k with x·10^k divisible by y.
            for k in 0...18 {
                let (n, o) = x.multipliedReportingOverflow(by: powers[k])
                if o { break }
                // `Int64.min / -1` overflows (and so does `%` on it): leave that to `Decimal`.
                let (q, overflow) = n.dividedReportingOverflow(by: y)
                if overflow { break }
                if n.remainderReportingOverflow(dividingBy: y).partialValue == 0 { return Number(small: q, scale: UInt8(k)) }
            }
        }
        return Number(a.decimal / b.decimal)
    }

    public static prefix func - (a: Number) -> Number {
        switch a.storage {
        case .small(let m, let s) where m != .min: return Number(small: -m, scale: s)
        default: return Number(-a.decimal)
        }
    }

    /// The remainder with the sign of the dividend, like `%` on integers. The divisor must not be zero.
    public static func % (a: Number, b: Number) -> Number {
        // `remainderReportingOverflow`: `Int64.min % -1` traps with `%`; its remainder is 0.
        if let (x, y, s) = aligned(a, b), y != 0 { return Number(small: x.remainderReportingOverflow(dividingBy: y).partialValue, scale: s) }
        return Number(Decimal.remainder(a.decimal, b.decimal))
    }

    /// Rounded to `places` decimals, halves away from zero (`2.345` → `2.35`).
    public func rounded(places: Int) -> Number {
        if case .small(let m, let s) = storage, places >= 0 {
            if Int(s) <= places { return self }
            let drop = Number.powers[Int(s) - places]
            var q = m / drop
            let r = m % drop
            if r.magnitude * 2 >= drop.magnitude { q += m < 0 ? -1 : 1 }
            return Number(small: q, scale: UInt8(places))
        }
        return Number(decimal.rounded(places: places))
    }

    /// Drops trailing zeros down to `keeping` decimals (so `4.00 * 100` is `400.00`, shown `400`).
    private func trimmed(keeping: UInt8) -> Number {
        guard case .small(let m, let s) = storage else { return self }
        let (n, t) = Self.trimmed(m, s, keeping: keeping)
        return Number(small: n, scale: t)
    }

    /// A small number's integer and scale without trailing zeros down to `keeping` decimals.
    @inline(__always)
    static func trimmed(_ m: Int64, _ s: UInt8, keeping: UInt8) -> (Int64, UInt8) {
        var (m, s) = (m, s)
        while s > keeping && m % 10 == 0 {
            m /= 10
            s -= 1
        }
        return (m, s)
    }

    /// The smallest scale that holds the value exactly (`4.00` → 4 at scale 0).
    private var normalized: Number {
        guard case .small(var m, var s) = storage else { return self }
        while s > 0 && m % 10 == 0 {
            m /= 10
            s -= 1
        }
        return Number(small: m, scale: s)
    }

    /// Whether this is a whole number (`4.00` is).
    public var isInteger: Bool {
        switch normalized.storage {
        case .small(_, let s): return s == 0
        case .large(let d): return d.isInteger
        }
    }

    /// This number as an `Int` when it is a whole number in range.
    public var intValue: Int? {
        switch normalized.storage {
        case .small(let m, let s): return s == 0 ? Int(exactly: m) : nil
        case .large(let d): return d.intValue
        }
    }

    // MARK: Comparing

    public static func == (a: Number, b: Number) -> Bool {
        if let (x, y, _) = aligned(a, b) { return x == y }
        return a.decimal == b.decimal
    }

    public static func < (a: Number, b: Number) -> Bool {
        if let (x, y, _) = aligned(a, b) { return x < y }
        return a.decimal < b.decimal
    }

    public func hash(into hasher: inout Hasher) {
        switch normalized.storage {
        case .small(let m, let s):
            hasher.combine(m)
            hasher.combine(s)
        case .large(let d): hasher.combine(d.description)
        }
    }

    // MARK: Text

    /// Plain decimal notation without trailing zeros: `400`, `0.3`, `-2.5`.
    public var description: String {
        switch normalized.storage {
        case .small(let m, let s):
            if s == 0 { return String(m) }
            return Self.pointText(m, scale: Int(s))
        case .large(let d):
            return Value.numberText(d)
        }
    }

    /// `m` × 10^-`scale` (scale 1...18) in plain digits with a point and at least one digit
    /// before it (`-0.05`), written from the right into one buffer: no temporary strings.
    private static func pointText(_ m: Int64, scale: Int) -> String {
        withPointText(m, scale: scale) { String(decoding: $0, as: UTF8.self) }
    }

    /// Calls `body` with the bytes of `m` × 10^-`scale` (scale 0...18; 0: the integer's digits),
    /// as `pointText` spells it, in a buffer on the stack.
    @inline(__always) private static func withPointText<R>(_ m: Int64, scale: Int, _ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 48) { buffer in
            var u = m.magnitude
            var i = 48
            var written = 0
            while u > 0 || written <= scale {
                i -= 1
                buffer[i] = UInt8(truncatingIfNeeded: 48 + u % 10)
                u /= 10
                written += 1
                if written == scale {
                    i -= 1
                    buffer[i] = 46
                }
            }
            if m < 0 {
                i -= 1
                buffer[i] = 45
            }
            return body(UnsafeBufferPointer(rebasing: buffer[i..<48]))
        }
    }

    /// Appends `formatted(places: 2)` (`asCurrency`) or `description` to `bytes` for the numbers
    /// those spell straight from the mantissa: a currency of at most two decimals, a whole
    /// number. False (nothing appended) for any other, which the text methods spell.
    func appendText(asCurrency: Bool, to bytes: inout UTF8Gathering) -> Bool {
        guard case .small(let m, let s) = storage else { return false }
        var digits = m
        if asCurrency {
            guard s <= 2 else { return false }
            let (scaled, overflow) = m.multipliedReportingOverflow(by: s == 2 ? 1 : (s == 1 ? 10 : 100))
            if overflow { return false }
            digits = scaled
        } else if s != 0 {
            return false
        }
        Self.withPointText(digits, scale: asCurrency ? 2 : 0) { bytes.append(bytes: $0) }
        return true
    }

    /// With exactly `places` decimals, rounded half away from zero: `4` → `4.00`.
    public func formatted(places: Int) -> String {
        let r = rounded(places: places)
        // Small: the mantissa brought to `places` decimals, written with them.
        if case .small(let m, let s) = r.storage, places >= Int(s), places <= 18 {
            let (scaled, overflow) = m.multipliedReportingOverflow(by: Number.powers[places - Int(s)])
            if !overflow { return places == 0 ? String(scaled) : Self.pointText(scaled, scale: places) }
        }
        var text = r.description
        let decimals = text.firstIndex(of: ".").map { text.distance(from: $0, to: text.endIndex) - 1 } ?? -1
        if decimals < 0 {
            text += "." + String(repeating: "0", count: places)
        } else if decimals < places {
            text += String(repeating: "0", count: places - decimals)
        }
        return text
    }

    // MARK: Codable: the exact text, so a snapshot restores the same number.

    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        let text = try c.decode(String.self)
        guard let n = Number(parsing: text) else {
            throw DecodingError.dataCorruptedError(in: c, debugDescription: "'\(text)' is not a number")
        }
        self = n
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }
}
