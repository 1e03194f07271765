/// The catalogue of lexer and parser messages, sorted by id. No message text lives elsewhere.
/// Each entry shows a line of source that triggers it.
extension Message {
    /// `ip Charge(a) -> r` at the top level
    static func callOutsideFlow(_ keyword: String) -> Message { Message("parse.callOutsideFlow", .error, "a call of '\(keyword)' must be inside a flow") }
    /// `if a < b < c`
    static let chainedComparison = Message("parse.chainedComparison", .error, "comparisons cannot be chained")
    /// `flow Main { config X = 1 }`
    static func declarationInFlow(_ word: String) -> Message { Message("parse.declarationInFlow", .error, "'\(word)' declarations belong at the top level, not inside a flow") }
    /// `query { }` and `query { }` twice, or two request lines
    static func duplicateSetting(_ what: String) -> Message { Message("parse.duplicateSetting", .error, "this integration point already has a \(what)") }
    /// `title "A"` and `title "B"` in one page
    static let duplicateTitle = Message("parse.duplicateTitle", .error, "this page already has a title")
    /// `else { }` with no `if`
    static let elseWithoutIf = Message("parse.elseWithoutIf", .error, "'else' without a matching 'if'")
    /// `response "Total: {}"`
    static let emptyInterpolation = Message("parse.emptyInterpolation", .error, "empty '{}' in a text template")
    /// `page Contact { }`
    static func emptyPage(_ name: String) -> Message { Message("parse.emptyPage", .error, "page '\(name)' has no questions") }
    /// `flow Main {` … `question X` … end of file
    static func expectedAfter(_ what: String, _ after: String) -> Message { Message("parse.expectedAfter", .error, "expected \(what) after \(after)") }
    /// `extension Tokenize token` (found by the compiler, which knows 'Tokenize' is an extension),
    /// `ip Charge(a) result`
    static func expectedArrow(_ noun: String) -> Message { Message("parse.expectedArrow", .error, "expected '->' after \(noun) name") }
    /// `flow Main` with no `{`
    static func expectedBlock(_ what: String) -> Message { Message("parse.expectedBlock", .error, "expected '{' to open the body of \(what)") }
    /// `ip Charge(a, b -> r`
    static func expectedClosing(_ what: String, _ construct: String) -> Message { Message("parse.expectedClosing", .error, "expected \(what) to close the \(construct)") }
    /// `question 12`
    static let expectedDeclaration = Message(
        "parse.expectedDeclaration", .error, "expected a declaration: 'flow', 'ip', 'extension', 'config', 'secret', 'var' or 'import'")
    /// `flow Main { 42 }`
    static let expectedElement = Message(
        "parse.expectedElement", .error,
        "expected an element: 'page', 'question', 'extension', 'ip', 'call', 'response', 'set', 'if', 'label', 'goto' or 'finish'")
    /// `response "a" 12`
    static func expectedEndOfLine(after what: String) -> Message { Message("parse.expectedEndOfLine", .error, "expected the end of the line after \(what)") }
    /// `set x = * 2`
    static let expectedExpression = Message("parse.expectedExpression", .error, "expected an expression")
    /// `import main`
    static let expectedImportPath = Message("parse.expectedImportPath", .error, "expected a file path in quotes after 'import'")
    /// `goto 12`
    static func expectedName(_ what: String) -> Message { Message("parse.expectedName", .error, "expected a \(what)") }
    /// `output id: text = body.id`
    static let expectedOutputSource = Message(
        "parse.expectedOutputSource", .error, "expected where the output comes from: json, xml, header, status or text")
    /// `page P { response "x" }`
    static let expectedPageItem = Message("parse.expectedPageItem", .error, "expected 'title' or 'question' inside a page")
    /// `soap 2.0 "https://…"`
    static let expectedSOAPVersion = Message("parse.expectedSOAPVersion", .error, "expected SOAP version 1.1 or 1.2 after 'soap'")
    /// `var x: 12 = 1`
    static let expectedType = Message("parse.expectedType", .error, "expected a type name")
    /// `output token: text = json "token"` in an extension
    static let extensionOutputSource = Message(
        "parse.extensionOutputSource", .error, "an extension's output takes no source")
    /// `finish failure`
    static let finishFailureReason = Message("parse.finishFailureReason", .error, "'finish failure' needs a reason")
    /// `response "\q"`
    static let invalidEscape = Message("parse.invalidEscape", .error, "unknown escape sequence in text")
    /// `response "\u{ZZ}"`
    static let invalidUnicodeEscape = Message("parse.invalidUnicodeEscape", .error, "invalid '\\u{…}' escape")
    /// `set x = items.0`
    static let numericMember = Message("parse.numericMember", .error, "a field name cannot be a number")
    /// `safe` and `unsafe` (or `safe` twice) in one integration point or extension
    static func safetyTwice(_ word: String) -> Message { Message("parse.safetyTwice", .error, "'\(word)': this declaration already says whether its calls are safe") }
    /// `set result.id = 1`
    static let setPath = Message("parse.setPath", .error, "'set' assigns a variable, not a field or an answer")
    /// `secret KEY = "abc"`
    static let secretWithValue = Message("parse.secretWithValue", .error, "a secret's value cannot be written in a flow file")
    /// `question Amount` at the top level
    static func statementOutsideFlow(_ word: String) -> Message { Message("parse.statementOutsideFlow", .error, "'\(word)' must be inside a flow") }
    /// `import "lib/{name}.flow"`
    static let templateNotAllowed = Message("parse.templateNotAllowed", .error, "a '{…}' template is not allowed in this text")
    /// 101 nested `if` blocks
    static func tooDeep(_ limit: Int) -> Message { Message("parse.tooDeep", .error, "nesting is too deep (more than \(limit) levels)") }
    /// `}` at the top level
    static let unmatchedClosingBrace = Message("parse.unmatchedClosingBrace", .error, "unexpected '}' with no block to close")
    /// `response "a } b"`
    static let unmatchedTemplateBrace = Message("parse.unmatchedTemplateBrace", .error, "unmatched '}' in a text template")
    /// `extension Tokenize { command "x" }`
    static let unknownExtensionSetting = Message("parse.unknownExtensionSetting", .error, "unknown extension setting")
    /// `ip X() { methd GET }`
    static let unknownIPSetting = Message("parse.unknownIPSetting", .error, "unknown integration point setting")
    /// `question Q { promt "x" }`
    static let unknownQuestionProperty = Message("parse.unknownQuestionProperty", .error, "unknown question property")
    /// `question Q: integer`
    static let unknownQuestionType = Message("parse.unknownQuestionType", .error, "unknown question type")

    // MARK: Lexer

    /// `` `` ``
    static let emptyQuotedName = Message("lex.emptyQuotedName", .error, "a quoted name cannot be empty")
    /// bytes that are not UTF-8
    static let invalidUTF8 = Message("lex.invalidUTF8", .error, "invalid UTF-8 bytes")
    /// U+202E (right-to-left override) and the other invisible controls of text direction, in a
    /// text, a name or a comment ("Trojan Source", CVE-2021-42574)
    static func bidiControl(_ code: String) -> Message { Message("lex.bidiControl", .error, "invisible text-direction control U+\(code): the line may read differently from what it does") }
    /// a NUL byte
    static let nulByte = Message("lex.nulByte", .error, "NUL byte in source")
    /// `response "key sk_test_…"`
    static let secretKeyLiteral = Message(
        "lex.secretKeyLiteral", .error, "this looks like a payment API secret key written in the flow")
    /// `set x = 5 $ 3`
    static func unexpectedCharacter(_ c: String) -> Message { Message("lex.unexpectedCharacter", .error, "unexpected character '\(c)'") }
    /// `` `Order # ``
    static let unterminatedQuotedName = Message("lex.unterminatedQuotedName", .error, "unterminated quoted name")
    /// `response "hello`
    static let unterminatedString = Message("lex.unterminatedString", .error, "unterminated text literal")
    /// `response "total {amount"`
    static let unterminatedTemplate = Message("lex.unterminatedTemplate", .error, "unterminated '{' in a text template")
}
