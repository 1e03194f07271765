/// Runs the graph checks on one compiled flow. Each check is its own type below or in its own
/// file; they share the successor and predecessor lists computed once here.
struct FlowChecks {
    let builder: ProgramBuilder
    let flow: FlowGraph
    let context: FlowContext
    let assignments: [(slot: Int, range: SourceRange)]

    func run() {
        let graph = GraphIndex(flow)
        let reachable = graph.reachable(from: flow.entry)
        UnreachableElements(builder: builder, flow: flow, graph: graph, reachable: reachable).check()
        // A name that did not resolve would make these checks report its consequences again.
        guard !context.hadResolutionError else { return }
        LoopsWithoutExit(builder: builder, flow: flow, graph: graph, reachable: reachable).check()
        ReadBeforeSet(builder: builder, flow: flow, context: context, graph: graph, reachable: reachable).check()
        UnusedVariables(builder: builder, context: context, assignments: assignments).check()
    }
}

/// Successors and predecessors of every element.
struct GraphIndex {
    var successors: [[Int]]
    var predecessors: [[Int]]

    init(_ flow: FlowGraph) {
        successors = flow.elements.map { e in [e.next, e.branch].filter { $0 >= 0 }.map(Int.init) }
        predecessors = Array(repeating: [], count: flow.elements.count)
        for (i, s) in successors.enumerated() { for j in s { predecessors[j].append(i) } }
    }

    func reachable(from entry: Int) -> [Bool] {
        var seen = [Bool](repeating: false, count: successors.count)
        guard entry >= 0 && entry < successors.count else { return seen }
        var stack = [entry]
        seen[entry] = true
        while let i = stack.popLast() {
            for j in successors[i] where !seen[j] {
                seen[j] = true
                stack.append(j)
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
    let builder: ProgramBuilder
    let flow: FlowGraph
    let graph: GraphIndex
    let reachable: [Bool]

    func check() {
        let n = flow.elements.count
        var covered = reachable
        for (i, e) in flow.elements.enumerated() where !covered[i] {
            if case .end = e.kind { covered[i] = true }
        }
        // Region heads: unreachable elements that no unreachable element leads to.
        var heads: [Int] = []
        for i in 0..<n where !covered[i] {
            if !graph.predecessors[i].contains(where: { !reachable[$0] && !isEnd($0) }) { heads.append(i) }
        }
        // Cycles with no head: take the first element in source order.
        var order = (0..<n).filter { !covered[$0] }
        order.sort { flow.elements[$0].range.start < flow.elements[$1].range.start }
        func cover(_ start: Int) {
            var stack = [start]
            covered[start] = true
            while let i = stack.popLast() {
                for j in graph.successors[i] where !covered[j] {
                    covered[j] = true
                    stack.append(j)
                }
            }
        }
        var reported: [Int] = []
        for h in heads where !covered[h] { reported.append(h); cover(h) }
        for i in order where !covered[i] { reported.append(i); cover(i) }
        for i in reported {
            let r = flow.elements[i].range
            builder.report(.unreachable, r, label: "no path from the start of the flow reaches this",
                           hint: "remove it, or mark it with a label and jump to it with 'goto'")
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
    let builder: ProgramBuilder
    let flow: FlowGraph
    let graph: GraphIndex
    let reachable: [Bool]

    func check() {
        let n = flow.elements.count
        var canExit = [Bool](repeating: false, count: n)
        var stack: [Int] = []
        for (i, e) in flow.elements.enumerated() {
            switch e.kind {
            case .finish, .end:
                canExit[i] = true
                stack.append(i)
            default: break
            }
        }
        while let i = stack.popLast() {
            for j in graph.predecessors[i] where !canExit[j] {
                canExit[j] = true
                stack.append(j)
            }
        }
        var reported = false
        for (i, e) in flow.elements.enumerated() where reachable[i] && !canExit[i] {
            switch e.kind {
            case .goto(let label):
                reported = true
                let target = e.next >= 0 ? flow.elements[Int(e.next)].range : nil
                builder.report(.loopWithoutExit, e.range,
                               notes: target.map { [DiagnosticNote("the loop starts at label '\(label)'", at: $0)] } ?? [],
                               hint: "give the loop a way out, for example:\n  if tries >= 3 {\n    finish failure \"too many attempts\"\n  }")
            case .call(let info) where info.hasErrorHandler && e.branch >= 0 && !canExit[Int(e.branch)]:
                if case .label = flow.elements[Int(e.branch)].kind {
                    reported = true
                    builder.report(.loopWithoutExit, e.range, hint: "give the loop a way out, for example a counter and 'finish failure'")
                }
            default: break
            }
        }
        if !reported && flow.entry >= 0 && !canExit[flow.entry] {
            builder.report(.flowNeverFinishes(flow.name), flow.range)
        }
    }
}
