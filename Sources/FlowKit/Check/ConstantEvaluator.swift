/// What the checker knows about values before anything runs.
///
/// Design note: a value is *known* when it is one of a small set of values whatever happens at
/// run time: literals, configs' declared values (a `--define` may change those, so each known
/// value remembers the configs it depends on), the options of a `choice` answer, and what flows
/// from those through `set`, sub-flow arguments and sub-flow outputs. A variable's values are the
/// union of every value assigned to it anywhere in its flow (flow-insensitive, so sound whatever
/// path is taken); `+=`, `-=`, call results, session variables, `error`, fields and list items
/// are unknown. The facts about variables are solved once for the whole program by iterating to
/// a fixed point (sets only grow, and are capped). Operators and built-ins are applied with the
/// runtime's own `Arithmetic` and `Builtins`, so the checker and the session agree; a combination
/// that fails at run time makes the result unknown here (other checks report such failures).
struct Known {
    /// The first of the values it can take, nil when none; the rest follow in `rest`. Most known
    /// values are one constant, held here without an array (an array per value was most of the
    /// allocations of checking one flow of 100,000 `set` lines).
    private(set) var first: Value?
    /// What most facts do not have (more values, configs, options) in one box, nil when none:
    /// a fact is 40 bytes instead of 64, and the solver keeps one for every local (peak memory
    /// of checking one long flow). Copied on write.
    private var more: More?

    private final class More {
        var rest: [Value] = []
        var configs: Set<Int> = []
        var options: OptionOrigin?

        init() {}

        init(copying other: More) {
            rest = other.rest
            configs = other.configs
            options = other.options
        }
    }

    /// The values after the first, distinct.
    private var rest: [Value] {
        get { more?.rest ?? [] }
        set {
            if newValue.isEmpty && more == nil { return }  // nothing to hold, and no box to clear
            change { $0.rest = newValue }
        }
    }

    /// Configs whose declared values decide it (a `--define` could change it).
    var configs: Set<Int> {
        get { more?.configs ?? [] }
        set {
            if newValue.isEmpty && more == nil { return }
            change { $0.configs = newValue }
        }
    }

    /// The choice question whose options these values are (possibly with others), when it is one.
    var options: OptionOrigin? {
        get { more?.options }
        set {
            if newValue == nil && more == nil { return }
            change { $0.options = newValue }
        }
    }

    /// Changes the box, made first when there is none and copied when it is shared; none is made
    /// to hold nothing (the setters return before making one to set nothing: the solver sets
    /// every local's configs and options in every round, almost always to none).
    private mutating func change(_ body: (More) -> Void) {
        if more == nil {
            more = More()
        } else if !isKnownUniquelyReferenced(&more!) {
            more = More(copying: more!)
        }
        body(more!)
        if let m = more, m.rest.isEmpty, m.configs.isEmpty, m.options == nil { more = nil }
    }

    init(values: [Value], configs: Set<Int> = [], options: OptionOrigin? = nil) {
        if let v = values.first {
            first = v
            if values.count > 1 { rest = Array(values[1...]) }
        }
        if !configs.isEmpty { self.configs = configs }
        if options != nil { self.options = options }
    }

    /// One value.
    init(_ value: Value, configs: Set<Int> = []) {
        first = value
        if !configs.isEmpty { self.configs = configs }
    }

    /// No value (yet).
    init(configs: Set<Int> = []) {
        if !configs.isEmpty { self.configs = configs }
    }

    /// The values it can take, distinct; one value for a constant.
    var values: [Value] {
        guard let first else { return [] }
        return rest.isEmpty ? [first] : [first] + rest
    }

    /// Whether `v` is one of the values, without making an array of them (`values`), as every
    /// comparison of a choice answer with a text asks.
    func contains(_ v: Value) -> Bool {
        guard let first else { return false }
        return first == v || (more?.rest.contains(v) ?? false)
    }

    // `if case .none` rather than `first == nil`, which copied the value to compare it.
    @inline(__always)
    var isEmpty: Bool {
        if case .none = first { return true }
        return false
    }

    @inline(__always)
    var count: Int { isEmpty ? 0 : 1 + (more?.rest.count ?? 0) }

    @inline(__always)
    subscript(i: Int) -> Value {
        if i == 0, case .some(let v) = first { return v }
        return rest[i - 1]
    }

    /// Adds `v` at the end (the caller keeps the values distinct).
    mutating func append(_ v: Value) {
        if isEmpty { first = v } else { change { $0.rest.append(v) } }
    }

    /// Whether it holds `v` (as `distinct` compares).
    func holds(_ v: Value) -> Bool {
        guard let first else { return false }
        if Arithmetic.equal(first, v) && first.kindName == v.kindName { return true }
        return more?.rest.contains(where: { Arithmetic.equal($0, v) && $0.kindName == v.kindName }) ?? false
    }

    var constant: Value? { (more?.rest.isEmpty ?? true) ? first : nil }
}

/// Where the options of a choice answer come from (a class: `Known` carries one reference
/// rather than three fields).
final class OptionOrigin {
    /// `Page.Question`.
    let reference: String
    /// The question's name in the source.
    let range: SourceRange
    /// The options as declared, in order.
    let options: [String]

    init(reference: String, range: SourceRange, options: [String]) {
        self.reference = reference
        self.range = range
        self.options = options
    }
}

final class ConstantEvaluator {
    let program: Program
    /// Facts are kept per local in flat arrays: the locals of flow `f` are at
    /// `base[f] ..< base[f + 1]` (a dictionary keyed by (flow, slot) made `solve` hash on every
    /// read, most of the time of checking one flow of 100,000 `set` lines).
    private let base: [Int]
    /// Values of locals, solved by `solve()`; nil is unknown. Empty until then: a program that
    /// does not solve (no decision, no comparison) does not hold them.
    private var facts: [Known?] = []
    private var unknown: [Bool] = []
    /// The types locals hold when their declared type is `any` (untyped parameters).
    private var inferred: [ValueType?] = []
    private var solving = false
    private var solved = false
    private var configCache: [Int: Known?] = [:]
    /// What is known of choice answers read so far (see `known`).
    private var answerCache: [AnswerKey: Known?] = [:]
    private var visitingConfigs = Set<Int>()
    /// More values than this and a value is treated as unknown.
    static let limit = 32

    init(program: Program) {
        self.program = program
        var base = [0]
        base.reserveCapacity(program.flows.count + 1)
        for f in program.flows {
            base.append(base[base.count - 1] + max(f.variables.count, f.parameters.count + f.outputs.count))
        }
        self.base = base
    }

    private init(copying other: ConstantEvaluator) {
        program = other.program
        base = other.base
        facts = other.facts
        unknown = other.unknown
        inferred = other.inferred
        solved = other.solved
        configCache = other.configCache
        answerCache = other.answerCache
    }

    /// An evaluator for another thread, once `solve()` is done: the same facts (the arrays are
    /// shared, and nothing writes them after solving), and caches of its own (reading what is
    /// known writes them).
    func sharingFacts() -> ConstantEvaluator {
        precondition(!solving)
        return ConstantEvaluator(copying: self)
    }

    /// The index of a local in the flat arrays, or nil when the flow has no such local.
    @inline(__always)
    private func index(_ flow: Int, _ slot: Int) -> Int? {
        guard flow >= 0, flow + 1 < base.count, slot >= 0 else { return nil }
        let g = base[flow] + slot
        return g < base[flow + 1] ? g : nil
    }

    /// The type `solve()` inferred for a local whose declared type is `any`.
    func inferredType(flow: Int, slot: Int) -> ValueType? {
        guard solved else { return nil }
        return index(flow, slot).flatMap { inferred[$0] }
    }

    // MARK: - Expressions

    /// What is known about `e`, evaluated in flow `flow` (nil: outside any flow, where only
    /// literals and configs are known).
    func known(_ e: IRExpr, flow: Int?) -> Known? {
        withUnsafePointer(to: e) { known(at: $0, flow: flow) }
    }

    /// `known(_:flow:)` of the expression at `e`, its operands read where they are: taken out of
    /// their `IROperands` object (`first`, `second`) or out of an array, each was copied (its
    /// kind retained and released), some 110,000 copies checking the generated 100,000-line file.
    func known(at e: UnsafePointer<IRExpr>, flow: Int?) -> Known? {
        switch e.pointee.kind {
        case .constant(let v):
            return Known(v)
        case .config(let i):
            return config(i)
        case .local(let slot):
            guard let flow else { return nil }
            // Only a flow with a decision or a comparison is solved for (`readsLocalFacts`).
            guard solved || solving else {
                assertionFailure("the facts of flow \(flow) read, but the program was not solved for")
                return nil
            }
            guard let g = index(flow, slot) else { return solving ? Known() : nil }
            if unknown[g] { return nil }
            if let k = facts[g] { return k }
            return solving ? Known() : nil
        case .answer(let page, let question):
            guard let flow, program.flows[flow].pages[page].questions[question].type == .choice else { return nil }
            // Options are literals and configs: what is known of a choice answer is the same
            // every time, so it is made once (the checks ask again for every comparison).
            let key = AnswerKey(flow: flow, page: page, question: question)
            if let cached = answerCache[key] { return cached }
            let k = choiceAnswer(program.flows[flow].pages[page].questions[question])
            answerCache[key] = k
            return k
        case .template(let parts):
            return combine(parts, flow: flow) { values throws(RuntimeError) in
                var text = ""
                for (v, p) in zip(values, parts) { text += v.displayText(asCurrency: p.type == .currency) }
                return .text(text)
            }
        case .unary(let op, let operand):
            guard let a = operand.withOperands({ known(at: $0, flow: flow) }) else { return nil }
            return combine(a, nil) { x, _ throws(RuntimeError) in
                switch (op, x) {
                case (.not, .bool(let b)): return .bool(!b)
                case (.negate, .number(let n)): return .number(-n)
                default: throw RuntimeError(.invalidExpression, at: e.pointee.range)
                }
            }
        case .binary(let op, let lr):
            return lr.withOperands { operands in
                if op == .and || op == .or { return logical(op, operands, operands + 1, flow: flow) }
                guard let a = known(at: operands, flow: flow), let b = known(at: operands + 1, flow: flow) else { return nil }
                return combine(a, b) { x, y throws(RuntimeError) in try Arithmetic.binary(op, x, y!, at: e.pointee.range) }
            }
        case .builtin(let f, let args):
            if f == .today { return nil }
            return combine(args, flow: flow) { values throws(RuntimeError) in
                try Builtins.call(f, values, args, today: "", at: e.pointee.range)
            }
        case .list(let items):
            return combine(items, flow: flow) { values throws(RuntimeError) in .list(values) }
        case .object(let fields):
            return combine(fields.map(\.1), flow: flow) { values throws(RuntimeError) in
                var out: [String: Value] = [:]
                for (f, v) in zip(fields, values) { out[f.0] = v }
                return .object(out)
            }
        case .session, .secret, .error, .member, .index, .invalid:
            return nil
        }
    }

    /// What is known of a choice question's answer: its options (and null when optional).
    private func choiceAnswer(_ q: QuestionInfo) -> Known? {
        var texts: [String] = []
        var configs = Set<Int>()
        for o in q.options {
            guard let k = known(o, flow: nil), let v = k.constant else { return nil }
            configs.formUnion(k.configs)
            texts.append(v.displayText(asCurrency: o.type == .currency))
        }
        var values = texts.map { Value.text($0) }
        if q.optional { values.append(.null) }
        return Known(values: Self.distinct(values), configs: configs,
                     options: OptionOrigin(reference: q.reference, range: q.range, options: texts))
    }

    private struct AnswerKey: Hashable {
        var flow: Int
        var page: Int
        var question: Int
    }

    /// A known value that is one constant.
    func constant(_ e: IRExpr, flow: Int? = nil) -> (value: Value, configs: Set<Int>)? {
        guard let k = known(e, flow: flow), let v = k.constant else { return nil }
        return (v, k.configs)
    }

    /// The declared value of config `i`.
    func config(_ i: Int) -> Known? {
        if let cached = configCache[i] { return cached.map { k in var k = k; k.configs.insert(i); return k } }
        guard i < program.configs.count, let e = program.configs[i].value, visitingConfigs.insert(i).inserted else { return nil }
        let k = known(e, flow: nil)
        visitingConfigs.remove(i)
        configCache[i] = k
        return k.map { k in var k = k; k.configs.insert(i); return k }
    }

    /// `and` and `or` take their right side only when the left does not decide.
    private func logical(_ op: BinaryOperator, _ l: UnsafePointer<IRExpr>, _ r: UnsafePointer<IRExpr>, flow: Int?) -> Known? {
        guard let a = known(at: l, flow: flow) else {
            // An unknown left side: a right side that decides alone still decides.
            guard let b = known(at: r, flow: flow), let v = b.constant, v == .bool(op == .or) else { return nil }
            return Known(v, configs: b.configs)
        }
        var out: [Value] = []
        var configs = a.configs
        for i in 0..<a.count {
            let v = a[i]
            guard case .bool(let x) = v else { return nil }
            if op == .and && !x { out.append(.bool(false)); continue }
            if op == .or && x { out.append(.bool(true)); continue }
            guard let b = known(at: r, flow: flow) else { return nil }
            configs.formUnion(b.configs)
            for j in 0..<b.count {
                let w = b[j]
                guard case .bool = w else { return nil }
                out.append(w)
            }
        }
        return Known(values: Self.distinct(out), configs: configs)
    }

    /// `combine` for one operand (`b` nil) or two, without arrays of operands and of indices:
    /// the same values in the same order, and the same limits.
    private func combine(_ a: Known, _ b: Known?, _ f: (Value, Value?) throws(RuntimeError) -> Value) -> Known? {
        var configs = a.configs
        if let b, !b.configs.isEmpty { configs.formUnion(b.configs) }
        let countA = max(a.count, 1), countB = max(b?.count ?? 1, 1)
        if countA > Self.limit || countA * countB > Self.limit { return nil }
        if a.isEmpty || b?.isEmpty == true { return Known(configs: configs) }
        do throws(RuntimeError) {
            guard let b else {
                if a.count == 1 { return Known(try f(a[0], nil), configs: configs) }
                var out: [Value] = []
                out.reserveCapacity(a.count)
                for i in 0..<a.count { out.append(try f(a[i], nil)) }
                return Known(values: Self.distinct(out), configs: configs)
            }
            if a.count == 1 && b.count == 1 {
                return Known(try f(a[0], b[0]), configs: configs)
            }
            var out: [Value] = []
            out.reserveCapacity(a.count * b.count)
            for i in 0..<a.count { for j in 0..<b.count { out.append(try f(a[i], b[j])) } }
            return Known(values: Self.distinct(out), configs: configs)
        } catch {
            return nil
        }
    }

    /// Applies `f` to every combination of the operands' values.
    private func combine(_ operands: [IRExpr], flow: Int?, _ f: ([Value]) throws(RuntimeError) -> Value) -> Known? {
        var sets: [[Value]] = []
        var configs = Set<Int>()
        var count = 1
        let found = operands.withUnsafeBufferPointer { operands in
            for k in operands.indices {
                guard let known = known(at: operands.baseAddress! + k, flow: flow) else { return false }
                let values = known.values
                sets.append(values)
                configs.formUnion(known.configs)
                count *= max(values.count, 1)
                if count > Self.limit { return false }
            }
            return true
        }
        guard found else { return nil }
        if sets.contains(where: \.isEmpty) { return Known(configs: configs) }
        var out: [Value] = []
        var index = [Int](repeating: 0, count: sets.count)
        while true {
            let values = index.enumerated().map { sets[$0.offset][$0.element] }
            do throws(RuntimeError) {
                out.append(try f(values))
            } catch {
                return nil
            }
            var k = sets.count - 1
            while k >= 0 {
                index[k] += 1
                if index[k] < sets[k].count { break }
                index[k] = 0
                k -= 1
            }
            if k < 0 { break }
        }
        return Known(values: Self.distinct(out), configs: configs)
    }

    static func distinct(_ values: [Value]) -> [Value] {
        if values.count < 2 { return values }
        var out: [Value] = []
        out.reserveCapacity(values.count)
        for v in values where !out.contains(where: { Arithmetic.equal($0, v) && $0.kindName == v.kindName }) { out.append(v) }
        return out
    }

    // MARK: - Variables

    /// Where a local's value comes from. An expression is named by where it is in the program,
    /// not copied: a copy of each, with the flow it is read in, was held for every `set` of a
    /// long flow while solving, and made and destroyed twice each (callgrind, 10,000 `set`
    /// lines: 5.6% fewer instructions for the whole `flow check` without them).
    private enum Source {
        /// The value of `set` element `element` of flow `flow`.
        case set(flow: Int32, element: Int32)
        /// Argument `argument` of call element `element` of flow `flow`.
        case argument(flow: Int32, element: Int32, argument: Int32)
        /// The default of parameter `index` of flow `flow` (read outside any flow).
        case parameterDefault(flow: Int32, index: Int32)
        /// The default of output `index` of flow `flow` (read outside any flow).
        case outputDefault(flow: Int32, index: Int32)
        /// Another local, by flat index (a sub-flow's output).
        case slot(Int)
        case unknown
    }

    /// The expression a source names, and the flow it is read in (nil: outside any flow).
    @inline(__always)
    private func expression(_ source: Source) -> (IRExpr, flow: Int?)? {
        // The flow and its element read in place (`Program.flow(at:)`): `program.flows[f]`
        // copied the whole flow graph for every source in every round, and `elements[i].kind`
        // in a pattern copied the element.
        switch source {
        case .set(let f, let i):
            let value: IRExpr? = program.flow(at: Int(f)).pointee.elements.withUnsafeBufferPointer { elements in
                guard case .set(_, _, let value) = (elements.baseAddress! + Int(i)).pointee.kind else { return nil }
                return value
            }
            if let value { return (value, Int(f)) }
        case .argument(let f, let i, let k):
            let argument: IRExpr? = program.flow(at: Int(f)).pointee.elements.withUnsafeBufferPointer { elements in
                guard case .call(let info) = (elements.baseAddress! + Int(i)).pointee.kind else { return nil }
                return info.arguments[Int(k)]
            }
            if let argument { return (argument, Int(f)) }
        case .parameterDefault(let f, let k):
            if let d = program.flow(at: Int(f)).pointee.parameters[Int(k)].defaultValue { return (d, nil) }
        case .outputDefault(let f, let k):
            if let d = program.flow(at: Int(f)).pointee.outputs[Int(k)].defaultValue { return (d, nil) }
        case .slot, .unknown: break
        }
        return nil
    }

    /// Calls `add` with every (flow, local, source) pair, in source order.
    private func visitSources(_ add: (_ flow: Int, _ slot: Int, _ source: Source) -> Void) {
        // Flows read in place: a flow graph copied out of the array (the loop's `flow`, a
        // callee) is a dozen arrays retained and released.
        program.flows.withUnsafeBufferPointer { flows in
            var called = [Bool](repeating: false, count: flows.count)
            for f in flows.indices {
                let flow = flows.baseAddress! + f
                for (oi, o) in flow.pointee.outputs.enumerated() where o.defaultValue != nil {
                    add(f, flow.pointee.parameters.count + oi, .outputDefault(flow: Int32(f), index: Int32(oi)))
                }
                // Each element read in place through its buffer (a copy of an element was most of the
                // cost of this walk, and `flow.elements[i].kind` in a switch still copied it), and
                // switched on by its case alone (`ElementKind.tag`): a `switch` that binds copies the
                // whole kind first, whatever the case, and most elements are neither a set nor a call.
                flow.pointee.elements.withUnsafeBufferPointer { elements in
                    for i in elements.indices {
                        let element = elements.baseAddress! + i
                        switch element.pointee.kind.tag {
                        case .set:
                            guard case .set(.local(let s), let op, _) = element.pointee.kind else { continue }
                            add(f, s, op == .assign ? .set(flow: Int32(f), element: Int32(i)) : .unknown)
                        case .call:
                            guard case .call(let info) = element.pointee.kind else { continue }
                            if case .flow(let g) = info.target, g >= 0, g < flows.count {
                                called[g] = true
                                let callee = flows.baseAddress! + g
                                for (k, p) in callee.pointee.parameters.enumerated() {
                                    if k < info.arguments.count, info.arguments[k] != nil {
                                        add(g, k, .argument(flow: Int32(f), element: Int32(i), argument: Int32(k)))
                                    } else if p.defaultValue != nil {
                                        add(g, k, .parameterDefault(flow: Int32(g), index: Int32(k)))
                                    }
                                }
                                let parameterCount = callee.pointee.parameters.count
                                for (oi, slot) in info.outputs {
                                    if let other = index(g, parameterCount + oi) { add(f, slot, .slot(other)) }
                                }
                            } else {
                                for (_, slot) in info.outputs { add(f, slot, .unknown) }
                            }
                            if let w = info.wholeResult { add(f, w, .unknown) }
                        default: break
                        }
                    }
                }
            }
            // The entry flow's parameters, and those of flows no flow calls, come from the host.
            for f in flows.indices where f == program.entry || !called[f] {
                for k in flows[f].parameters.indices { add(f, k, .unknown) }
            }
        }
    }

    /// Solves what every local of every flow can hold.
    func solve() {
        let total = base[base.count - 1]
        facts = Array(repeating: nil, count: total)
        unknown = Array(repeating: false, count: total)
        inferred = Array(repeating: nil, count: total)
        defer { solved = true }
        // Every (local, source) pair in the order met, grouped by local in that order: counted in
        // one walk of the program, then put in place in a second, rather than listed and then
        // copied grouped (which held both lists at once: peak memory on a long flow).
        // Locals in the order their first source was met (source order): straight-line code then
        // settles in one round, where another order took a round per link of a chain of `set`s
        // (100,000 `set` lines: 8.3 s), and the result does not depend on that order.
        var order: [Int] = []
        var seen = [Bool](repeating: false, count: facts.count)
        var start = [Int32](repeating: 0, count: facts.count + 1)
        var pairCount = 0
        visitSources { flow, slot, _ in
            guard let g = index(flow, slot) else { return }
            if !seen[g] { seen[g] = true; order.append(g) }
            start[g + 1] += 1
            pairCount += 1
        }
        for k in 0..<facts.count { start[k + 1] += start[k] }
        var sources = [Source](repeating: .unknown, count: pairCount)
        do {
            var fill = start
            visitSources { flow, slot, source in
                guard let g = index(flow, slot) else { return }
                sources[Int(fill[g])] = source
                fill[g] += 1
            }
        }
        // Who reads whom: `readers[readerStart[g] ..< readerStart[g + 1]]` are the locals with a
        // source that reads local `g` (its facts, or its inferred type). A local is evaluated
        // again only when one of those it reads changed since it was last evaluated (`dirty`,
        // which reuses `seen`: every local with a source starts dirty). Evaluating it again
        // otherwise gives what it holds already, so the rounds end in the same state as when
        // every local was evaluated in every round, with the same count of rounds; the round
        // that only confirmed straight-line code had settled no longer evaluates anything.
        // Each source's expression is walked once: every read is listed (the local read, the
        // local whose source reads it), counted, then put in place. Walking the sources a second
        // time to put them in place read each expression out of its element again (a copy of
        // the element's kind each time).
        var readerStart = [Int32](repeating: 0, count: facts.count + 1)
        var readLocals: [Int32] = [], readBy: [Int32] = []
        for slot in order {
            for q in Int(start[slot])..<Int(start[slot + 1]) {
                forEachRead(sources[q]) { g in
                    readerStart[g + 1] += 1
                    readLocals.append(Int32(g))
                    readBy.append(Int32(slot))
                }
            }
        }
        for k in 0..<facts.count { readerStart[k + 1] += readerStart[k] }
        var readers = [Int32](repeating: 0, count: Int(readerStart[facts.count]))
        do {
            var fill = readerStart
            for r in readLocals.indices {
                let g = Int(readLocals[r])
                readers[Int(fill[g])] = readBy[r]
                fill[g] += 1
            }
        }
        readLocals = []
        readBy = []
        var dirty = seen
        seen = []
        solving = true
        defer { solving = false }
        for _ in 0..<50 {
            var changed = false
            for slot in order where !unknown[slot] && dirty[slot] {
                dirty[slot] = false
                let old = facts[slot]
                var values = old ?? Known()
                let oldCount = old?.count
                var configs = values.configs
                var options = values.options
                var type: ValueType? = inferred[slot]
                var isUnknown = false
                for q in Int(start[slot])..<Int(start[slot + 1]) {
                    let k: Known?
                    var t: ValueType?
                    switch sources[q] {
                    case .unknown: k = nil
                    case .slot(let other):
                        k = unknown[other] ? nil : (facts[other] ?? Known())
                        t = variableType(other)
                        if t == .any { t = inferred[other] }
                    default:
                        guard let (e, fl) = expression(sources[q]) else { k = nil; break }
                        k = known(e, flow: fl)
                        t = e.type != .any ? e.type : (fl.flatMap { f in
                            if case .local(let x) = e.kind, let g = index(f, x) { return inferred[g] }
                            return nil
                        })
                    }
                    if let t {
                        if type == nil { type = t } else if type != t { type = (type!.isNumeric && t.isNumeric) ? .currency : .any }
                    }
                    guard let k else { isUnknown = true; break }
                    if !k.configs.isEmpty { configs.formUnion(k.configs) }
                    if options == nil { options = k.options }
                    // `values` is already distinct: add what is new (as `distinct(values + k.values)`).
                    for i in 0..<k.count {
                        let v = k[i]
                        if !values.holds(v) { values.append(v) }
                    }
                    if values.count > Self.limit { isUnknown = true; break }
                }
                var touched = false
                if let type, inferred[slot] != type { inferred[slot] = type; changed = true; touched = true }
                if isUnknown {
                    unknown[slot] = true
                    facts[slot] = nil
                    changed = true
                    touched = true
                } else {
                    // Values are only ever added, so the same count is the same values.
                    if oldCount != values.count || old?.configs != configs {
                        changed = true
                        touched = true
                    } else if (old?.options == nil) != (options == nil) {
                        touched = true
                    }
                    values.configs = configs
                    values.options = options
                    facts[slot] = values
                }
                if touched {
                    for r in Int(readerStart[slot])..<Int(readerStart[slot + 1]) { dirty[Int(readers[r])] = true }
                }
            }
            if !changed { break }
        }
        // What is still empty was never given a value that could be known (a loop of copies).
        for g in facts.indices where facts[g]?.isEmpty == true { facts[g] = nil }
    }

    /// Calls `body` with the flat index of every local `source` reads (more than once for a local
    /// read more than once).
    private func forEachRead(_ source: Source, _ body: (Int) -> Void) {
        switch source {
        case .unknown: break
        case .slot(let other): body(other)
        default:
            guard let (e, fl) = expression(source), let fl else { return }
            func visit(_ e: UnsafePointer<IRExpr>) {
                if case .local(let x) = e.pointee.kind {
                    if let g = index(fl, x) { body(g) }
                } else {
                    IRExpr.forEachChild(of: e, visit)
                }
            }
            withUnsafePointer(to: e) { visit($0) }
        }
    }

    /// The declared type of the local at flat index `g`.
    private func variableType(_ g: Int) -> ValueType? {
        // The flow holding `g`: the last one whose base is at most `g` (flows with no locals
        // share a base with the next).
        var lo = 0, hi = base.count - 2
        while lo < hi {
            let mid = (lo + hi + 1) / 2
            if base[mid] <= g { lo = mid } else { hi = mid - 1 }
        }
        let slot = g - base[lo]
        let flow = program.flow(at: lo)
        return slot < flow.pointee.variableTypes.count ? flow.pointee.variableTypes[slot] : nil
    }
}
