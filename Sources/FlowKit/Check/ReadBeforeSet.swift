/// A variable or an answer read on some path before anything sets it. This is dataflow over the
/// element graph (definite assignment), not "is it set somewhere in the file":
///
///     if vip {
///       set discount = 10
///     }
///     response "Discount: {discount}"   // error: 'discount' may be read before it is set
///
/// Also: a sub-flow's outputs must be set on every path to its end or `finish success`.
/// A class, not a struct: its methods are passed as closures, and capturing a struct this size
/// copies (and retains) every field on each call.
final class ReadBeforeSet {
    let builder: ProgramBuilder
    let flow: FlowGraph
    let context: FlowContext
    let graph: GraphIndex
    let reachable: [Bool]

    init(builder: ProgramBuilder, flow: FlowGraph, context: FlowContext, graph: GraphIndex, reachable: [Bool]) {
        self.builder = builder
        self.flow = flow
        self.context = context
        self.graph = graph
        self.reachable = reachable
    }

    /// Bits: one per variable slot, then one per page.
    private var bitCount: Int { flow.variables.count + flow.pages.count }

    func check() {
        let n = flow.elements.count
        guard n > 0, flow.entry >= 0 else { return }
        let words = (bitCount + 63) / 64
        guard words > 0 else { return }
        // The facts at each element's entry; all-ones (top) until a path reaches it.
        var facts = [UInt64](repeating: ~0, count: n * words)
        var entry = [UInt64](repeating: 0, count: words)
        for slot in 0..<flow.parameterCount { entry[slot / 64] |= 1 << UInt64(slot % 64) }
        // An output with a default starts out set.
        for (i, output) in flow.outputs.enumerated() where output.defaultValue != nil {
            let slot = context.outputSlots[i]
            entry[slot / 64] |= 1 << UInt64(slot % 64)
        }
        // What each element defines on its normal edge (`next`), as a flat list.
        var defStart = [Int32](repeating: 0, count: n + 1)
        var defSlots: [Int32] = []
        for i in 0..<n {
            switch flow.elements[i].kind {
            case .page(let p): defSlots.append(Int32(flow.variables.count + p))
            case .set(.local(let slot), _, _): defSlots.append(Int32(slot))
            case .call(let info):
                for o in info.outputs { defSlots.append(Int32(o.slot)) }
                if let w = info.wholeResult { defSlots.append(Int32(w)) }
            default: break
            }
            defStart[i + 1] = Int32(defSlots.count)
        }
        for w in 0..<words { facts[flow.entry * words + w] = entry[w] }
        var inWork = [Bool](repeating: false, count: n)
        var work = [flow.entry]
        inWork[flow.entry] = true
        var out = [UInt64](repeating: 0, count: words)
        while let i = work.popLast() {
            inWork[i] = false
            for w in 0..<words { out[w] = facts[i * words + w] }
            let (next, branch) = (flow.elements[i].next, flow.elements[i].branch)
            // The error edge of a call does not get the call's outputs.
            if branch >= 0 { propagate(out, to: Int(branch)) }
            for k in Int(defStart[i])..<Int(defStart[i + 1]) {
                let d = Int(defSlots[k])
                out[d / 64] |= 1 << UInt64(d % 64)
            }
            if next >= 0 { propagate(out, to: Int(next)) }
        }
        func propagate(_ value: [UInt64], to j: Int) {
            var changed = false
            for w in 0..<words {
                let old = facts[j * words + w]
                let new = old & value[w]
                if new != old { facts[j * words + w] = new; changed = true }
            }
            if changed && !inWork[j] { inWork[j] = true; work.append(j) }
        }
        // Report each read of something not definitely set.
        var reported = Set<SourceRange>()
        var reads: [(bit: Int, range: SourceRange)] = []
        for (i, e) in flow.elements.enumerated() where reachable[i] {
            let base = i * words
            func isSet(_ bit: Int) -> Bool { facts[base + bit / 64] & (1 << UInt64(bit % 64)) != 0 }
            reads.removeAll(keepingCapacity: true)
            forEachExpression(e) { collectReads($0, &reads) }
            if case .set(.local(let slot), let op, _) = e.kind, op != .assign {
                reads.append((slot, e.range))
            }
            for (bit, range) in reads where !isSet(bit) && !reported.contains(range) {
                reported.insert(range)
                if bit < flow.variables.count {
                    builder.report(.readBeforeSet(flow.variables[bit]), range,
                                   hint: "set it on every path before this, for example: set \(flow.variables[bit]) = …")
                } else {
                    let page = flow.pages[bit - flow.variables.count]
                    builder.report(.answerBeforeAsked(page.name), range,
                                   notes: [DiagnosticNote("the page is asked here", at: page.range)])
                }
            }
            // Outputs of a sub-flow must be set when it finishes successfully.
            var finishesWithSuccess = false
            switch e.kind {
            case .end: finishesWithSuccess = true
            case .finish(let success, _): finishesWithSuccess = success
            default: break
            }
            if finishesWithSuccess {
                for slot in context.outputSlots where !isSet(slot) {
                    builder.report(.outputNotSet(flow.variables[slot]), e.range,
                                   hint: "set every output before the flow finishes: set \(flow.variables[slot]) = …")
                }
            }
        }
    }

    private func forEachExpression(_ e: Element, _ body: (IRExpr) -> Void) {
        switch e.kind {
        case .page(let p):
            if let t = flow.pages[p].title { body(t) }
            for q in flow.pages[p].questions.indices {
                // Each read in place: no array of the four, no copy of the question.
                if let x = flow.pages[p].questions[q].prompt { body(x) }
                if let x = flow.pages[p].questions[q].defaultValue { body(x) }
                if let x = flow.pages[p].questions[q].min { body(x) }
                if let x = flow.pages[p].questions[q].max { body(x) }
                for x in flow.pages[p].questions[q].options { body(x) }
            }
        case .call(let info): for a in info.arguments { if let a { body(a) } }
        case .response(let x), .decision(let x): body(x)
        case .set(_, _, let x): body(x)
        case .finish(_, let x): if let x { body(x) }
        case .label, .goto, .end: break
        }
    }

    private func collectReads(_ x: IRExpr, _ out: inout [(bit: Int, range: SourceRange)]) {
        switch x.kind {
        case .local(let slot): out.append((slot, x.range))
        case .answer(let page, _): out.append((flow.variables.count + page, x.range))
        case .template(let parts), .list(let parts), .builtin(_, let parts): for p in parts { collectReads(p, &out) }
        case .member(let b, _): collectReads(b, &out)
        case .index(let a, let b), .binary(_, let a, let b):
            collectReads(a, &out)
            collectReads(b, &out)
        case .unary(_, let a): collectReads(a, &out)
        case .object(let fields): for f in fields { collectReads(f.1, &out) }
        case .constant, .session, .config, .secret, .error, .invalid: break
        }
    }
}

/// A variable that is set but never read (a warning; `--strict` makes it an error).
///
///     set receipt = result.id          // warning: 'receipt' is set but never read
struct UnusedVariables {
    let builder: ProgramBuilder
    let context: FlowContext
    let assignments: [(slot: Int, range: SourceRange)]

    func check() {
        var warned = Set<Int>()
        for (slot, range) in assignments where context.reads[slot] == 0 && !warned.contains(slot) {
            warned.insert(slot)
            builder.report(.unusedVariable(context.localNames[slot]), range,
                           hint: "remove it, or read it, for example in a response: \"{\(context.localNames[slot])}\"")
        }
    }
}
