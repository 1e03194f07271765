import Foundation

/// How run-time values turn into text, to and from JSON, and into a declared type.
///
/// Design note: numbers are `Decimal` from end to end. JSON is read by `JSONReader` below, a
/// small iterative reader over UTF-8 bytes that reads number literals exactly (Foundation's
/// `JSONSerialization` hands numbers over as `Double`, which would turn `0.1` into
/// `0.1000000000000000055…`). It never recurses, so nesting costs heap, not stack, and it
/// refuses documents nested deeper than `JSONReader.maxDepth`.

// MARK: - Display

extension Value {
    /// The value as a text template shows it: text as is; numbers exactly, without exponent or
    /// trailing zeros (`0.1 + 0.2` → `0.3`, `4.00 * 100` → `400`); with `asCurrency`, a number is
    /// rounded half away from zero to 2 decimals and always shows them (`4` → `4.00`); bool as
    /// `yes`/`no`; null as nothing; a date as `yyyy-mm-dd`; list items joined with `, `; an
    /// object as compact JSON with sorted keys.
    public func displayText(asCurrency: Bool = false) -> String {
        switch self {
        case .text(let s): return s
        case .number(let d): return asCurrency ? d.formatted(places: 2) : d.description
        case .bool(let b): return b ? "yes" : "no"
        case .null: return ""
        case .date(let s): return s
        case .list(let items): return items.map { $0.displayText() }.joined(separator: ", ")
        case .object: return jsonText()
        }
    }

    /// A number in plain decimal notation: `400`, `0.3`, `-2.5`, `0.000001`.
    static func numberText(_ d: Decimal) -> String {
        guard d.isFinite else { return "NaN" }
        guard let (digits, exponent) = decimalDigits(d) else {
            // Beyond 19 significant digits: Foundation's spelling, which is also plain digits
            // with a `.` whatever the locale, without trailing zeros.
            return d.description
        }
        let sign = d < 0 ? "-" : ""
        if exponent >= 0 { return sign + digits + String(repeating: "0", count: exponent) }
        let decimals = -exponent
        if decimals < digits.utf8.count {
            let cut = digits.utf8.index(digits.utf8.endIndex, offsetBy: -decimals)
            return sign + digits[..<cut] + "." + digits[cut...]
        }
        return sign + "0." + String(repeating: "0", count: decimals - digits.utf8.count) + digits
    }

    /// An amount with exactly two decimals: `4.00`, `1234.50`, `-0.05`.
    static func currencyText(_ d: Decimal) -> String {
        guard d.isFinite else { return "NaN" }
        return padTwoDecimals(numberText(d.rounded(places: 2)))
    }

    private static func padTwoDecimals(_ text: String) -> String {
        guard let dot = text.utf8.firstIndex(of: UInt8(ascii: ".")) else { return text + ".00" }
        let decimals = text.utf8.distance(from: dot, to: text.utf8.endIndex) - 1
        return decimals >= 2 ? text : text + String(repeating: "0", count: 2 - decimals)
    }

    private static let maxUInt64 = Decimal(UInt64.max)

    /// The significant digits of a non-zero number without trailing zeros, and the power of ten
    /// they are multiplied by (`-12.50` → ("125", -1)); nil beyond 19 digits. Zero is ("0", 0).
    private static func decimalDigits(_ d: Decimal) -> (String, Int)? {
        if d.isZero { return ("0", 0) }
        let significand = d.significand
        guard significand <= maxUInt64 else { return nil }
        // Exact: read from the decimal mantissa, not through `Double`.
        var u = NSDecimalNumber(decimal: significand).uint64Value
        var exponent = d.exponent
        while u % 10 == 0 {
            u /= 10
            exponent += 1
        }
        return (String(u), exponent)
    }
}

// MARK: - JSON out

extension Value {
    /// Compact JSON with object keys sorted and numbers written exactly (`0.1`, not
    /// `0.1000000000000000055`). A date is a JSON string; a number that is not a number
    /// (`Decimal.nan`) is `null`.
    public func jsonText() -> String {
        var out = ""
        writeJSON(into: &out)
        return out
    }

    func writeJSON(into out: inout String) {
        switch self {
        case .text(let s), .date(let s): Value.writeJSONString(s, into: &out)
        case .number(let d):
            if case .large(let x) = d.storage, !x.isFinite {
                out += "null"
            } else {
                out += d.description
            }
        case .bool(let b): out += b ? "true" : "false"
        case .null: out += "null"
        case .list(let items):
            out += "["
            for (k, item) in items.enumerated() {
                if k > 0 { out += "," }
                item.writeJSON(into: &out)
            }
            out += "]"
        case .object(let fields):
            out += "{"
            for (k, key) in fields.keys.sorted().enumerated() {
                if k > 0 { out += "," }
                Value.writeJSONString(key, into: &out)
                out += ":"
                fields[key]!.writeJSON(into: &out)
            }
            out += "}"
        }
    }

    /// A JSON string literal, written by the one JSON quoting of FlowKit (`JSONText.quote`).
    static func writeJSONString(_ s: String, into out: inout String) {
        out += JSONText.quote(s)
    }
}

// MARK: - JSON in

/// Why a JSON text could not be read: what was wrong, and the byte offset where.
public struct JSONReadError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public var offset: Int
    public init(_ message: String, offset: Int) {
        self.message = message
        self.offset = offset
    }
    public var description: String { "\(message) at byte \(offset)" }
}

extension Value {
    /// Reads a JSON document (UTF-8, an optional byte-order mark, any value at the top).
    /// Numbers become exact decimals: `0.1` stays `0.1`, `12345678901234567890123` stays whole.
    /// A number with more than 38 significant digits (which a decimal cannot hold exactly) is
    /// refused, never rounded, as is one outside `Decimal`'s range (about 1e-128 to 1e165) and
    /// nesting deeper than 512 levels.
    public static func fromJSON(_ data: Data) throws(JSONReadError) -> Value {
        let result: Result<Value, JSONReadError> = data.withUnsafeBytes { raw in
            var reader = JSONReader(raw.bindMemory(to: UInt8.self))
            do throws(JSONReadError) {
                return .success(try reader.readDocument())
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }

    /// Reads a JSON document that should be an object, member by member, without building the
    /// object (`--answers` of 100,000 pages: the object was a fifth of what `flow run` held).
    /// `body` is handed each name and value as read, and returns false to stop reading. Returns
    /// false, having handed nothing, when the document is not an object; throws, perhaps after
    /// handing some members, when the text is not JSON.
    public static func forEachJSONMember(_ data: Data, _ body: (String, Value) -> Bool) throws(JSONReadError) -> Bool {
        let result: Result<Bool, JSONReadError> = data.withUnsafeBytes { raw in
            var reader = JSONReader(raw.bindMemory(to: UInt8.self))
            do throws(JSONReadError) {
                return .success(try reader.readMembers(body))
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }

    /// Reads a JSON document from text; see `fromJSON(_: Data)`.
    public static func fromJSON(_ text: String) throws(JSONReadError) -> Value {
        var text = text
        let result: Result<Value, JSONReadError> = text.withUTF8 { bytes in
            var reader = JSONReader(bytes)
            do throws(JSONReadError) {
                return .success(try reader.readDocument())
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }

    /// Converts what `JSONSerialization` (or a host) produced: `NSNull` → null, `String` → text,
    /// `Bool` (and boolean `NSNumber`s) → bool, integers and `Decimal` → exact numbers, `Double`
    /// → the number its shortest spelling shows (`0.1` → `0.1`; infinities and NaN → null),
    /// arrays → list, string-keyed dictionaries → object (other keys are spelled as text),
    /// `Date` → its UTC calendar date, a `Value` → itself. Anything else becomes null.
    ///
    /// Numbers that reach this as `Double` have already lost any digits beyond 17; prefer
    /// `fromJSON(_:)` for JSON text.
    public init(jsonObject: Any) {
        if let v = jsonObject as? Value {
            self = v
            return
        }
        // Foundation objects first: an `NSNumber` also answers to `as? Bool` and `as? Int`.
        if type(of: jsonObject) is NSNumber.Type, let n = jsonObject as? NSNumber {
            self = Value.fromNSNumber(n)
            return
        }
        switch jsonObject {
        case is NSNull: self = .null
        case let s as String: self = .text(s)
        case let s as Substring: self = .text(String(s))
        case let b as Bool: self = .bool(b)
        case let d as Decimal: self = d.isFinite ? .number(Number(d)) : .null
        case let d as Double: self = Value.fromDouble(d)
        case let f as Float: self = f.isFinite ? (Decimal(string: "\(f)").map { .number(Number($0)) } ?? .null) : .null
        case let i as any BinaryInteger:
            if let small = Int64(exactly: i) {
                self = .number(Number(Decimal(small)))
            } else if let big = UInt64(exactly: i) {
                self = .number(Number(Decimal(big)))
            } else {
                self = Decimal(string: "\(i)").map { .number(Number($0)) } ?? .null
            }
        case let date as Date: self = .date(CalendarDate.utcText(date))
        case let items as [Any]: self = .list(items.map { Value(jsonObject: $0) })
        case let fields as [String: Any]: self = .object(fields.mapValues { Value(jsonObject: $0) })
        case let fields as [AnyHashable: Any]:
            var object: [String: Value] = [:]
            for (k, v) in fields { object[(k.base as? String) ?? "\(k.base)"] = Value(jsonObject: v) }
            self = .object(object)
        default: self = .null
        }
    }

    private static func fromNSNumber(_ n: NSNumber) -> Value {
        let kind = String(cString: n.objCType)
        // JSONSerialization's `true`/`false` are the boolean subclass (`__NSCFBoolean`).
        if kind == "c" && String(describing: type(of: n)).contains("Boolean") { return .bool(n.boolValue) }
        switch kind {
        case "d": return fromDouble(n.doubleValue)
        case "f":
            let f = n.floatValue
            return f.isFinite ? (Decimal(string: "\(f)").map { .number(Number($0)) } ?? .null) : .null
        case "Q", "L", "I", "S", "C": return .number(Number(Decimal(n.uint64Value)))
        default: return .number(Number(Decimal(n.int64Value)))
        }
    }

    /// A `Double` as the decimal its shortest round-trip spelling shows: `0.1` → `0.1`.
    private static func fromDouble(_ d: Double) -> Value {
        guard d.isFinite else { return .null }
        guard let exact = Decimal(string: "\(d)", locale: nil), exact.isFinite else { return .null }
        return .number(Number(exact))
    }
}

/// An iterative JSON reader over UTF-8 bytes (RFC 8259, strict: no comments, no trailing
/// commas, no leading zeros). Containers under construction live on an explicit stack.
struct JSONReader {
    /// The deepest nesting of arrays and objects accepted.
    static let maxDepth = 512

    private let bytes: UnsafeBufferPointer<UInt8>
    private var i = 0

    init(_ bytes: UnsafeBufferPointer<UInt8>) {
        self.bytes = bytes
        // A UTF-8 byte-order mark.
        if bytes.count >= 3 && bytes[0] == 0xEF && bytes[1] == 0xBB && bytes[2] == 0xBF { i = 3 }
    }

    /// An array or object being read: its items so far, and for an object the current key.
    private struct Container {
        var isObject: Bool
        var items: [Value] = []
        var fields: [String: Value] = [:]
        var key: String = ""
    }

    mutating func readDocument() throws(JSONReadError) -> Value {
        skipBlanks()
        guard i < bytes.count else { throw JSONReadError("the JSON text is empty", offset: i) }
        let value = try readValue(depth: 0)
        skipBlanks()
        guard i == bytes.count else { throw JSONReadError("unexpected text after the JSON value", offset: i) }
        return value
    }

    /// Reads a document that is an object member by member, handing each to `body` as soon as it
    /// is read (the object is never built; a name given twice is handed twice); `body` returns
    /// false to stop. Returns false, having handed nothing, when the document is not an object.
    /// A text that is not JSON throws as `readDocument` does, perhaps after members were handed.
    mutating func readMembers(_ body: (String, Value) -> Bool) throws(JSONReadError) -> Bool {
        skipBlanks()
        guard i < bytes.count else { throw JSONReadError("the JSON text is empty", offset: i) }
        guard bytes[i] == UInt8(ascii: "{") else { return false }
        i += 1
        skipBlanks()
        if i < bytes.count && bytes[i] == UInt8(ascii: "}") {
            i += 1
        } else {
            while true {
                let key = try readKey()
                let value = try readValue(depth: 1)
                guard body(key, value) else { return true }
                skipBlanks()
                guard i < bytes.count else { throw endedEarly() }
                if bytes[i] == UInt8(ascii: ",") {
                    i += 1
                    skipBlanks()
                    continue
                }
                if bytes[i] == UInt8(ascii: "}") {
                    i += 1
                    break
                }
                throw unexpected("',' or '}'")
            }
        }
        skipBlanks()
        guard i == bytes.count else { throw JSONReadError("unexpected text after the JSON value", offset: i) }
        return true
    }

    /// One whole value (arrays and objects with all they hold) at `i`, inside `depth` containers.
    private mutating func readValue(depth: Int) throws(JSONReadError) -> Value {
        var stack: [Container] = []
        var value: Value
        readValue: while true {
            skipBlanks()
            guard i < bytes.count else { throw endedEarly() }
            switch bytes[i] {
            case UInt8(ascii: "{"):
                i += 1
                skipBlanks()
                if i < bytes.count && bytes[i] == UInt8(ascii: "}") {
                    i += 1
                    value = .object([:])
                } else {
                    guard depth + stack.count < JSONReader.maxDepth else { throw tooDeep() }
                    var container = Container(isObject: true)
                    container.key = try readKey()
                    stack.append(container)
                    continue readValue
                }
            case UInt8(ascii: "["):
                i += 1
                skipBlanks()
                if i < bytes.count && bytes[i] == UInt8(ascii: "]") {
                    i += 1
                    value = .list([])
                } else {
                    guard depth + stack.count < JSONReader.maxDepth else { throw tooDeep() }
                    stack.append(Container(isObject: false))
                    continue readValue
                }
            case UInt8(ascii: "\""):
                value = .text(try readString())
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                value = .number(Number(try readNumber()))
            case UInt8(ascii: "t"):
                try expectWord("true")
                value = .bool(true)
            case UInt8(ascii: "f"):
                try expectWord("false")
                value = .bool(false)
            case UInt8(ascii: "n"):
                try expectWord("null")
                value = .null
            default:
                throw unexpected("a value")
            }
            // Hand the value to the container it belongs to; close containers that end here.
            while true {
                guard !stack.isEmpty else { break readValue }
                let top = stack.count - 1
                if stack[top].isObject {
                    let key = stack[top].key
                    stack[top].fields[key] = value
                } else {
                    stack[top].items.append(value)
                }
                skipBlanks()
                guard i < bytes.count else { throw endedEarly() }
                let c = bytes[i]
                if c == UInt8(ascii: ",") {
                    i += 1
                    if stack[top].isObject {
                        skipBlanks()
                        stack[top].key = try readKey()
                    }
                    continue readValue
                }
                if stack[top].isObject ? c == UInt8(ascii: "}") : c == UInt8(ascii: "]") {
                    i += 1
                    let done = stack.removeLast()
                    value = done.isObject ? .object(done.fields) : .list(done.items)
                    continue
                }
                throw unexpected(stack[top].isObject ? "',' or '}'" : "',' or ']'")
            }
        }
        return value
    }

    private mutating func skipBlanks() {
        while i < bytes.count {
            switch bytes[i] {
            case 0x20, 0x0A, 0x0D, 0x09: i += 1
            default: return
            }
        }
    }

    /// `"key"` then `:`, with blanks around the colon.
    private mutating func readKey() throws(JSONReadError) -> String {
        guard i < bytes.count else { throw endedEarly() }
        guard bytes[i] == UInt8(ascii: "\"") else { throw unexpected("a key in double quotes") }
        let key = try readString()
        skipBlanks()
        guard i < bytes.count else { throw endedEarly() }
        guard bytes[i] == UInt8(ascii: ":") else { throw unexpected("':' after the key") }
        i += 1
        return key
    }

    private mutating func expectWord(_ word: StaticString) throws(JSONReadError) {
        let count = word.utf8CodeUnitCount
        let start = word.utf8Start
        guard i + count <= bytes.count else { throw unexpected("a value") }
        for k in 0..<count where bytes[i + k] != start[k] { throw unexpected("a value") }
        i += count
    }

    /// A string literal starting at the opening quote.
    private mutating func readString() throws(JSONReadError) -> String {
        let open = i
        i += 1
        let start = i
        // Fast path: no escapes.
        while i < bytes.count {
            let c = bytes[i]
            if c == UInt8(ascii: "\"") {
                let s = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<i]), as: UTF8.self)
                i += 1
                return s
            }
            if c == UInt8(ascii: "\\") || c < 0x20 { break }
            i += 1
        }
        var buffer = Array(UnsafeBufferPointer(rebasing: bytes[start..<i]))
        while i < bytes.count {
            let c = bytes[i]
            if c == UInt8(ascii: "\"") {
                i += 1
                return String(decoding: buffer, as: UTF8.self)
            }
            if c < 0x20 {
                throw JSONReadError("a control character must be escaped in a JSON string", offset: i)
            }
            if c != UInt8(ascii: "\\") {
                buffer.append(c)
                i += 1
                continue
            }
            i += 1
            guard i < bytes.count else { break }
            let e = bytes[i]
            i += 1
            switch e {
            case UInt8(ascii: "\""): buffer.append(UInt8(ascii: "\""))
            case UInt8(ascii: "\\"): buffer.append(UInt8(ascii: "\\"))
            case UInt8(ascii: "/"): buffer.append(UInt8(ascii: "/"))
            case UInt8(ascii: "b"): buffer.append(0x08)
            case UInt8(ascii: "f"): buffer.append(0x0C)
            case UInt8(ascii: "n"): buffer.append(0x0A)
            case UInt8(ascii: "r"): buffer.append(0x0D)
            case UInt8(ascii: "t"): buffer.append(0x09)
            case UInt8(ascii: "u"):
                var code = try readHex4()
                if (0xD800..<0xDC00).contains(code), i + 1 < bytes.count,
                   bytes[i] == UInt8(ascii: "\\"), bytes[i + 1] == UInt8(ascii: "u") {
                    let save = i
                    i += 2
                    let low = try readHex4()
                    if (0xDC00..<0xE000).contains(low) {
                        code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                    } else {
                        i = save
                    }
                }
                // A lone surrogate is not a character: it becomes U+FFFD.
                let scalar = Unicode.Scalar(code) ?? "\u{FFFD}"
                buffer.append(contentsOf: UTF8.encode(scalar)!)
            default:
                throw JSONReadError("unknown escape '\\\(Character(Unicode.Scalar(e)))' in a JSON string", offset: i - 2)
            }
        }
        throw JSONReadError("unterminated JSON string", offset: open)
    }

    private mutating func readHex4() throws(JSONReadError) -> UInt32 {
        guard i + 4 <= bytes.count else { throw JSONReadError("expected 4 hexadecimal digits after '\\u'", offset: i) }
        var code: UInt32 = 0
        for _ in 0..<4 {
            let c = bytes[i]
            let digit: UInt8
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = c - UInt8(ascii: "A") + 10
            default: throw JSONReadError("expected 4 hexadecimal digits after '\\u'", offset: i)
            }
            code = code << 4 | UInt32(digit)
            i += 1
        }
        return code
    }

    /// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`, exactly.
    private mutating func readNumber() throws(JSONReadError) -> Decimal {
        let start = i
        var negative = false
        if bytes[i] == UInt8(ascii: "-") {
            negative = true
            i += 1
        }
        let intStart = i
        while i < bytes.count && bytes[i] &- 48 < 10 { i += 1 }
        let integer = intStart..<i
        guard !integer.isEmpty else { throw JSONReadError("expected a digit in a JSON number", offset: i) }
        if integer.count > 1 && bytes[intStart] == UInt8(ascii: "0") {
            throw JSONReadError("a JSON number cannot start with 0", offset: intStart)
        }
        var fraction = i..<i
        if i < bytes.count && bytes[i] == UInt8(ascii: ".") {
            i += 1
            let fracStart = i
            while i < bytes.count && bytes[i] &- 48 < 10 { i += 1 }
            fraction = fracStart..<i
            guard !fraction.isEmpty else { throw JSONReadError("expected a digit after '.' in a JSON number", offset: i) }
        }
        var exponent = 0
        if i < bytes.count && (bytes[i] == UInt8(ascii: "e") || bytes[i] == UInt8(ascii: "E")) {
            i += 1
            var expNegative = false
            if i < bytes.count && (bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: "-")) {
                expNegative = bytes[i] == UInt8(ascii: "-")
                i += 1
            }
            let expStart = i
            while i < bytes.count && bytes[i] &- 48 < 10 {
                // Saturate: anything this large is out of range anyway.
                if exponent < 100_000 { exponent = exponent * 10 + Int(bytes[i] &- 48) }
                i += 1
            }
            guard i > expStart else { throw JSONReadError("expected a digit in a JSON number's exponent", offset: i) }
            if expNegative { exponent = -exponent }
        }
        // A number is kept exactly or refused: never rounded to fit. A decimal holds every number
        // of 38 significant digits and some of 39 (by their value): those, which it also writes,
        // are read when the decimal holds the very digits written (found by fuzzing: a number
        // written as JSON did not read back).
        let significant = Decimal.significantDigits(bytes, integer: integer, fraction: fraction)
        let tooMany = JSONReadError(
            "the number has more than \(Decimal.exactDigits) significant digits, more than can be kept exactly", offset: start)
        guard significant <= Decimal.exactDigits + 1 else { throw tooMany }
        guard let d = Decimal.assemble(bytes, negative: negative, integer: integer, fraction: fraction, exponent: exponent) else {
            throw JSONReadError("the number is too large or too small for an exact decimal", offset: start)
        }
        if significant > Decimal.exactDigits {
            let written = String(decoding: Array(bytes[integer]) + Array(bytes[fraction]), as: UTF8.self)
            guard Number.significantDigits(Value.numberText(d)) == Number.significantDigits(written) else { throw tooMany }
        }
        return d
    }

    private func endedEarly() -> JSONReadError {
        JSONReadError("the JSON text ends too early", offset: i)
    }

    private func tooDeep() -> JSONReadError {
        JSONReadError("the JSON text is nested deeper than \(JSONReader.maxDepth) levels", offset: i)
    }

    private func unexpected(_ expected: String) -> JSONReadError {
        let c = bytes[i]
        let shown = c >= 0x20 && c < 0x7F ? "'\(Character(Unicode.Scalar(c)))'" : "byte 0x\(String(c, radix: 16))"
        return JSONReadError("expected \(expected), found \(shown)", offset: i)
    }
}

// MARK: - Coercion

extension Value {
    /// This host-supplied value as a value of `type`, or nil when it cannot be one:
    /// - `text`, `secure`: text; a number becomes its exact spelling (`12.50` → `"12.5"`);
    /// - `number`, `currency`: a number, or a text that spells one (`"12.50"`, `"-3"`; blanks
    ///   around it are ignored; no `+`, exponent or separators);
    /// - `bool`: a bool, or the text `true` / `false` (any case);
    /// - `date`: a date, or a text, that is a real `yyyy-mm-dd` calendar date;
    /// - `list`, `object` (and records): a list / object, or a text holding one as JSON;
    /// - `null`: null only; `any`: the value itself.
    /// Null fits no type but `null` and `any`.
    public func coerced(to type: ValueType) -> Value? {
        switch (type, self) {
        case (.any, _): return self
        case (.null, .null): return self
        case (.text, .text), (.secure, .text): return self
        case (.text, .number(let d)), (.secure, .number(let d)): return .text(d.description)
        case (.number, .number), (.currency, .number): return self
        case (.number, .text(let s)), (.currency, .text(let s)):
            return Number(parsing: Value.trimmed(s)).map { .number($0) }
        case (.bool, .bool): return self
        case (.bool, .text(let s)):
            switch Value.trimmed(s).lowercased() {
            case "true": return .bool(true)
            case "false": return .bool(false)
            default: return nil
            }
        case (.date, .date(let s)), (.date, .text(let s)):
            let t = Value.trimmed(s)
            return CalendarDate(iso: t) != nil ? .date(t) : nil
        case (.list, .list): return self
        case (.object, .object), (.record, .object): return self
        case (.list, .text(let s)):
            guard case .list(let items)? = try? Value.fromJSON(s) else { return nil }
            return .list(items)
        case (.object, .text(let s)), (.record, .text(let s)):
            guard case .object(let fields)? = try? Value.fromJSON(s) else { return nil }
            return .object(fields)
        default: return nil
        }
    }

    private static func trimmed(_ s: String) -> String { s.trimmingBlanks() }
}

// MARK: - Calendar dates

/// A proleptic Gregorian calendar date, read from and written as `yyyy-mm-dd`.
struct CalendarDate: Sendable, Equatable, Comparable {
    var year: Int
    var month: Int
    var day: Int

    /// A real date, years 0001 to 9999; nil for `2023-02-29` or `2024-13-01`.
    init?(year: Int, month: Int, day: Int) {
        guard (1...9999).contains(year), (1...12).contains(month),
              day >= 1, day <= CalendarDate.days(inMonth: month, year: year) else { return nil }
        self.year = year
        self.month = month
        self.day = day
    }

    /// Exactly `yyyy-mm-dd` (ten characters, digits and two dashes), and a real date.
    init?(iso text: some StringProtocol) {
        let u = Array(text.utf8)
        guard u.count == 10, u[4] == UInt8(ascii: "-"), u[7] == UInt8(ascii: "-") else { return nil }
        func number(_ r: Range<Int>) -> Int? {
            var n = 0
            for k in r {
                guard u[k] &- 48 < 10 else { return nil }
                n = n * 10 + Int(u[k] - 48)
            }
            return n
        }
        guard let y = number(0..<4), let m = number(5..<7), let d = number(8..<10) else { return nil }
        self.init(year: y, month: m, day: d)
    }

    var iso: String {
        func pad(_ n: Int, _ width: Int) -> String {
            let s = String(n)
            return String(repeating: "0", count: max(0, width - s.count)) + s
        }
        return "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))"
    }

    static func isLeap(_ year: Int) -> Bool {
        year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
    }

    static func days(inMonth month: Int, year: Int) -> Int {
        switch month {
        case 2: return isLeap(year) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    static func < (a: CalendarDate, b: CalendarDate) -> Bool {
        (a.year, a.month, a.day) < (b.year, b.month, b.day)
    }

    /// The UTC calendar date of an instant, as `yyyy-mm-dd`.
    static func utcText(_ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let c = calendar.dateComponents([.year, .month, .day], from: date)
        return CalendarDate(year: c.year ?? 1970, month: c.month ?? 1, day: c.day ?? 1)?.iso ?? "1970-01-01"
    }
}

extension String {
    /// Without white space and line ends at either end; ASCII is checked byte by byte, anything
    /// else by its Unicode properties (Foundation's `trimmingCharacters` is far slower).
    func trimmingBlanks() -> String {
        // Most answers start and end with a printable ASCII character: nothing to trim, and no
        // scalar to decode. (A last byte below 0x80 is a whole scalar: UTF-8's other bytes are not.)
        if let a = utf8.first, let z = utf8.last, a > 0x20 && a < 0x7F, z > 0x20 && z < 0x7F { return self }
        let scalars = unicodeScalars
        func blank(_ c: Unicode.Scalar) -> Bool {
            c.value < 0x80 ? (c == " " || (c.value >= 0x09 && c.value <= 0x0D)) : c.properties.isWhitespace
        }
        guard let first = scalars.firstIndex(where: { !blank($0) }) else { return "" }
        let last = scalars.lastIndex(where: { !blank($0) })!
        if first == scalars.startIndex && last == scalars.index(before: scalars.endIndex) { return self }
        return String(scalars[first...last])
    }
}
