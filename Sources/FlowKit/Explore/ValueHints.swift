/// Values worth trying, learned from the flow itself: what its conditions compare answers, call
/// outputs and `error` fields with.
///
/// Design note: a branch such as `if result.status != "succeeded"` is only taken both ways when
/// the explorer offers `"succeeded"` as the status; `if Age > 20` needs 20 and 21. So before
/// exploring, every expression of the program is walked once, and each comparison (`==` … `>=`),
/// `contains(…)`, divisor and `number(…)` that involves an answer, an output of an IP or
/// extension, or a field of `error` leaves a hint for it: the expression on the other side, kept
/// as typed IR. The explorer evaluates it when it is about to answer the page or the call, in the
/// session as it is then (so `Order date != order.placed` offers the date just answered as the
/// order's date). Values reach comparisons through variables (`set eta = max(order.eta minutes, 0)`
/// then `if eta <= 60`), so `set` makes a variable stand for what its value is made of; that is an
/// approximation (arithmetic is not solved), which is all a hint needs to be.
struct ValueHints {
    /// An IP or an extension, by its index in the program.
    enum Callee: Hashable {
        case ip(Int)
        case ext(Int)
    }

    /// What a hint is about.
    enum Target: Hashable {
        /// An output of an IP or extension, by name.
        case output(Callee, String)
        /// An answer, by flow, page and question index.
        case answer(flow: Int, page: Int, question: Int)
        /// A field of `error` in an `on error` block (`status`, `kind`, `code`, …).
        case error(String)
    }

    /// How the hinted value relates to the target.
    enum Relation {
        /// `==`, `!=`: the value itself.
        case equal
        /// `<`, `<=`, `>`, `>=`: the value and its neighbours on each side.
        case ordered
        /// `contains(target, value)`: a text or list that holds the value.
        case contains
    }

    enum Hint {
        /// An expression of flow `flow` to evaluate when the target is about to get a value.
        case expression(IRExpr, flow: Int, Relation)
        /// The target divides something: zero is worth trying.
        case divisor
        /// The target is read with `number(…)`: a text that spells a number is worth trying.
        case numericText
    }

    private(set) var hints: [Target: [Hint]] = [:]
    /// Fields the flow reads from items of a list output (`order.items[0].name`).
    private(set) var itemFields: [Target: [String]] = [:]
    /// Fields the flow reads from an object output (`result.data.id`).
    private(set) var objectFields: [Target: [String]] = [:]

    init(program: Program) {
        for (f, flow) in program.flows.enumerated() {
            var walker = Walker(flow: f, program: program)
            walker.learnBindings(flow)
            for element in flow.elements { walker.visit(element, in: flow) }
            for page in flow.pages {
                for q in page.questions {
                    for e in [q.prompt, q.defaultValue, q.min, q.max].compactMap({ $0 }) + q.options { walker.visit(e) }
                }
                if let t = page.title { walker.visit(t) }
            }
            for (target, list) in walker.hints { hints[target, default: []] += list }
            for (target, list) in walker.itemFields { itemFields[target, default: []].appendNew(list) }
            for (target, list) in walker.objectFields { objectFields[target, default: []].appendNew(list) }
        }
    }

    func hints(for target: Target) -> [Hint] { hints[target] ?? [] }

    /// Every hint about a field of `error`, from every flow.
    func errorHints(_ field: String) -> [Hint] { hints[.error(field)] ?? [] }

    /// Walks the expressions of one flow.
    private struct Walker {
        let flow: Int
        let program: Program
        /// Slots bound to the whole result of a call with several outputs.
        var wholeResults: [Int: [Callee]] = [:]
        /// Slots bound to one output (`-> token`, `-> (id: charge id)`).
        var outputSlots: [Int: [Target]] = [:]
        /// What a variable's value was made of.
        var aliases: [Int: [Target]] = [:]
        var hints: [Target: [Hint]] = [:]
        var itemFields: [Target: [String]] = [:]
        var objectFields: [Target: [String]] = [:]

        init(flow: Int, program: Program) {
            self.flow = flow
            self.program = program
        }

        mutating func learnBindings(_ graph: FlowGraph) {
            for element in graph.elements {
                guard case .call(let info) = element.kind else { continue }
                let callee: Callee
                let outputs: [OutputInfo]
                switch info.target {
                case .ip(let i) where i >= 0:
                    callee = .ip(i)
                    outputs = program.integrationPoints[i].outputs
                case .extension(let i):
                    callee = .ext(i)
                    outputs = program.extensions[i].outputs
                default:
                    continue
                }
                for (o, slot) in info.outputs where o < outputs.count {
                    outputSlots[slot, default: []].appendNew([.output(callee, outputs[o].name)])
                }
                if let whole = info.wholeResult { wholeResults[whole, default: []].appendNew([callee]) }
            }
            // Twice, so a variable made from another one (set after it in the source) is known.
            for _ in 0..<2 {
                for element in graph.elements {
                    guard case .set(.local(let slot), _, let value) = element.kind else { continue }
                    let made = targets(value)
                    if !made.isEmpty { aliases[slot, default: []].appendNew(made) }
                }
            }
        }

        mutating func visit(_ element: Element, in graph: FlowGraph) {
            switch element.kind {
            case .set(_, _, let x), .decision(let x), .response(let x): visit(x)
            case .finish(_, let reason?): visit(reason)
            case .call(let info): for a in info.arguments.compactMap({ $0 }) { visit(a) }
            default: break
            }
        }

        /// The answers, outputs and error fields an expression's value is made of.
        func targets(_ e: IRExpr) -> [Target] {
            switch e.kind {
            case .member(let m):
                let base = m.base, field = m.field
                if case .local(let slot) = base.kind, let callees = wholeResults[slot] {
                    return callees.map { .output($0, field) }
                }
                if case .error = base.kind { return [.error(field)] }
                return []
            case .local(let slot):
                return (outputSlots[slot] ?? []) + (aliases[slot] ?? [])
            case .answer(let page, let question):
                return [.answer(flow: flow, page: page, question: question)]
            case .builtin(let f, let args):
                switch f {
                case .lower, .upper, .trim, .round, .abs, .text, .number, .min, .max: return args.flatMap(targets)
                default: return []
                }
            case .unary(.negate, let x):
                return targets(x.first)
            case .binary(let op, let ab):
                let a = ab.first, b = ab.second
                switch op {
                case .add, .subtract, .multiply, .divide, .remainder: return targets(a) + targets(b)
                default: return []
                }
            default:
                return []
            }
        }

        mutating func visit(_ e: IRExpr) {
            switch e.kind {
            case .binary(let op, let lr):
                let l = lr.first, r = lr.second
                switch op {
                case .equal, .notEqual, .less, .lessEqual, .greater, .greaterEqual:
                    let relation: Relation = op == .equal || op == .notEqual ? .equal : .ordered
                    for t in targets(l) { add(t, .expression(r, flow: flow, relation)) }
                    for t in targets(r) { add(t, .expression(l, flow: flow, relation)) }
                case .divide, .remainder:
                    for t in targets(r) { add(t, .divisor) }
                default: break
                }
                visit(l)
                visit(r)
            case .builtin(let f, let args):
                if f == .contains, args.count == 2 {
                    for t in targets(args[0]) { add(t, .expression(args[1], flow: flow, .contains)) }
                }
                if f == .number, let a = args.first {
                    for t in targets(a) { add(t, .numericText) }
                }
                for a in args { visit(a) }
            case .member(let m):
                let base = m.base, field = m.field
                if case .index(let li) = base.kind {
                    for t in targets(li.first) { itemFields[t, default: []].appendNew([field]) }
                }
                for t in targets(base) { objectFields[t, default: []].appendNew([field]) }
                visit(base)
            case .index(let bi):
                let base = bi.first, index = bi.second
                visit(base)
                visit(index)
            case .unary(_, let x):
                visit(x.first)
            case .template(let parts), .list(let parts):
                for p in parts { visit(p) }
            case .object(let fields):
                for (_, x) in fields { visit(x) }
            default:
                break
            }
        }

        mutating func add(_ target: Target, _ hint: Hint) {
            hints[target, default: []].append(hint)
        }
    }
}

extension Array where Element: Equatable {
    /// Appends the items not already in the array, in order.
    mutating func appendNew(_ items: [Element]) {
        for x in items where !contains(x) { append(x) }
    }
}
