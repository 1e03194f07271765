/// Conditions decided before the flow runs, and `else if` branches no value can reach.
///
/// A condition whose value is the same whatever happens (it reads only literals, configs, and
/// variables that only ever hold known values) is a warning that says why:
///
///     set mode = "sms"
///     if mode == "email" {          // warning: this condition is always false
///
/// An `else if` whose condition can only hold when an earlier condition of the same chain already
/// held is an error:
///
///     if amount > 100 { … } else if amount > 500 { … }    // error: this 'else if' is never reached
struct ConstantConditions {
    let checks: ValueChecks
    let flow: Int

    func check() {
        let f = checks.program.flows[flow]
        // A flow without a decision (a long questionnaire) has nothing to check here: no arrays
        // of its size to make.
        let hasDecision = f.elements.withUnsafeBufferPointer { elements in
            elements.indices.contains { if case .decision = (elements.baseAddress! + $0).pointee.kind { true } else { false } }
        }
        guard hasDecision else { return }
        // How many edges lead to each element, and which decision's false edge leads to it.
        var incoming = [Int32](repeating: 0, count: f.elements.count)
        var falseParent = [Int32](repeating: -1, count: f.elements.count)
        // Elements read in place, not copied.
        for i in f.elements.indices {
            let next = f.elements[i].next, branch = f.elements[i].branch
            if next >= 0 { incoming[Int(next)] += 1 }
            if branch >= 0 {
                incoming[Int(branch)] += 1
                if case .decision = f.elements[i].kind { falseParent[Int(branch)] = Int32(i) }
            }
        }
        for i in f.elements.indices {
            guard case .decision(let cond) = f.elements[i].kind else { continue }
            if !constant(cond) { elseIfChain(i, cond, f, incoming, falseParent) }
        }
    }

    /// Reports a condition with one value; true when it has one.
    private func constant(_ cond: IRExpr) -> Bool {
        guard let k = checks.values.known(cond, flow: flow), case .bool(let b)? = k.constant else { return false }
        // An option mistake inside was reported as such.
        var inside = false
        func visit(_ x: IRExpr) {
            if checks.out.checkedRanges.contains(x.range) { inside = true }
            x.forEachChild(visit)
        }
        visit(cond)
        if inside { return true }
        let why = reasons(cond)
        checks.report(.constantCondition(b), cond.range, configs: k.configs,
                      label: why.isEmpty ? "it reads only literals" : why.joined(separator: "; "),
                      hint: b ? "remove the condition, keeping what it guards" : "remove the branch, or fix the condition")
        return true
    }

    /// What the condition reads, and what is known of each: `'mode' is only ever set to "sms"`.
    private func reasons(_ cond: IRExpr) -> [String] {
        var out: [String] = []
        let f = checks.program.flows[flow]
        func visit(_ x: IRExpr) {
            var line: String?
            switch x.kind {
            case .local(let s):
                if let k = checks.values.known(x, flow: flow) {
                    line = "'\(f.variables[s])' is only ever set to " + OptionComparisons.list(k.values.map(ValueChecks.shown))
                }
            case .config(let i):
                if let c = checks.values.constant(x) { line = "'\(checks.program.configs[i].name)' is \(ValueChecks.shown(c.value))" }
            case .answer:
                if let k = checks.values.known(x, flow: flow), let o = k.options {
                    line = "'\(o.reference)' is one of " + OptionComparisons.list(o.options.map { ValueChecks.shown(.text($0)) })
                }
            default: break
            }
            if let line {
                if !out.contains(line) { out.append(line) }
            } else {
                x.forEachChild(visit)
            }
        }
        visit(cond)
        return out
    }

    /// A decision reached only as the `else` of earlier decisions: it is never taken when its
    /// condition implies one of theirs.
    private func elseIfChain(_ i: Int, _ cond: IRExpr, _ f: FlowGraph, _ incoming: [Int32], _ falseParent: [Int32]) {
        var j = i
        // A long chain is compared with its nearest conditions only, so a chain of n costs O(n).
        for _ in 0..<64 {
            let p = Int(falseParent[j])
            guard p >= 0, incoming[j] == 1, case .decision(let earlier) = f.elements[p].kind else { return }
            if Implication.implies(cond, earlier, checks.values) {
                checks.out.checkedRanges.insert(cond.range)
                checks.out.report(.unreachableElseIf, cond.range, label: "this holds only when an earlier condition already did",
                                      notes: [DiagnosticNote("this condition is tried first", at: earlier.range)],
                                      hint: "try the narrower condition first, or remove this branch")
                return
            }
            j = p
        }
    }
}

/// Whether one condition can hold only when another does, from their shape alone: the same
/// test, or comparisons of the same value with literals (`amount > 500` implies `amount > 100`).
enum Implication {
    static func implies(_ a: IRExpr, _ b: IRExpr, _ values: ConstantEvaluator) -> Bool {
        if same(a, b) { return true }
        if case .binary(.and, let xy) = a.kind, implies(xy.first, b, values) || implies(xy.second, b, values) { return true }
        if case .binary(.or, let xy) = b.kind, implies(a, xy.first, values) || implies(a, xy.second, values) { return true }
        if case .binary(.or, let xy) = a.kind { return implies(xy.first, b, values) && implies(xy.second, b, values) }
        if case .binary(.and, let xy) = b.kind { return implies(a, xy.first, values) && implies(a, xy.second, values) }
        guard let (s1, op1, c1) = comparison(a, values), let (s2, op2, c2) = comparison(b, values), same(s1, s2) else { return false }
        func holds(_ op: BinaryOperator, _ x: Value, _ y: Value) -> Bool {
            (try? Arithmetic.binary(op, x, y, at: a.range)) == .bool(true)
        }
        switch op1 {
        case .equal: return holds(op2, c1, c2)
        case .notEqual: return op2 == .notEqual && holds(.equal, c1, c2)
        case .less:
            switch op2 {
            case .less, .lessEqual: return holds(.lessEqual, c1, c2)
            case .notEqual: return holds(.greaterEqual, c2, c1)
            default: return false
            }
        case .lessEqual:
            switch op2 {
            case .less: return holds(.less, c1, c2)
            case .lessEqual: return holds(.lessEqual, c1, c2)
            case .notEqual: return holds(.greater, c2, c1)
            default: return false
            }
        case .greater:
            switch op2 {
            case .greater, .greaterEqual: return holds(.greaterEqual, c1, c2)
            case .notEqual: return holds(.lessEqual, c2, c1)
            default: return false
            }
        case .greaterEqual:
            switch op2 {
            case .greater: return holds(.greater, c1, c2)
            case .greaterEqual: return holds(.greaterEqual, c1, c2)
            case .notEqual: return holds(.less, c2, c1)
            default: return false
            }
        default: return false
        }
    }

    /// `subject op literal`, with the literal moved to the right.
    private static func comparison(_ e: IRExpr, _ values: ConstantEvaluator) -> (IRExpr, BinaryOperator, Value)? {
        guard case .binary(let op, let lr) = e.kind,
              [BinaryOperator.equal, .notEqual, .less, .lessEqual, .greater, .greaterEqual].contains(op) else { return nil }
        let l = lr.first, r = lr.second
        func literal(_ x: IRExpr) -> Value? {
            guard let c = values.constant(x), c.configs.isEmpty else { return nil }
            return c.value
        }
        if let c = literal(r), literal(l) == nil { return (l, op, c) }
        if let c = literal(l), literal(r) == nil {
            let flipped: [BinaryOperator: BinaryOperator] = [.less: .greater, .lessEqual: .greaterEqual, .greater: .less, .greaterEqual: .lessEqual]
            return (r, flipped[op] ?? op, c)
        }
        return nil
    }

    /// The same expression, reading the same things.
    static func same(_ a: IRExpr, _ b: IRExpr) -> Bool {
        switch (a.kind, b.kind) {
        case (.constant(let x), .constant(let y)): return x.kindName == y.kindName && Arithmetic.equal(x, y)
        case (.local(let x), .local(let y)): return x == y
        case (.session(let x), .session(let y)), (.config(let x), .config(let y)), (.secret(let x), .secret(let y)): return x == y
        case (.answer(let p, let q), .answer(let p2, let q2)): return p == p2 && q == q2
        case (.error, .error): return true
        case (.member(let x), .member(let y)): return x.field == y.field && same(x.base, y.base)
        case (.index(let x), .index(let y)): return same(x.first, y.first) && same(x.second, y.second)
        case (.unary(let o, let x), .unary(let p, let y)): return o == p && same(x.first, y.first)
        case (.builtin(let f, let xs), .builtin(let g, let ys)):
            return f == g && f != .today && xs.count == ys.count && zip(xs, ys).allSatisfy { same($0, $1) }
        case (.binary(let o, let x), .binary(let p, let y)): return o == p && same(x.first, y.first) && same(x.second, y.second)
        case (.template(let xs), .template(let ys)), (.list(let xs), .list(let ys)):
            return xs.count == ys.count && zip(xs, ys).allSatisfy { same($0, $1) }
        default: return false
        }
    }
}
