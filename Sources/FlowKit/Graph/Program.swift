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
    /// The result of an IP, extension or sub-flow with several outputs: an index into
    /// `Program.records`. Two bytes, so a type is 3 bytes and an expression 40, not 48 (beyond
    /// 65,536 record types a result is typed `object`, its fields then checked when it runs).
    case record(UInt16)

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
    /// The base and the field's name (one payload: a name beside it would make every
    /// expression 8 bytes larger).
    case member(IRMember)
    /// The base, then the index.
    case index(IROperands)
    case builtin(Builtin, [IRExpr])
    case unary(UnaryOperator, IROperands)
    /// The left operand, then the right.
    case binary(BinaryOperator, IROperands)
    case list([IRExpr])
    case object([(String, IRExpr)])
    /// Stands for an expression that failed to compile; already reported.
    case invalid

    static func member(_ base: consuming IRExpr, _ field: String) -> IRKind { .member(IRMember(base, field)) }
    static func index(_ base: consuming IRExpr, _ index: consuming IRExpr) -> IRKind { .index(IROperands(base, index)) }
    static func unary(_ op: UnaryOperator, _ operand: consuming IRExpr) -> IRKind { .unary(op, IROperands(operand)) }
    static func binary(_ op: BinaryOperator, _ l: consuming IRExpr, _ r: consuming IRExpr) -> IRKind { .binary(op, IROperands(l, r)) }
}

/// The one or two operands of an index, unary or binary expression, in one allocation.
///
/// Design note: these were `indirect` cases. Binding an indirect case's payload copies each
/// operand out of its box (the operand's own payload retained, through an outlined copy of the
/// enum, and released after), and the evaluator did so for every operator, member and index on
/// every evaluation: about a twentieth of a payment session. Here the operands sit in the
/// object's tail, where the evaluator reads them in place through `pointer`; binding the case
/// retains one object. The operands never change once made.
public struct IROperands: @unchecked Sendable {
    private let storage: Storage

    /// The operands are moved in, not copied.
    init(_ a: consuming IRExpr) {
        storage = Storage.make(count: 1)
        elements.initialize(to: a)
    }

    init(_ a: consuming IRExpr, _ b: consuming IRExpr) {
        storage = Storage.make(count: 2)
        elements.initialize(to: a)
        (elements + 1).initialize(to: b)
    }

    /// The operands' place: the elements of a `ManagedBuffer` sit in the object's tail and stay
    /// where they are while it lives.
    @inline(__always) private var elements: UnsafeMutablePointer<IRExpr> { storage.withUnsafeMutablePointerToElements { $0 } }

    /// The first operand (an index's base, a unary or binary operator's left).
    var first: IRExpr { elements.pointee }
    /// The second operand (an index, a binary operator's right). Only for two operands.
    var second: IRExpr {
        precondition(storage.header == 2)
        return elements[1]
    }

    /// Calls `body` with the operands in place (one or two of them, as made).
    @inline(__always) func withOperands<R, E: Error>(_ body: (UnsafePointer<IRExpr>) throws(E) -> R) throws(E) -> R {
        // `withExtendedLifetime` keeps the object, and so the operands, alive for the call.
        defer { withExtendedLifetime(storage) {} }
        return try body(elements)
    }

    /// The operands, copied: one or two of them, as made.
    var all: [IRExpr] { storage.withUnsafeMutablePointers { count, e in Array(UnsafeBufferPointer(start: e, count: count.pointee)) } }

    private final class Storage: ManagedBuffer<Int, IRExpr> {
        /// Room for `count` operands, which the caller initializes at once.
        static func make(count: Int) -> Storage {
            unsafeDowncast(create(minimumCapacity: count) { _ in count }, to: Storage.self)
        }

        deinit {
            _ = withUnsafeMutablePointers { count, e in e.deinitialize(count: count.pointee) }
        }
    }
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

    /// Whether any of the rarer properties (prompt, default, min, max, pattern, options) is set:
    /// checks that look only at those skip a question without them.
    var hasDetails: Bool { details != nil }

    /// The box of the rarer properties as it is (nil when none is set), for a session that reads
    /// the expressions in place without a generic closure (`Session.questionRequest`).
    var detailsBox: QuestionDetails? { details }

    /// The options of a `choice` or `choices` question (in the details box: other questions have none).
    public var options: [IRExpr] {
        get { details?.options ?? [] }
        set { editDetails { $0.options = newValue } }
    }

    public var prompt: IRExpr? {
        get { details?[.prompt] }
        set { editDetails { $0[.prompt] = newValue } }
    }
    public var defaultValue: IRExpr? {
        get { details?[.defaultValue] }
        set { editDetails { $0[.defaultValue] = newValue } }
    }
    public var min: IRExpr? {
        get { details?[.min] }
        set { editDetails { $0[.min] = newValue } }
    }
    public var max: IRExpr? {
        get { details?[.max] }
        set { editDetails { $0[.max] = newValue } }
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

/// A member expression's base, in place as `IROperands` keeps operands, and its field's name.
public struct IRMember: @unchecked Sendable {
    private let storage: Storage

    init(_ base: consuming IRExpr, _ field: String) {
        storage = unsafeDowncast(Storage.create(minimumCapacity: 1) { _ in field }, to: Storage.self)
        storage.withUnsafeMutablePointerToElements { $0 }.initialize(to: base)
    }

    var field: String { storage.header }
    var base: IRExpr { storage.withUnsafeMutablePointerToElements { $0 }.pointee }

    /// Calls `body` with the base in place.
    @inline(__always) func withBase<R, E: Error>(_ body: (UnsafePointer<IRExpr>) throws(E) -> R) throws(E) -> R {
        defer { withExtendedLifetime(storage) {} }
        return try body(storage.withUnsafeMutablePointerToElements { $0 })
    }

    private final class Storage: ManagedBuffer<String, IRExpr> {
        deinit {
            _ = withUnsafeMutablePointerToElements { $0.deinitialize(count: 1) }
        }
    }
}

extension IRMember: CustomReflectable {
    public var customMirror: Mirror { Mirror(self, children: ["base": base, "field": field]) }
}

extension IROperands: CustomReflectable {
    /// The operands themselves (the tail of a `ManagedBuffer` is not reflected): a dump of a
    /// graph shows them.
    public var customMirror: Mirror { Mirror(self, unlabeledChildren: all, displayStyle: .collection) }
}

/// The rarer properties of a question (`QuestionInfo`). Mutated only through `QuestionInfo`'s
/// setters, which copy it first unless it is uniquely referenced, so a shared box never changes.
final class QuestionDetails: @unchecked Sendable, CustomReflectable {
    /// The prompt, default, min and max that are set, in one array a session reads in place
    /// (`Session.questionRequest`): reading an optional expression out of a class copies it (its payload
    /// retained and released), some seventeen copies for a question with a prompt, min and max.
    private(set) var expressions: [IRExpr] = []
    /// Where each `Slot` is in `expressions`; -1 when not set.
    private(set) var at = SIMD4<Int8>(repeating: -1)
    var pattern: String?
    var patternRange: SourceRange?
    var options: [IRExpr]

    enum Slot: Int {
        case prompt, defaultValue, min, max
    }

    init(prompt: IRExpr? = nil, defaultValue: IRExpr? = nil, min: IRExpr? = nil, max: IRExpr? = nil, pattern: String? = nil,
         patternRange: SourceRange? = nil, options: [IRExpr] = []) {
        self.pattern = pattern
        self.patternRange = patternRange
        self.options = options
        self[.prompt] = prompt
        self[.defaultValue] = defaultValue
        self[.min] = min
        self[.max] = max
    }

    subscript(slot: Slot) -> IRExpr? {
        get {
            let k = at[slot.rawValue]
            return k < 0 ? nil : expressions[Int(k)]
        }
        set {
            let k = at[slot.rawValue]
            guard let e = newValue else {
                // The expression stays in the array, unreachable: a property is unset rarely if ever.
                at[slot.rawValue] = -1
                return
            }
            if k >= 0 {
                expressions[Int(k)] = e
            } else {
                expressions.append(e)
                at[slot.rawValue] = Int8(expressions.count - 1)
            }
        }
    }

    /// The properties by name, as they were stored before `expressions`, for a dump of a graph.
    var customMirror: Mirror {
        Mirror(self, children: ["prompt": self[.prompt] as Any, "defaultValue": self[.defaultValue] as Any, "min": self[.min] as Any,
                                "max": self[.max] as Any, "pattern": pattern as Any, "patternRange": patternRange as Any, "options": options],
               displayStyle: .class)
    }

    func copy() -> QuestionDetails {
        QuestionDetails(prompt: self[.prompt], defaultValue: self[.defaultValue], min: self[.min], max: self[.max], pattern: pattern,
                        patternRange: patternRange, options: options)
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
}

/// The initializers delegate to the memberwise one, which the compiler makes only while none is
/// declared in the type's body: with a body of assignments instead, the optimizer built the value
/// and then copied it out and destroyed the first (callgrind, one flow of 100,000 lone questions:
/// 15.6M instructions for the questions, 16.3M for their pages).
extension QuestionInfo {
    init(name: String, reference: String = "", type: QuestionType, prompt: IRExpr?, defaultValue: IRExpr?, optional: Bool,
         min: IRExpr?, max: IRExpr?, pattern: String?, patternRange: SourceRange? = nil, options: [IRExpr], range: SourceRange) {
        var details: QuestionDetails?
        if prompt != nil || defaultValue != nil || min != nil || max != nil || pattern != nil || patternRange != nil || !options.isEmpty {
            details = QuestionDetails(prompt: prompt, defaultValue: defaultValue, min: min, max: max, pattern: pattern, patternRange: patternRange,
                                      options: options)
        }
        self.init(name: name, reference: reference, details: details, range: range, type: type, optional: optional)
    }
}

extension PageInfo {
    public init(name: String, title: IRExpr?, questions: [QuestionInfo], isLoneQuestion: Bool, range: SourceRange) {
        self.init(name: name, titleBox: title.map { ExprBox($0) }, questions: questions, isLoneQuestion: isLoneQuestion, range: range)
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

extension ElementKind {
    /// Calls `body` with each expression the element holds itself (a page's are in its page
    /// info), in order. `self` is borrowed here, so the payload is not copied: a `switch` on
    /// `elements[i].kind` (or on a kind read through a pointer) copied the whole kind first, and
    /// destroyed it after, for every element of a walk.
    @inline(__always) func forEachExpression(_ body: (IRExpr) -> Void) {
        switch self {
        case .call(let info):
            info.arguments.withUnsafeBufferPointer { arguments in
                for k in arguments.indices { if let a = arguments[k] { body(a) } }
            }
        case .response(let x), .decision(let x): body(x)
        case .set(_, _, let x): body(x)
        case .finish(_, let x?): body(x)
        case .page, .label, .goto, .finish, .end: break
        }
    }

    /// The local a `set` writes, if it is one (read without copying the payload).
    @inline(__always) var assignedLocal: Int? {
        if case .set(.local(let slot), _, _) = self { return slot }
        return nil
    }
}

public enum VariableRef: Sendable, Hashable {
    case local(Int)
    case session(Int)
}

public struct Element: Sendable {
    public var kind: ElementKind
    /// True for elements inside an `on error` block (where `error` is defined). Stored right
    /// after `kind` (57 bytes), in its padding: an element is 80 bytes instead of 88.
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
    /// Whether a check reads what the constant solver knows of this flow's locals: the flow has
    /// a decision or a comparison (`ConstantConditions`, `OptionComparisons`). Set by the
    /// compiler; true unless it found neither.
    var readsLocalFacts = true
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
    /// Flow `index`, read in place: a `FlowGraph` copied out of `flows` is a dozen arrays
    /// retained and released. The pointer stays valid while `flows` is neither changed nor
    /// released: its callers hold the program as a constant (a session, the constant solver).
    @inline(__always) func flow(at index: Int) -> UnsafePointer<FlowGraph> {
        precondition(index >= 0 && index < flows.count, "flow index out of range")
        return flows.withUnsafeBufferPointer { $0.baseAddress! + index }
    }

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

/// A compiled program: its flows' element graphs, its calls' targets, configs, secrets and
/// session variables.
///
/// Design note: a value with its fields in one shared box (copy on write, as the standard
/// library's collections keep theirs). Every session holds its program, and a session is made
/// for each customer: copying eleven fields retained each of their buffers, and releasing them
/// at the session's end released each (the copy alone was 2.75% of `flow-bench sessions`'s
/// instructions, callgrind), where one box is one retain and one release.
public struct Program: Sendable {
    /// The fields, as they were when `Program` held them itself.
    private struct Fields {
        var flows: [FlowGraph] {
            // A page request kept for the flows as they were is not one of these flows'.
            didSet { constantPages = nil }
        }
        var entry: Int
        var integrationPoints: [IntegrationPoint]
        var extensions: [ExtensionInfo]
        var configs: [NamedValue] {
            didSet { literalConfigs = nil }
        }
        var secrets: [NamedValue]
        var sessionVariables: [NamedValue]
        var records: [[(name: String, type: ValueType)]]
        var checkedRanges: Set<SourceRange> = []
        var literalConfigs: [Value]?
        var constantPages: ConstantPages?
    }

    // Unchecked: the box is written only when this value holds the only reference to it
    // (`fields`'s modify), so no two threads ever see one box change.
    private final class Box: @unchecked Sendable {
        var fields: Fields
        init(_ fields: Fields) { self.fields = fields }
    }

    private var box: Box

    private var fields: Fields {
        _read { yield box.fields }
        _modify {
            if !isKnownUniquelyReferenced(&box) { box = Box(box.fields) }
            yield &box.fields
        }
    }

    public init(flows: [FlowGraph], entry: Int, integrationPoints: [IntegrationPoint], extensions: [ExtensionInfo],
                configs: [NamedValue], secrets: [NamedValue], sessionVariables: [NamedValue],
                records: [[(name: String, type: ValueType)]]) {
        box = Box(Fields(flows: flows, entry: entry, integrationPoints: integrationPoints, extensions: extensions,
                         configs: configs, secrets: secrets, sessionVariables: sessionVariables, records: records))
    }

    public var flows: [FlowGraph] {
        _read { yield box.fields.flows }
        _modify { yield &fields.flows }
    }
    /// Index of the entry flow (the first flow of the root file).
    public var entry: Int {
        _read { yield box.fields.entry }
        _modify { yield &fields.entry }
    }
    public var integrationPoints: [IntegrationPoint] {
        _read { yield box.fields.integrationPoints }
        _modify { yield &fields.integrationPoints }
    }
    public var extensions: [ExtensionInfo] {
        _read { yield box.fields.extensions }
        _modify { yield &fields.extensions }
    }
    public var configs: [NamedValue] {
        _read { yield box.fields.configs }
        _modify { yield &fields.configs }
    }
    public var secrets: [NamedValue] {
        _read { yield box.fields.secrets }
        _modify { yield &fields.secrets }
    }
    public var sessionVariables: [NamedValue] {
        _read { yield box.fields.sessionVariables }
        _modify { yield &fields.sessionVariables }
    }
    /// Field names and types of each record type (`ValueType.record(i)`).
    public var records: [[(name: String, type: ValueType)]] {
        _read { yield box.fields.records }
        _modify { yield &fields.records }
    }
    /// Where `flow check` found, before anything runs, what a run would meet (a default the
    /// question refuses, a division by zero): `flow explore` does not report those again.
    public internal(set) var checkedRanges: Set<SourceRange> {
        _read { yield box.fields.checkedRanges }
        _modify { yield &fields.checkedRanges }
    }
    /// The configs' values when every one is a literal (or has none), as a session not given
    /// other values starts with: one array shared by every session, not one made for each.
    /// Set by the compiler (`noteLiteralConfigs`), and dropped when `configs` changes.
    var literalConfigs: [Value]? { box.fields.literalConfigs }

    /// The requests of the pages made only of constants, made once and shared by every session
    /// of the program. Set by the compiler (`noteConstantPages`), and dropped when `flows` changes.
    var constantPages: ConstantPages? { box.fields.constantPages }

    mutating func noteConstantPages() { fields.constantPages = ConstantPages() }

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
        fields.literalConfigs = values
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
