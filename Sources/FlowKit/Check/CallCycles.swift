/// A `call` from one flow to another.
struct CallEdge {
    var caller: Int
    var callee: Int
    /// The callee's name at the call.
    var range: SourceRange
}

extension ProgramBuilder {
    /// Refuses sub-flow recursion through other flows (`A` calls `B`, `B` calls `A`), as
    /// `FlowBuilder` refuses a flow calling itself: a sub-flow call cannot recurse. Each group of
    /// flows that call one another round is reported once, at its first call in the source,
    /// with a note at each call that closes the circle.
    ///
    /// The groups are the strongly connected components of the call graph (Tarjan's algorithm,
    /// without recursion, so a long chain of calls costs heap, not stack): linear in flows and
    /// calls.
    func reportCallCycles() {
        let count = program.flows.count
        guard !callEdges.isEmpty, count > 1 else { return }
        var outgoing = [[Int]](repeating: [], count: count)  // edge indices, in source order
        for (e, edge) in callEdges.enumerated() { outgoing[edge.caller].append(e) }

        // Tarjan's strongly connected components.
        var order = [Int](repeating: -1, count: count)
        var low = [Int](repeating: 0, count: count)
        var onStack = [Bool](repeating: false, count: count)
        var component = [Int](repeating: -1, count: count)
        var stack: [Int] = []
        var next = 0
        var components = 0
        for root in 0..<count where order[root] < 0 {
            var work: [(node: Int, edge: Int)] = [(root, 0)]
            order[root] = next; low[root] = next; next += 1
            stack.append(root); onStack[root] = true
            while let (node, k) = work.last {
                if k < outgoing[node].count {
                    work[work.count - 1].edge += 1
                    let to = callEdges[outgoing[node][k]].callee
                    if order[to] < 0 {
                        order[to] = next; low[to] = next; next += 1
                        stack.append(to); onStack[to] = true
                        work.append((to, 0))
                    } else if onStack[to] {
                        low[node] = min(low[node], order[to])
                    }
                    continue
                }
                work.removeLast()
                if let parent = work.last?.node { low[parent] = min(low[parent], low[node]) }
                if low[node] == order[node] {
                    while let member = stack.popLast() {
                        onStack[member] = false
                        component[member] = components
                        if member == node { break }
                    }
                    components += 1
                }
            }
        }

        // For each group of two or more flows, its first call in the source and the way back.
        var reported = Set<Int>()
        for edge in callEdges {
            let group = component[edge.caller]
            guard component[edge.callee] == group, !reported.contains(group) else { continue }
            reported.insert(group)
            // Breadth-first from the callee back to the caller, inside the group.
            var via = [Int: Int]()  // flow -> the edge that reached it
            var queue = [edge.callee]
            var head = 0
            var found = false  // edges to the flow itself are not in `callEdges`
            while head < queue.count && !found {
                let node = queue[head]
                head += 1
                for e in outgoing[node] {
                    let to = callEdges[e].callee
                    guard component[to] == group, to != edge.callee, via[to] == nil else { continue }
                    via[to] = e
                    if to == edge.caller { found = true; break }
                    queue.append(to)
                }
            }
            var path: [CallEdge] = []
            var node = edge.caller
            while node != edge.callee, let e = via[node] {
                path.append(callEdges[e])
                node = callEdges[e].caller
            }
            path.reverse()
            let name = program.flows[edge.caller].name
            let through = [edge.callee] + path.dropLast().map(\.callee)
            let notes = path.map { e in
                DiagnosticNote("'\(program.flows[e.caller].name)' calls '\(program.flows[e.callee].name)' here", at: e.range)
            }
            report(.recursiveCallThrough(name, through.map { program.flows[$0].name }), edge.range, notes: notes)
        }
    }
}
