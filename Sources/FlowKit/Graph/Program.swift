/// The element graph: what the compiler makes of the syntax tree and what the interpreter walks.
///
/// Design note: each flow is an array of `Element`s; edges are indices into that array
/// (`next`, and `branch` for a decision's false edge or a call's error edge; -1 is none).
/// Names are resolved to slots here: a flow's variables are numbered (`FlowGraph.variables`),
/// answers are (page, question) pairs, configs, secrets and session variables are indices into
/// the program's tables. Every element and every expression keeps its `SourceRange`.

/// Static types, as far as the checker knows them.
public enum ValueType: Sendable, Hashable, CustomStringConvertible {
    case text, number, currency, bool, date, list, object
    /// A password answer or a secret: never shown, never traced.
    case secure
    case null
    /// Unknown until run time (decoded JSON, list items, …).
    case any
    /// The result of an IP, extension or sub-flow with several outputs.
    case record(Int)

    public var description: String {
        switch self {
        case .text: "text"
        case .number: "number"
        case .currency: "currency"
        case .bool: "bool"
        case .date: "date"
        case .list: "list"
        case .object, .record: "object"
        case .secure: "secure text"
        case .null: "null"
        case .any: "any"
        }
    }

    public var isNumeric: Bool { self == .number || self == .currency }

    public init?(typeName: String) {
        switch typeName {
        case "text": self = .text
        case "number": self = .number
        case "currency": self = .currency
        case "bool": self = .bool
        case "date": self = .date
        case "list": self = .list
        case "object": self = .object
        case "secure": self = .secure
        default: return nil
        }
    }
}

public enum Builtin: String, Sendable, CaseIterable {
    case len, upper, lower, trim, round, abs, min, max, contains, text, number, today
}

public struct IRExpr: Sendable {
    public var kind: IRKind
    public var type: ValueType
    public var range: SourceRange
}

public enum IRKind: Sendable {
    case constant(Value)
    /// Parts are concatenated as text.
    case template([IRExpr])
    case local(Int)
    case session(Int)
    case answer(page: Int, question: Int)
    case config(Int)
    case secret(Int)
    /// The error object inside an `on error` block.
    case error
    indirect case member(IRExpr, String)
    indirect case index(IRExpr, IRExpr)
    case builtin(Builtin, [IRExpr])
    indirect case unary(UnaryOperator, IRExpr)
    indirect case binary(BinaryOperator, IRExpr, IRExpr)
    case list([IRExpr])
    case object([(String, IRExpr)])
    /// Stands for an expression that failed to compile; already reported.
    case invalid
}

public struct QuestionInfo: Sendable {
    public var name: String
    /// `Page.Question`, made once when compiling.
    public var reference: String = ""
    /// The properties most questions do not have, in one shared box (nil when none is set): a
    /// question is 56 bytes instead of about 300, which is most of the graph of a flow of
    /// many lone questions (peak memory of `flow check`). Copy on write.
    private var details: QuestionDetails?
    public var range: SourceRange
    public var type: QuestionType
    public var optional: Bool

    init(name: String, reference: String = "", type: QuestionType, prompt: IRExpr?, defaultValue: IRExpr?, optional: Bool,
         min: IRExpr?, max: IRExpr?, pattern: String?, patternRange: SourceRange? = nil, options: [IRExpr], range: SourceRange) {
        self.name = name
        self.reference = reference
        self.type = type
        self.optional = optional
        self.range = range
        if prompt != nil || defaultValue != nil || min != nil || max != nil || pattern != nil || patternRange != nil || !options.isEmpty {
            details = QuestionDetails(prompt: prompt, defaultValue: defaultValue, min: min, max: max, pattern: pattern, patternRange: patternRange,
                                      options: options)
        }
    }

    /// Whether any of the rarer properties (prompt, default, min, max, pattern, options) is set:
    /// checks that look only at those skip a question without them.
    var hasDetails: Bool { details != nil }

    /// The options of a `choice` or `choices` question (in the details box: other questions have none).
    public var options: [IRExpr] {
        get { details?.options ?? [] }
        set { editDetails { $0.options = newValue } }
    }

    public var prompt: IRExpr? {
        get { details?.prompt }
        set { editDetails { $0.prompt = newValue } }
    }
    public var defaultValue: IRExpr? {
        get { details?.defaultValue }
        set { editDetails { $0.defaultValue = newValue } }
    }
    public var min: IRExpr? {
        get { details?.min }
        set { editDetails { $0.min = newValue } }
    }
    public var max: IRExpr? {
        get { details?.max }
        set { editDetails { $0.max = newValue } }
    }
    public var pattern: String? {
        get { details?.pattern }
        set { editDetails { $0.pattern = newValue } }
    }
    /// Where the pattern is written.
    public var patternRange: SourceRange? {
        get { details?.patternRange }
        set { editDetails { $0.patternRange = newValue } }
    }

    private mutating func editDetails(_ body: (QuestionDetails) -> Void) {
        if details == nil {
            details = QuestionDetails()
        } else if !isKnownUniquelyReferenced(&details) {
            details = details!.copy()
        }
        body(details!)
    }
}

/// The rarer properties of a question (`QuestionInfo`). Mutated only through `QuestionInfo`'s
/// setters, which copy it first unless it is uniquely referenced, so a shared box never changes.
final class QuestionDetails: @unchecked Sendable {
    var prompt: IRExpr?
    var defaultValue: IRExpr?
    var min: IRExpr?
    var max: IRExpr?
    var pattern: String?
    var patternRange: SourceRange?
    var options: [IRExpr]

    init(prompt: IRExpr? = nil, defaultValue: IRExpr? = nil, min: IRExpr? = nil, max: IRExpr? = nil, pattern: String? = nil,
         patternRange: SourceRange? = nil, options: [IRExpr] = []) {
        self.prompt = prompt
        self.defaultValue = defaultValue
        self.min = min
        self.max = max
        self.pattern = pattern
        self.patternRange = patternRange
        self.options = options
    }

    func copy() -> QuestionDetails {
        QuestionDetails(prompt: prompt, defaultValue: defaultValue, min: min, max: max, pattern: pattern, patternRange: patternRange,
                        options: options)
    }
}

public struct PageInfo: Sendable {
    public var name: String
    /// A page's title, rare (a lone question has none), in a box of its own: a page is 48 bytes
    /// instead of 88 (peak memory of `flow check` on a flow of many questions).
    public var title: IRExpr? {
        get { titleBox?.value }
        set { titleBox = newValue.map { ExprBox($0) } }
    }
    private var titleBox: ExprBox?
    public var questions: [QuestionInfo]
    public var isLoneQuestion: Bool
    public var range: SourceRange

    public init(name: String, title: IRExpr?, questions: [QuestionInfo], isLoneQuestion: Bool, range: SourceRange) {
        self.name = name
        self.titleBox = title.map { ExprBox($0) }
        self.questions = questions
        self.isLoneQuestion = isLoneQuestion
        self.range = range
    }
}

/// An immutable box for an expression a value holds rarely.
final class ExprBox: Sendable {
    let value: IRExpr
    init(_ value: IRExpr) { self.value = value }
}

public enum CallTarget: Sendable {
    case ip(Int)
    case `extension`(Int)
    case flow(Int)
}

public struct CallInfo: Sendable {
    public var target: CallTarget
    /// One argument per parameter of the callee, in parameter order; nil uses the default.
    public var arguments: [IRExpr?]
    /// Where outputs go: (output index, local slot). A `-> name` binding of a multi-output
    /// callee is `wholeResult`.
    public var outputs: [(output: Int, slot: Int)]
    public var wholeResult: Int?
    public var hasErrorHandler: Bool
}

public enum ElementKind: Sendable {
    case page(Int)
    case call(CallInfo)
    case response(IRExpr)
    case set(slot: VariableRef, op: AssignOperator, value: IRExpr)
    /// `next` when true, `branch` when false.
    case decision(IRExpr)
    case label(String)
    case goto(String)
    case finish(success: Bool, reason: IRExpr?)
    /// Falling off the end of the flow: finish with success (or return from a sub-flow).
    case end
}

/// Which case an `ElementKind` is, without its payload.
enum ElementTag: UInt8 {
    case page, call, response, set, decision, label, goto, finish, end
}

extension ElementKind {
    /// The case alone. The run loop switches on this: a `switch` on a kind read through a
    /// pointer copied the whole kind first (its expression retained and released) whatever the
    /// case, where this reads the discriminator and each case binds only what it uses.
    @inline(__always) var tag: ElementTag {
        switch self {
        case .page: .page
        case .call: .call
        case .response: .response
        case .set: .set
        case .decision: .decision
        case .label: .label
        case .goto: .goto
        case .finish: .finish
        case .end: .end
        }
    }
}

public enum VariableRef: Sendable, Hashable {
    case local(Int)
    case session(Int)
}

public struct Element: Sendable {
    public var kind: ElementKind
    /// True for elements inside an `on error` block (where `error` is defined). Stored right
    /// after `kind` (65 bytes), in its padding: an element is 88 bytes instead of 96.
    public var inHandler = false
    public var range: SourceRange
    public var next: Int32 = -1
    public var branch: Int32 = -1

    public init(kind: ElementKind, range: SourceRange, next: Int32 = -1, branch: Int32 = -1, inHandler: Bool = false) {
        self.kind = kind
        self.inHandler = inHandler
        self.range = range
        self.next = next
        self.branch = branch
    }
}

public struct FlowGraph: Sendable {
    public var name: String
    public var range: SourceRange
    public var elements: [Element]
    public var entry: Int
    /// Slot names; parameters come first, then outputs, then other variables.
    public var variables: [String]
    public var variableTypes: [ValueType]
    public var parameterCount: Int
    public var parameters: [ParameterInfo]
    public var outputs: [ParameterInfo]
    public var pages: [PageInfo]
    /// The outputs' names and types, kept ready for binding results (set by the compiler).
    public internal(set) var shape: [OutputShape] = []
}

public struct ParameterInfo: Sendable {
    public var name: String
    public var type: ValueType
    public var defaultValue: IRExpr?
    public var range: SourceRange
}

public struct OutputInfo: Sendable {
    public var name: String
    public var type: ValueType
    public var source: OutputSource?
    public var range: SourceRange
}

public struct IntegrationPoint: Sendable {
    public var name: String
    public var declaration: IPDecl
    public var parameters: [ParameterInfo]
    public var outputs: [OutputInfo]
    /// The outputs' names and types, kept ready for binding results (set by the compiler).
    public internal(set) var shape: [OutputShape] = []
    public var range: SourceRange
    /// The typed form of each expression of the request, by the expression's source range.
    public internal(set) var lowered: [SourceRange: IRExpr] = [:]
}

public struct ExtensionInfo: Sendable {
    public var name: String
    public var declaration: ExtensionDecl
    public var parameters: [ParameterInfo]
    public var outputs: [OutputInfo]
    /// The outputs' names and types, kept ready for binding results (set by the compiler).
    public internal(set) var shape: [OutputShape] = []
    public var range: SourceRange
}

extension Program {
    /// The parameters of what a call targets, and its outputs' names and types.
    func signature(of target: CallTarget) -> (parameters: [ParameterInfo], outputs: [(name: String, type: ValueType)]) {
        switch target {
        case .ip(let i): (integrationPoints[i].parameters, integrationPoints[i].outputs.map { ($0.name, $0.type) })
        case .extension(let i): (extensions[i].parameters, extensions[i].outputs.map { ($0.name, $0.type) })
        case .flow(let i): (flows[i].parameters, flows[i].outputs.map { ($0.name, $0.type) })
        }
    }
}

public struct NamedValue: Sendable {
    public var name: String
    public var type: ValueType
    public var value: IRExpr?
    public var range: SourceRange
}

public struct Program: Sendable {
    public var flows: [FlowGraph]
    /// Index of the entry flow (the first flow of the root file).
    public var entry: Int
    public var integrationPoints: [IntegrationPoint]
    public var extensions: [ExtensionInfo]
    public var configs: [NamedValue] {
        didSet { literalConfigs = nil }
    }
    public var secrets: [NamedValue]
    public var sessionVariables: [NamedValue]
    /// Field names and types of each record type (`ValueType.record(i)`).
    public var records: [[(name: String, type: ValueType)]]
    /// Where `flow check` found, before anything runs, what a run would meet (a default the
    /// question refuses, a division by zero): `flow explore` does not report those again.
    public internal(set) var checkedRanges: Set<SourceRange> = []
    /// The configs' values when every one is a literal (or has none), as a session not given
    /// other values starts with: one array shared by every session, not one made for each.
    /// Set by the compiler (`noteLiteralConfigs`), and dropped when `configs` changes.
    private(set) var literalConfigs: [Value]?

    mutating func noteLiteralConfigs() {
        var values: [Value] = []
        values.reserveCapacity(configs.count)
        for c in configs {
            switch c.value?.kind {
            case nil: values.append(.null)
            case .constant(let v)?: values.append(v)
            default: return
            }
        }
        literalConfigs = values
    }
}

/// The name and type of one output of a callee, as a call's binding needs them.
public struct OutputShape: Sendable {
    public var name: String
    public var type: ValueType
}


extension ValueType {
    /// Whether an output of this type may be null: only text (an API's `"failure_message": null`
    /// is a normal answer, and shows as empty). A null yes/no, number, date, list or object would
    /// only fail later, far from its cause, so the host reports it as a malformed response, which
    /// the call's `on error` takes.
    public var acceptsNullOutput: Bool {
        switch self {
        case .text, .secure, .any: true
        default: false
        }
    }
}

extension IntegrationPoint {
    /// Whether a call changes nothing outside the session: `safe` or `unsafe` as declared, else
    /// true for GET and false for every other method and for SOAP. `back` may cross a completed
    /// safe call; it stops at the first page after a completed unsafe one.
    public var isSafe: Bool {
        if let s = declaration.safety { return s == .safe }
        return !declaration.isSOAP && (declaration.method?.isSafe ?? false)
    }
}

extension ExtensionInfo {
    /// Whether a call changes nothing outside the session: as declared, else true (an extension
    /// reads something on the customer's side, such as a card it turns into a token).
    public var isSafe: Bool { declaration.safety.map { $0 == .safe } ?? true }
}
