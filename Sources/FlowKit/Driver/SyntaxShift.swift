/// Moves syntax trees and diagnostics by a number of bytes: what an edit before them does to their
/// ranges (`IncrementalParse` reuses the trees of the declarations an edit did not touch).
///
/// Design note: every `SourceRange` of every node is rewritten; the walk follows `AST.swift` case
/// by case, so a node type added there must be added here too (the random-edit test of the
/// language server compares every result with a full parse and would show a range left behind).
struct SyntaxShift {
    let delta: Int

    @inline(__always)
    func r(_ x: SourceRange) -> SourceRange {
        var y = x
        y.start = UInt32(truncatingIfNeeded: Int(x.start) + delta)
        y.end = UInt32(truncatingIfNeeded: Int(x.end) + delta)
        return y
    }

    func r(_ x: SourceRange?) -> SourceRange? { x.map { r($0) } }

    func name(_ n: Name) -> Name { Name(n.text, r(n.range)) }

    func diagnostic(_ d: Diagnostic) -> Diagnostic {
        var d = d
        d.range = r(d.range)
        d.notes = d.notes.map { note in
            var note = note
            if let nr = note.range, nr.file == d.range.file { note.range = r(nr) }
            return note
        }
        return d
    }

    // MARK: - Expressions

    func expr(_ e: Expr) -> Expr { Expr(kind(e.kind), r(e.range)) }

    func kind(_ k: ExprKind) -> ExprKind {
        switch k {
        case .string, .number, .bool, .null, .error, .name: return k
        case .template(let parts):
            return .template(parts.map { p in
                if case .expr(let e) = p { return .expr(expr(e)) }
                return p
            })
        case .member(let base, let n): return .member(expr(base), name(n))
        case .index(let base, let i): return .index(expr(base), expr(i))
        case .call(let n, let args): return .call(name(n), args.map(argument))
        case .unary(let op, let e): return .unary(op, expr(e))
        case .binary(let op, let a, let b): return .binary(op, expr(a), expr(b))
        case .list(let items): return .list(items.map(expr))
        case .object(let fields):
            return .object(fields.map { f in ObjectField(key: f.key, keyRange: r(f.keyRange), value: expr(f.value)) })
        }
    }

    func argument(_ a: Argument) -> Argument {
        Argument(label: a.label.map(name), value: expr(a.value), range: r(a.range))
    }

    func type(_ t: TypeRef) -> TypeRef { TypeRef(name: t.name, range: r(t.range)) }

    func parameter(_ p: Parameter) -> Parameter {
        Parameter(name: name(p.name), type: p.type.map(type), defaultValue: p.defaultValue.map(expr), range: r(p.range))
    }

    // MARK: - Statements

    func statement(_ s: Statement) -> Statement { Statement(kind: kind(s.kind), range: r(s.range)) }

    func statements(_ s: [Statement]) -> [Statement] { s.map(statement) }

    func kind(_ k: StatementKind) -> StatementKind {
        switch k {
        case .page(let p): return .page(page(p))
        case .question(let q): return .question(question(q))
        case .call(let c): return .call(call(c))
        case .response(let e): return .response(expr(e))
        case .set(let target, let op, let value): return .set(target: name(target), op: op, value: expr(value))
        case .decision(let branches, let otherwise):
            return .decision(branches: branches.map { c in
                Conditional(condition: expr(c.condition), body: statements(c.body), range: r(c.range))
            }, otherwise: otherwise.map(statements))
        case .label(let n): return .label(name(n))
        case .goto(let n): return .goto(name(n))
        case .finish(let success, let reason): return .finish(success: success, reason: reason.map(expr))
        }
    }

    func page(_ p: Page) -> Page {
        Page(name: name(p.name), title: p.title.map(expr), questions: p.questions.map(question), range: r(p.range))
    }

    func question(_ q: Question) -> Question {
        Question(name: name(q.name), type: q.type, typeRange: r(q.typeRange),
                 properties: q.properties.map { QuestionProperty(kind: $0.kind, values: $0.values.map(expr), range: r($0.range)) },
                 range: r(q.range))
    }

    func call(_ c: CallStatement) -> CallStatement {
        var c = c
        c.callee = name(c.callee)
        c.arguments = c.arguments.map(argument)
        c.argumentsRange = r(c.argumentsRange)
        switch c.binding {
        case .variable(let n)?: c.binding = .variable(name(n))
        case .mapping(let pairs)?: c.binding = .mapping(pairs.map { (output: name($0.output), variable: name($0.variable)) })
        case nil: break
        }
        switch c.onError {
        case .block(let body, let range)?: c.onError = .block(statements(body), range: r(range))
        case .goto(let n)?: c.onError = .goto(name(n))
        case nil: break
        }
        return c
    }

    // MARK: - Declarations

    func keyValue(_ kv: KeyValue) -> KeyValue { KeyValue(key: kv.key, keyRange: r(kv.keyRange), value: expr(kv.value)) }

    func xml(_ x: XMLElementSpec) -> XMLElementSpec {
        var x = x
        x.range = r(x.range)
        switch x.content {
        case .value(let e): x.content = .value(expr(e))
        case .children(let c): x.content = .children(c.map(xml))
        }
        return x
    }

    func output(_ o: OutputDecl) -> OutputDecl {
        var o = o
        o.name = name(o.name)
        o.type = o.type.map(type)
        switch o.source {
        case .json(let s, let range)?: o.source = .json(s, r(range))
        case .xml(let s, let range)?: o.source = .xml(s, r(range))
        case .header(let s, let range)?: o.source = .header(s, r(range))
        case .status?, .text?, nil: break
        }
        o.range = r(o.range)
        return o
    }

    func ip(_ d: IPDecl) -> IPDecl {
        var d = d
        d.name = name(d.name)
        d.parameters = d.parameters.map(parameter)
        d.url = d.url.map(expr)
        d.action = d.action.map(expr)
        d.namespaces = d.namespaces.map { (prefix: $0.prefix, uri: $0.uri, range: r($0.range)) }
        d.query = d.query.map(keyValue)
        d.headers = d.headers.map(keyValue)
        switch d.body {
        case .form(let kvs)?: d.body = .form(kvs.map(keyValue))
        case .json(let e)?: d.body = .json(expr(e))
        case .raw(let e)?: d.body = .raw(expr(e))
        case .soap(let x)?: d.body = .soap(x.map(xml))
        case nil: break
        }
        switch d.auth {
        case .bearer(let n)?: d.auth = .bearer(name(n))
        case .basic(let user, let password)?: d.auth = .basic(user: expr(user), password: name(password))
        case nil: break
        }
        d.timeout = d.timeout.map(expr)
        d.retry = d.retry.map(expr)
        d.outputs = d.outputs.map(output)
        d.range = r(d.range)
        d.safetyRange = r(d.safetyRange)
        d.methodRange = r(d.methodRange)
        d.bodyRange = r(d.bodyRange)
        return d
    }

    func extensionDecl(_ d: ExtensionDecl) -> ExtensionDecl {
        var d = d
        d.name = name(d.name)
        d.parameters = d.parameters.map(parameter)
        d.command = d.command.map(expr)
        d.timeout = d.timeout.map(expr)
        d.outputs = d.outputs.map(output)
        d.range = r(d.range)
        d.safetyRange = r(d.safetyRange)
        d.web = d.web.map(expr)
        return d
    }

    func flow(_ d: FlowDecl) -> FlowDecl {
        FlowDecl(name: name(d.name), parameters: d.parameters.map(parameter), outputs: d.outputs.map(parameter),
                 body: statements(d.body), range: r(d.range), endRange: r(d.endRange))
    }

    func declaration(_ d: Declaration) -> Declaration {
        switch d {
        case .import(let path, let range): return .import(path: path, range: r(range))
        case .config(let n, let value, let range): return .config(name: name(n), value: expr(value), range: r(range))
        case .secret(let n, let range): return .secret(name: name(n), range: r(range))
        case .variable(let p): return .variable(parameter(p))
        case .ip(let d): return .ip(ip(d))
        case .extension(let d): return .extension(extensionDecl(d))
        case .flow(let d): return .flow(flow(d))
        }
    }
}

/// Moves what the compiler made of one flow (`FlowCache`'s entry: its graph, diagnostics and call
/// edges) by a number of bytes, as `SyntaxShift` moves syntax: the flow's declaration is the same
/// bytes further on (an edit before it), so lowering it again would give the same with every range
/// moved.
///
/// Design note: every `SourceRange` of the graph is rewritten; the walk follows `Program.swift`
/// type by type, so a field added there must be added here too (the random-edit test compares a
/// dump of every flow with a full compile's). A range found outside the declaration (which an
/// edit may not have moved) spoils the move: `moved` says so and the flow is lowered again.
final class GraphShift {
    let delta: Int
    let file: FileID
    /// The declaration before the move.
    let start: UInt32, end: UInt32
    /// Whether a range outside the declaration was met.
    private(set) var outside = false

    init(delta: Int, file: FileID, start: UInt32, end: UInt32) {
        self.delta = delta
        self.file = file
        self.start = start
        self.end = end
    }

    @inline(__always)
    func r(_ x: SourceRange) -> SourceRange {
        if x.file != file || x.start < start || x.end > end { outside = true }
        var y = x
        y.start = UInt32(truncatingIfNeeded: Int(x.start) + delta)
        y.end = UInt32(truncatingIfNeeded: Int(x.end) + delta)
        return y
    }

    func diagnostic(_ d: Diagnostic) -> Diagnostic {
        var d = d
        d.range = r(d.range)
        d.notes = d.notes.map { note in
            var note = note
            if let nr = note.range { note.range = r(nr) }
            return note
        }
        return d
    }

    func callEdge(_ e: CallEdge) -> CallEdge { CallEdge(caller: e.caller, callee: e.callee, range: r(e.range)) }

    func expr(_ e: IRExpr) -> IRExpr { IRExpr(kind: kind(e.kind), type: e.type, range: r(e.range)) }

    func expr(_ e: IRExpr?) -> IRExpr? { e.map { expr($0) } }

    func kind(_ k: IRKind) -> IRKind {
        switch k {
        case .constant, .local, .session, .answer, .config, .secret, .error, .invalid: return k
        case .template(let parts): return .template(parts.map(expr))
        case .member(let m): return .member(expr(m.base), m.field)
        case .index(let bi): return .index(expr(bi.first), expr(bi.second))
        case .builtin(let b, let args): return .builtin(b, args.map(expr))
        case .unary(let op, let e): return .unary(op, expr(e.first))
        case .binary(let op, let ab): return .binary(op, expr(ab.first), expr(ab.second))
        case .list(let items): return .list(items.map(expr))
        case .object(let fields): return .object(fields.map { ($0.0, expr($0.1)) })
        }
    }

    func element(_ e: Element) -> Element {
        var e = e
        e.range = r(e.range)
        switch e.kind {
        case .page, .label, .goto, .end, .finish(_, nil): break
        case .call(var info):
            info.arguments = info.arguments.map(expr)
            e.kind = .call(info)
        case .response(let x): e.kind = .response(expr(x))
        case .set(let slot, let op, let value): e.kind = .set(slot: slot, op: op, value: expr(value))
        case .decision(let x): e.kind = .decision(expr(x))
        case .finish(let success, let reason?): e.kind = .finish(success: success, reason: expr(reason))
        }
        return e
    }

    func question(_ q: QuestionInfo) -> QuestionInfo {
        var q = q
        q.range = r(q.range)
        // Only what is set: setting a property of a question without details would add some.
        if !q.options.isEmpty { q.options = q.options.map(expr) }
        if let e = q.prompt { q.prompt = expr(e) }
        if let e = q.defaultValue { q.defaultValue = expr(e) }
        if let e = q.min { q.min = expr(e) }
        if let e = q.max { q.max = expr(e) }
        if let p = q.patternRange { q.patternRange = r(p) }
        return q
    }

    func page(_ p: PageInfo) -> PageInfo {
        var p = p
        p.range = r(p.range)
        p.title = expr(p.title)
        p.questions = p.questions.map(question)
        return p
    }

    func parameter(_ p: ParameterInfo) -> ParameterInfo {
        var p = p
        p.range = r(p.range)
        p.defaultValue = expr(p.defaultValue)
        return p
    }

    func graph(_ g: FlowGraph) -> FlowGraph {
        var g = g
        g.range = r(g.range)
        g.elements = g.elements.map(element)
        g.parameters = g.parameters.map(parameter)
        g.outputs = g.outputs.map(parameter)
        g.pages = g.pages.map(page)
        return g
    }
}
