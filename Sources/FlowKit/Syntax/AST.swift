/// The syntax tree of one flow file.
///
/// Design note: the tree is what the parser read, with every node carrying its `SourceRange`;
/// it resolves no names. After a syntax error the parser still builds a tree (with `.error`
/// expressions where nothing usable was found), so later stages can report more problems, but
/// the compiler never reports errors that stem from an `.error` node.

/// A name as written: one or more words (joined by single spaces) or a `quoted name`.
public struct Name: Hashable, Sendable, CustomStringConvertible {
    public var text: String
    public var range: SourceRange
    public init(_ text: String, _ range: SourceRange) {
        self.text = text
        self.range = range
    }
    public var description: String { text }
}

/// 32 bytes: no case of `ExprKind` holds more than a string inline (a name's range is the
/// expression's, a call is boxed), where holding a `Name` and a call's arguments inline made every
/// expression 56 bytes, the syntax of a `set` line about 80 bytes more (peak memory of `flow check`).
public struct Expr: Sendable {
    public var kind: ExprKind
    public var range: SourceRange
    public init(_ kind: ExprKind, _ range: SourceRange) {
        self.kind = kind
        self.range = range
    }

    /// The name this expression is, with its range, if it is a lone name.
    public var name: Name? {
        if case .name(let text) = kind { return Name(text, range) }
        return nil
    }
}

public enum TemplatePart: Sendable {
    case text(String)
    case expr(Expr)
}

public enum UnaryOperator: String, Sendable {
    case negate = "-"
    case not = "not"
}

public enum BinaryOperator: String, Sendable {
    case add = "+", subtract = "-", multiply = "*", divide = "/", remainder = "%"
    case equal = "==", notEqual = "!=", less = "<", lessEqual = "<=", greater = ">", greaterEqual = ">="
    case and = "and", or = "or"

    /// `==`, `!=`, `<`, `<=`, `>`, `>=`.
    var isComparison: Bool {
        switch self {
        case .equal, .notEqual, .less, .lessEqual, .greater, .greaterEqual: true
        default: false
        }
    }
}

public struct ObjectField: Sendable {
    public var key: String
    public var keyRange: SourceRange
    public var value: Expr
}

public enum ExprKind: Sendable {
    case string(String)
    case template([TemplatePart])
    /// A decimal literal, kept as written (`4.00`); converted to an exact decimal when compiled.
    case number(String)
    case bool(Bool)
    case null
    /// The first segment of a path: a variable, an answer's page, a config value, a secret, `error`.
    /// The text alone: its range is the expression's (`Expr.name` gives both).
    case name(String)
    /// `base.member`
    indirect case member(Expr, Name)
    /// `base[index]`
    indirect case index(Expr, Expr)
    /// `function(arguments)`; boxed, as the operators are.
    indirect case call(Name, [Argument])
    indirect case unary(UnaryOperator, Expr)
    indirect case binary(BinaryOperator, Expr, Expr)
    case list([Expr])
    case object([ObjectField])
    /// Stands where the parser found no expression; already reported.
    case error
}

public struct Argument: Sendable {
    public var label: Name?
    public var value: Expr
    public var range: SourceRange
}

/// A type written in a declaration: `text`, `currency`, `bool`, ...
public struct TypeRef: Sendable {
    public var name: String
    public var range: SourceRange
}

/// `name: type = default` in a parameter list.
public struct Parameter: Sendable {
    public var name: Name
    public var type: TypeRef?
    public var defaultValue: Expr?
    public var range: SourceRange
}

// MARK: - Flow elements

/// What `-> …` binds after a call: one variable, or outputs mapped to variables.
public enum Binding: Sendable {
    case variable(Name)
    case mapping([(output: Name, variable: Name)])
}

public enum ErrorHandler: Sendable {
    case block([Statement], range: SourceRange)
    case goto(Name)
}

public enum CallKind: String, Sendable {
    case ip
    case `extension`
    case flow = "call"
}

extension CallStatement {
    /// How diagnostics name the callee of each kind of call.
    static func noun(_ kind: CallKind) -> String {
        switch kind {
        case .ip: "integration point"
        case .extension: "extension"
        case .flow: "sub-flow"
        }
    }
}

/// `ip Name(args) -> binding on error { … }`, likewise `extension` and `call`.
public struct CallStatement: Sendable {
    public var kind: CallKind
    public var callee: Name
    public var arguments: [Argument]
    /// The range of the argument list, for arity errors; nil when written without parentheses.
    public var argumentsRange: SourceRange?
    public var binding: Binding?
    public var onError: ErrorHandler?
}

public enum QuestionType: String, Sendable, CaseIterable {
    case text, number, currency, yesno, choice, choices, date, email, password

    /// The cases with their UTF-8 spellings, for comparing with source bytes without making a string.
    static let spelled: [(QuestionType, [UInt8])] = allCases.map { ($0, Array($0.rawValue.utf8)) }
}

public struct QuestionProperty: Sendable {
    public enum Kind: String, Sendable, CaseIterable {
        case prompt, `default`, optional, required, min, max, pattern, options

        static let spelled: [(Kind, [UInt8])] = allCases.map { ($0, Array($0.rawValue.utf8)) }
    }
    public var kind: Kind
    public var values: [Expr]
    public var range: SourceRange
}

public struct Question: Sendable {
    public var name: Name
    public var type: QuestionType
    public var typeRange: SourceRange?
    public var properties: [QuestionProperty]
    public var range: SourceRange
}

/// `page Name { … }`. A lone `question X` is not a `Page` but `StatementKind.question`.
public struct Page: Sendable {
    public var name: Name
    public var title: Expr?
    public var questions: [Question]
    public var range: SourceRange
}

public enum AssignOperator: String, Sendable {
    case assign = "="
    case add = "+="
    case subtract = "-="
}

public struct Conditional: Sendable {
    public var condition: Expr
    public var body: [Statement]
    public var range: SourceRange
}

/// Every case is boxed: a statement is 24 bytes, not 96 (a `set` held its name and expression
/// inline), so the array of a long flow's statements is small, and each statement's box is freed
/// as the compiler lowers it (peak memory of `flow check`).
public indirect enum StatementKind: Sendable {
    case page(Page)
    /// A lone `question X`: a page of one question, named after it (its answer is `X.X`). Held as
    /// the question alone, not as a page of an array of one: a long questionnaire is mostly these,
    /// and that array was an allocation and a free per question (`flow check`).
    case question(Question)
    case call(CallStatement)
    case response(Expr)
    case set(target: Name, op: AssignOperator, value: Expr)
    case decision(branches: [Conditional], otherwise: [Statement]?)
    case label(Name)
    case goto(Name)
    case finish(success: Bool, reason: Expr?)
}

public struct Statement: Sendable {
    public var kind: StatementKind
    public var range: SourceRange
}

// MARK: - Declarations

public enum HTTPMethod: String, Sendable, CaseIterable {
    case GET, POST, PUT, PATCH, DELETE

    /// GET changes nothing on the server (RFC 9110 §9.2.1); every other method may.
    public var isSafe: Bool { self == .GET }
}

/// `safe` or `unsafe` in an IP or extension declaration: whether a call changes something outside
/// the session, which decides whether `back` may cross a completed call (grammar.md, "Calls are
/// effects").
public enum CallSafety: String, Sendable {
    case safe, unsafe
}

/// `key = value` inside `query { }`, `headers { }` or `form { }`. Keys are names or text literals.
public struct KeyValue: Sendable {
    public var key: String
    public var keyRange: SourceRange
    public var value: Expr
}

/// One element of a SOAP body: `prefix:Name = value` or `prefix:Name { … }`.
public struct XMLElementSpec: Sendable {
    public var name: String
    public var range: SourceRange
    public enum Content: Sendable {
        case value(Expr)
        case children([XMLElementSpec])
    }
    public var content: Content
}

public enum OutputSource: Sendable {
    /// `json "path"`: a path into the decoded JSON body (`data[0].id`; `$` is the whole body).
    case json(String, SourceRange)
    /// `xml "path"`: an element path below the SOAP body (or the document root for plain XML).
    case xml(String, SourceRange)
    case header(String, SourceRange)
    case status
    case text
}

/// `output name: type = source`: one mapped output of an IP, or a value an extension returns.
public struct OutputDecl: Sendable {
    public var name: Name
    public var type: TypeRef?
    public var source: OutputSource?
    public var range: SourceRange
}

public enum RequestBody: Sendable {
    case form([KeyValue])
    case json(Expr)
    case raw(Expr)
    case soap([XMLElementSpec])
}

public enum Auth: Sendable {
    case bearer(Name)
    case basic(user: Expr, password: Name)
}

public struct IPDecl: Sendable {
    public var name: Name
    public var parameters: [Parameter]
    public var isSOAP: Bool
    public var method: HTTPMethod?
    public var soapVersion: String?
    public var url: Expr?
    public var action: Expr?
    public var namespaces: [(prefix: String, uri: String, range: SourceRange)]
    public var query: [KeyValue]
    public var headers: [KeyValue]
    public var body: RequestBody?
    public var auth: Auth?
    public var timeout: Expr?
    public var retry: Expr?
    public var idempotent: Bool
    public var outputs: [OutputDecl]
    public var range: SourceRange
    /// `safe` or `unsafe` as written; nil: GET is safe, every other method and SOAP unsafe.
    public var safety: CallSafety? = nil
    /// Where `safe` or `unsafe` is written, for errors about it.
    public var safetyRange: SourceRange? = nil
    /// Where the request line (`POST …`) and the body setting (`form`, `json`, `body`) are
    /// written, for errors about them.
    public var methodRange: SourceRange? = nil
    public var bodyRange: SourceRange? = nil
}

public struct ExtensionDecl: Sendable {
    public var name: Name
    public var parameters: [Parameter]
    /// `run "command"`: the executable the command line host starts.
    public var command: Expr?
    public var timeout: Expr?
    public var outputs: [OutputDecl]
    public var range: SourceRange
    /// `safe` or `unsafe` as written; nil: an extension is safe.
    public var safety: CallSafety? = nil
    public var safetyRange: SourceRange? = nil
    /// `web "extensions/tokenize.js"`: the ES module a web client loads (relative to the flow file).
    public var web: Expr? = nil
}

public struct FlowDecl: Sendable {
    public var name: Name
    public var parameters: [Parameter]
    public var outputs: [Parameter]
    public var body: [Statement]
    public var range: SourceRange
    /// The range of `}` closing the body (where an implicit finish happens).
    public var endRange: SourceRange
}

public enum Declaration: Sendable {
    case `import`(path: String, range: SourceRange)
    case config(name: Name, value: Expr, range: SourceRange)
    case secret(name: Name, range: SourceRange)
    case variable(Parameter)
    case ip(IPDecl)
    case `extension`(ExtensionDecl)
    case flow(FlowDecl)
}

public struct SourceFileSyntax: Sendable {
    public var file: FileID
    public var declarations: [Declaration]
}
