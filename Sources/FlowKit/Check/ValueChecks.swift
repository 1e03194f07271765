/// Runs the checks that need to know values before anything runs (`ConstantEvaluator`): question
/// rules, comparisons with options, conditions decided by constants, division by zero, currency
/// literals, and texts sent in headers and URLs. Each check is its own type in its own file.
///
/// Design note: a problem that follows from literals alone is an error. One that follows from a
/// config's declared value is a warning, since `--define` could change it; its notes name each
/// config involved, at its declaration.
struct ValueChecks {
    /// The program, read and not written while the checks run. A reference of its own for each
    /// thread, not the builder: the checks copy this for every expression, and two threads
    /// counting references on one object slow each other.
    let view: ProgramView
    let values: ConstantEvaluator
    /// What these checks report and the ranges they checked, added to the builder's at the end.
    let out: CheckOutput
    /// Whether the flows' checks are shared with a second thread (see `shared(_:)`).
    let shared: Bool

    /// `shared`: `ValueChecks.shared(program.flows)` when the work may be shared, else false.
    init(_ builder: ProgramBuilder, shared: Bool) {
        self.init(view: ProgramView(builder.program), values: ConstantEvaluator(program: builder.program), out: CheckOutput(),
                  shared: shared)
    }

    private init(view: ProgramView, values: ConstantEvaluator, out: CheckOutput, shared: Bool) {
        self.view = view
        self.values = values
        self.out = out
        self.shared = shared
    }

    /// Runs every check and adds what they found to `builder`.
    func run(into builder: ProgramBuilder) {
        // Only decisions and comparisons read what is known of locals: a program without any
        // (one long flow of `set`s, say) does not solve for them.
        let solves = program.flows.contains(where: \.readsLocalFacts)
        // The question rules read literals and configs, never what a local holds: when the
        // flows' checks are shared, a second thread checks every flow's rules while this one
        // solves, where it sat idle (the solver is one thread's work). Each flow's findings are
        // put in place when its other checks run (`checkFlows`), the order one thread gives.
        // Their evaluator is one of their own, never solved: a read of a local's facts there
        // would stop a debug build (`known(at:flow:)`).
        var rules: QuestionRuleFindings?
        if solves && shared {
            let found = QuestionRuleFindings()
            let checker = ValueChecks(view: ProgramView(program), values: ConstantEvaluator(program: program), out: CheckOutput(),
                                      shared: false)
            let count = program.flows.count
            SecondThread.run({
                found.marks.reserveCapacity(count + 1)
                for f in 0..<count {
                    QuestionRules(checks: checker, flow: f).check()
                    found.marks.append(checker.out.diagnostics.count)
                }
            }, alongside: { values.solve() })
            found.diagnostics = checker.out.diagnostics
            out.checkedRanges.formUnion(checker.out.checkedRanges)
            rules = found
        } else if solves {
            values.solve()
        }
        for i in program.integrationPoints.indices {
            RequestTexts(checks: self, ip: i).check()
            for e in program.integrationPoints[i].lowered.values.sorted(by: { $0.range.start < $1.range.start }) {
                visit(e) { DivisionByZero(checks: self).check($0) }
            }
        }
        for c in program.configs { if let e = c.value { visit(e) { DivisionByZero(checks: self).check($0) } } }
        if shared {
            // Flows on a second thread too, with an evaluator of its own (its caches are its own;
            // the solved facts are shared, and nothing writes them any more) and an output of its
            // own. The flows are taken from both ends (`SecondThread.Ends`): this thread's from
            // the first on, the other's from the last back; its findings are added after this
            // thread's, flow by flow in flow order: the same order as in one thread.
            let other = ValueChecks(view: ProgramView(program), values: values.sharingFacts(), out: CheckOutput(checkedRanges: out.checkedRanges),
                                    shared: false)
            var marks: [Int] = []
            marks.reserveCapacity(program.flows.count)
            SecondThread.fromBothEnds(program.flows.count, there: { f in
                other.checkFlows(f..<f + 1, rules: rules)
                marks.append(other.out.diagnostics.count)
            }, here: { f in checkFlows(f..<f + 1, rules: rules) })
            out.diagnostics += SecondThread.Ends.inIndexOrder(other.out.diagnostics, marks: marks)
            out.checkedRanges.formUnion(other.out.checkedRanges)
        } else {
            checkFlows(program.flows.indices)
        }
        builder.diagnostics += out.diagnostics
        builder.checkedRanges.formUnion(out.checkedRanges)
    }

    /// Whether a second thread is worth starting for the flows' checks: there are enough
    /// elements, and the last flow does not hold more than half of them (one long flow: its graph
    /// checks then go on beside the solver instead, see `ProgramBuilder.run`).
    static func shared(_ flows: [FlowGraph]) -> Bool {
        guard flows.count > 1 else { return false }
        var total = 0
        for f in flows { total += f.elements.count }
        guard total >= 2_000 else { return false }
        return flows[flows.count - 1].elements.count * 2 <= total
    }

    /// The checks of each flow in `flows`, in order; a flow's question rules are taken from
    /// `rules` when they were checked already.
    func checkFlows(_ flows: Range<Int>, rules: QuestionRuleFindings? = nil) {
        for f in flows {
            if let rules {
                out.diagnostics += rules.diagnostics[rules.marks[f]..<rules.marks[f + 1]]
            } else {
                QuestionRules(checks: self, flow: f).check()
            }
            let walk = ExpressionWalk(options: OptionComparisons(checks: self, flow: f), currency: CurrencyLiterals(checks: self, flow: f),
                                      division: DivisionByZero(checks: self))
            walk.flow(program.flows[f])
            walk.currency.check()
            ConstantConditions(checks: self, flow: f).check()
        }
    }

    var program: Program { view.program }

    /// The question rules' findings for every flow, made before the flows' other checks:
    /// flow `f`'s are `diagnostics[marks[f] ..< marks[f + 1]]`. Written by one thread, then
    /// only read (by both threads of the shared checks).
    final class QuestionRuleFindings: @unchecked Sendable {
        var diagnostics: [Diagnostic] = []
        var marks: [Int] = [0]
    }

    /// Reports `m`, as a warning naming the configs when they decide it.
    func report(_ m: Message, _ r: SourceRange, configs: Set<Int>, label: String? = nil, notes: [DiagnosticNote] = [],
                hint: String? = nil) {
        var d = Diagnostic(m, at: r, label: label, notes: notes + configNotes(configs), hint: hint)
        if !configs.isEmpty && d.severity == .error { d.severity = .warning }
        out.diagnostics.append(d)
    }

    func configNotes(_ configs: Set<Int>) -> [DiagnosticNote] {
        configs.sorted().map { i in
            let c = program.configs[i]
            return DiagnosticNote("this follows from config '\(c.name)' as declared; '--define \(c.name)=…' could change it", at: c.range)
        }
    }

    func visit(_ e: IRExpr, _ body: (IRExpr) -> Void) {
        body(e)
        e.forEachChild { visit($0, body) }
    }

    /// The checks that look at every expression of a flow (`checkFlows`), called for each in turn,
    /// outermost first, each subexpression after its parent. A walk of its own, not closures
    /// handed to `IRExpr.forEachChild`: a closure's context was retained and released for every
    /// expression of the file, most of the time of the value checks.
    struct ExpressionWalk {
        let options: OptionComparisons
        let currency: CurrencyLiterals
        let division: DivisionByZero

        func flow(_ f: FlowGraph) {
            // Pages, questions and elements read in place through their buffers, not copied out
            // one by one (a flow of many lone questions has one of each per line); a question
            // without the rarer properties has no expression.
            f.pages.withUnsafeBufferPointer { pages in
                for p in pages.indices {
                    if let t = pages[p].title { visit(t) }
                    pages[p].questions.withUnsafeBufferPointer { questions in
                        for k in questions.indices where questions[k].hasDetails {
                            let q = questions.baseAddress! + k
                            // Each in turn, without making an array of them for every question.
                            if let e = q.pointee.prompt { visit(e) }
                            if let e = q.pointee.defaultValue { visit(e) }
                            if let e = q.pointee.min { visit(e) }
                            if let e = q.pointee.max { visit(e) }
                            for e in q.pointee.options { visit(e) }
                        }
                    }
                }
            }
            f.elements.withUnsafeBufferPointer { elements in
                // A `switch` of its own, not `ElementKind.forEachExpression`: through that, this
                // walk took 16% more instructions (callgrind, one flow of 100,000 `set`s).
                // The case alone first (`ElementKind.tag`): a page, a label, a `goto` or an end
                // holds no expression here, and a `switch` that binds copies the kind first.
                for i in elements.indices {
                    let element = elements.baseAddress! + i
                    switch element.pointee.kind.tag {
                    case .page, .label, .goto, .end: continue
                    default: break
                    }
                    switch element.pointee.kind {
                    case .call(let info): for case let a? in info.arguments { visit(a) }
                    case .response(let x), .set(_, _, let x), .decision(let x): visit(x)
                    case .finish(_, let r?): visit(r)
                    default: break
                    }
                }
            }
        }

        /// Each check is called with every expression but the leaves (no check looks at a
        /// literal or a name alone, and they are most of a file's expressions); each tests for
        /// the kinds it looks at itself.
        func visit(_ e: IRExpr) {
            withUnsafePointer(to: e) { visit(at: $0) }
        }

        /// Read in place: each check tests the kind and operator it looks at before it copies
        /// anything, and the operands are visited in place.
        private func visit(at p: UnsafePointer<IRExpr>) {
            switch p.pointee.kind {
            case .constant, .local, .session, .answer, .config, .secret, .error, .invalid:
                return
            default:
                break
            }
            options.visit(at: p)
            division.check(at: p)
            currency.visit(at: p)
            IRExpr.forEachChild(of: p) { visit(at: $0) }
        }
    }

    /// How a value is written in a message: `"Billing"`, `50`, `yes`.
    static func shown(_ v: Value) -> String {
        switch v {
        case .text(let s):
            var out = ""
            for c in s.unicodeScalars {
                switch c {
                case "\n": out += "\\n"
                case "\r": out += "\\r"
                default: out += VisibleText.mustEscape(c.value) ? VisibleText.escape(c.value) : String(c)
                }
            }
            return "'\(out)'"
        case .bool(let b): return b ? "true" : "false"
        default: return v.displayText(asCurrency: false)
        }
    }
}

extension IRExpr {
    /// Calls `body` with each direct subexpression.
    func forEachChild(_ body: (IRExpr) -> Void) {
        switch kind {
        case .template(let parts): parts.forEach(body)
        case .member(let m): body(m.base)
        case .unary(_, let b): body(b.first)
        case .index(let ab), .binary(_, let ab): body(ab.first); body(ab.second)
        case .builtin(_, let args): args.forEach(body)
        case .list(let items): items.forEach(body)
        case .object(let fields): for (_, v) in fields { body(v) }
        case .constant, .local, .session, .answer, .config, .secret, .error, .invalid: break
        }
    }

    /// Calls `body` with each direct subexpression of `e` in place: passing an operand as a
    /// value copies it (its payload retained and released), for every node of every walk.
    static func forEachChild(of e: UnsafePointer<IRExpr>, _ body: (UnsafePointer<IRExpr>) -> Void) {
        switch e.pointee.kind {
        case .template(let parts), .builtin(_, let parts), .list(let parts):
            parts.withUnsafeBufferPointer { parts in
                for k in parts.indices { body(parts.baseAddress! + k) }
            }
        case .member(let m): m.withBase { body($0) }
        case .unary(_, let o): o.withOperands { body($0) }
        case .index(let o), .binary(_, let o):
            o.withOperands { operands in
                body(operands)
                body(operands + 1)
            }
        case .object(let fields): for (_, v) in fields { withUnsafePointer(to: v) { body($0) } }
        case .constant, .local, .session, .answer, .config, .secret, .error, .invalid: break
        }
    }

    /// Whether the value depends on nothing but literals and configs (no answers, variables,
    /// calls' results, session variables, `today()`).
    var isStatic: Bool {
        switch kind {
        case .constant, .config: return true
        case .local, .session, .answer, .secret, .error, .invalid: return false
        case .builtin(.today, _): return false
        default:
            var ok = true
            forEachChild { if !$0.isStatic { ok = false } }
            return ok
        }
    }
}

/// The program the value checks read (see `ValueChecks.view`).
final class ProgramView {
    let program: Program
    init(_ program: Program) { self.program = program }
}
