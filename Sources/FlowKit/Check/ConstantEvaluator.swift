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
    /// The values it can take, distinct; one value for a constant.
    var values: [Value]
    /// Configs whose declared values decide it (a `--define` could change it).
    var configs: Set<Int> = []
    /// The choice question whose options these values are (possibly with others), when it is one.
    var options: OptionOrigin?

    var constant: Value? { values.count == 1 ? values[0] : nil }
}

/// Where the options of a choice answer come from.
struct OptionOrigin {
    /// `Page.Question`.
    var reference: String
    /// The question's name in the source.
    var range: SourceRange
    /// The options as declared, in order.
    var options: [String]
}

/// A local variable of one flow.
struct FlowSlot: Hashable {
    var flow: Int
    var slot: Int
}

final class ConstantEvaluator {
    let program: Program
    /// Values of locals, solved by `solve()`; a slot absent here is unknown.
    private var facts: [FlowSlot: Known] = [:]
    private var unknown = Set<FlowSlot>()
    /// The types locals hold when their declared type is `any` (untyped parameters).
    private(set) var inferredTypes: [FlowSlot: ValueType] = [:]
    private var solving = false
    private var configCache: [Int: Known?] = [:]
    private var visitingConfigs = Set<Int>()
    /// More values than this and a value is treated as unknown.
    static let limit = 32

    init(program: Program) {
        self.program = program
    }

    // MARK: - Expressions

    /// What is known about `e`, evaluated in flow `flow` (nil: outside any flow, where only
    /// literals and configs are known).
    func known(_ e: IRExpr, flow: Int?) -> Known? {
        switch e.kind {
        case .constant(let v):
            return Known(values: [v])
        case .config(let i):
            return config(i)
        case .local(let slot):
            guard let flow else { return nil }
            let key = FlowSlot(flow: flow, slot: slot)
            if unknown.contains(key) { return nil }
            if let k = facts[key] { return k }
            return solving ? Known(values: []) : nil
        case .answer(let page, let question):
            guard let flow else { return nil }
            let q = program.flows[flow].pages[page].questions[question]
            guard q.type == .choice else { return nil }
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
        case .template(let parts):
            return combine(parts, flow: flow) { values throws(RuntimeError) in
                var text = ""
                for (v, p) in zip(values, parts) { text += v.displayText(asCurrency: p.type == .currency) }
                return .text(text)
            }
        case .unary(let op, let operand):
            return combine([operand], flow: flow) { values throws(RuntimeError) in
                switch (op, values[0]) {
                case (.not, .bool(let b)): return .bool(!b)
                case (.negate, .number(let n)): return .number(-n)
                default: throw RuntimeError(.invalidExpression, at: e.range)
                }
            }
        case .binary(let op, let l, let r):
            if op == .and || op == .or { return logical(op, l, r, flow: flow) }
            return combine([l, r], flow: flow) { values throws(RuntimeError) in
                try Arithmetic.binary(op, values[0], values[1], at: e.range)
            }
        case .builtin(let f, let args):
            if f == .today { return nil }
            return combine(args, flow: flow) { values throws(RuntimeError) in
                try Builtins.call(f, values, args, today: "", at: e.range)
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
    private func logical(_ op: BinaryOperator, _ l: IRExpr, _ r: IRExpr, flow: Int?) -> Known? {
        guard let a = known(l, flow: flow) else {
            // An unknown left side: a right side that decides alone still decides.
            guard let b = known(r, flow: flow), let v = b.constant, v == .bool(op == .or) else { return nil }
            return Known(values: [v], configs: b.configs)
        }
        var out: [Value] = []
        var configs = a.configs
        for v in a.values {
            guard case .bool(let x) = v else { return nil }
            if op == .and && !x { out.append(.bool(false)); continue }
            if op == .or && x { out.append(.bool(true)); continue }
            guard let b = known(r, flow: flow) else { return nil }
            configs.formUnion(b.configs)
            for w in b.values {
                guard case .bool = w else { return nil }
                out.append(w)
            }
        }
        return Known(values: Self.distinct(out), configs: configs)
    }

    /// Applies `f` to every combination of the operands' values.
    private func combine(_ operands: [IRExpr], flow: Int?, _ f: ([Value]) throws(RuntimeError) -> Value) -> Known? {
        var sets: [[Value]] = []
        var configs = Set<Int>()
        var count = 1
        for o in operands {
            guard let k = known(o, flow: flow) else { return nil }
            sets.append(k.values)
            configs.formUnion(k.configs)
            count *= max(k.values.count, 1)
            if count > Self.limit { return nil }
        }
        if sets.contains(where: \.isEmpty) { return Known(values: [], configs: configs) }
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
        var out: [Value] = []
        for v in values where !out.contains(where: { Arithmetic.equal($0, v) && $0.kindName == v.kindName }) { out.append(v) }
        return out
    }

    // MARK: - Variables

    private enum Source {
        case expr(IRExpr, flow: Int?)
        case slot(FlowSlot)
        case unknown
    }

    /// Solves what every local of every flow can hold.
    func solve() {
        var sources: [FlowSlot: [Source]] = [:]
        // Slots in the order their first source was met (source order): straight-line code then
        // settles in one round, where the dictionary's order took a round per link of a chain
        // of `set`s (100,000 `set` lines: 8.3 s), and the result no longer depends on that order.
        var order: [FlowSlot] = []
        func add(_ s: FlowSlot, _ source: Source) {
            if sources[s] == nil { order.append(s) }
            sources[s, default: []].append(source)
        }
        var called = Set<Int>()
        for (f, flow) in program.flows.enumerated() {
            for (oi, o) in flow.outputs.enumerated() {
                if let d = o.defaultValue { add(FlowSlot(flow: f, slot: flow.parameters.count + oi), .expr(d, flow: nil)) }
            }
            for e in flow.elements {
                switch e.kind {
                case .set(.local(let s), let op, let value):
                    add(FlowSlot(flow: f, slot: s), op == .assign ? .expr(value, flow: f) : .unknown)
                case .call(let info):
                    if case .flow(let g) = info.target, g >= 0, g < program.flows.count {
                        called.insert(g)
                        let callee = program.flows[g]
                        for (k, p) in callee.parameters.enumerated() {
                            let target = FlowSlot(flow: g, slot: k)
                            if k < info.arguments.count, let a = info.arguments[k] {
                                add(target, .expr(a, flow: f))
                            } else if let d = p.defaultValue {
                                add(target, .expr(d, flow: nil))
                            }
                        }
                        for (oi, slot) in info.outputs {
                            add(FlowSlot(flow: f, slot: slot), .slot(FlowSlot(flow: g, slot: callee.parameters.count + oi)))
                        }
                    } else {
                        for (_, slot) in info.outputs { add(FlowSlot(flow: f, slot: slot), .unknown) }
                    }
                    if let w = info.wholeResult { add(FlowSlot(flow: f, slot: w), .unknown) }
                default: break
                }
            }
        }
        // The entry flow's parameters, and those of flows no flow calls, come from the host.
        for (f, flow) in program.flows.enumerated() where f == program.entry || !called.contains(f) {
            for k in flow.parameters.indices { add(FlowSlot(flow: f, slot: k), .unknown) }
        }
        solving = true
        defer { solving = false }
        for _ in 0..<50 {
            var changed = false
            for slot in order where !unknown.contains(slot) {
                let list = sources[slot]!
                var values: [Value] = facts[slot]?.values ?? []
                var configs = facts[slot]?.configs ?? []
                var options = facts[slot]?.options
                var type: ValueType? = inferredTypes[slot]
                var isUnknown = false
                for s in list {
                    let k: Known?
                    var t: ValueType?
                    switch s {
                    case .unknown: k = nil
                    case .expr(let e, let fl):
                        k = known(e, flow: fl)
                        t = e.type != .any ? e.type : (fl.flatMap { f in
                            if case .local(let x) = e.kind { return inferredTypes[FlowSlot(flow: f, slot: x)] }
                            return nil
                        })
                    case .slot(let other):
                        k = unknown.contains(other) ? nil : (facts[other] ?? Known(values: []))
                        t = program.flows[other.flow].variableTypes[other.slot]
                        if t == .any { t = inferredTypes[other] }
                    }
                    if let t {
                        if type == nil { type = t } else if type != t { type = (type!.isNumeric && t.isNumeric) ? .currency : .any }
                    }
                    guard let k else { isUnknown = true; break }
                    configs.formUnion(k.configs)
                    if options == nil { options = k.options }
                    values = Self.distinct(values + k.values)
                    if values.count > Self.limit { isUnknown = true; break }
                }
                if let type, inferredTypes[slot] != type { inferredTypes[slot] = type; changed = true }
                if isUnknown {
                    unknown.insert(slot)
                    facts[slot] = nil
                    changed = true
                    continue
                }
                if facts[slot]?.values.count != values.count || facts[slot]?.configs != configs {
                    changed = true
                }
                facts[slot] = Known(values: values, configs: configs, options: options)
            }
            if !changed { break }
        }
        // What is still empty was never given a value that could be known (a loop of copies).
        for (slot, k) in facts where k.values.isEmpty { facts[slot] = nil }
    }
}
