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
    let out: CheckOutput
    let flow: FlowGraph
    let context: FlowContext
    let reachable: [Bool]
    /// Where the arrays of the check come from and go back to.
    let pool: CheckScratch

    init(out: CheckOutput, flow: FlowGraph, context: FlowContext, reachable: [Bool], pool: CheckScratch = CheckScratch()) {
        self.out = out
        self.flow = flow
        self.context = context
        self.reachable = reachable
        self.pool = pool
    }

    /// Tests set this to put every flow through the SSA path, which otherwise only flows that read
    /// more than 64 of their variables and pages take (`testBitSetsAndSSAFormReportTheSame`).
    nonisolated(unsafe) static var alwaysSSA = false

    /// Markers for what a variable holds at a point, besides a phi's index (0 or more).
    private static let unset: Int32 = -1
    private static let set: Int32 = -2

    /// Definite assignment without a fact per element per variable (which made memory and time
    /// quadratic in one flow's size): the flow is put in SSA form for the variables and pages that
    /// are read, with "not set yet" as the value each starts with, and a read is reported when
    /// that value reaches it, directly or through a phi (a join of paths). Dominators by Cooper,
    /// Harvey and Kennedy's iteration, phis at iterated dominance frontiers (Cytron et al.), one
    /// renaming walk of the dominator tree for all of them at once: linear in the flow's elements,
    /// reads and definitions for flows as people write them.
    ///
    /// A flow that reads 64 of its variables and pages or fewer, which is most flows (a long
    /// questionnaire too), takes a cheaper way to the same answer (`unsetReadsInBits`): a word of
    /// bits per element, "definitely set" met over the ways in, by a work list. Building the SSA
    /// form cost more than the whole answer there.
    func check() {
        let n = flow.elements.count
        guard n > 0, flow.entry >= 0, flow.entry < n else { return }
        let variableCount = flow.variables.count
        let bitCount = variableCount + flow.pages.count
        guard bitCount > 0 else { return }
        // Bits: one per variable slot, then one per page. Parameters, and outputs with a default,
        // are set from the start and never checked.
        var initiallySet = pool.bools(bitCount, false)
        for slot in 0..<flow.parameterCount { initiallySet[slot] = true }
        for (i, output) in flow.outputs.enumerated() where output.defaultValue != nil {
            initiallySet[context.outputSlots[i]] = true
        }

        // 1. Every read, in element order: expressions' reads, the read of a compound `set`,
        //    and the outputs at a successful finish. Only bits read somewhere are tracked.
        var readStart = pool.int32s(n + 1, 0)
        var readBit = pool.int32s(0, 0)
        var readRange = pool.ranges()
        var readIsOutput = pool.bools(0, false)
        var tracked = pool.bools(bitCount, false)
        var scratch = pool.reads()
        defer {
            pool.give(initiallySet)
            pool.give(readStart)
            pool.give(readBit)
            pool.give(readRange)
            pool.give(readIsOutput)
            pool.give(tracked)
            pool.give(scratch)
        }
        // Each element's expressions read in place (`forEachExpression`). The two patterns below
        // still copy the kind: reading them through getters copied it once for each (measured).
        flow.elements.withUnsafeBufferPointer { elements in
            for i in 0..<n {
                let element = elements.baseAddress! + i
                if reachable[i] {
                    scratch.removeAll(keepingCapacity: true)
                    forEachExpression(i) { collectReads($0, &scratch) }
                    if case .set(.local(let slot), let op, _) = element.pointee.kind, op != .assign {
                        scratch.append((slot, element.pointee.range))
                    }
                    for (bit, range) in scratch where !initiallySet[bit] {
                        readBit.append(Int32(bit))
                        readRange.append(range)
                        readIsOutput.append(false)
                        tracked[bit] = true
                    }
                    var finishesWithSuccess = false
                    switch element.pointee.kind.tag {
                    case .end: finishesWithSuccess = true
                    case .finish:
                        if case .finish(let success, _) = element.pointee.kind { finishesWithSuccess = success }
                    default: break
                    }
                    if finishesWithSuccess {
                        for slot in context.outputSlots where !initiallySet[slot] {
                            readBit.append(Int32(slot))
                            readRange.append(element.pointee.range)
                            readIsOutput.append(true)
                            tracked[slot] = true
                        }
                    }
                }
                readStart[i + 1] = Int32(readBit.count)
            }
        }
        guard !readBit.isEmpty else { return }
        // A word holds 64 bits: the tracked ones (those read somewhere), numbered in order.
        // A long flow that reads few of its variables and pages (a questionnaire whose last
        // response reads two answers) takes the cheap way too.
        // (The numbering is made only for that way: a long flow of `set`s reads all of its.)
        var trackedCount = 0
        for bit in 0..<bitCount where tracked[bit] { trackedCount += 1 }
        let unset: [Bool]
        if !Self.alwaysSSA, let inLine = unsetReadsInLine(initiallySet: initiallySet, tracked: tracked, readStart: readStart, readBit: readBit) {
            unset = inLine
        } else if trackedCount <= 64 && !Self.alwaysSSA {
            var word = pool.int8s(bitCount, -1)
            var next: Int8 = 0
            for bit in 0..<bitCount where tracked[bit] {
                word[bit] = next
                next += 1
            }
            unset = unsetReadsInBits(initiallySet: initiallySet, word: word, readStart: readStart, readBit: readBit)
            pool.give(word)
        } else {
            unset = unsetReadsInSSAForm(bitCount: bitCount, tracked: tracked, readStart: readStart, readBit: readBit)
        }

        defer { pool.give(unset) }
        // Report each read of something not definitely set, in element order.
        var reported = Set<SourceRange>()
        for i in 0..<n where reachable[i] {
            for k in Int(readStart[i])..<Int(readStart[i + 1]) where unset[k] {
                let bit = Int(readBit[k])
                let range = readRange[k]
                if readIsOutput[k] {
                    out.report(.outputNotSet(flow.variables[bit]), range,
                                   hint: "set every output before the flow finishes: set \(flow.variables[bit]) = …")
                    continue
                }
                guard !reported.contains(range) else { continue }
                reported.insert(range)
                if bit < variableCount {
                    out.report(.readBeforeSet(flow.variables[bit]), range,
                                   hint: "set it on every path before this, for example: set \(flow.variables[bit]) = …")
                } else {
                    let page = flow.pages[bit - variableCount]
                    out.report(.answerBeforeAsked(page.name), range,
                                   notes: [DiagnosticNote("the page is asked here", at: page.range)])
                }
            }
        }
    }

    /// The elements' own definitions: `elementDefs[elementDefStart[i]..<elementDefStart[i + 1]]`
    /// are the bits element `i` sets (of those `keep` keeps).
    private func definitions(keep: (Int) -> Bool) -> (start: [Int32], defs: [Int32]) {
        let n = flow.elements.count
        let variableCount = flow.variables.count
        var elementDefStart = pool.int32s(n + 1, 0)
        var elementDefs = pool.int32s(0, 0)
        // Read in place, by tag: `flow.elements[i].kind` in a `switch`, and a buffer's
        // subscript, copied each element out (and destroyed it).
        flow.elements.withUnsafeBufferPointer { elements in
            for i in 0..<n {
                func define(_ bit: Int) { if keep(bit) { elementDefs.append(Int32(bit)) } }
                let element = elements.baseAddress! + i
                switch element.pointee.kind.tag {
                case .page: if case .page(let p) = element.pointee.kind { define(variableCount + p) }
                case .set: if let slot = element.pointee.kind.assignedLocal { define(slot) }
                case .call:
                    if case .call(let info) = element.pointee.kind {
                        for o in info.outputs { define(o.slot) }
                        if let w = info.wholeResult { define(w) }
                    }
                default: break
                }
                elementDefStart[i + 1] = Int32(elementDefs.count)
            }
        }
        return (elementDefStart, elementDefs)
    }

    /// For each read, whether what it reads may be unset there, when the reachable elements are
    /// one line from the entry (no decision, no error edge, no jump back): what is set on the
    /// way into an element is then what the elements before it set. Nil for any other shape.
    /// A long flow of `set`s or of questions takes this way: the SSA form of one, most of the
    /// time of checking it, is built for nothing.
    private func unsetReadsInLine(initiallySet: [Bool], tracked: [Bool], readStart: [Int32], readBit: [Int32]) -> [Bool]? {
        let n = flow.elements.count
        var x = flow.entry
        var steps = 0
        // The line first, without writing anything: most flows with a decision stop early.
        while x >= 0 {
            guard steps < n, flow.elements[x].branch < 0 else { return nil }
            steps += 1
            x = Int(flow.elements[x].next)
        }
        let (defStart, defList) = definitions { tracked[$0] }
        var isSet = pool.bools(0, false)
        isSet.append(contentsOf: initiallySet)
        var unset = pool.bools(readBit.count, false)
        defer {
            pool.give(defStart)
            pool.give(defList)
            pool.give(isSet)
        }
        x = flow.entry
        // Through the buffers: arrays from the pool are not known to be unique here.
        unset.withUnsafeMutableBufferPointer { unset in
            isSet.withUnsafeMutableBufferPointer { isSet in
                while x >= 0 {
                    for k in Int(readStart[x])..<Int(readStart[x + 1]) { unset[k] = !isSet[Int(readBit[k])] }
                    for k in Int(defStart[x])..<Int(defStart[x + 1]) { isSet[Int(defList[k])] = true }
                    x = Int(flow.elements[x].next)
                }
            }
        }
        return unset
    }

    /// For each read, whether what it reads may be unset there, with one 64-bit word per element:
    /// what is definitely set on the way into an element is what is set on every way in (the
    /// entry: parameters and outputs with a default, whatever loops back to it). An element's
    /// definitions hold on its `next` edge, never on its second edge, as in the SSA form (a
    /// call's error edge does not get the call's outputs). `word[bit]` is the bit's place in a
    /// word, or -1 for a bit read nowhere (not followed).
    private func unsetReadsInBits(initiallySet: [Bool], word: [Int8], readStart: [Int32], readBit: [Int32]) -> [Bool] {
        let n = flow.elements.count
        let entry = flow.entry
        var entryIn: UInt64 = 0
        for (bit, isSet) in initiallySet.enumerated() where isSet && word[bit] >= 0 { entryIn |= 1 << UInt64(word[bit]) }
        var defs = pool.words(n, 0)
        let (defStart, defList) = definitions { word[$0] >= 0 }
        for i in 0..<n {
            for k in Int(defStart[i])..<Int(defStart[i + 1]) { defs[i] |= 1 << UInt64(word[Int(defList[k])]) }
        }
        // `into[x]`: set on every way into x found so far (all ones until a way in is found).
        var into = pool.words(n, ~0)
        var seen = pool.bools(n, false)
        var queued = pool.bools(n, false)
        into[entry] = entryIn
        seen[entry] = true
        queued[entry] = true
        var work = pool.int32s(0, 0)
        work.reserveCapacity(n)
        work.append(Int32(entry))
        defer {
            pool.give(defs)
            pool.give(defStart)
            pool.give(defList)
            pool.give(into)
            pool.give(seen)
            pool.give(queued)
            pool.give(work)
        }
        func flowInto(_ s: Int32, _ value: UInt64) {
            let y = Int(s)
            guard y != entry else { return }
            let met = into[y] & value
            guard met != into[y] || !seen[y] else { return }
            into[y] = met
            seen[y] = true
            if !queued[y] { queued[y] = true; work.append(s) }
        }
        while let x32 = work.popLast() {
            let x = Int(x32)
            queued[x] = false
            let next = flow.elements[x].next, branch = flow.elements[x].branch
            let here = into[x]
            if next >= 0 { flowInto(next, here | defs[x]) }
            if branch >= 0 { flowInto(branch, here) }
        }
        var unset = pool.bools(readBit.count, false)
        for i in 0..<n where seen[i] {
            for k in Int(readStart[i])..<Int(readStart[i + 1]) {
                unset[k] = into[i] & (1 << UInt64(word[Int(readBit[k])])) == 0
            }
        }
        return unset
    }

    /// For each read, whether what it reads may be unset there, by the SSA form described at
    /// `check`; only `tracked` bits (those read somewhere) are followed.
    private func unsetReadsInSSAForm(bitCount: Int, tracked: [Bool], readStart: [Int32], readBit: [Int32]) -> [Bool] {
        let n = flow.elements.count

        // 2. The graph, with a node of its own after an element that sets something and also has
        //    a second edge: what it sets holds on `next` only (a call's error edge does not get
        //    the call's outputs). `defOwner[x]`: the element whose definitions hold after node x.
        let (elementDefStart, elementDefs) = definitions { tracked[$0] }
        var succNext = [Int32](repeating: -1, count: n)
        var succBranch = [Int32](repeating: -1, count: n)
        var defOwner = [Int32](repeating: -1, count: n)
        for i in 0..<n {
            let next = flow.elements[i].next, branch = flow.elements[i].branch
            succNext[i] = next
            succBranch[i] = branch
            guard elementDefStart[i + 1] > elementDefStart[i], next >= 0 else { continue }
            if branch >= 0 {
                let v = Int32(succNext.count)
                succNext[i] = v
                succNext.append(next)
                succBranch.append(-1)
                defOwner.append(Int32(i))
            } else {
                defOwner[i] = Int32(i)
            }
        }
        let nodeCount = succNext.count
        let entry = flow.entry

        // 3. Reverse postorder from the entry (iterative depth-first search).
        var rpoNumber = [Int32](repeating: -1, count: nodeCount)
        var postorder: [Int32] = []
        postorder.reserveCapacity(nodeCount)
        do {
            var visited = [Bool](repeating: false, count: nodeCount)
            var stack: [Int32] = [Int32(entry)]
            var cursor: [UInt8] = [0]
            visited[entry] = true
            while let top = stack.last {
                let k = cursor[cursor.count - 1]
                if k < 2 {
                    cursor[cursor.count - 1] = k + 1
                    let s = k == 0 ? succNext[Int(top)] : succBranch[Int(top)]
                    if s >= 0 && !visited[Int(s)] {
                        visited[Int(s)] = true
                        stack.append(s)
                        cursor.append(0)
                    }
                } else {
                    stack.removeLast()
                    cursor.removeLast()
                    postorder.append(top)
                }
            }
        }
        let reachedCount = postorder.count
        for (k, x) in postorder.enumerated() { rpoNumber[Int(x)] = Int32(reachedCount - 1 - k) }

        // Predecessors among the reached nodes, in one flat array.
        var predStart = [Int32](repeating: 0, count: nodeCount + 1)
        for x in postorder {
            for s in Self.pair(succNext[Int(x)], succBranch[Int(x)]) where s >= 0 { predStart[Int(s) + 1] += 1 }
        }
        for x in 0..<nodeCount { predStart[x + 1] += predStart[x] }
        var predList = [Int32](repeating: 0, count: Int(predStart[nodeCount]))
        do {
            var fill = predStart
            for x in postorder {
                for s in Self.pair(succNext[Int(x)], succBranch[Int(x)]) where s >= 0 {
                    predList[Int(fill[Int(s)])] = x
                    fill[Int(s)] += 1
                }
            }
        }

        // 4. Immediate dominators.
        var idom = [Int32](repeating: -1, count: nodeCount)
        idom[entry] = Int32(entry)
        var changed = true
        while changed {
            changed = false
            for k in stride(from: reachedCount - 2, through: 0, by: -1) {
                let b = Int(postorder[k])
                var newIdom: Int32 = -1
                for q in Int(predStart[b])..<Int(predStart[b + 1]) {
                    let p = predList[q]
                    guard idom[Int(p)] >= 0 else { continue }
                    if newIdom < 0 { newIdom = p; continue }
                    var f1 = p, f2 = newIdom
                    while f1 != f2 {
                        while rpoNumber[Int(f1)] > rpoNumber[Int(f2)] { f1 = idom[Int(f1)] }
                        while rpoNumber[Int(f2)] > rpoNumber[Int(f1)] { f2 = idom[Int(f2)] }
                    }
                    newIdom = f1
                }
                if idom[b] != newIdom {
                    idom[b] = newIdom
                    changed = true
                }
            }
        }

        rpoNumber = []  // freed as soon as it is done with (peak memory on a long flow)

        // 5. Dominance frontiers, in one flat array.
        var frontierPairs: [(from: Int32, to: Int32)] = []
        for x in postorder {
            let b = Int(x)
            guard predStart[b + 1] - predStart[b] >= 2 else { continue }
            for q in Int(predStart[b])..<Int(predStart[b + 1]) {
                var runner = predList[q]
                while runner != idom[b] && runner >= 0 {
                    frontierPairs.append((runner, x))
                    if runner == Int32(entry) { break }
                    runner = idom[Int(runner)]
                }
            }
        }
        var (frontierStart, frontierList) = Self.bucket(frontierPairs, count: nodeCount)
        frontierPairs = []
        predStart = []
        predList = []

        // 6. Phis at the iterated dominance frontier of each tracked bit's definitions. None at
        //    the entry: what is not set on the way in is not set there, whatever loops back.
        var defPairs: [(from: Int32, to: Int32)] = []  // (bit, node)
        for x in postorder where defOwner[Int(x)] >= 0 {
            let owner = Int(defOwner[Int(x)])
            for k in Int(elementDefStart[owner])..<Int(elementDefStart[owner + 1]) { defPairs.append((elementDefs[k], x)) }
        }
        var (defNodeStart, defNodes) = Self.bucket(defPairs, count: bitCount)
        defPairs = []
        var phiPairs: [(from: Int32, to: Int32)] = []  // (node, bit)
        do {
            var hasPhi = [Int32](repeating: -1, count: nodeCount)
            var queued = [Int32](repeating: -1, count: nodeCount)
            var work: [Int32] = []
            for bit in 0..<bitCount where defNodeStart[bit + 1] > defNodeStart[bit] {
                let b = Int32(bit)
                for k in Int(defNodeStart[bit])..<Int(defNodeStart[bit + 1]) {
                    let x = defNodes[k]
                    if queued[Int(x)] != b { queued[Int(x)] = b; work.append(x) }
                }
                while let x = work.popLast() {
                    for k in Int(frontierStart[Int(x)])..<Int(frontierStart[Int(x) + 1]) {
                        let y = frontierList[k]
                        guard Int(y) != entry, hasPhi[Int(y)] != b else { continue }
                        hasPhi[Int(y)] = b
                        phiPairs.append((y, b))
                        if queued[Int(y)] != b { queued[Int(y)] = b; work.append(y) }
                    }
                }
            }
        }
        let (phiStart, phiBit) = Self.bucket(phiPairs, count: nodeCount)
        phiPairs = []
        (frontierStart, frontierList, defNodeStart, defNodes) = ([], [], [], [])
        let phiCount = phiBit.count

        // 7. One walk of the dominator tree: each bit's current value on a stack of its own.
        var childPairs: [(from: Int32, to: Int32)] = []
        for x in postorder.reversed() where Int(x) != entry { childPairs.append((idom[Int(x)], x)) }
        let (childStart, childList) = Self.bucket(childPairs, count: nodeCount)
        childPairs = []
        postorder = []
        idom = []
        var readValue = [Int32](repeating: Self.set, count: readBit.count)
        var phiUnset = [Bool](repeating: false, count: phiCount)
        var userPairs: [(from: Int32, to: Int32)] = []  // (phi used, phi using it)
        // Each bit's stack of values, linked through one array (an array a bit cost an
        // allocation for each of a long flow's variables): `stackTop[bit]` is the entry on top
        // (-1: empty); entry e holds `entryValue[e]` over `entryBelow[e]`, for bit `undo[e]`.
        // Entries are pushed and popped in one order for all bits, so they sit at the end.
        var stackTop = [Int32](repeating: -1, count: bitCount)
        var entryValue: [Int32] = [], entryBelow: [Int32] = []
        var undo: [Int32] = []
        func peek(_ bit: Int32) -> Int32? {
            let e = stackTop[Int(bit)]
            return e < 0 ? nil : entryValue[Int(e)]
        }
        func push(_ bit: Int32, _ value: Int32) {
            entryValue.append(value)
            entryBelow.append(stackTop[Int(bit)])
            stackTop[Int(bit)] = Int32(undo.count)
            undo.append(bit)
        }
        var frames: [(node: Int32, mark: Int32, child: Int32)] = [(Int32(entry), -1, childStart[entry])]
        while !frames.isEmpty {
            let top = frames.count - 1
            let x = Int(frames[top].node)
            if frames[top].mark < 0 {
                frames[top].mark = Int32(undo.count)
                for q in Int(phiStart[x])..<Int(phiStart[x + 1]) {
                    push(phiBit[q], Int32(q))
                }
                if x < n {
                    for k in Int(readStart[x])..<Int(readStart[x + 1]) {
                        readValue[k] = peek(readBit[k]) ?? Self.unset
                    }
                }
                let owner = Int(defOwner[x])
                if owner >= 0 {
                    for k in Int(elementDefStart[owner])..<Int(elementDefStart[owner + 1]) {
                        push(elementDefs[k], Self.set)
                    }
                }
                for s in Self.pair(succNext[x], succBranch[x]) where s >= 0 {
                    for q in Int(phiStart[Int(s)])..<Int(phiStart[Int(s) + 1]) {
                        let value = peek(phiBit[q]) ?? Self.unset
                        if value == Self.unset { phiUnset[q] = true }
                        else if value >= 0 { userPairs.append((value, Int32(q))) }
                    }
                }
            }
            let c = frames[top].child
            if c < childStart[x + 1] {
                frames[top].child = c + 1
                let child = childList[Int(c)]
                frames.append((child, -1, childStart[Int(child)]))
            } else {
                let mark = Int(frames[top].mark)
                while undo.count > mark {
                    let bit = Int(undo.removeLast())
                    stackTop[bit] = entryBelow.removeLast()
                    entryValue.removeLast()
                }
                frames.removeLast()
            }
        }

        // 8. A phi may be unset if one of its ways in may be.
        let (userStart, userList) = Self.bucket(userPairs, count: phiCount)
        userPairs = []
        var work = (0..<phiCount).filter { phiUnset[$0] }.map(Int32.init)
        while let q = work.popLast() {
            for k in Int(userStart[Int(q)])..<Int(userStart[Int(q) + 1]) {
                let r = Int(userList[k])
                if !phiUnset[r] { phiUnset[r] = true; work.append(Int32(r)) }
            }
        }

        // 9. Which reads may see "not set".
        var unset = [Bool](repeating: false, count: readBit.count)
        for k in readBit.indices {
            let value = readValue[k]
            unset[k] = value == Self.unset || (value >= 0 && phiUnset[Int(value)])
        }
        return unset
    }

    /// Two edges to loop over without allocating an array.
    @inline(__always)
    private static func pair(_ a: Int32, _ b: Int32) -> EdgePair { EdgePair(a: a, b: b) }

    struct EdgePair: Sequence, IteratorProtocol {
        var a: Int32
        var b: Int32
        var k = 0
        mutating func next() -> Int32? {
            k += 1
            return k == 1 ? a : k == 2 ? b : nil
        }
    }

    /// Pairs grouped by their first member into one flat array: the seconds of `from == k` are
    /// `list[start[k]..<start[k + 1]]`, in the order given.
    private static func bucket(_ pairs: [(from: Int32, to: Int32)], count: Int) -> (start: [Int32], list: [Int32]) {
        var start = [Int32](repeating: 0, count: count + 1)
        for p in pairs { start[Int(p.from) + 1] += 1 }
        for k in 0..<count { start[k + 1] += start[k] }
        var fill = start
        var list = [Int32](repeating: 0, count: pairs.count)
        for p in pairs {
            list[Int(fill[Int(p.from)])] = p.to
            fill[Int(p.from)] += 1
        }
        return (start, list)
    }

    /// Every expression of element `i`, the element read in place (`flow.elements[i].kind` in a
    /// `switch` copied it out, which cost more than the walk).
    private func forEachExpression(_ i: Int, _ body: (IRExpr) -> Void) {
        flow.elements.withUnsafeBufferPointer { elements in
            let element = elements.baseAddress! + i
            // The tag first: binding a case copies the whole kind (see `ElementKind.tag`).
            guard element.pointee.kind.tag == .page, case .page(let p) = element.pointee.kind else {
                element.pointee.kind.forEachExpression(body)
                return
            }
            if let t = flow.pages[p].title { body(t) }
            for q in flow.pages[p].questions.indices {
                // Each read in place: no array of the four, no copy of the question.
                if let x = flow.pages[p].questions[q].prompt { body(x) }
                if let x = flow.pages[p].questions[q].defaultValue { body(x) }
                if let x = flow.pages[p].questions[q].min { body(x) }
                if let x = flow.pages[p].questions[q].max { body(x) }
                for x in flow.pages[p].questions[q].options { body(x) }
            }
        }
    }

    private func collectReads(_ x: IRExpr, _ out: inout [(bit: Int, range: SourceRange)]) {
        withUnsafePointer(to: x) { collectReads(at: $0, &out) }
    }

    /// The operands are read in place, not copied.
    private func collectReads(at x: UnsafePointer<IRExpr>, _ out: inout [(bit: Int, range: SourceRange)]) {
        switch x.pointee.kind {
        case .local(let slot): out.append((slot, x.pointee.range))
        case .answer(let page, _): out.append((flow.variables.count + page, x.pointee.range))
        case .template, .list, .builtin, .member, .unary, .index, .binary, .object:
            IRExpr.forEachChild(of: x) { collectReads(at: $0, &out) }
        case .constant, .session, .config, .secret, .error, .invalid: break
        }
    }
}

/// A variable that is set but never read (a warning; `--strict` makes it an error).
///
///     set receipt = result.id          // warning: 'receipt' is set but never read
struct UnusedVariables {
    let out: CheckOutput
    let context: FlowContext
    let assignments: [(slot: Int32, range: SourceRange)]

    func check() {
        var warned = Set<Int>()
        for (slot32, range) in assignments where context.reads[Int(slot32)] == 0 && !warned.contains(Int(slot32)) {
            let slot = Int(slot32)
            warned.insert(slot)
            out.report(.unusedVariable(context.localNames[slot]), range,
                           hint: "remove it, or read it, for example in a response: \"{\(context.localNames[slot])}\"")
        }
    }
}
