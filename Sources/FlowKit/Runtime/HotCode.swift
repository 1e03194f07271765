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
/// An expression is first computed on plain integers (`small`): a loop's counters, sums and
/// conditions are small numbers and yes/no, and a `Value` made, copied and destroyed at every
/// operation was most of a step's work. Anything else (text, a large number, an overflow, an
/// error) leaves it to the general evaluation, from the expression's start.
///
/// Made per session, and only once it has run `HotCode.threshold` steps, so that a short session
/// (a page, a call, a response) pays nothing for it.
final class HotCode {
    /// A session flattens its current flow when its step count passes this. Tests change it to
    /// run the same flow both ways.
    nonisolated(unsafe) static var threshold = 4096

    /// Plain words only (a constant is an index into `constants`): switching on an operation
    /// read in place then copies no value out of it.
    enum Op {
        case constant(Int)
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
    /// The constants the operations name, by index.
    private let constants: [Value]
    private let constantsBase: UnsafePointer<Value>?
    /// The constants as `Small` values, where they are small numbers or yes/no.
    private let smallConstants: [Small?]
    private let smallConstantsBase: UnsafePointer<Small?>?
    /// By element: where its expression starts in `ops`, or -1 when it has none flattened.
    let starts: [Int32]
    private let base: UnsafePointer<Op>?

    init(_ flow: FlowGraph) {
        var ops: [Op] = []
        var constants: [Value] = []
        var starts = [Int32](repeating: -1, count: flow.elements.count)
        for (k, element) in flow.elements.enumerated() {
            let start = ops.count
            let flattened: Bool
            switch element.kind {
            case .set(_, _, let x), .decision(let x): flattened = Self.flatten(x, into: &ops, &constants)
            default: continue
            }
            if flattened, start <= Int(Int32.max) {
                starts[k] = Int32(start)
            } else {
                ops.removeSubrange(start...)
            }
        }
        self.ops = ops
        self.constants = constants
        self.starts = starts
        // `ops` and `constants` are constants of this object: their buffers stay where they are
        // while the object lives.
        base = ops.withUnsafeBufferPointer { $0.baseAddress }
        constantsBase = constants.withUnsafeBufferPointer { $0.baseAddress }
        smallConstants = constants.map { v in withUnsafePointer(to: Optional(v)) { Small($0) } }
        smallConstantsBase = smallConstants.withUnsafeBufferPointer { $0.baseAddress }
    }

    /// Appends `e`'s operations; false (with some appended) when it holds something not flattened.
    private static func flatten(_ e: IRExpr, into ops: inout [Op], _ constants: inout [Value]) -> Bool {
        switch e.kind {
        case .constant(let v):
            ops.append(.constant(constants.count))
            constants.append(v)
        case .local(let slot): ops.append(.local(slot, e.range))
        case .session(let i): ops.append(.session(i))
        case .answer(let page, let question): ops.append(.answer(page: page, question: question, e.range))
        case .config(let i): ops.append(.config(i))
        case .unary(let op, let operand):
            ops.append(.unary(op, e.range))
            return flatten(operand.first, into: &ops, &constants)
        case .binary(let op, let lr):
            let l = lr.first, r = lr.second
            if op == .and || op == .or {
                let at = ops.count
                ops.append(.logical(op, left: l.range, right: r.range, skip: 0))
                guard flatten(l, into: &ops, &constants) else { return false }
                let right = ops.count
                guard flatten(r, into: &ops, &constants) else { return false }
                ops[at] = .logical(op, left: l.range, right: r.range, skip: ops.count - right)
                return true
            }
            ops.append(.binary(op, e.range))
            return flatten(l, into: &ops, &constants) && flatten(r, into: &ops, &constants)
        default:
            return false
        }
        return true
    }

    /// The code through its buffers, for the run loop: plain pointers, so that using it retains
    /// nothing. Valid while this object lives (a session keeps its codes, `Session.hotCodes`).
    var view: View {
        View(ops: base!, constants: constantsBase, smallConstants: smallConstantsBase, starts: starts.withUnsafeBufferPointer { $0.baseAddress! })
    }

    struct View {
        fileprivate let ops: UnsafePointer<Op>
        fileprivate let constants: UnsafePointer<Value>?
        fileprivate let smallConstants: UnsafePointer<Small?>?
        private let starts: UnsafePointer<Int32>

        fileprivate init(ops: UnsafePointer<Op>, constants: UnsafePointer<Value>?, smallConstants: UnsafePointer<Small?>?, starts: UnsafePointer<Int32>) {
            self.ops = ops
            self.constants = constants
            self.smallConstants = smallConstants
            self.starts = starts
        }

        /// Where element `pc`'s expression starts, or -1 (`HotCode.starts`).
        @inline(__always) func start(_ pc: Int) -> Int32 { starts[pc] }

        /// The value of the expression starting at `start`: on plain integers when it can be,
        /// else the general way.
        func evaluate<C: EvaluationContext>(_ start: Int32, _ c: inout C) throws(RuntimeError) -> Value {
            var k = Int(start)
            if let small = HotCode.small(ops, smallConstants, &k, &c) { return small.value }
            k = Int(start)
            return try HotCode.evaluate(ops, constants, &k, &c)
        }
    }

    /// A value of the fast path: a small number (`Number`'s integer and scale) or yes/no, in
    /// plain words.
    enum Small {
        case number(Int64, UInt8)
        case bool(Bool)

        /// `v` as a small value, read in place; nil for any other value, or none.
        @inline(__always) init?(_ v: UnsafePointer<Value?>) {
            switch v.pointee {
            case .number(let n)?:
                guard case .small(let m, let s) = n.storage else { return nil }
                self = .number(m, s)
            case .bool(let b)?: self = .bool(b)
            default: return nil
            }
        }

        var value: Value {
            switch self {
            case .number(let m, let s): .number(Number(small: m, scale: s))
            case .bool(let b): .bool(b)
            }
        }

        /// `op` on two small numbers' integers at one `scale`, as `Number`'s operators give it;
        /// nil on an overflow, a remainder by zero, and for a product at a scale other than 0
        /// (trimmed by `Number.*`) or any other operator.
        @inline(__always) static func atOneScale(_ op: BinaryOperator, _ x: Int64, _ y: Int64, _ scale: UInt8) -> Small? {
            switch op {
            case .add:
                let (r, o) = x.addingReportingOverflow(y)
                return o ? nil : .number(r, scale)
            case .subtract:
                let (r, o) = x.subtractingReportingOverflow(y)
                return o ? nil : .number(r, scale)
            case .multiply where scale == 0:
                let (r, o) = x.multipliedReportingOverflow(by: y)
                return o ? nil : .number(r, 0)
            case .remainder:
                return y == 0 ? nil : .number(x.remainderReportingOverflow(dividingBy: y).partialValue, scale)
            case .equal: return .bool(x == y)
            case .notEqual: return .bool(x != y)
            case .less: return .bool(x < y)
            case .lessEqual: return .bool(x <= y)
            case .greater: return .bool(x > y)
            case .greaterEqual: return .bool(x >= y)
            default: return nil
            }
        }
    }

    /// The value of the expression starting at `k` computed on plain integers, when all its
    /// operands are small numbers or yes/no and nothing overflows: what a loop's counters, sums
    /// and conditions are. Each case gives what `Number`'s operators and `Arithmetic.binary` give
    /// (the same integers, scales and trimming) in the cases it takes; for anything else (text, a
    /// large number, an unset local, an overflow, a division, a remainder by zero, a type error)
    /// it gives nil, and the expression is evaluated again from its start the general way, which
    /// gives the value or the error. Evaluating reads the session and changes nothing, so the
    /// second evaluation sees what the first saw. In the tree's order: the operand of an `and`
    /// or `or` that the tree does not evaluate is passed over here too.
    private static func small<C: EvaluationContext>(_ ops: UnsafePointer<Op>, _ constants: UnsafePointer<Small?>?, _ k: inout Int, _ c: inout C) -> Small? {
        let op = ops + k
        k += 1
        switch op.pointee {
        case .constant(let i):
            return constants.unsafelyUnwrapped[i]
        case .local(let slot, _):
            return c.smallLocal(slot)
        case .session(let i):
            return withUnsafePointer(to: c.session(i)) { Small($0) }
        case .answer(let page, let question, _):
            return withUnsafePointer(to: c.answer(page: page, question: question)) { Small($0) }
        case .config(let i):
            return withUnsafePointer(to: c.config(i)) { Small($0) }
        case .unary(let op, _):
            switch (op, small(ops, constants, &k, &c)) {
            case (.not, .bool(let b)?): return .bool(!b)
            case (.negate, .number(let m, let s)?):
                let (r, o) = Int64(0).subtractingReportingOverflow(m)
                return o ? nil : .number(r, s)
            default: return nil
            }
        case .binary(let op, _):
            guard let a = small(ops, constants, &k, &c), let b = small(ops, constants, &k, &c) else { return nil }
            switch (a, b) {
            case (.number(let m, let s), .number(let n, let t)):
                if op == .multiply {
                    // `Number.*`: the product at the sum of the scales, trimmed to the larger.
                    guard Int(s) + Int(t) <= 18 else { return nil }
                    let (r, o) = m.multipliedReportingOverflow(by: n)
                    if o { return nil }
                    let (p, scale) = Number.trimmed(r, s + t, keeping: max(s, t))
                    return .number(p, scale)
                }
                guard let (x, y, scale) = Number.aligned(m, s, n, t) else { return nil }
                return Small.atOneScale(op, x, y, scale)
            case (.bool(let x), .bool(let y)):
                switch op {
                case .equal: return .bool(x == y)
                case .notEqual: return .bool(x != y)
                default: return nil
                }
            default:
                return nil
            }
        case .logical(let op, _, _, let skip):
            guard case .bool(let x)? = small(ops, constants, &k, &c) else { return nil }
            if op == .and && !x { k += skip; return .bool(false) }
            if op == .or && x { k += skip; return .bool(true) }
            guard case .bool(let y)? = small(ops, constants, &k, &c) else { return nil }
            return .bool(y)
        }
    }

    private static func evaluate<C: EvaluationContext>(_ ops: UnsafePointer<Op>, _ constants: UnsafePointer<Value>?, _ k: inout Int, _ c: inout C) throws(RuntimeError) -> Value {
        let op = ops + k
        k += 1
        switch op.pointee {
        case .constant(let i):
            return constants.unsafelyUnwrapped[i]
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
            let v = try evaluate(ops, constants, &k, &c)
            switch (op, v) {
            case (.not, .bool(let b)): return .bool(!b)
            case (.negate, .number(let n)): return .number(-n)
            default: throw RuntimeError(.runTypeMismatch("cannot apply '\(op.rawValue)' to \(v.kindName)"), at: range)
            }
        case .binary(let op, let range):
            let a = try evaluate(ops, constants, &k, &c)
            let b = try evaluate(ops, constants, &k, &c)
            return try Arithmetic.binary(op, a, b, at: range)
        case .logical(let op, let left, let right, let skip):
            let a = try evaluate(ops, constants, &k, &c)
            guard case .bool(let x) = a else { throw RuntimeError(.runTypeMismatch("'\(op.rawValue)' needs yes/no values, not \(a.kindName)"), at: left) }
            if op == .and && !x { k += skip; return .bool(false) }
            if op == .or && x { k += skip; return .bool(true) }
            let b = try evaluate(ops, constants, &k, &c)
            guard case .bool(let y) = b else { throw RuntimeError(.runTypeMismatch("'\(op.rawValue)' needs yes/no values, not \(b.kindName)"), at: right) }
            return .bool(y)
        }
    }
}
