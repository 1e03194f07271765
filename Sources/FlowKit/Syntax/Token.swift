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

    /// Finds the keyword spelled by `bytes[start..<end]`, or `.none`.
    @inline(__always)
    static func lookup(_ bytes: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) -> Keyword {
        let len = end - start
        guard len >= 2 && len <= 9 else { return .none }
        let slot = Keyword.slot(len, bytes[start], bytes[end - 1])
        let candidate = Keyword.table[slot]
        guard candidate != .none else { return .none }
        let spelled = Keyword.spellings[Int(candidate.rawValue)]
        guard spelled.count == len else { return .none }
        var i = 0
        while i < len {
            if spelled[i] != bytes[start + i] { return .none }
            i += 1
        }
        return candidate
    }

    @inline(__always)
    private static func slot(_ len: Int, _ first: UInt8, _ last: UInt8) -> Int {
        (len &+ Int(first) &+ Int(last) &* 8) & 255
    }

    private static let spellings: [[UInt8]] = Keyword.allCases.map { Array($0.text.utf8) }

    private static let table: [Keyword] = {
        var table = [Keyword](repeating: .none, count: 256)
        for k in Keyword.allCases where k != .none {
            let s = Array(k.text.utf8)
            let slot = slot(s.count, s[0], s[s.count - 1])
            precondition(table[slot] == .none, "keyword hash collision: \(k) and \(table[slot])")
            table[slot] = k
        }
        return table
    }()
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
