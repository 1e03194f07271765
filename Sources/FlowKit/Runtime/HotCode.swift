/// The `set` and `if` expressions of a flow in a flat form, for the run loop once a session has
/// run many steps (a loop): each expression is its operations in prefix order, read in place.
///
/// Design note: evaluating the tree (`Evaluator`) recurses once per node, retaining each
/// operator's operands and switching on each kind; the tree's operands were `indirect` cases,
/// copied out of their box on every evaluation, about a fifth of a loop's time then. Here an
/// operation is a few plain words (or a constant), and the operands of an operator are simply
/// the operations that follow it. Only what a loop's arithmetic and conditions are made of is
/// flattened (constants, locals, session variables, configs, answers, unary and binary
/// operators); an expression with anything else keeps the tree. The results and errors are the
/// tree's, at the same ranges: each case below is `Evaluator.evaluate`'s.
///
/// Made per session, and only once it has run `HotCode.threshold` steps, so that a short session
/// (a page, a call, a response) pays nothing for it.
final class HotCode {
    /// A session flattens its current flow when its step count passes this. Tests change it to
    /// run the same flow both ways.
    nonisolated(unsafe) static var threshold = 4096

    enum Op {
        case constant(Value)
        case local(Int, SourceRange)
        case session(Int)
        case answer(page: Int, question: Int, SourceRange)
        case config(Int)
        case unary(UnaryOperator, SourceRange)
        case binary(BinaryOperator, SourceRange)
        /// `and`, `or`: the left operand follows, then the right, which is `skip` operations long.
        case logical(BinaryOperator, left: SourceRange, right: SourceRange, skip: Int)
    }

    /// All the flow's flattened expressions, one after the other.
    private let ops: [Op]
    /// By element: where its expression starts in `ops`, or -1 when it has none flattened.
    let starts: [Int32]
    private let base: UnsafePointer<Op>?

    init(_ flow: FlowGraph) {
        var ops: [Op] = []
        var starts = [Int32](repeating: -1, count: flow.elements.count)
        for (k, element) in flow.elements.enumerated() {
            let start = ops.count
            let flattened: Bool
            switch element.kind {
            case .set(_, _, let x), .decision(let x): flattened = Self.flatten(x, into: &ops)
            default: continue
            }
            if flattened, start <= Int(Int32.max) {
                starts[k] = Int32(start)
            } else {
                ops.removeSubrange(start...)
            }
        }
        self.ops = ops
        self.starts = starts
        // `ops` is a constant of this object: its buffer stays where it is while the object lives.
        base = ops.withUnsafeBufferPointer { $0.baseAddress }
    }

    /// Appends `e`'s operations; false (with some appended) when it holds something not flattened.
    private static func flatten(_ e: IRExpr, into ops: inout [Op]) -> Bool {
        switch e.kind {
        case .constant(let v): ops.append(.constant(v))
        case .local(let slot): ops.append(.local(slot, e.range))
        case .session(let i): ops.append(.session(i))
        case .answer(let page, let question): ops.append(.answer(page: page, question: question, e.range))
        case .config(let i): ops.append(.config(i))
        case .unary(let op, let operand):
            ops.append(.unary(op, e.range))
            return flatten(operand.first, into: &ops)
        case .binary(let op, let lr):
            let l = lr.first, r = lr.second
            if op == .and || op == .or {
                let at = ops.count
                ops.append(.logical(op, left: l.range, right: r.range, skip: 0))
                guard flatten(l, into: &ops) else { return false }
                let right = ops.count
                guard flatten(r, into: &ops) else { return false }
                ops[at] = .logical(op, left: l.range, right: r.range, skip: ops.count - right)
                return true
            }
            ops.append(.binary(op, e.range))
            return flatten(l, into: &ops) && flatten(r, into: &ops)
        default:
            return false
        }
        return true
    }

    /// The value of the expression starting at `start` (from `starts`).
    func evaluate<C: EvaluationContext>(_ start: Int32, _ c: inout C) throws(RuntimeError) -> Value {
        var k = Int(start)
        let value = try Self.evaluate(base!, &k, &c)
        withExtendedLifetime(ops) {}
        return value
    }

    private static func evaluate<C: EvaluationContext>(_ ops: UnsafePointer<Op>, _ k: inout Int, _ c: inout C) throws(RuntimeError) -> Value {
        let op = ops + k
        k += 1
        switch op.pointee {
        case .constant(let v):
            return v
        case .local(let slot, let range):
            guard let v = c.local(slot) else { throw RuntimeError(.unsetVariable(c.variableName(slot)), at: range) }
            return v
        case .session(let i):
            return c.session(i) ?? .null
        case .answer(let page, let question, let range):
            guard let v = c.answer(page: page, question: question) else { throw RuntimeError(.unansweredQuestion, at: range) }
            return v
        case .config(let i):
            return c.config(i) ?? .null
        case .unary(let op, let range):
            let v = try evaluate(ops, &k, &c)
            switch (op, v) {
            case (.not, .bool(let b)): return .bool(!b)
            case (.negate, .number(let n)): return .number(-n)
            default: throw RuntimeError(.runTypeMismatch("cannot apply '\(op.rawValue)' to \(v.kindName)"), at: range)
            }
        case .binary(let op, let range):
            let a = try evaluate(ops, &k, &c)
            let b = try evaluate(ops, &k, &c)
            return try Arithmetic.binary(op, a, b, at: range)
        case .logical(let op, let left, let right, let skip):
            let a = try evaluate(ops, &k, &c)
            guard case .bool(let x) = a else { throw RuntimeError(.runTypeMismatch("'\(op.rawValue)' needs yes/no values, not \(a.kindName)"), at: left) }
            if op == .and && !x { k += skip; return .bool(false) }
            if op == .or && x { k += skip; return .bool(true) }
            let b = try evaluate(ops, &k, &c)
            guard case .bool(let y) = b else { throw RuntimeError(.runTypeMismatch("'\(op.rawValue)' needs yes/no values, not \(b.kindName)"), at: right) }
            return .bool(y)
        }
    }
}
