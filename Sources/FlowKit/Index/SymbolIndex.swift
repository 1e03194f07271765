/// Where each name of a compilation is declared and where it is used: for editors (go to
/// definition, references, rename, hover), built by its own pass over the syntax trees.
///
/// Design note: the compiler resolves names to slots and forgets where they were written; this
/// index is a separate, read-only walk over the same syntax trees that follows the compiler's
/// scope rules (see `Expressions.swift`): inside a flow, its variables and parameters, then
/// `error`, then its pages (`Page.Question`, or a lone question's bare name), then configs,
/// secrets and session variables; inside an integration point or extension, its parameters, then
/// the globals. It reports nothing: a name it cannot resolve simply has no occurrence (the
/// compiler's diagnostics say why). A lone `question X` is one symbol (a question) for both parts
/// of `X.X`. A variable bound by `-> result` remembers its callee, so `result.paid` is a use of
/// the callee's `output paid` (for a sub-flow, of its output variable).
///
/// A symbol's identity across compilations is where it is declared (`SymbolID`: the path and the
/// byte offset of its name), so the indexes of several root files can be merged by an editor.

public enum SymbolKind: String, Sendable, CaseIterable {
    case flow
    case page
    case question
    case variable
    case parameter
    case output
    case integrationPoint = "integration point"
    case `extension`
    case label
    case config
    case secret
    case sessionVariable = "session variable"
}

/// A symbol's identity: the file and byte offset of the name where it is declared.
public struct SymbolID: Hashable, Sendable {
    public var path: String
    public var start: UInt32
    public init(path: String, start: UInt32) {
        self.path = path
        self.start = start
    }
}

/// The names a symbol's name must differ from (see `SymbolIndex.clashScopes`).
public enum SymbolScope: Hashable, Sendable {
    /// Configs, secrets and session variables.
    case globals
    case flows, integrationPoints, extensions
    /// A flow's variables, parameters, outputs, pages and lone questions.
    case flow(Int)
    case labels(Int)
    /// The questions of a page.
    case page(Int)
    /// The parameters, or the outputs, of an IP or extension.
    case parameters(Int)
    case outputs(Int)
}

public struct SymbolInfo: Sendable {
    public var id: SymbolID
    public var kind: SymbolKind
    public var name: String
    /// The declaration's name.
    public var declaration: SourceRange
    /// The whole declaration (a flow's body, a page with its questions), for outlines.
    public var extent: SourceRange
    /// The enclosing symbol (a page for a question, a flow for its variables and pages, an IP for
    /// its parameters and outputs).
    public var parent: Int?
    /// Names in the same scope must differ: symbols with equal `scope` clash (and every local of a
    /// flow clashes with the globals too, see `clashScopes`).
    public var scope: SymbolScope
    /// The type as written or as the compiler inferred it (`text`, `currency`), when known.
    public var type: String?
    /// For questions: the prompt. For configs: the value as written.
    public var detail: String?
    /// For IPs, extensions and flows: `Name(a: text, b: number = 1)`.
    public var signature: String?
    public var parameters: [String] = []
    /// For IPs, extensions and flows: their outputs (`paid: bool`).
    public var outputs: [String] = []
    /// For IPs: `POST "{BASE}/v1/charges"`; for extensions: `run "…"`.
    public var request: String?
}

public struct SymbolOccurrence: Sendable {
    public var range: SourceRange
    public var symbol: Int
    public var isDeclaration: Bool
}

public struct SymbolIndex: Sendable {
    public internal(set) var symbols: [SymbolInfo] = []
    /// Sorted by file, then start offset.
    public internal(set) var occurrences: [SymbolOccurrence] = []
    /// For a variable bound by `-> v` to a call: the callee's symbol.
    public internal(set) var boundCallee: [Int: Int] = [:]
    /// The entry flow (the first flow of the root file), if any.
    public internal(set) var entryFlow: Int?
    /// The children of each symbol (`-1`: the top level), in declaration order.
    var childLists: [Int: [Int]] = [:]

    public init() {}

    /// The occurrence whose range holds `offset` (its end included, so a cursor just after a
    /// name finds it).
    public func occurrence(file: FileID, offset: Int) -> SymbolOccurrence? {
        var lo = 0, hi = occurrences.count
        while lo < hi {
            let mid = (lo + hi) / 2
            let o = occurrences[mid]
            if (o.range.file.index, Int(o.range.start)) <= (file.index, offset) { lo = mid + 1 } else { hi = mid }
        }
        var i = lo - 1
        while i >= 0, occurrences[i].range.file == file {
            let o = occurrences[i]
            if Int(o.range.start) <= offset && offset <= Int(o.range.end) { return o }
            if Int(o.range.end) + 4096 < offset { break }
            i -= 1
        }
        return nil
    }

    public func occurrences(of symbol: Int) -> [SymbolOccurrence] { occurrences.filter { $0.symbol == symbol } }

    public func symbol(_ id: SymbolID) -> Int? { symbols.firstIndex { $0.id == id } }

    /// The children of a symbol, in declaration order.
    public func children(of symbol: Int?) -> [Int] { childLists[symbol ?? -1] ?? [] }

    /// The scopes whose names a new name for `symbol` may not take.
    public func clashScopes(_ symbol: Int) -> Set<SymbolScope> {
        let s = symbols[symbol]
        switch s.kind {
        case .variable, .parameter, .output, .page:
            return [s.scope, .globals]
        case .config, .secret, .sessionVariable:
            // A global clashes with every flow's locals.
            return Set(symbols.filter { [.variable, .parameter, .output, .page].contains($0.kind) }.map(\.scope) + [.globals])
        case .question:
            // A lone question is its page too.
            if let p = s.parent, symbols[p].kind == .flow { return [s.scope, .globals] }
            return [s.scope]
        default:
            return [s.scope]
        }
    }

    /// The symbol that clashes with `symbol` renamed to `newName`, if any.
    public func clash(renaming symbol: Int, to newName: String) -> Int? {
        let scopes = clashScopes(symbol)
        return symbols.indices.first { $0 != symbol && symbols[$0].name == newName && scopes.contains(symbols[$0].scope) }
    }

    /// The names visible at a place inside `flow` (a flow symbol), for completion: its locals and
    /// pages, then the globals.
    public func namesInScope(flow: Int?) -> [Int] {
        var result: [Int] = []
        if let flow {
            for i in children(of: flow) where [.variable, .parameter, .output, .page, .question].contains(symbols[i].kind) {
                result.append(i)
            }
        }
        for i in children(of: nil) where [.config, .sessionVariable].contains(symbols[i].kind) { result.append(i) }
        return result
    }

    /// The innermost flow, IP or extension whose declaration holds the offset.
    public func enclosing(file: FileID, offset: Int, kinds: Set<SymbolKind> = [.flow, .integrationPoint, .extension]) -> Int? {
        symbols.indices.last {
            kinds.contains(symbols[$0].kind) && symbols[$0].extent.file == file
                && Int(symbols[$0].extent.start) <= offset && offset <= Int(symbols[$0].extent.end)
        }
    }

    /// The outputs reachable as `variable.output` for a variable bound to a call.
    public func outputs(ofCallee callee: Int) -> [Int] {
        switch symbols[callee].kind {
        case .integrationPoint, .extension, .flow: children(of: callee).filter { symbols[$0].kind == .output }
        default: []
        }
    }

    /// The parameters of an IP, extension or flow, in order.
    public func parameters(of callee: Int) -> [Int] {
        children(of: callee).filter { symbols[$0].kind == .parameter }
    }

    /// Builds the index of a compilation: `files` are its syntax trees (the root first), `program`
    /// what the compiler made of them (for inferred types; may come from a run with errors).
    public static func build(files: [SourceFileSyntax], sources: SourceManager, program: Program?) -> SymbolIndex {
        let b = IndexBuilder(sources: sources, program: program)
        b.run(files)
        return b.finish()
    }

    /// Adds a test plan's uses of the flow's names (the plan file must be in the same sources).
    public mutating func addPlan(_ plan: PlanSyntax, sources: SourceManager) {
        let b = IndexBuilder(sources: sources, program: nil)
        b.index = self
        b.occurrenceList = occurrences
        b.plan(plan)
        self = b.finish()
    }
}

final class IndexBuilder {
    let sources: SourceManager
    let program: Program?
    var index = SymbolIndex()
    var occurrenceList: [SymbolOccurrence] = []
    var ips: [String: Int] = [:]
    var extensions: [String: Int] = [:]
    var flows: [String: Int] = [:]
    var globals: [String: Int] = [:]
    // The scope being walked.
    var locals: [String: Int] = [:]
    var pages: [String: (page: Int, questions: [String: Int])] = [:]
    var labels: [String: Int] = [:]
    var currentFlow: Int?

    init(sources: SourceManager, program: Program?) {
        self.sources = sources
        self.program = program
    }

    func finish() -> SymbolIndex {
        occurrenceList.sort { ($0.range.file.index, $0.range.start, $0.range.end) < ($1.range.file.index, $1.range.start, $1.range.end) }
        index.occurrences = occurrenceList
        return index
    }

    func text(_ r: SourceRange) -> String { sources[r.file].text(r) }

    @discardableResult
    func declare(_ kind: SymbolKind, _ name: Name, extent: SourceRange? = nil, parent: Int?, scope: SymbolScope, type: String? = nil) -> Int {
        let id = SymbolID(path: sources[name.range.file].path, start: name.range.start)
        let i = index.symbols.count
        index.symbols.append(SymbolInfo(id: id, kind: kind, name: name.text, declaration: name.range, extent: extent ?? name.range,
                                        parent: parent, scope: scope, type: type))
        index.childLists[parent ?? -1, default: []].append(i)
        occurrenceList.append(SymbolOccurrence(range: name.range, symbol: i, isDeclaration: true))
        return i
    }

    func use(_ symbol: Int?, _ range: SourceRange) {
        guard let symbol else { return }
        occurrenceList.append(SymbolOccurrence(range: range, symbol: symbol, isDeclaration: false))
    }

    static func parameterText(_ p: Parameter, _ text: (SourceRange) -> String) -> String {
        var s = p.name.text
        if let t = p.type { s += ": \(t.name)" }
        if let d = p.defaultValue { s += " = \(text(d.range))" }
        return s
    }

    // MARK: - Declarations

    func run(_ files: [SourceFileSyntax]) {
        var ipDecls: [(Int, IPDecl)] = [], extDecls: [(Int, ExtensionDecl)] = [], flowDecls: [(Int, FlowDecl)] = []
        var configValues: [Expr] = []
        var variableDefaults: [Expr] = []
        for (fileNumber, file) in files.enumerated() {
            for d in file.declarations {
                switch d {
                case .import: break
                case .config(let name, let value, let range):
                    let i = declare(.config, name, extent: range, parent: nil, scope: .globals)
                    index.symbols[i].detail = text(value.range)
                    if globals[name.text] == nil { globals[name.text] = i }
                    configValues.append(value)
                case .secret(let name, let range):
                    let i = declare(.secret, name, extent: range, parent: nil, scope: .globals, type: "secure text")
                    if globals[name.text] == nil { globals[name.text] = i }
                case .variable(let p):
                    let i = declare(.sessionVariable, p.name, extent: p.range, parent: nil, scope: .globals, type: p.type?.name)
                    if globals[p.name.text] == nil { globals[p.name.text] = i }
                    if let v = p.defaultValue { variableDefaults.append(v) }
                case .ip(let ip):
                    let i = declare(.integrationPoint, ip.name, extent: ip.range, parent: nil, scope: .integrationPoints)
                    if ips[ip.name.text] == nil { ips[ip.name.text] = i }
                    declareMembers(i, ip.name.text, ip.parameters, ip.outputs)
                    var request: String?
                    if ip.isSOAP {
                        request = "SOAP" + (ip.soapVersion.map { " \($0)" } ?? "") + (ip.url.map { " \(text($0.range))" } ?? "")
                    } else if let m = ip.method {
                        request = m.rawValue + (ip.url.map { " \(text($0.range))" } ?? "")
                    }
                    index.symbols[i].request = request
                    ipDecls.append((i, ip))
                case .extension(let e):
                    let i = declare(.extension, e.name, extent: e.range, parent: nil, scope: .extensions)
                    if extensions[e.name.text] == nil { extensions[e.name.text] = i }
                    declareMembers(i, e.name.text, e.parameters, e.outputs)
                    index.symbols[i].request = e.command.map { "run \(text($0.range))" }
                    extDecls.append((i, e))
                case .flow(let f):
                    let i = declare(.flow, f.name, extent: f.range, parent: nil, scope: .flows)
                    if flows[f.name.text] == nil { flows[f.name.text] = i }
                    if fileNumber == 0 && index.entryFlow == nil { index.entryFlow = i }
                    signature(i, f.name.text, f.parameters, [], outputParameters: f.outputs)
                    // Parameters and outputs are the flow's first variables; callers see them.
                    for p in f.parameters { declare(.parameter, p.name, extent: p.range, parent: i, scope: .flow(i), type: p.type?.name) }
                    for p in f.outputs { declare(.output, p.name, extent: p.range, parent: i, scope: .flow(i), type: p.type?.name) }
                    flowDecls.append((i, f))
                }
            }
        }
        locals = [:]
        for v in configValues + variableDefaults { expr(v) }
        for (i, ip) in ipDecls { ipBody(i, ip) }
        for (i, e) in extDecls {
            scopeOfParameters(i, e.parameters)
            if let c = e.command { expr(c) }
            if let t = e.timeout { expr(t) }
        }
        for (i, f) in flowDecls { flowBody(i, f) }
        inferTypes()
    }

    /// The signature, parameters and outputs of an IP or an extension (symbol `i`), which declare
    /// them alike.
    func declareMembers(_ i: Int, _ name: String, _ parameters: [Parameter], _ outputs: [OutputDecl]) {
        signature(i, name, parameters, outputs.map { o in o.name.text + (o.type.map { ": \($0.name)" } ?? "") }, outputParameters: nil)
        for p in parameters { declare(.parameter, p.name, extent: p.range, parent: i, scope: .parameters(i), type: p.type?.name) }
        for o in outputs { declare(.output, o.name, extent: o.range, parent: i, scope: .outputs(i), type: o.type?.name) }
    }

    func signature(_ i: Int, _ name: String, _ params: [Parameter], _ outs: [String], outputParameters: [Parameter]?) {
        let ps = params.map { Self.parameterText($0, text) }
        let os = outputParameters.map { $0.map { Self.parameterText($0, text) } } ?? outs
        index.symbols[i].parameters = ps
        index.symbols[i].outputs = os
        var sig = "\(name)(\(ps.joined(separator: ", ")))"
        if !os.isEmpty { sig += " -> (\(os.joined(separator: ", ")))" }
        index.symbols[i].signature = sig
    }

    /// Parameters of an IP or extension as the scope of its request; their defaults see the globals only.
    func scopeOfParameters(_ owner: Int, _ params: [Parameter]) {
        locals = [:]
        for p in params { if let d = p.defaultValue { expr(d) } }
        for c in index.children(of: owner) where index.symbols[c].kind == .parameter && locals[index.symbols[c].name] == nil {
            locals[index.symbols[c].name] = c
        }
    }

    func ipBody(_ i: Int, _ ip: IPDecl) {
        scopeOfParameters(i, ip.parameters)
        defer { locals = [:] }
        for e in [ip.url, ip.action, ip.timeout, ip.retry].compactMap({ $0 }) { expr(e) }
        for kv in ip.query + ip.headers { expr(kv.value) }
        switch ip.body {
        case .form(let kvs)?: for kv in kvs { expr(kv.value) }
        case .json(let e)?, .raw(let e)?: expr(e)
        case .soap(let elements)?: soap(elements)
        case nil: break
        }
        switch ip.auth {
        case .bearer(let n)?: use(globals[n.text], n.range)
        case .basic(let user, let password)?:
            expr(user)
            use(globals[password.text], password.range)
        case nil: break
        }
    }

    func soap(_ elements: [XMLElementSpec]) {
        for e in elements {
            switch e.content {
            case .value(let v): expr(v)
            case .children(let c): soap(c)
            }
        }
    }

    // MARK: - Flows

    func flowBody(_ i: Int, _ f: FlowDecl) {
        currentFlow = i
        locals = [:]
        pages = [:]
        labels = [:]
        defer { currentFlow = nil; locals = [:]; pages = [:]; labels = [:] }
        for c in index.children(of: i) where locals[index.symbols[c].name] == nil { locals[index.symbols[c].name] = c }
        // Defaults of parameters see the globals only (as the compiler compiles them).
        let saved = locals
        locals = [:]
        for p in f.parameters { if let d = p.defaultValue { expr(d) } }
        locals = saved
        collect(f.body, flow: i)
        block(f.body)
    }

    func local(_ name: Name, flow: Int) -> Int {
        if let s = locals[name.text] {
            use(s, name.range)
            return s
        }
        let s = declare(.variable, name, parent: flow, scope: .flow(flow))
        locals[name.text] = s
        return s
    }

    /// Declares pages, questions, variables and labels before the walk, as the compiler does.
    func collect(_ statements: [Statement], flow: Int) {
        for st in statements {
            switch st.kind {
            case .question(let q):
                guard pages[q.name.text] == nil else { continue }
                let qi = declare(.question, q.name, extent: q.range, parent: flow, scope: .flow(flow), type: q.type.rawValue)
                question(qi, q)
                pages[q.name.text] = (qi, [q.name.text: qi])
            case .page(let page):
                guard pages[page.name.text] == nil else { continue }
                let pi = declare(.page, page.name, extent: page.range, parent: flow, scope: .flow(flow))
                var qs: [String: Int] = [:]
                for q in page.questions where qs[q.name.text] == nil {
                    let qi = declare(.question, q.name, extent: q.range, parent: pi, scope: .page(pi), type: q.type.rawValue)
                    question(qi, q)
                    qs[q.name.text] = qi
                }
                pages[page.name.text] = (pi, qs)
            case .set(let target, _, _):
                if globals[target.text] == nil && pages[target.text] == nil && locals[target.text] == nil {
                    locals[target.text] = declare(.variable, target, parent: flow, scope: .flow(flow))
                    occurrenceList.removeLast()  // the walk records it
                }
            case .call(let c):
                var names: [Name] = []
                switch c.binding {
                case .variable(let v)?: names = [v]
                case .mapping(let pairs)?: names = pairs.map(\.variable)
                case nil: break
                }
                for n in names where globals[n.text] == nil && pages[n.text] == nil && locals[n.text] == nil {
                    locals[n.text] = declare(.variable, n, parent: flow, scope: .flow(flow))
                    occurrenceList.removeLast()
                }
                if case .block(let body, _)? = c.onError { collect(body, flow: flow) }
            case .decision(let branches, let otherwise):
                for b in branches { collect(b.body, flow: flow) }
                if let otherwise { collect(otherwise, flow: flow) }
            case .label(let name):
                if labels[name.text] == nil {
                    labels[name.text] = declare(.label, name, parent: flow, scope: .labels(flow))
                    occurrenceList.removeLast()
                }
            case .response, .goto, .finish: break
            }
        }
    }

    func question(_ qi: Int, _ q: Question) {
        if let prompt = q.properties.first(where: { $0.kind == .prompt })?.values.first {
            switch prompt.kind {
            case .string(let s): index.symbols[qi].detail = s
            default: index.symbols[qi].detail = text(prompt.range)
            }
        }
    }

    /// A name written where a variable is set: the variable's first setting is its declaration.
    func setTarget(_ n: Name) {
        if let g = globals[n.text], locals[n.text] == nil {
            use(g, n.range)
            return
        }
        guard let s = locals[n.text] else { return }
        let isFirst = index.symbols[s].declaration == n.range
        occurrenceList.append(SymbolOccurrence(range: n.range, symbol: s, isDeclaration: isFirst))
    }

    func block(_ statements: [Statement]) {
        for st in statements { statement(st) }
    }

    func statement(_ st: Statement) {
        switch st.kind {
        case .page(let page):
            if let t = page.title { expr(t) }
            if let pi = pages[page.name.text]?.page, index.symbols[pi].declaration != page.name.range {
                return  // a duplicate page: the compiler reports it
            }
            for q in page.questions { for p in q.properties { for v in p.values { expr(v) } } }
        case .question(let q):
            for p in q.properties { for v in p.values { expr(v) } }
        case .call(let c):
            call(c)
        case .response(let e):
            expr(e)
        case .set(let target, _, let value):
            expr(value)
            setTarget(target)
        case .decision(let branches, let otherwise):
            for b in branches {
                expr(b.condition)
                block(b.body)
            }
            if let otherwise { block(otherwise) }
        case .label(let name):
            if let l = labels[name.text] {
                occurrenceList.append(SymbolOccurrence(range: name.range, symbol: l, isDeclaration: index.symbols[l].declaration == name.range))
            }
        case .goto(let name):
            use(labels[name.text], name.range)
        case .finish(_, let reason):
            if let reason { expr(reason) }
        }
    }

    func callee(_ kind: CallKind, _ name: String) -> Int? {
        switch kind {
        case .ip: ips[name]
        case .extension: extensions[name]
        case .flow: flows[name]
        }
    }

    func call(_ c: CallStatement) {
        let target = callee(c.kind, c.callee.text)
        use(target, c.callee.range)
        let params = target.map { index.parameters(of: $0) } ?? []
        for a in c.arguments {
            if let label = a.label {
                use(params.first { index.symbols[$0].name == label.text }, label.range)
            }
            expr(a.value)
        }
        switch c.binding {
        case .variable(let v)?:
            setTarget(v)
            if let target, let s = locals[v.text] { index.boundCallee[s] = target }
        case .mapping(let pairs)?:
            let outs = target.map { index.outputs(ofCallee: $0) } ?? []
            for pair in pairs {
                use(outs.first { index.symbols[$0].name == pair.output.text }, pair.output.range)
                setTarget(pair.variable)
            }
        case nil: break
        }
        switch c.onError {
        case .block(let body, _)?: block(body)
        case .goto(let label)?: use(labels[label.text], label.range)
        case nil: break
        }
    }

    // MARK: - Expressions

    /// Resolves the first name of a path; returns its symbol.
    @discardableResult
    func name(_ n: Name) -> Int? {
        if let s = locals[n.text] {
            use(s, n.range)
            return s
        }
        if n.text == "error" { return nil }
        if let p = pages[n.text] {
            use(p.page, n.range)
            return p.page
        }
        if let g = globals[n.text] {
            use(g, n.range)
            return g
        }
        return nil
    }

    func expr(_ e: Expr) {
        switch e.kind {
        case .string, .number, .bool, .null, .error: break
        case .template(let parts):
            for p in parts { if case .expr(let x) = p { expr(x) } }
        case .name(let text):
            name(Name(text, e.range))
        case .member(let base, let field):
            if let n = base.name {
                if locals[n.text] == nil, let page = pages[n.text] {
                    use(page.page, n.range)
                    use(page.questions[field.text], field.range)
                    return
                }
                if let s = name(n), let callee = index.boundCallee[s] {
                    use(index.outputs(ofCallee: callee).first { index.symbols[$0].name == field.text }, field.range)
                }
                return
            }
            expr(base)
        case .index(let base, let i):
            expr(base)
            expr(i)
        case .call(_, let args):
            for a in args { expr(a.value) }
        case .unary(_, let x):
            expr(x)
        case .binary(_, let a, let b):
            expr(a)
            expr(b)
        case .list(let items):
            for x in items { expr(x) }
        case .object(let fields):
            for f in fields { expr(f.value) }
        }
    }

    // MARK: - Types the compiler inferred

    func inferTypes() {
        guard let program else { return }
        var flowByName: [String: FlowGraph] = [:]
        for f in program.flows where flowByName[f.name] == nil { flowByName[f.name] = f }
        for i in index.symbols.indices where index.symbols[i].type == nil {
            let s = index.symbols[i]
            switch s.kind {
            case .variable:
                guard let parent = s.parent, let f = flowByName[index.symbols[parent].name],
                      let slot = f.variables.firstIndex(of: s.name), slot < f.variableTypes.count else { continue }
                index.symbols[i].type = f.variableTypes[slot].description
            case .config:
                if let c = program.configs.first(where: { $0.name == s.name }) { index.symbols[i].type = c.type.description }
            case .sessionVariable:
                if let v = program.sessionVariables.first(where: { $0.name == s.name }) { index.symbols[i].type = v.type.description }
            default: break
            }
        }
    }

    // MARK: - Test plans

    func plan(_ plan: PlanSyntax) {
        for s in index.symbols.indices where index.symbols[s].parent == nil {
            let sym = index.symbols[s]
            switch sym.kind {
            case .integrationPoint: if ips[sym.name] == nil { ips[sym.name] = s }
            case .extension: if extensions[sym.name] == nil { extensions[sym.name] = s }
            case .flow: if flows[sym.name] == nil { flows[sym.name] = s }
            case .config, .secret, .sessionVariable: if globals[sym.name] == nil { globals[sym.name] = s }
            default: break
            }
        }
        for item in plan.settings { planItem(item, flow: index.entryFlow) }
        for test in plan.tests {
            var flow = index.entryFlow
            for item in test.items {
                if case .flow(let n) = item.kind, let f = flows[n.text] { flow = f }
            }
            for item in test.items { planItem(item, flow: flow) }
        }
    }

    func planItem(_ item: PlanItem, flow: Int?) {
        func localOf(_ flow: Int?, _ name: String) -> Int? {
            guard let flow else { return nil }
            return index.symbols.indices.first {
                index.symbols[$0].parent == flow && index.symbols[$0].name == name
                    && [.variable, .parameter, .output].contains(index.symbols[$0].kind)
            }
        }
        func pageNamed(_ name: String) -> Int? {
            // The flow under test first, then any flow (a sub-flow's pages are asked too).
            let candidates = index.symbols.indices.filter {
                let s = index.symbols[$0]
                return s.name == name && (s.kind == .page || (s.kind == .question && s.parent.map { index.symbols[$0].kind == .flow } == true))
            }
            return candidates.first { index.symbols[$0].parent == flow } ?? candidates.first
        }
        /// `Page.Question` (or a lone question alone) in `answer` and `expect refused`.
        func answer(_ page: Name?, _ q: Name) {
            if let page {
                let p = pageNamed(page.text)
                use(p, page.range)
                if let p {
                    if index.symbols[p].kind == .question {
                        if q.text == page.text { use(p, q.range) }
                    } else {
                        use(index.children(of: p).first { index.symbols[$0].name == q.text }, q.range)
                    }
                }
            } else if let p = pageNamed(q.text), index.symbols[p].kind == .question {
                use(p, q.range)
            }
        }
        switch item.kind {
        case .today: break
        case .config(let n, let v):
            use(globals[n.text], n.range)
            expr(v)
        case .flow(let n):
            use(flows[n.text], n.range)
        case .argument(let n, let v):
            use(flow.flatMap { f in index.parameters(of: f).first { index.symbols[$0].name == n.text } }, n.range)
            expr(v)
        case .answer(let page, let q, let v):
            answer(page, q)
            expr(v)
        case .result(let n, let v, _):
            use(ips[n.text] ?? extensions[n.text] ?? flows[n.text], n.range)
            expr(v)
        case .expect(let e):
            switch e {
            case .response, .outcome: break
            case .called(let n, let args, _, _):
                let target = ips[n.text] ?? extensions[n.text] ?? flows[n.text]
                use(target, n.range)
                for a in args ?? [] {
                    if let label = a.label, let target {
                        use(index.parameters(of: target).first { index.symbols[$0].name == label.text }, label.range)
                    }
                    expr(a.value)
                }
            case .variable(let n, let v):
                use(localOf(flow, n.text), n.range)
                expr(v)
            case .refused(let page, let q, let v, _, _):
                answer(page, q)
                expr(v)
            }
        }
    }
}
