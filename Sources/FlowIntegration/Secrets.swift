import FlowKit
import Foundation

/// The values of a flow's secrets, from the environment or a secrets file, and the one place
/// that knows them well enough to hide them.
public struct Secrets: Sendable {
    /// By secret name.
    public private(set) var values: [String: String]

    public init(_ values: [String: String] = [:]) { self.values = values }

    /// A `KEY=VALUE` line each, ending in LF or CRLF; blank lines and lines starting with `#` are
    /// skipped; a value may be quoted with `"` or `'` (and is then what is between the quotes,
    /// taken as written); a UTF-8 byte order mark at the start is skipped. KEY is a name as a flow
    /// writes it (words of letters, digits and `_`, compared by their words; or a name in
    /// backquotes). A line that is not of that form is an error with its line number, never
    /// skipped: `export KEY=…`, no `=`, a bad name, an unclosed quote, a name given twice, text
    /// that is not UTF-8. The message never holds anything of the value.
    public static func parseFile(_ data: Data) -> Result<[String: String], SecretsFileError> {
        // A line at a time (a LF byte is never inside a UTF-8 sequence), to say which line is not
        // UTF-8: decoding it anyway would change the value, not read it.
        let bytes = Array(data)
        var line = 1
        var start = 0
        for i in 0...bytes.count where i == bytes.count || bytes[i] == 0x0A {
            if String(validating: bytes[start..<i], as: UTF8.self) == nil {
                return .failure(SecretsFileError(line: line, problem: .notUTF8))
            }
            line += 1
            start = i + 1
        }
        return parseFile(String(decoding: bytes, as: UTF8.self))
    }

    /// As `parseFile(_: Data)`, from text already decoded.
    public static func parseFile(_ text: String) -> Result<[String: String], SecretsFileError> {
        var values: [String: String] = [:]
        var firstLine: [String: Int] = [:]
        var body = Substring(text)
        if body.unicodeScalars.first == "\u{FEFF}" { body = Substring(body.unicodeScalars.dropFirst()) }
        // Split on the scalar LF: in a Swift string "\r\n" is one Character, not a "\n".
        // Scalars throughout: `=` followed by a combining mark is still the `=`.
        func string(_ scalars: some Sequence<Unicode.Scalar>) -> String {
            var view = String.UnicodeScalarView()
            view.append(contentsOf: scalars)
            return String(view)
        }
        func blank(_ c: Unicode.Scalar) -> Bool { c == " " || c == "\t" }
        for (i, raw) in body.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let number = i + 1
            var line = raw.drop(while: blank)
            if line.last == "\r" { line = line.dropLast() }
            if line.isEmpty || line.first == "#" { continue }
            guard let eq = line.firstIndex(of: "=") else { return .failure(SecretsFileError(line: number, problem: .noEquals)) }
            let written = string(line[..<eq].reversed().drop(while: blank).reversed())
            guard !written.isEmpty else { return .failure(SecretsFileError(line: number, problem: .noName)) }
            let words = written.split(whereSeparator: { $0 == " " || $0 == "\t" })
            if words.count > 1 && words[0] == "export" { return .failure(SecretsFileError(line: number, problem: .export)) }
            guard let key = Self.name(written) else { return .failure(SecretsFileError(line: number, problem: .badName)) }
            var value = line[line.index(after: eq)...]
            if let q = value.first, q == "\"" || q == "'" {
                // Blanks after the closing quote are not part of anything.
                while let last = value.last, blank(last) { value = value.dropLast() }
                guard value.count >= 2, value.last == q else {
                    return .failure(SecretsFileError(line: number, problem: .unclosedQuote(Character(q))))
                }
                value = value.dropFirst().dropLast()
            }
            if let first = firstLine[key] { return .failure(SecretsFileError(line: number, problem: .twice(key, first))) }
            firstLine[key] = number
            values[key] = string(value)
        }
        return .success(values)
    }

    /// `written` as a flow names it (its words joined with one space, or what is between
    /// backquotes), or nil when no flow can name a secret so.
    static func name(_ written: String) -> String? {
        let scalars = written.unicodeScalars
        if scalars.first == "`" {
            let inner = scalars.dropFirst()
            guard inner.count >= 2, inner.last == "`" else { return nil }
            let name = inner.dropLast()
            guard !name.contains(where: { $0 == "`" || $0.value < 0x20 || $0.value == 0x7F }) else { return nil }
            return String(String.UnicodeScalarView(name))
        }
        let words = written.split(whereSeparator: { $0 == " " || $0 == "\t" })
        for (k, word) in words.enumerated() {
            // As the lexer reads a word: ASCII letters, `_`, digits and anything beyond ASCII, not
            // starting with a digit; after the first word a whole number is a word too.
            let ok = word.unicodeScalars.allSatisfy { c in
                (c >= "a" && c <= "z") || (c >= "A" && c <= "Z") || c == "_" || (c >= "0" && c <= "9") || c.value >= 0x80
            }
            guard ok, !Self.reserved.contains(String(word)) else { return nil }
            if k == 0, let first = word.unicodeScalars.first, first >= "0" && first <= "9" { return nil }
        }
        return words.joined(separator: " ")
    }

    private static let reserved: Set<String> = ["and", "or", "not", "true", "false", "null", "on"]

    /// The secrets a program declares, from `file` (first) or else the environment. Secrets the
    /// program does not declare are not read.
    public static func load(for program: Program, file: [String: String], environment: [String: String]) -> Secrets {
        var values: [String: String] = [:]
        for s in program.secrets {
            if let v = file[s.name] ?? environment[s.name] { values[s.name] = v }
        }
        return Secrets(values)
    }

    /// Hides every secret value, and the forms a server might echo it in (percent-encoded, in a
    /// basic-auth header), behind `***`.
    public var redactor: Redactor { Redactor(secrets: Array(values.values)) }
}

/// A line of a secrets file that cannot be read. Its message names the line's problem and never
/// holds anything of a value.
public struct SecretsFileError: Error, Sendable, Equatable {
    public var line: Int
    public var problem: Problem

    public init(line: Int, problem: Problem) {
        self.line = line
        self.problem = problem
    }

    /// The messages, one voice with the run's others.
    public enum Problem: Sendable, Equatable {
        /// `STRIPE_SECRET_KEY`
        case noEquals
        /// `=sk_test_…`
        case noName
        /// `export STRIPE_SECRET_KEY=…`
        case export
        /// `stripe-key=…`, `1KEY=…`
        case badName
        /// `KEY="abc`
        case unclosedQuote(Character)
        /// `KEY=1` on line 1 and `KEY=2` on line 3
        case twice(String, Int)
        /// a byte that is not UTF-8
        case notUTF8
    }

    public var message: String {
        switch problem {
        case .noEquals: "expected KEY=VALUE"
        case .noName: "expected a name before '='"
        case .export: "expected KEY=VALUE without 'export'"
        case .badName: "expected a secret name before '=' (words of letters, digits and '_', or a name in backquotes)"
        case .unclosedQuote(let q): "expected a '\(q)' at the end of the quoted value"
        case .twice(let name, let first): "'\(name)' is given twice (first on line \(first))"
        case .notUTF8: "expected UTF-8 text"
        }
    }
}

/// Replaces secure values (secrets, password answers, `secure` arguments) with `***` in anything
/// about to be printed, traced or reported.
///
/// Design note: redaction goes by value, not by spelling. A value of four characters or more is
/// hidden wherever it appears, in every form a server might echo it in (`forms(of:)`). A shorter
/// one (a CVC, a three-digit PIN) hidden everywhere would blank out parts of unrelated words and
/// numbers (`123` in `91234`), so it and its forms are hidden where they stand as a whole token:
/// not preceded or followed by a letter, a digit or a combining mark; an escape just before it
/// (`\n`, `%20`, `\u0020`) ends the token before it. A value that reads as a number (`7604`,
/// `0918`) is also hidden as the number it is: in text as a token (`918`), and in a parsed body
/// (`Value`) every number equal to it becomes the text `***`, whatever its spelling (`7604.0`).
public struct Redactor: Sendable {
    /// Forms of values of `shortest` characters or more, longest first: hidden wherever they are.
    private let needles: [String]
    /// Forms of shorter values, and numbers as they read: hidden where they stand as a token.
    private let tokens: [String]
    /// The values that read as numbers.
    private let numbers: [Number]

    /// Values shorter than this are hidden only as whole tokens.
    static let shortest = 4

    public init(secrets: [String]) {
        var long = Set<String>()
        var short = Set<String>()
        var numbers: [Number] = []
        for s in secrets where !s.isEmpty {
            if s.count >= Self.shortest { long.formUnion(Self.forms(of: s)) } else { short.formUnion(Self.forms(of: s)) }
            if let n = Number(parsing: s) {
                if !numbers.contains(n) { numbers.append(n) }
                // `0918` read as a number and echoed: `918`.
                if n.description != s { short.insert(n.description) }
            }
        }
        // Longest first, so a secret that contains another is hidden whole.
        needles = long.sorted { $0.count > $1.count }
        tokens = short.subtracting(long).sorted { $0.count > $1.count }
        self.numbers = numbers
    }

    /// A secret as it is and as a server may echo it: percent-encoded (as a URL or a form encodes
    /// it, upper- or lowercase hex), in base64, escaped inside a JSON string (with and without
    /// `\/`, non-ASCII as is or as `\u` escapes) and escaped as XML text.
    static func forms(of s: String) -> Set<String> {
        var forms: Set<String> = [s, Data(s.utf8).base64EncodedString()]
        // Most keys are letters, digits and `-._~` alone: every encoding leaves them as they are
        // (this is on the path of every call).
        let plain = s.utf8.allSatisfy { b in
            (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || b == 0x2D || b == 0x2E || b == 0x5F
                || b == 0x7E
        }
        if plain { return forms }
        for allowed in [Self.lettersAndDigits, CharacterSet.alphanumerics] {
            if let e = s.addingPercentEncoding(withAllowedCharacters: allowed) { forms.insert(e) }
        }
        if let e = s.addingPercentEncoding(withAllowedCharacters: Self.unreserved) {
            forms.insert(e)
            forms.insert(Self.lowercasingHex(e))
            if let form = s.addingPercentEncoding(withAllowedCharacters: Self.unreservedAndSpace)?.replacingOccurrences(of: " ", with: "+") {
                forms.insert(form)
                forms.insert(Self.lowercasingHex(form))
            }
        }
        for asciiOnly in [false, true] {
            // Inside a JSON string; with `asciiOnly`, non-ASCII as `\u` escapes (as Python's json does).
            let json = JSONText.escaped(s, asciiOnly: asciiOnly, lineSeparators: false)
            forms.insert(json)
            forms.insert(json.replacingOccurrences(of: "/", with: "\\/"))
            // As Go's encoding/json writes it by default: `<`, `>`, `&` as `\u003c`, `\u003e`, `\u0026`.
            forms.insert(json.replacingOccurrences(of: "<", with: "\\u003c").replacingOccurrences(of: ">", with: "\\u003e")
                .replacingOccurrences(of: "&", with: "\\u0026"))
        }
        var xml = s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;")
        forms.insert(xml)
        xml = xml.replacingOccurrences(of: "\"", with: "&quot;")
        forms.insert(xml)
        forms.insert(xml.replacingOccurrences(of: "'", with: "&apos;"))
        forms.insert(xml.replacingOccurrences(of: "'", with: "&#39;"))
        forms.insert(xml.replacingOccurrences(of: "&quot;", with: "&#34;").replacingOccurrences(of: "'", with: "&#39;"))
        return forms
    }

    private static let lettersAndDigits = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
    private static let unreserved = lettersAndDigits.union(CharacterSet(charactersIn: "-._~"))
    private static let unreservedAndSpace = unreserved.union(CharacterSet(charactersIn: " "))

    private static func lowercasingHex(_ encoded: String) -> String {
        var out = ""
        var pending = 0
        for c in encoded {
            if c == "%" {
                pending = 2
                out.append(c)
            } else if pending > 0 {
                pending -= 1
                out += c.lowercased()
            } else {
                out.append(c)
            }
        }
        return out
    }

    public init(secrets: [String], basicAuth: [(user: String, password: String)]) {
        var all = secrets
        for (u, p) in basicAuth { all.append(Data("\(u):\(p)".utf8).base64EncodedString()) }
        self.init(secrets: all)
    }

    public var isEmpty: Bool { needles.isEmpty && tokens.isEmpty && numbers.isEmpty }

    /// About the first `maxBytes` bytes of `data` as text, redacted. Cutting first and redacting
    /// after would show the part of a secret that straddles the cut, so a little more is
    /// redacted, and what could hold the start of a cut-off secret is dropped.
    public func redactedPrefix(of data: Data, maxBytes: Int) -> String {
        guard data.count > maxBytes else { return redact(String(decoding: data, as: UTF8.self)) }
        let longest = (needles + tokens).map(\.utf8.count).max() ?? 0
        let window = Array(redact(String(decoding: data.prefix(maxBytes + longest), as: UTF8.self)).utf8)
        return String(decoding: window.prefix(min(maxBytes, max(0, window.count - longest))), as: UTF8.self)
    }

    public func redact(_ text: String) -> String {
        guard !isEmpty else { return text }
        var out = text
        for n in needles where out.contains(n) { out = out.replacingOccurrences(of: n, with: "***") }
        return tokens.isEmpty ? out : hidingTokens(out)
    }

    /// `text` with each of `tokens` that stands as a whole token replaced by `***`. Works on the
    /// UTF-8 bytes and looks at the scalars around a match only (bodies of megabytes pass here).
    private func hidingTokens(_ text: String) -> String {
        var bytes = Array(text.utf8)
        var changed = false
        for token in tokens {
            let t = Array(token.utf8)
            guard let first = token.unicodeScalars.first, let last = token.unicodeScalars.last, t.count <= bytes.count else { continue }
            let joinsBefore = Self.isWord(first)
            let joinsAfter = Self.isWord(last)
            var matches: [Int] = []
            bytes.withUnsafeBufferPointer { s in
                var i = 0
                while i + t.count <= s.count {
                    guard s[i] == t[0] else {
                        i += 1
                        continue
                    }
                    var k = 1
                    while k < t.count && s[i + k] == t[k] { k += 1 }
                    if k == t.count && (!joinsBefore || Self.startsToken(s, at: i)) && (!joinsAfter || Self.endsToken(s, at: i + t.count)) {
                        matches.append(i)
                        i += t.count
                    } else {
                        i += 1
                    }
                }
            }
            guard !matches.isEmpty else { continue }
            var out: [UInt8] = []
            out.reserveCapacity(bytes.count)
            var copied = 0
            for m in matches {
                out.append(contentsOf: bytes[copied..<m])
                out.append(contentsOf: "***".utf8)
                copied = m + t.count
            }
            out.append(contentsOf: bytes[copied...])
            bytes = out
            changed = true
        }
        return changed ? String(decoding: bytes, as: UTF8.self) : text
    }

    /// A letter, a digit or a combining mark: what continues a word or a number.
    static func isWord(_ c: Unicode.Scalar) -> Bool {
        if c.isASCII {
            return (c >= "a" && c <= "z") || (c >= "A" && c <= "Z") || (c >= "0" && c <= "9")
        }
        let p = c.properties
        if p.isAlphabetic || p.numericType != nil { return true }
        switch p.generalCategory {
        case .nonspacingMark, .spacingMark, .enclosingMark: return true
        default: return false
        }
    }

    static func isHex(_ b: UInt8) -> Bool {
        (b >= 0x30 && b <= 0x39) || (b >= 0x61 && b <= 0x66) || (b >= 0x41 && b <= 0x46)
    }

    /// The scalar whose UTF-8 ends just before byte `end` of `s`.
    static func scalar(endingAt end: Int, in s: UnsafeBufferPointer<UInt8>) -> Unicode.Scalar? {
        guard end > 0 else { return nil }
        var start = end - 1
        while start > 0 && end - start < 4 && s[start] & 0xC0 == 0x80 { start -= 1 }
        return String(decoding: UnsafeBufferPointer(rebasing: s[start..<end]), as: UTF8.self).unicodeScalars.last
    }

    /// The scalar whose UTF-8 starts at byte `start` of `s`.
    static func scalar(startingAt start: Int, in s: UnsafeBufferPointer<UInt8>) -> Unicode.Scalar? {
        guard start < s.count else { return nil }
        let end = min(s.count, start + 4)
        return String(decoding: UnsafeBufferPointer(rebasing: s[start..<end]), as: UTF8.self).unicodeScalars.first
    }

    /// Whether a token that starts with a letter or digit at byte `i` of `s` is not the end of a
    /// longer word.
    static func startsToken(_ s: UnsafeBufferPointer<UInt8>, at i: Int) -> Bool {
        guard let before = scalar(endingAt: i, in: s), isWord(before) else { return true }
        // An escape just before: `\n` (JSON), `%20` (percent-encoding), `\u0020` (JSON).
        let backslash = UInt8(ascii: "\\")
        if i >= 2 && s[i - 2] == backslash && "nrtbf".utf8.contains(s[i - 1]) { return true }
        if i >= 3 && s[i - 3] == UInt8(ascii: "%") && isHex(s[i - 2]) && isHex(s[i - 1]) { return true }
        if i >= 6 && s[i - 6] == backslash && s[i - 5] == UInt8(ascii: "u") && (i - 4..<i).allSatisfy({ isHex(s[$0]) }) { return true }
        return false
    }

    /// Whether a token that ends with a letter or digit just before byte `j` of `s` is not the
    /// start of a longer word.
    static func endsToken(_ s: UnsafeBufferPointer<UInt8>, at j: Int) -> Bool {
        guard let after = scalar(startingAt: j, in: s) else { return true }
        return !isWord(after)
    }

    /// Texts redacted, and every number equal to a secure value that reads as a number replaced by
    /// the text `***`, at any depth.
    public func redact(_ value: Value) -> Value {
        switch value {
        case .text(let t): return .text(redact(t))
        case .number(let n): return numbers.contains(n) ? .text("***") : value
        case .list(let items): return .list(items.map { redact($0) })
        case .object(let fields):
            var out: [String: Value] = [:]
            for (k, v) in fields { out[redact(k)] = redact(v) }
            return .object(out)
        default: return value
        }
    }

    /// An IP's output: as `redact(_:)`, except that a number output stays a number. It is what the
    /// flow asked for by name and type (declare it `secure` if it may hold a PIN); numbers
    /// inside a `list` or `object` output are hidden.
    public func redact(output value: Value) -> Value {
        if case .number = value { return value }
        return redact(value)
    }

    public func redact(_ failure: CallFailure) -> CallFailure {
        var f = failure
        f.message = redact(f.message)
        f.code = f.code.map { redact($0) }
        f.body = f.body.map { redact($0) }
        return f
    }
}
