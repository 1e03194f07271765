import Foundation

/// Reads what a caller typed for one question into the answer's value, or says what is wrong.
///
/// Design note: one pure function per question type; no state, no host. Every refusal is an
/// `AnswerProblem` from the catalogue at the end of this file: a short lowercase sentence with an
/// example of an answer that would be accepted. A password is never echoed back in a problem.
///
/// Accepted forms, after blanks around the answer are removed (passwords: see below):
/// - empty: the question's default if it has one, else null if it is optional, else refused;
/// - `text`: anything; `min`/`max` count characters; `pattern` must match the whole answer;
/// - `number`: `12`, `-3.5`, `+3.5`, `.5`, `1,234.50` (commas only as thousands separators in
///   groups of three); no exponent, no decimal comma, at most 38 digits;
/// - `currency`: a number as above, with at most 2 decimals (`12.500` is fine, `12.505` is not),
///   optionally with one currency sign before or after it (`$12.50`, `-$5`, `$ 5`, `12.50 €`);
///   not negative unless `min` is below zero;
/// - `yesno`: `yes`, `no`, `y`, `n`, `true`, `false`, in any case;
/// - `choice`: an option's text (any case; runs of blanks count as one, blanks around commas
///   as none) or its number counting from 1; the value is the option's text as declared;
/// - `choices`: options or numbers separated by commas (`1, 3` or `Router, Billing`; an option
///   whose text holds a comma is matched whole); each option once, in the order typed; `min`/`max`
///   count the picks;
/// - `date`: `yyyy-mm-dd` (month and day may have one digit: `2024-3-5`), a real calendar date
///   between years 1 and 9999; `dd/mm/yyyy` is refused, since `03/04/2024` reads two ways;
/// - `email`: one `@`, a non-empty local part, a domain with a dot (no empty labels, a last label
///   of 2 or more characters), no blanks, no `,;<>()[]\"`;
/// - `password`: any text that is not all blanks; it is kept as typed (surrounding blanks can
///   be part of a secret), without a final line end; lengths and `pattern` as for text.
public enum AnswerParser {
    public static func parse(_ raw: String, for q: QuestionRequest) -> Result<Value, AnswerProblem> {
        withUnsafePointer(to: q) { parse(raw, at: $0) }
    }

    /// `parse(_:for:)` of a question read in place: a question passed by value from where a
    /// session keeps it (`Session.resume`) is copied whole, and freed after, to read two fields.
    static func parse(_ raw: String, at q: UnsafePointer<QuestionRequest>) -> Result<Value, AnswerProblem> {
        let answer = raw.trimmingBlanks()
        if answer.isEmpty {
            if let d = q.pointee.defaultValue { return .success(d) }
            if q.pointee.optional { return .success(.null) }
            return .failure(.required)
        }
        switch q.pointee.type {
        case .text: return text(answer, q)
        case .number: return number(answer, q)
        case .currency: return currency(answer, q)
        case .yesno: return yesno(answer)
        case .choice: return choice(answer, q)
        case .choices: return choices(answer, q)
        case .date: return date(answer, q)
        case .email: return email(answer, q)
        case .password: return password(raw, q)
        }
    }

    // MARK: - Per type

    private static func text(_ answer: String, _ q: UnsafePointer<QuestionRequest>) -> Result<Value, AnswerProblem> {
        if let problem = checkLength(answer, q) ?? checkPattern(answer, q) { return .failure(problem) }
        return .success(.text(answer))
    }

    private static func password(_ raw: String, _ q: UnsafePointer<QuestionRequest>) -> Result<Value, AnswerProblem> {
        var secret = Substring(raw)
        while let last = secret.last, last == "\n" || last == "\r" || last == "\r\n" { secret.removeLast() }
        let value = String(secret)
        if let problem = checkLength(value, q) ?? checkPattern(value, q) { return .failure(problem) }
        return .success(.text(value))
    }

    private static func email(_ answer: String, _ q: UnsafePointer<QuestionRequest>) -> Result<Value, AnswerProblem> {
        guard isPlausibleEmail(answer) else { return .failure(.email) }
        if let problem = checkLength(answer, q) ?? checkPattern(answer, q) { return .failure(problem) }
        return .success(.text(answer))
    }

    private static func number(_ answer: String, _ q: UnsafePointer<QuestionRequest>) -> Result<Value, AnswerProblem> {
        let n: Number
        switch readNumber(Substring(answer)) {
        case .value(let d): n = d
        case .tooLong: return .failure(.tooManyDigits)
        case .notANumber: return .failure(.number)
        }
        if let min = bound(q.pointee.min), n < min { return .failure(.atLeast(min.description)) }
        if let max = bound(q.pointee.max), n > max { return .failure(.atMost(max.description)) }
        return .success(.number(n))
    }

    private static func currency(_ answer: String, _ q: UnsafePointer<QuestionRequest>) -> Result<Value, AnswerProblem> {
        let n: Number
        var text = answer
        if let plain = text.withUTF8({ plainNumber($0, negative: false) }) {
            // Most amounts are plain digits with at most one point (`4.00`): no sign or symbol to
            // look for (the scans below find none in such a text), read where they are.
            n = plain
        } else {
            // Peel off at most one sign and one currency sign, in either order, before the
            // digits, or a currency sign after them.
            var rest = Substring(answer)
            var sign = ""
            var symbol = false
            while let c = rest.unicodeScalars.first, !(c.value >= 0x30 && c.value <= 0x39) {
                if sign.isEmpty && (c == "-" || c == "+" || c == "\u{2212}") {
                    sign = c == "+" ? "+" : "-"
                } else if !symbol && c.properties.generalCategory == .currencySymbol {
                    symbol = true
                } else if symbol && (c == " " || c == "\u{A0}") {
                    // `$ 5`
                } else {
                    break
                }
                rest.unicodeScalars.removeFirst()
            }
            if !symbol, let c = rest.unicodeScalars.last, !(c.value >= 0x30 && c.value <= 0x39), c.properties.generalCategory == .currencySymbol {
                rest.unicodeScalars.removeLast()
                while let b = rest.unicodeScalars.last, b == " " || b == "\u{A0}" { rest.unicodeScalars.removeLast() }
            }
            // Without a sign the digits are read where they are: no new string.
            switch readNumber(sign.isEmpty ? rest : Substring(sign + rest)) {
            case .value(let d): n = d
            case .tooLong: return .failure(.tooManyDigits)
            case .notANumber: return .failure(.amount)
            }
        }
        if n.rounded(places: 2) != n { return .failure(.amountDecimals) }
        let min = bound(q.pointee.min)
        if n < 0 && (min == nil || !(min! < 0)) {
            return .failure(min.map { .atLeast($0.formatted(places: 2)) } ?? .amountNegative)
        }
        if let min, n < min { return .failure(.atLeast(min.formatted(places: 2))) }
        if let max = bound(q.pointee.max), n > max { return .failure(.atMost(max.formatted(places: 2))) }
        return .success(.number(n))
    }

    private static func yesno(_ answer: String) -> Result<Value, AnswerProblem> {
        switch answer.lowercased() {
        case "yes", "y", "true": return .success(.bool(true))
        case "no", "n", "false": return .success(.bool(false))
        default: return .failure(.yesno)
        }
    }

    private static func choice(_ answer: String, _ q: UnsafePointer<QuestionRequest>) -> Result<Value, AnswerProblem> {
        guard let k = optionIndex(Substring(answer), in: optionKeys(q.pointee.options)) else {
            return .failure(.choice(count: q.pointee.options.count))
        }
        return .success(.text(q.pointee.options[k]))
    }

    private static func choices(_ answer: String, _ q: UnsafePointer<QuestionRequest>) -> Result<Value, AnswerProblem> {
        // Split and tested by Unicode scalars, not characters: a comma or blank followed by a
        // combining mark is one character with it (found by fuzzing: `a, \u{304}` lost its
        // second option, whose blank-and-mark "character" counted as blank).
        let pieces = answer.unicodeScalars.split(separator: ",", omittingEmptySubsequences: false)
            .map { Substring(String(String.UnicodeScalarView($0))) }
        let keys = optionKeys(q.pointee.options)
        // An option may hold commas itself: try joining up to that many pieces, longest first.
        let widest = q.pointee.options.map { $0.utf8.count(where: { $0 == UInt8(ascii: ",") }) }.max() ?? 0
        var picked: [Int] = []
        var i = 0
        while i < pieces.count {
            var found: (option: Int, next: Int)?
            var j = Swift.min(pieces.count - 1, i + widest)
            while j > i {
                if let k = optionText(pieces[i...j].joined(separator: ","), in: keys) {
                    found = (k, j + 1)
                    break
                }
                j -= 1
            }
            // A blank piece is skipped, unless it begins an option that holds a comma (`a, ,b`
            // with the option `,b`; found by fuzzing).
            if found == nil && pieces[i].unicodeScalars.allSatisfy({ $0.properties.isWhitespace }) {
                i += 1
                continue
            }
            if found == nil, let k = optionIndex(pieces[i], in: keys) { found = (k, i + 1) }
            guard let found else {
                return .failure(.notAnOption(shown(pieces[i]), count: q.pointee.options.count))
            }
            if !picked.contains(found.option) { picked.append(found.option) }
            i = found.next
        }
        if picked.isEmpty {
            if let d = q.pointee.defaultValue { return .success(d) }
            if q.pointee.optional { return .success(.null) }
            return .failure(.required)
        }
        let count = Number(picked.count)
        let min = bound(q.pointee.min)
        let max = bound(q.pointee.max)
        if let min, count < min {
            return .failure(min == max ? .pickExactly(min.description) : .pickAtLeast(min.description))
        }
        if let max, count > max {
            return .failure(min == max ? .pickExactly(max.description) : .pickAtMost(max.description))
        }
        return .success(.list(picked.map { .text(q.pointee.options[$0]) }))
    }

    private static func date(_ answer: String, _ q: UnsafePointer<QuestionRequest>) -> Result<Value, AnswerProblem> {
        let parts = answer.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].utf8.count == 4, (1...2).contains(parts[1].utf8.count),
              (1...2).contains(parts[2].utf8.count),
              parts.allSatisfy({ $0.utf8.allSatisfy { $0 &- 48 < 10 } }),
              let y = Int(parts[0]), let m = Int(parts[1]), let d = Int(parts[2]) else {
            return .failure(.date)
        }
        guard let day = CalendarDate(year: y, month: m, day: d) else {
            return .failure(.notADate(shown(Substring(answer))))
        }
        if let min = dateBound(q.pointee.min), day < min { return .failure(.dateOnOrAfter(min.iso)) }
        if let max = dateBound(q.pointee.max), max < day { return .failure(.dateOnOrBefore(max.iso)) }
        return .success(.date(day.iso))
    }

    // MARK: - Shared checks

    /// `min`/`max` as a number of characters.
    private static func checkLength(_ s: String, _ q: UnsafePointer<QuestionRequest>) -> AnswerProblem? {
        let min = bound(q.pointee.min)
        let max = bound(q.pointee.max)
        guard min != nil || max != nil else { return nil }
        let length = Number(s.count)
        if let min, length < min {
            return min == max ? .lengthExactly(min.description) : .lengthAtLeast(min.description)
        }
        if let max, length > max {
            return min == max ? .lengthExactly(max.description) : .lengthAtMost(max.description)
        }
        return nil
    }

    /// `pattern` must match the whole answer (as if written `^(?:pattern)$`). The checker has
    /// already refused patterns that do not compile, so one that does not is skipped here
    /// rather than refusing every answer.
    private static func checkPattern(_ s: String, _ q: UnsafePointer<QuestionRequest>) -> AnswerProblem? {
        guard let pattern = q.pointee.pattern,
              let regex = try? NSRegularExpression(pattern: "\\A(?:" + pattern + ")\\z") else { return nil }
        let whole = NSRange(s.startIndex..<s.endIndex, in: s)
        return regex.firstMatch(in: s, options: [], range: whole) == nil ? .pattern(pattern) : nil
    }

    /// A number or a length bound; other kinds of value are no bound. (The explorer reads the
    /// rules with it too, so it tries answers against the bounds the parser applies.)
    static func bound(_ v: Value?) -> Number? {
        switch v {
        case .number(let d)?: return d
        case .text(let t)?: return Number(parsing: t)
        default: return nil
        }
    }

    /// A date bound (`min 2024-01-01`, or as text); other kinds of value are no bound.
    static func dateBound(_ v: Value?) -> CalendarDate? {
        switch v {
        case .date(let s)?, .text(let s)?: return CalendarDate(iso: s)
        default: return nil
        }
    }

    private enum NumberRead {
        case value(Number)
        case notANumber
        case tooLong
    }

    /// `[+-]digits[.digits]`, `.digits`, with optional thousands separators: `1,234,567.5`.
    private static func readNumber(_ s: Substring) -> NumberRead {
        var rest = s
        var negative = false
        if let c = rest.unicodeScalars.first, c == "-" || c == "+" || c == "\u{2212}" {
            negative = c != "+"
            rest.unicodeScalars.removeFirst()
        }
        if let n = plainNumber(rest, negative: negative) { return .value(n) }
        let halves = rest.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        let whole = halves[0]
        let fraction = halves.count == 2 ? halves[1] : nil
        func isDigits(_ t: Substring) -> Bool { t.utf8.allSatisfy { $0 &- 48 < 10 } }
        guard isDigits(fraction ?? "") else { return .notANumber }
        if let fraction {
            guard !fraction.isEmpty else { return .notANumber }  // `5.`
        } else {
            guard !whole.isEmpty else { return .notANumber }
        }
        var digits = ""
        if whole.contains(",") {
            let groups = whole.split(separator: ",", omittingEmptySubsequences: false)
            guard (1...3).contains(groups[0].utf8.count),
                  groups.dropFirst().allSatisfy({ $0.utf8.count == 3 }),
                  groups.allSatisfy(isDigits) else { return .notANumber }
            digits = groups.joined()
        } else {
            guard isDigits(whole) else { return .notANumber }
            digits = String(whole)
        }
        if digits.isEmpty { digits = "0" }
        // Zeros after the last non-zero decimal are not significant: `12.500` has 3 digits.
        let decimals = (fraction ?? "").reversed().drop { $0 == "0" }
        let significant = (digits + String(decimals.reversed())).drop { $0 == "0" }.count
        if significant > 38 { return .tooLong }
        var literal = negative ? "-" + digits : digits
        if let fraction { literal += "." + fraction }
        guard let d = Number(parsing: literal) else { return .notANumber }
        return .value(d)
    }

    /// Most answers are plain digits with at most one point and few digits (`4.00`, `12`):
    /// read in one pass, as the general reading below would read them. Nil for anything else
    /// (commas, no digits before or after the point, more than 18 digits), which that reads.
    private static func plainNumber(_ s: Substring, negative: Bool) -> Number? {
        var s = s
        // Through the bytes themselves: walking `Substring.UTF8View` costs more than the digits.
        return s.withUTF8 { plainNumber($0, negative: negative) }
    }

    private static func plainNumber(_ s: UnsafeBufferPointer<UInt8>, negative: Bool) -> Number? {
        var mantissa: Int64 = 0
        var digits = 0
        var scale = 0
        var seenDot = false
        var wholeDigits = 0
        for b in s {
            if b == 0x2E {
                if seenDot { return nil }
                seenDot = true
                continue
            }
            guard b &- 0x30 < 10 else { return nil }
            digits += 1
            if digits > 18 { return nil }
            if seenDot { scale += 1 } else { wholeDigits += 1 }
            mantissa = mantissa &* 10 &+ Int64(b &- 0x30)
        }
        // `5.` is refused and `.5` is read by the general path; so is an empty text.
        guard wholeDigits > 0, !seenDot || scale > 0 else { return nil }
        return Number(small: negative ? -mantissa : mantissa, scale: UInt8(scale))
    }

    /// How options and typed text are compared: in lower case, blanks around commas dropped and
    /// other runs of blanks made one space, so `mobile  APP` is `Mobile app` and `no,thanks` is
    /// `No, thanks`. By Unicode scalars, not characters: a blank followed by a combining mark
    /// is one character, which would keep the blank from being seen (found by fuzzing: an
    /// option starting with a mark, picked after `, `, was not found).
    static func key(_ text: some StringProtocol) -> String {
        asciiKey(text) ?? unicodeKey(text)
    }

    /// `key` of a text that is all ASCII, byte by byte: the same result without a lowercased
    /// copy and a Unicode property lookup for every scalar (most options are ASCII, and the
    /// checker keys every option of every question). Nil when there is a byte above 127.
    static func asciiKey(_ text: some StringProtocol) -> String? {
        // Written into a buffer on the stack (the runtime puts a large one on the heap), not an
        // array: a key is made for every option of every question the checker reads, and most
        // are short enough to be a string without a heap block too.
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: text.utf8.count) { out -> String? in
            var count = 0
            var pendingBlank = false
            for b in text.utf8 {
                guard b < 0x80 else { return nil }
                if b == 0x20 || (b >= 0x09 && b <= 0x0D) {  // the ASCII scalars that are whitespace
                    pendingBlank = true
                } else if b == UInt8(ascii: ",") {
                    out[count] = b
                    count += 1
                    pendingBlank = false
                } else {
                    if pendingBlank && count > 0 && out[count - 1] != UInt8(ascii: ",") {
                        out[count] = 0x20
                        count += 1
                    }
                    out[count] = b >= UInt8(ascii: "A") && b <= UInt8(ascii: "Z") ? b | 0x20 : b
                    count += 1
                    pendingBlank = false
                }
            }
            return String(decoding: UnsafeBufferPointer(rebasing: out[..<count]), as: UTF8.self)
        }
    }

    /// `key` by Unicode scalars, for any text.
    static func unicodeKey(_ text: some StringProtocol) -> String {
        var out = String.UnicodeScalarView()
        var pendingBlank = false
        for c in text.lowercased().unicodeScalars {
            if c.properties.isWhitespace {
                pendingBlank = true
            } else if c == "," {
                out.append(c)
                pendingBlank = false
            } else {
                if pendingBlank && !out.isEmpty && out.last != "," { out.append(" ") }
                out.append(c)
                pendingBlank = false
            }
        }
        return String(out)
    }

    private static func optionKeys(_ options: [String]) -> [String] { options.map { key($0) } }

    /// The option whose text is `typed`, compared by `key`.
    private static func optionText(_ typed: some StringProtocol, in keys: [String]) -> Int? {
        let t = key(typed)
        guard !t.isEmpty else { return nil }
        return keys.firstIndex(of: t)
    }

    /// An option by its text, else by its number counting from 1.
    private static func optionIndex(_ typed: Substring, in keys: [String]) -> Int? {
        if let k = optionText(typed, in: keys) { return k }
        let t = typed.trimmingCharacters(in: .whitespaces)
        guard t.utf8.count <= 9, !t.isEmpty, t.utf8.allSatisfy({ $0 &- 48 < 10 }), let n = Int(t),
              n >= 1, n <= keys.count else { return nil }
        return n - 1
    }

    private static func isPlausibleEmail(_ s: String) -> Bool {
        let forbidden: Set<Character> = [",", ";", "<", ">", "(", ")", "[", "]", "\\", "\""]
        guard !s.contains(where: { $0.isWhitespace || forbidden.contains($0) || $0.unicodeScalars.contains { $0.properties.generalCategory == .control } })
        else { return false }
        let parts = s.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty else { return false }
        let labels = parts[1].split(separator: ".", omittingEmptySubsequences: false)
        guard labels.count >= 2, labels.allSatisfy({ !$0.isEmpty }), labels.last!.count >= 2 else { return false }
        return true
    }

    /// Typed text shown back in a problem, cut short when long.
    private static func shown(_ typed: Substring) -> String {
        let t = typed.trimmingCharacters(in: .whitespaces)
        return t.count > 40 ? String(t.prefix(40)) + "…" : t
    }
}

// MARK: - Catalogue

/// Every problem an answer can have, sorted by name; each with an answer that causes it.
extension AnswerProblem {
    /// currency: `12,50`
    static let amount = AnswerProblem("enter an amount like 12.50")
    /// currency: `12.505`
    static let amountDecimals = AnswerProblem("enter an amount with at most 2 decimals, like 12.50")
    /// currency without a negative `min`: `-5`
    static let amountNegative = AnswerProblem("enter an amount that is not negative, like 12.50")
    /// number or currency below `min 0.50`: `0.10`
    static func atLeast(_ min: String) -> AnswerProblem { AnswerProblem("enter at least \(min)") }
    /// number or currency above `max 10000`: `20000`
    static func atMost(_ max: String) -> AnswerProblem { AnswerProblem("enter at most \(max)") }
    /// choice with options `"Router", "Mobile app", "Billing"`: `Fax`, `4`
    static func choice(count: Int) -> AnswerProblem {
        AnswerProblem(count == 1 ? "choose 1, or type the option" : "choose 1 to \(count), or type an option")
    }
    /// date: `31/03/2024`
    static let date = AnswerProblem("enter a date as year-month-day, like 2024-03-31")
    /// date before `min`: `2023-12-31` for `min 2024-01-01`
    static func dateOnOrAfter(_ min: String) -> AnswerProblem { AnswerProblem("enter a date on or after \(min)") }
    /// date after `max`
    static func dateOnOrBefore(_ max: String) -> AnswerProblem { AnswerProblem("enter a date on or before \(max)") }
    /// email: `name@example`
    static let email = AnswerProblem("enter an e-mail address like name@example.com")
    /// text shorter than `min 3`: `ab`
    static func lengthAtLeast(_ min: String) -> AnswerProblem {
        AnswerProblem("enter at least \(counted(min, "character"))")
    }
    /// text longer than `max 10`
    static func lengthAtMost(_ max: String) -> AnswerProblem {
        AnswerProblem("enter at most \(counted(max, "character"))")
    }
    /// text with `min 4` and `max 4`: `123`
    static func lengthExactly(_ n: String) -> AnswerProblem {
        AnswerProblem("enter exactly \(counted(n, "character"))")
    }
    /// date: `2023-02-29`
    static func notADate(_ typed: String) -> AnswerProblem {
        AnswerProblem("\(typed) is not a real date; enter a date like 2024-03-31")
    }
    /// choices with options `"Router", "Mobile app", "Billing"`: `Router, Fax`
    static func notAnOption(_ typed: String, count: Int) -> AnswerProblem {
        AnswerProblem(count == 1
            ? "'\(typed)' is not an option; choose 1, or type the option"
            : "'\(typed)' is not an option; choose any of 1 to \(count) separated by commas, like 1, \(count)")
    }
    /// number: `twelve`, `1e5`
    static let number = AnswerProblem("enter a number like 12 or -3.5")
    /// text with `pattern "[0-9]\{4\}"`: `12a4`
    static func pattern(_ pattern: String) -> AnswerProblem {
        AnswerProblem("enter an answer that matches the pattern '\(pattern)'")
    }
    /// choices with `min 2`: `1`
    static func pickAtLeast(_ min: String) -> AnswerProblem {
        AnswerProblem("choose at least \(counted(min, "option"))")
    }
    /// choices with `max 2`: `1, 2, 3`
    static func pickAtMost(_ max: String) -> AnswerProblem {
        AnswerProblem("choose at most \(counted(max, "option"))")
    }
    /// choices with `min 2` and `max 2`: `1`
    static func pickExactly(_ n: String) -> AnswerProblem {
        AnswerProblem("choose exactly \(counted(n, "option"))")
    }
    /// any question without `optional` or `default`: an empty answer
    static let required = AnswerProblem("an answer is required")
    /// number: 39 or more significant digits
    static let tooManyDigits = AnswerProblem("enter a number with at most 38 digits")
    /// yesno: `maybe`
    static let yesno = AnswerProblem("answer yes or no")

    /// A bound as written in the rules (`min 3`) with its noun: `1 character`, `3 characters`.
    private static func counted(_ n: String, _ noun: String) -> String {
        "\(n) \(noun)\(n == "1" ? "" : "s")"
    }
}
