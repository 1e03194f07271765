/// Reads tokens into a `SourceFileSyntax`.
///
/// Design note (after swift-syntax's Parser and jlox):
/// - Recursive descent, one token of lookahead (`current`); where the grammar needs more (a named
///   argument `name: value`, an `on error` or `else` on the next line) the parser copies the lexer,
///   looks, and restores the copy. The lexer is a value, so a look-ahead costs no allocation.
/// - The parser never stops at the first error. A statement that goes wrong is reported once and
///   the parser skips to the end of its line (`recover`, in `TokenCursor.swift`), keeping `{ }`
///   balanced, then goes on. Every loop either consumes a token or leaves it; each `while` is
///   checked to advance.
/// - Nesting (blocks, parentheses, templates inside templates, and chains of operators, `.field` and
///   `[index]`, which nest the tree as deep as they are long) is capped at `maxDepth`; deeper input
///   gets one diagnostic and is skipped without recursion, so no input can overflow the stack.
/// - Positions: each node's range runs from its first token's start to its last token's end.
/// - Files, one construct each, as swift-syntax splits SwiftParser: this file holds the state,
///   the entry points and the depth cap; `TokenCursor.swift` the token cursor and recovery toolkit
///   (shared with `PlanParser`); `Parser+Declarations.swift` a file's declarations;
///   `Parser+Elements.swift` blocks and statements; `Parser+IPSettings.swift` IP and extension
///   declarations; `Parser+Expressions.swift` expressions; `Parser+TextLiterals.swift` strings
///   and templates.
public struct Parser: TokenParser {
    public static let maxDepth = 100

    var cursor: TokenCursor
    var depth = 0
    /// Expression nesting, counted apart from block nesting.
    var expressionDepth = 0
    var reportedTooDeep = false

    public init(file: SourceFile) {
        cursor = TokenCursor(file: file)
    }

    init(file: SourceFile, start: Int, end: Int, depth: Int) {
        cursor = TokenCursor(file: file, start: start, end: end)
        expressionDepth = depth
    }

    /// Parses a whole file. Diagnostics from the lexer and the parser are returned together.
    public static func parse(_ file: SourceFile) -> (SourceFileSyntax, [Diagnostic]) {
        var parser = Parser(file: file)
        let syntax = parser.parseFile()
        return (syntax, parser.cursor.lexer.diagnostics + parser.cursor.diagnostics)
    }

    /// Requires the end of a statement: a line end, a closing brace or the end of the file.
    mutating func endStatement(_ what: String) {
        endLine(.expectedEndOfLine(after: what))
    }

    /// name = word { word | digits } | quoted-name; `what` names it in the error when missing.
    mutating func parseName(_ what: @autoclosure () -> String, hint: String? = nil) -> Name? {
        parseName(missing: .expectedName(what()), hint: hint)
    }

    // MARK: - Depth

    mutating func enter() -> Bool {
        depth += 1
        return checkDepth(depth)
    }

    mutating func enterExpression() -> Bool {
        expressionDepth += 1
        return checkDepth(expressionDepth)
    }

    mutating func leaveExpression() { expressionDepth -= 1 }

    mutating func checkDepth(_ depth: Int) -> Bool {
        if depth > Parser.maxDepth {
            if !reportedTooDeep {
                reportedTooDeep = true
                report(.tooDeep(Parser.maxDepth), at: range(of: current),
                       hint: "split deep logic into a sub-flow, or name intermediate values with 'set'")
            }
            return false
        }
        return true
    }

    mutating func leave() { depth -= 1 }
}

extension Parser {
    /// Parses one expression of the flow language embedded in another format (test plans, which
    /// write values with the flow's own literals): from byte `start` of `file`, stopping before the
    /// first token that cannot continue the expression. Returns the expression, the offset just
    /// after its last token (where the caller's own lexer resumes), and the lexer's and parser's
    /// diagnostics about the expression's bytes (none about the token after it, which the caller
    /// lexes again).
    static func parseEmbeddedExpression(in file: SourceFile, from start: Int) -> (expression: Expr, end: Int, diagnostics: [Diagnostic]) {
        var parser = Parser(file: file, start: start, end: file.bytes.count, depth: 0)
        let expression = parser.parseExpression()
        let end = max(start, parser.previousEnd)
        let lexical = parser.cursor.lexer.diagnostics.filter { Int($0.range.start) < end }
        return (expression, end, lexical + parser.cursor.diagnostics)
    }
}
