/// Tokens of the flow language.
///
/// Design note: a token is 12 bytes of plain data: its kind, an optional keyword and its byte
/// range. Its text is read back from the `SourceFile` only when the parser needs it (names,
/// literals), so lexing a large file allocates nothing per token.
public enum TokenKind: UInt8, Sendable {
    case word            // identifier word: letters, digits, '_', any non-ASCII letter
    case quotedName      // `any name` in backticks
    case number          // 12, 4.00
    case string          // "text {template}"
    case newline         // one or more line ends (and comment-only lines)
    case leftParen, rightParen, leftBrace, rightBrace, leftBracket, rightBracket
    case comma, colon, dot, arrow
    case equal, plusEqual, minusEqual
    case equalEqual, bangEqual, less, lessEqual, greater, greaterEqual
    case plus, minus, star, slash, percent
    case unknown         // a byte that starts no token; already reported
    case eof

    /// How the token is named in "expected …" messages.
    public var display: String {
        switch self {
        case .word: "a name"
        case .quotedName: "a quoted name"
        case .number: "a number"
        case .string: "a text literal"
        case .newline: "end of line"
        case .leftParen: "'('"
        case .rightParen: "')'"
        case .leftBrace: "'{'"
        case .rightBrace: "'}'"
        case .leftBracket: "'['"
        case .rightBracket: "']'"
        case .comma: "','"
        case .colon: "':'"
        case .dot: "'.'"
        case .arrow: "'->'"
        case .equal: "'='"
        case .plusEqual: "'+='"
        case .minusEqual: "'-='"
        case .equalEqual: "'=='"
        case .bangEqual: "'!='"
        case .less: "'<'"
        case .lessEqual: "'<='"
        case .greater: "'>'"
        case .greaterEqual: "'>='"
        case .plus: "'+'"
        case .minus: "'-'"
        case .star: "'*'"
        case .slash: "'/'"
        case .percent: "'%'"
        case .unknown: "an unknown character"
        case .eof: "end of file"
        }
    }
}

/// Words with a meaning to the parser. Only `isReserved` ones can never be part of a name;
/// the others are keywords only where the grammar expects them (mostly at the start of a line).
public enum Keyword: UInt8, Sendable, CaseIterable {
    case none = 0
    // Declarations and elements.
    case `import`, config, secret, `var`, flow, ip, `extension`, page, question, set, `if`, `else`
    case label, goto, call, finish, response, success, failure, error
    // Reserved everywhere.
    case on, and, or, not, `true`, `false`, null

    public var isReserved: Bool {
        switch self {
        case .on, .and, .or, .not, .true, .false, .null: true
        default: false
        }
    }

    public var text: String { String(describing: self) }

    /// Finds the keyword spelled by `bytes[start..<end]`, or `.none`: the word's bytes (at most 8,
    /// none of them 0) packed into one integer are compared with each keyword's, so the lookup reads
    /// no table (a static table costs a `swift_once` call on every access).
    @inline(__always)
    static func lookup(_ bytes: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) -> Keyword {
        let len = end - start
        guard len >= 2 && len <= 9, let base = bytes.baseAddress else { return .none }
        var w: UInt64
        if start + 8 <= bytes.count {
            w = UInt64(littleEndian: UnsafeRawPointer(base + start).loadUnaligned(as: UInt64.self))
            if len < 8 { w &= (1 << (UInt64(len) &* 8)) &- 1 }
        } else {
            w = 0
            var k = 0
            while k < min(len, 8) {
                w |= UInt64(bytes[start + k]) << (UInt64(k) &* 8)
                k += 1
            }
        }
        if len == 9 { return w == 0x6F69736E65747865 && bytes[start + 8] == 0x6E ? .extension : .none }
        switch w {
        case 0x74726F706D69: return .`import`  // import
        case 0x6769666E6F63: return .config  // config
        case 0x746572636573: return .secret  // secret
        case 0x726176: return .`var`  // var
        case 0x776F6C66: return .flow  // flow
        case 0x7069: return .ip  // ip
        case 0x65676170: return .page  // page
        case 0x6E6F697473657571: return .question  // question
        case 0x746573: return .set  // set
        case 0x6669: return .`if`  // if
        case 0x65736C65: return .`else`  // else
        case 0x6C6562616C: return .label  // label
        case 0x6F746F67: return .goto  // goto
        case 0x6C6C6163: return .call  // call
        case 0x6873696E6966: return .finish  // finish
        case 0x65736E6F70736572: return .response  // response
        case 0x73736563637573: return .success  // success
        case 0x6572756C696166: return .failure  // failure
        case 0x726F727265: return .error  // error
        case 0x6E6F: return .on  // on
        case 0x646E61: return .and  // and
        case 0x726F: return .or  // or
        case 0x746F6E: return .not  // not
        case 0x65757274: return .`true`  // true
        case 0x65736C6166: return .`false`  // false
        case 0x6C6C756E: return .null  // null
        default: return .none
        }
    }
}

public struct Token: Sendable, Equatable {
    public var kind: TokenKind
    public var keyword: Keyword
    public var start: UInt32
    public var end: UInt32

    public init(_ kind: TokenKind, keyword: Keyword = .none, start: Int, end: Int) {
        self.kind = kind
        self.keyword = keyword
        self.start = UInt32(truncatingIfNeeded: start)
        self.end = UInt32(truncatingIfNeeded: end)
    }

    @inline(__always) public func isKeyword(_ k: Keyword) -> Bool { keyword == k }
}
