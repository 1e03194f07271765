/// Runs the graph checks on one compiled flow. Each check is its own type below or in its own
/// file; they share the successor and predecessor lists computed once here.
struct FlowChecks {
    let out: CheckOutput
    let flow: FlowGraph
    let context: FlowContext
    let assignments: [(slot: Int32, range: SourceRange)]
    /// Arrays reused from the flow checked before on this thread.
    var pool = CheckScratch()

    func run() {
        let graph = GraphIndex(flow, pool: pool)
        let reachable = GraphIndex.reachable(in: flow, pool: pool)
        defer {
            graph.give(to: pool)
            pool.give(reachable)
        }
        // A name that did not resolve (a label, say) would make these checks report its
        // consequences again.
        guard !context.hadResolutionError else { return }
        UnreachableElements(out: out, flow: flow, graph: graph, reachable: reachable).check()
        LoopsWithoutExit(out: out, flow: flow, graph: graph, reachable: reachable, pool: pool).check()
        ReadBeforeSet(out: out, flow: flow, context: context, reachable: reachable, pool: pool).check()
        UnusedVariables(out: out, context: context, assignments: assignments).check()
    }

    /// `run` in two parts that may run on two threads at once (a long flow's, `GraphCheckQueue`):
    /// the reads before sets into `out`, and the rest (`runOthers`). Reported in `run`'s order,
    /// the rest's first part, then `out`, then its last part.
    func runReadsBeforeSets() {
        guard !context.hadResolutionError else { return }
        ReadBeforeSet(out: out, flow: flow, context: context, reachable: GraphIndex.reachable(in: flow)).check()
    }

    /// The checks of `run` but the reads before sets: those before them into `before`, those
    /// after into `after`.
    func runOthers(before: CheckOutput, after: CheckOutput) {
        let graph = GraphIndex(flow)
        let reachable = GraphIndex.reachable(in: flow)
        guard !context.hadResolutionError else { return }
        UnreachableElements(out: before, flow: flow, graph: graph, reachable: reachable).check()
        LoopsWithoutExit(out: before, flow: flow, graph: graph, reachable: reachable).check()
        UnusedVariables(out: after, context: context, assignments: assignments).check()
    }
}

/// Successors and predecessors of every element. Successors are read off the elements' two
/// edges; predecessors are kept in one flat array (`predecessorList[predecessorStart[i]..<…[i+1]]`),
/// so building the index allocates three arrays whatever the size of the flow.
struct GraphIndex {
    private let next: [Int32]
    private let branch: [Int32]
    private var predecessorStart: [Int32]
    private var predecessorList: [Int32]

    /// `pool`: where the arrays come from (and go back to, `give(to:)`), when the index is made
    /// for one flow's checks.
    init(_ flow: FlowGraph, pool: CheckScratch? = nil) {
        let n = flow.elements.count
        // Read the edges in place: mapping over the elements would copy each one.
        // Arrays from the pool are written through their buffers: not known to be unique here,
        // each write to one checked that it was.
        var next = pool?.int32s(n, -1) ?? [Int32](repeating: -1, count: n)
        var branch = pool?.int32s(n, -1) ?? [Int32](repeating: -1, count: n)
        var counts = pool?.int32s(n + 1, 0) ?? [Int32](repeating: 0, count: n + 1)
        next.withUnsafeMutableBufferPointer { next in
            branch.withUnsafeMutableBufferPointer { branch in
                counts.withUnsafeMutableBufferPointer { counts in
                    for i in 0..<n {
                        next[i] = flow.elements[i].next
                        branch[i] = flow.elements[i].branch
                        if next[i] >= 0 { counts[Int(next[i]) + 1] += 1 }
                        if branch[i] >= 0 { counts[Int(branch[i]) + 1] += 1 }
                    }
                    for i in 0..<n { counts[i + 1] += counts[i] }
                }
            }
        }
        self.next = next
        self.branch = branch
        var fill = pool?.int32s(0, 0) ?? []
        fill.append(contentsOf: counts)
        defer { pool?.give(fill) }
        predecessorStart = counts
        var list = pool?.int32s(Int(counts[n]), 0) ?? [Int32](repeating: 0, count: Int(counts[n]))
        list.withUnsafeMutableBufferPointer { list in
            fill.withUnsafeMutableBufferPointer { fill in
                // Each edge on its own: `for j in [next[i], branch[i]]` made an array for every element.
                func add(_ i: Int, _ j: Int32) {
                    guard j >= 0 else { return }
                    list[Int(fill[Int(j)])] = Int32(i)
                    fill[Int(j)] += 1
                }
                for i in 0..<n {
                    add(i, next[i])
                    add(i, branch[i])
                }
            }
        }
        predecessorList = list
    }

    var count: Int { next.count }

    /// Gives the index's arrays back to `pool`, for the next flow's.
    func give(to pool: CheckScratch) {
        pool.give(next)
        pool.give(branch)
        pool.give(predecessorStart)
        pool.give(predecessorList)
    }

    /// Calls `body` with each successor of `i`.
    @inline(__always)
    func forEachSuccessor(_ i: Int, _ body: (Int) -> Void) {
        if next[i] >= 0 { body(Int(next[i])) }
        if branch[i] >= 0 { body(Int(branch[i])) }
    }

    @inline(__always)
    func forEachPredecessor(_ i: Int, _ body: (Int) -> Void) {
        for k in Int(predecessorStart[i])..<Int(predecessorStart[i + 1]) { body(Int(predecessorList[k])) }
    }

    func hasPredecessor(_ i: Int, where test: (Int) -> Bool) -> Bool {
        for k in Int(predecessorStart[i])..<Int(predecessorStart[i + 1]) where test(Int(predecessorList[k])) { return true }
        return false
    }

    /// The elements reached from the flow's entry, read off the elements' edges (no index needed:
    /// the reads before sets, on a thread of their own for a long flow, make none).
    static func reachable(in flow: FlowGraph, pool: CheckScratch? = nil) -> [Bool] {
        let n = flow.elements.count
        var seen = pool?.bools(n, false) ?? [Bool](repeating: false, count: n)
        guard flow.entry >= 0 && flow.entry < n else { return seen }
        var stack = pool?.int32s(0, 0) ?? []
        defer { pool?.give(stack) }
        stack.append(Int32(flow.entry))
        seen[flow.entry] = true
        flow.elements.withUnsafeBufferPointer { elements in
            func reach(_ s: Int32) {
                guard s >= 0, !seen[Int(s)] else { return }
                seen[Int(s)] = true
                stack.append(s)
            }
            while let i = stack.popLast() {
                reach(elements[Int(i)].next)
                reach(elements[Int(i)].branch)
            }
        }
        return seen
    }
}

/// Elements no path from the start of the flow reaches: code after a `finish` or a `goto`, or
/// after an `if` whose branches all finish.
///
///     finish success
///     response "never shown"    // error: this element is never reached
///
/// One error per unreachable region, at its first element.
struct UnreachableElements {
    let out: CheckOutput
    let flow: FlowGraph
    let graph: GraphIndex
    let reachable: [Bool]

    func check() {
        let n = flow.elements.count
        var covered = reachable
        for i in 0..<n where !covered[i] {
            if case .end = flow.elements[i].kind { covered[i] = true }
        }
        // Region heads: unreachable elements that no unreachable element leads to.
        var heads: [Int] = []
        for i in 0..<n where !covered[i] {
            if !graph.hasPredecessor(i, where: { !reachable[$0] && !isEnd($0) }) { heads.append(i) }
        }
        // Cycles with no head: take the first element in source order.
        var order = (0..<n).filter { !covered[$0] }
        order.sort { flow.elements[$0].range.start < flow.elements[$1].range.start }
        func cover(_ start: Int) {
            var stack = [start]
            covered[start] = true
            while let i = stack.popLast() {
                graph.forEachSuccessor(i) { j in
                    if !covered[j] {
                        covered[j] = true
                        stack.append(j)
                    }
                }
            }
        }
        var reported: [Int] = []
        for h in heads where !covered[h] { reported.append(h); cover(h) }
        for i in order where !covered[i] { reported.append(i); cover(i) }
        for i in reported {
            let r = flow.elements[i].range
            var hint = "remove it, or mark it with a label and jump to it with 'goto'"
            if case .label(let name) = flow.elements[i].kind { hint = "no 'goto \(name)' is reached; remove the label or jump to it" }
            out.report(.unreachable, r, label: "no path from the start of the flow reaches this", hint: hint)
        }
    }

    private func isEnd(_ i: Int) -> Bool {
        if case .end = flow.elements[i].kind { return true }
        return false
    }
}

/// Loops with no way out, and flows that can never finish: an element from which no path reaches
/// a `finish` or the end of the flow.
///
///     label Ask
///     question Amount: currency
///     goto Ask                  // error: this loop has no way out
struct LoopsWithoutExit {
    let out: CheckOutput
    let flow: FlowGraph
    let graph: GraphIndex
    let reachable: [Bool]
    var pool = CheckScratch()

    func check() {
        let n = flow.elements.count
        var canExit = pool.bools(n, false)
        var stack = pool.ints()
        // Through the buffer: an array from the pool is not known to be unique here, and each
        // write checked that it was.
        canExit.withUnsafeMutableBufferPointer { canExit in
            for i in 0..<n {
                switch flow.elements[i].kind.tag {
                case .finish, .end:
                    canExit[i] = true
                    stack.append(i)
                default: break
                }
            }
            while let i = stack.popLast() {
                graph.forEachPredecessor(i) { j in
                    if !canExit[j] {
                        canExit[j] = true
                        stack.append(j)
                    }
                }
            }
        }
        var reported = false
        for i in 0..<n where reachable[i] && !canExit[i] {
            let e = flow.elements[i]
            switch e.kind {
            case .goto(let label):
                reported = true
                let target = e.next >= 0 ? flow.elements[Int(e.next)].range : nil
                out.report(.loopWithoutExit, e.range,
                               notes: target.map { [DiagnosticNote("the loop starts at label '\(label)'", at: $0)] } ?? [],
                               hint: "give the loop a way out, for example:\n  if tries >= 3 {\n    finish failure \"too many attempts\"\n  }")
            case .call(let info) where info.hasErrorHandler && e.branch >= 0 && !canExit[Int(e.branch)]:
                if case .label = flow.elements[Int(e.branch)].kind {
                    reported = true
                    out.report(.loopWithoutExit, e.range, hint: "give the loop a way out, for example a counter and 'finish failure'")
                }
            default: break
            }
        }
        if !reported && flow.entry >= 0 && !canExit[flow.entry] {
            out.report(.flowNeverFinishes(flow.name), flow.range)
        }
        pool.give(canExit)
        pool.give(stack)
    }
}
