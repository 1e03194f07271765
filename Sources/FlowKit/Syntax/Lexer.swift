#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Turns the bytes of a flow file into tokens, one at a time, on demand.
///
/// Design note: the lexer works on UTF-8 bytes and never builds strings. It is pulled by the
/// parser (`next()`), so no token array is ever held. Newlines are tokens because elements end
/// at the end of a line; comments and blank lines fold into the newline before them. A string
/// literal is one token, interpolations included: the lexer only finds where it ends (tracking
/// nested `{…}` and nested strings with an explicit stack, so no input can overflow the call
/// stack); the parser decodes its parts. Every problem becomes a diagnostic and the lexer moves on:
/// it never stops early and never loops without consuming a byte.
public struct Lexer {
    public let file: SourceFile
    public private(set) var position: Int
    public let limit: Int
    public private(set) var diagnostics: [Diagnostic] = []

    /// The file's bytes; `file` keeps them alive.
    private let buffer: UnsafeBufferPointer<UInt8>

    public init(file: SourceFile, start: Int = 0, end: Int? = nil) {
        self.file = file
        self.buffer = file.buffer
        self.position = start
        self.limit = end ?? file.bytes.count
    }

    private func range(_ s: Int, _ e: Int) -> SourceRange { file.range(s, e) }

    private mutating func report(_ message: Message, _ s: Int, _ e: Int, hint: String? = nil) {
        diagnostics.append(Diagnostic(message, at: range(s, e), hint: hint))
    }

    public mutating func next() -> Token {
        scan(buffer)
    }

    /// A letter (either case, folded by setting bit 0x20), '_' or any non-ASCII byte.
    @inline(__always)
    private static func isWordStart(_ b: UInt8) -> Bool {
        (b | 0x20) &- 0x61 < 26 || b == 0x5F || b >= 0x80
    }

    @inline(__always)
    static func isWordByte(_ b: UInt8) -> Bool {
        isWordStart(b) || b &- 0x30 < 10
    }

    /// `isWordByte` as a table, '1' at the index of each word byte: a string literal's bytes are
    /// constant data, read with no `swift_once` (which every access to a static array costs).
    static var wordBytes: StaticString {
        "0000000000000000000000000000000000000000000000001111111111000000011111111111111111111111111000010111111111111111111111111110000011111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111"
    }

    @inline(__always)
    private static func isDigit(_ b: UInt8) -> Bool { b >= 0x30 && b <= 0x39 }

    private mutating func scan(_ buf: UnsafeBufferPointer<UInt8>) -> Token {
        let end = limit
        var i = position
        var sawNewline = false
        var newlineStart = 0
        // Skip blanks, comments and line ends; a run of line ends becomes one newline token.
        while i < end {
            let b = buf[i]
            if b == 0x20 || b == 0x09 {
                i += 1
            } else if b == 0x0A || b == 0x0D {
                if !sawNewline { sawNewline = true; newlineStart = i }
                i += 1
            } else if b == 0x2F && i + 1 < end && buf[i + 1] == 0x2F {
                let commentStart = i
                i += 2
                while i < end && buf[i] != 0x0A && buf[i] != 0x0D {
                    if buf[i] >= 0x80 {
                        i = checkUTF8(buf, i)
                    } else {
                        if buf[i] == 0 { report(.nulByte, i, i + 1) }
                        i += 1
                    }
                }
                scanForSecretKeys(buf, commentStart, i)
            } else {
                break
            }
        }
        if sawNewline {
            position = i
            return Token(.newline, start: newlineStart, end: newlineStart + 1)
        }
        guard i < end else {
            position = end
            return Token(.eof, start: end, end: end)
        }
        let start = i
        let b = buf[i]
        if Lexer.isWordStart(b) {
            i += 1
            // Any non-ASCII byte sets the high bit of `high`: most words are ASCII and skip the check.
            var high = b
            let wordBytes = Lexer.wordBytes.utf8Start
            while i < end {
                let c = buf[i]
                guard wordBytes[Int(c)] == 0x31 else { break }
                high |= c
                i += 1
            }
            // Validate any non-ASCII bytes in the word.
            var j = start
            while high >= 0x80 && j < i {
                if buf[j] >= 0x80 {
                    let k = checkUTF8(buf, j)
                    if k > i { i = k }
                    j = k
                } else {
                    j += 1
                }
            }
            position = i
            if i - start > 8 && buf[start + 1] == 0x6B && buf[start + 2] == 0x5F { scanForSecretKeys(buf, start, i) }
            return Token(.word, keyword: Keyword.lookup(buf, start, i), start: start, end: i)
        }
        if Lexer.isDigit(b) {
            i += 1
            while i < end && Lexer.isDigit(buf[i]) { i += 1 }
            if i + 1 < end && buf[i] == 0x2E && Lexer.isDigit(buf[i + 1]) {
                i += 2
                while i < end && Lexer.isDigit(buf[i]) { i += 1 }
            }
            position = i
            return Token(.number, start: start, end: i)
        }
        i += 1
        var kind: TokenKind
        switch b {
        case 0x22: // "
            position = scanString(buf, from: start)
            return Token(.string, start: start, end: position)
        case 0x60: // `
            while i < end && buf[i] != 0x60 && buf[i] != 0x0A && buf[i] != 0x0D {
                if buf[i] >= 0x80 { i = checkUTF8(buf, i) } else { i += 1 }
            }
            if i < end && buf[i] == 0x60 {
                i += 1
                if i - start == 2 { report(.emptyQuotedName, start, i) }
            } else {
                report(.unterminatedQuotedName, start, i, hint: "close the name with a backtick: `Order #`")
            }
            scanForSecretKeys(buf, start + 1, i)
            position = i
            return Token(.quotedName, start: start, end: i)
        case 0x28: kind = .leftParen
        case 0x29: kind = .rightParen
        case 0x7B: kind = .leftBrace
        case 0x7D: kind = .rightBrace
        case 0x5B: kind = .leftBracket
        case 0x5D: kind = .rightBracket
        case 0x2C: kind = .comma
        case 0x3A: kind = .colon
        case 0x2E: kind = .dot
        case 0x2B: // +
            if i < end && buf[i] == 0x3D { i += 1; kind = .plusEqual } else { kind = .plus }
        case 0x2D: // -
            if i < end && buf[i] == 0x3E { i += 1; kind = .arrow }
            else if i < end && buf[i] == 0x3D { i += 1; kind = .minusEqual }
            else { kind = .minus }
        case 0x3D: // =
            if i < end && buf[i] == 0x3D { i += 1; kind = .equalEqual } else { kind = .equal }
        case 0x21: // !
            if i < end && buf[i] == 0x3D {
                i += 1; kind = .bangEqual
            } else {
                report(.unexpectedCharacter("!"), start, i, hint: "write 'not' for negation: if not paid { … }")
                kind = .unknown
            }
        case 0x3C: // <
            if i < end && buf[i] == 0x3D { i += 1; kind = .lessEqual } else { kind = .less }
        case 0x3E: // >
            if i < end && buf[i] == 0x3D { i += 1; kind = .greaterEqual } else { kind = .greater }
        case 0x2A: kind = .star
        case 0x2F: kind = .slash
        case 0x25: kind = .percent
        case 0x00:
            report(.nulByte, start, i)
            kind = .unknown
        default:
            // Swallow a run of unknown bytes as one token, so garbage gives one diagnostic.
            while i < end && !Lexer.startsToken(buf[i]) { i += 1 }
            let shown = b >= 0x20 && b < 0x7F ? String(UnicodeScalar(b)) : "\\u{\(String(b, radix: 16))}"
            report(.unexpectedCharacter(shown), start, i)
            kind = .unknown
        }
        position = i
        return Token(kind, start: start, end: i)
    }

    private static func startsToken(_ b: UInt8) -> Bool {
        isWordByte(b) || b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D || b == 0x22 || b == 0x60
            || (b >= 0x28 && b <= 0x2F) || b == 0x3A || (b >= 0x3C && b <= 0x3E) || b == 0x5B || b == 0x5D
            || b == 0x7B || b == 0x7D || b == 0x25 || b == 0x21 || b == 0
    }

    /// Checks one UTF-8 sequence at `i` and returns the index after it. Reports invalid bytes.
    private mutating func checkUTF8(_ buf: UnsafeBufferPointer<UInt8>, _ i: Int) -> Int {
        let n = UTF8Check.sequenceLength(buf, i, limit)
        if n == 3 && buf[i] == 0xE2 {
            // The direction controls are all E2 8x xx: they reorder how the rest of the line is
            // shown, so a reviewer would read something else than runs.
            let scalar = 0x2000 + (UInt32(buf[i + 1] & 0x3F) << 6) + UInt32(buf[i + 2] & 0x3F)
            if VisibleText.isDirectionControl(scalar) {
                report(.bidiControl(String(scalar, radix: 16, uppercase: true)), i, i + 3,
                       hint: "in a text that needs it, write it as an escape: \(VisibleText.escape(scalar))")
            }
        }
        if n > 0 { return i + n }
        // Report a run of invalid bytes once.
        var j = i + 1
        while j < limit && buf[j] >= 0x80 && UTF8Check.sequenceLength(buf, j, limit) == 0 { j += 1 }
        report(.invalidUTF8, i, j, hint: "save the file as UTF-8")
        return j
    }

    /// Finds the end of a string literal starting at `start` (the opening quote). Interpolations
    /// may hold strings that hold interpolations; an explicit stack tracks them. A string ends at
    /// its closing quote; a line end or the end of input first is an unterminated string.
    private mutating func scanString(_ buf: UnsafeBufferPointer<UInt8>, from start: Int) -> Int {
        // Fast path: most strings are plain ASCII text with no escape or NUL, and any template in
        // them is `{…}` holding no brace, string or non-ASCII byte. Anything else is scanned by the
        // general loop below, again from the first '{' if there was one.
        var i = start + 1
        let end = limit
        var firstBrace = -1
        fast: while i < end {
            let b = buf[i]
            if b == 0x22 {
                scanForSecretKeys(buf, start, i + 1)
                return i + 1
            }
            if b == 0x7B {
                if firstBrace < 0 { firstBrace = i }
                var k = i + 1
                while k < end {
                    let c = buf[k]
                    if c == 0x7D { break }
                    if c == 0x22 || c == 0x7B || c == 0x0A || c == 0x0D || c == 0 || c >= 0x80 { break fast }
                    k += 1
                }
                if k >= end { break }
                i = k + 1
                continue
            }
            if b == 0x5C || b == 0x0A || b == 0x0D || b == 0 || b >= 0x80 { break }
            i += 1
        }
        // Up to the first '{' the text was plain: the general loop starts there, or where the fast
        // path stopped.
        if firstBrace >= 0 { i = firstBrace }
        // Each entry is the byte offset of an open '{' (interpolation) or '"' (string).
        var stack: [(offset: Int, isString: Bool, depth: Int)] = [(start, true, 0)]
        while i < end {
            let b = buf[i]
            if b == 0x0A || b == 0x0D { break }
            let top = stack[stack.count - 1]
            if top.isString {
                switch b {
                case 0x5C: // backslash escape
                    i += 2
                    continue
                case 0x22:
                    stack.removeLast()
                    i += 1
                    if stack.isEmpty {
                        scanForSecretKeys(buf, start, i)
                        return i
                    }
                    continue
                case 0x7B:
                    stack.append((i, false, 0))
                case 0x00:
                    report(.nulByte, i, i + 1)
                default:
                    if b >= 0x80 { i = checkUTF8(buf, i); continue }
                }
            } else {
                switch b {
                case 0x22: stack.append((i, true, 0))
                case 0x7B: stack[stack.count - 1].depth += 1
                case 0x7D:
                    if top.depth == 0 { stack.removeLast() } else { stack[stack.count - 1].depth -= 1 }
                default:
                    if b >= 0x80 { i = checkUTF8(buf, i); continue }
                }
            }
            i += 1
        }
        i = min(i, end)
        // Unterminated: point at the innermost open template brace, or at the string itself.
        if let open = stack.last(where: { !$0.isString }) {
            report(.unterminatedTemplate, open.offset, open.offset + 1,
                   hint: "close the template with '}', or write '\\{' for a literal brace")
        } else {
            report(.unterminatedString, start, i, hint: "close the text with '\"' on the same line")
        }
        scanForSecretKeys(buf, start, i)
        return i
    }

    /// Reports text that looks like a payment API secret key (`sk_live_…`, `sk_test_…`, `rk_live_…`).
    private mutating func scanForSecretKeys(_ buf: UnsafeBufferPointer<UInt8>, _ s: Int, _ e: Int) {
        var i = s
        guard let base = buf.baseAddress else { return }
        while i + 8 <= e {
            // A key has '_' as its third byte: memchr finds the next candidate (most texts have none).
            guard let hit = memchr(base + i + 2, 0x5F, e - i - 7) else { return }
            i = UnsafeRawPointer(hit) - UnsafeRawPointer(base) - 2
            if (buf[i] == 0x73 || buf[i] == 0x72) && buf[i + 1] == 0x6B && buf[i + 2] == 0x5F,
               i == s || !Lexer.isWordByte(buf[i - 1])
            {
                let isLive = buf[i + 3] == 0x6C && buf[i + 4] == 0x69 && buf[i + 5] == 0x76 && buf[i + 6] == 0x65
                let isTest = buf[i + 3] == 0x74 && buf[i + 4] == 0x65 && buf[i + 5] == 0x73 && buf[i + 6] == 0x74
                if (isLive || isTest) && buf[i + 7] == 0x5F {
                    var j = i + 8
                    while j < e && Lexer.isWordByte(buf[j]) && buf[j] < 0x80 { j += 1 }
                    if j - (i + 8) >= 8 {
                        report(.secretKeyLiteral, i, j,
                               hint: "declare the key and read it from the environment:\n  secret STRIPE_SECRET_KEY\n  ... auth bearer STRIPE_SECRET_KEY")
                        i = j
                        continue
                    }
                }
            }
            i += 1
        }
    }
}

enum UTF8Check {
    /// Length of the valid UTF-8 sequence starting at `i`, or 0 when the bytes are invalid.
    @inline(__always)
    static func sequenceLength(_ buf: UnsafeBufferPointer<UInt8>, _ i: Int, _ end: Int) -> Int {
        let b0 = buf[i]
        if b0 < 0x80 { return 1 }
        @inline(__always) func cont(_ k: Int) -> Bool { k < end && buf[k] & 0xC0 == 0x80 }
        if b0 >= 0xC2 && b0 <= 0xDF { return cont(i + 1) ? 2 : 0 }
        if b0 >= 0xE0 && b0 <= 0xEF {
            guard cont(i + 1) && cont(i + 2) else { return 0 }
            let b1 = buf[i + 1]
            if b0 == 0xE0 && b1 < 0xA0 { return 0 }  // overlong
            if b0 == 0xED && b1 >= 0xA0 { return 0 }  // surrogate
            return 3
        }
        if b0 >= 0xF0 && b0 <= 0xF4 {
            guard cont(i + 1) && cont(i + 2) && cont(i + 3) else { return 0 }
            let b1 = buf[i + 1]
            if b0 == 0xF0 && b1 < 0x90 { return 0 }
            if b0 == 0xF4 && b1 >= 0x90 { return 0 }
            return 4
        }
        return 0
    }
}
