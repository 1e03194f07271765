import Foundation

/// Limits and settings of an exploration.
public struct ExploreOptions: Sendable {
    /// Playthroughs to explore before stopping (`--max-runs`).
    public var maxRuns: Int
    /// Elements one playthrough may run (`--max-steps`); more is an endless loop.
    public var maxSteps: Int
    /// Today's date, `yyyy-mm-dd`, fixed for the whole exploration.
    public var today: String

    public init(maxRuns: Int = 2000, maxSteps: Int = 10_000, today: String = RuntimeOptions.systemToday()) {
        self.maxRuns = maxRuns
        self.maxSteps = maxSteps
        self.today = today
    }
}

/// Which elements the playthroughs reached, in the entry flow and the flows it calls.
public struct ExploreCoverage: Sendable {
    public struct Element: Sendable {
        /// As traces name it: `page`, `ip`, `response`, `finish`, …
        public var kind: String
        public var range: SourceRange
    }

    public var total: Int
    public var reached: Int
    /// In source order.
    public var unreached: [Element]
}

public struct ExploreResult: Sendable {
    /// In source order.
    public var findings: [Finding]
    /// Paths explored to their end: a finish, an error, a dead end, or a state already explored.
    public var playthroughs: Int
    /// Whether every path was explored (with the answers and results tried) within the budget.
    public var complete: Bool
    public var coverage: ExploreCoverage
    /// Limits of the exploration worth knowing (a pattern no answer could be made for).
    public var notes: [String]
    public var options: ExploreOptions
    /// The unsafe calls the playthroughs reached, in source order: `back` cannot return past
    /// one once it is completed (the points of no return).
    public var backStopsAfter: [UnsafeCall] = []

    public struct UnsafeCall: Sendable {
        public var name: String
        public var range: SourceRange
    }
}

/// Plays a flow through by itself, over and over, and reports what breaks.
///
/// Design note: a `Session` stops whenever it needs something from outside (answers, a call's
/// result), and its whole state is a value. So the explorer searches the tree of those decision
/// points: at each one it snapshots the state, and for each answer or result worth trying
/// (`AnswerCandidates`, `CallCandidates`, steered by `ValueHints`) restores a session from the
/// snapshot and resumes it. States already explored (compared without their step count and `back`
/// history) are not explored again, so loops end. The search is depth-first, ordered by how many
/// answers and results differ from the first, plausible, choice at each point: first the one
/// playthrough that changes nothing, then every playthrough that changes one thing, then two, and
/// so on, until the budget of playthroughs is spent. Each finding therefore keeps the simplest
/// reproduction found, and a budget cut short still covers every single deviation first. Within
/// one number of deviations, decision points whose arrival ran elements never run before go
/// first. Every move from a decision point is resumed when the point is expanded (so a failing
/// alternative is found at once); the new states wait their turn as snapshots.
///
/// Findings are deduplicated by kind, id and source range; each one's reproduction is replayed
/// at the end as `flow run` would (`Reproduction.replay`), and says whether it met the finding
/// again.
public enum Explorer {
    public static func explore(_ program: Program, options: ExploreOptions = ExploreOptions()) -> ExploreResult {
        let search = ExploreSearch(program: program, options: options)
        search.run()
        return search.result()
    }
}

// MARK: - The search

/// A move from one decision point to the next.
enum ExploreMove {
    /// The answers typed for one page, in question order.
    case answers([(reference: String, typed: String)])
    /// The result of one call, as a stub.
    case call(name: String, stub: String)
    /// `back` from a page (a reproduction cannot say it: it is left out of them).
    case back
}

/// One move worth trying at a decision point, with the reply that makes it.
struct ExploreChoice {
    var move: ExploreMove
    var reply: Reply
    /// How it differs from the first choice here (empty for the first choice).
    var deviations: [String]
}

/// The moves from the start to a node, as a list that shares its beginning with its siblings'.
final class ExplorePath {
    let parent: ExplorePath?
    let move: ExploreMove
    /// How this move differs from the first choice here, one item per difference; empty when
    /// it is the first choice.
    let deviations: [String]

    init(parent: ExplorePath?, move: ExploreMove, deviations: [String]) {
        self.parent = parent
        self.move = move
        self.deviations = deviations
    }

    var steps: [ExplorePath] {
        var list: [ExplorePath] = []
        var p: ExplorePath? = self
        while let s = p {
            list.append(s)
            p = s.parent
        }
        return list.reversed()
    }
}

/// A decision point: a session waiting for answers or a result.
final class ExploreNode {
    let id: Int
    let state: SessionState
    let step: Step
    let path: ExplorePath?
    let deviations: Int
    /// Nodes reached from here, with the move that reaches each.
    var edges: [(node: Int, move: ExploreMove)] = []
    /// Some move from here ends the playthrough (a finish or an error).
    var ends = false
    var expanded = false
    /// Getting here ran elements no playthrough had run before.
    let novel: Bool
    /// The calls and pages of the path here, for the rule of calls.
    var trail = EffectTrail()

    init(id: Int, state: SessionState, step: Step, path: ExplorePath?, deviations: Int, novel: Bool) {
        self.id = id
        self.state = state
        self.step = step
        self.path = path
        self.deviations = deviations
        self.novel = novel
    }
}

/// Records what the sessions run: elements entered (coverage) and the last ones (to find the
/// loop behind a step limit).
final class ExploreRecorder {
    var reached = Set<SourceRange>()
    private var recent: [(kind: String, range: SourceRange)] = []
    private var next = 0
    static let window = 512

    func record(_ event: TraceEvent) {
        guard case .enter(let kind, let range) = event else { return }
        reached.insert(range)
        if recent.count < ExploreRecorder.window {
            recent.append((kind, range))
        } else {
            recent[next] = (kind, range)
            next = (next + 1) % ExploreRecorder.window
        }
    }

    func resetRecent() {
        recent.removeAll(keepingCapacity: true)
        next = 0
    }

    /// The head of the loop the latest elements went round: its first label, else its first
    /// element in source order.
    func loopHead() -> SourceRange? {
        let labels = recent.filter { $0.kind == "label" }.map(\.range)
        let pool = labels.isEmpty ? recent.map(\.range) : labels
        return pool.min { ($0.file.index, $0.start) < ($1.file.index, $1.start) }
    }
}

/// What makes two findings the same.
struct ExploreFindingKey: Hashable {
    var kind: Finding.Kind
    var id: String
    var range: SourceRange
}

final class ExploreSearch {
    let program: Program
    let options: ExploreOptions
    let runtime: RuntimeOptions
    let hints: ValueHints
    let recorder = ExploreRecorder()
    var nodes: [ExploreNode] = []
    var visited: [ExploreStateKey: Int] = [:]
    /// Nodes waiting to be expanded, by deviations; each level is two stacks, the nodes whose
    /// arrival ran something new first.
    var levels: [(novel: [Int], plain: [Int])] = []
    var playthroughs = 0
    var stopped = false
    var findings: [ExploreFindingKey: Finding] = [:]
    /// Questions already checked for refusals (by what they are asked with).
    var checkedQuestions = Set<String>()
    var notes: [String] = []
    /// Elements by source range, for naming the callee of a failed call.
    var elementAt: [SourceRange: (flow: Int, pc: Int)] = [:]

    /// Pages kept for `back`: enough to go back a few pages; the states `back` returns to are
    /// mostly explored already.
    static let maxHistory = 4
    /// The unsafe calls the playthroughs reached: `back` stops after each.
    var unsafeCalls = Set<SourceRange>()
    var unsafeNames: [SourceRange: String] = [:]
    /// `back` moves resumed.
    var backMoves = 0

    init(program: Program, options: ExploreOptions) {
        self.program = program
        self.options = options
        let today = options.today
        self.runtime = RuntimeOptions(maxSteps: options.maxSteps, maxHistory: Self.maxHistory, today: { today })
        self.hints = ValueHints(program: program)
        for (f, flow) in program.flows.enumerated() {
            for (pc, e) in flow.elements.enumerated() where elementAt[e.range] == nil { elementAt[e.range] = (f, pc) }
        }
    }

    private var trace: (TraceEvent) -> Void {
        let recorder = self.recorder
        return { recorder.record($0) }
    }

    func run() {
        recorder.resetRecent()
        do throws(RuntimeError) {
            let session = try Session(program: program, options: runtime, trace: trace)
            let result = try session.start()
            var trail = EffectTrail()
            check(trail.arrive(at: result.step, state: ExploreStateKey(session.state), byBack: false), path: nil, deviations: 0)
            if let id = arrive(result, session.state, parent: nil, path: nil, deviations: 0, novel: true, trail: trail) { push(id) }
        } catch {
            playthroughs += 1
            report(error, path: nil, deviations: 0)
        }
        while let id = pop() {
            if playthroughs >= options.maxRuns {
                stopped = true
                break
            }
            expand(nodes[id])
        }
        findNoWayOut()
    }

    private func push(_ id: Int) {
        let d = nodes[id].deviations
        while levels.count <= d { levels.append(([], [])) }
        if nodes[id].novel { levels[d].novel.append(id) } else { levels[d].plain.append(id) }
    }

    private func pop() -> Int? {
        for d in levels.indices {
            if let id = levels[d].novel.popLast() ?? levels[d].plain.popLast() { return id }
        }
        return nil
    }

    /// Where a resumed session got to. Returns the new node to explore, if it is one.
    private func arrive(
        _ result: StepResult, _ state: SessionState, parent: ExploreNode?, path: ExplorePath?, deviations: Int, novel: Bool,
        trail: EffectTrail
    ) -> Int? {
        switch result.step {
        case .callIP(let call) where !program.integrationPoints[call.index].isSafe,
             .runExtension(let call) where !program.extensions[call.index].isSafe:
            unsafeCalls.insert(call.range)
            unsafeNames[call.range] = call.name
        default: break
        }
        if case .finished = result.step {
            playthroughs += 1
            parent?.ends = true
            return nil
        }
        let key = ExploreStateKey(state)
        if let seen = visited[key] {
            playthroughs += 1
            if let parent, let move = path?.move { parent.edges.append((seen, move)) }
            return nil
        }
        let node = ExploreNode(id: nodes.count, state: state, step: result.step, path: path, deviations: deviations, novel: novel)
        node.trail = trail
        nodes.append(node)
        visited[key] = node.id
        if let parent, let move = path?.move { parent.edges.append((node.id, move)) }
        return node.id
    }

    private func expand(_ node: ExploreNode) {
        node.expanded = true
        let moves: [ExploreChoice]
        switch node.step {
        case .ask(let page): moves = pageMoves(node, page)
        case .callIP(let call): moves = callMoves(node, call, isIP: true)
        case .runExtension(let call): moves = callMoves(node, call, isIP: false)
        case .finished: moves = []
        }
        // A page no answer gets past ends the playthrough there.
        if moves.isEmpty { playthroughs += 1 }
        var created: [Int] = []
        for m in moves {
            let path = ExplorePath(parent: node.path, move: m.move, deviations: m.deviations)
            let deviations = node.deviations + m.deviations.count
            let session = Session(program: program, state: node.state, options: runtime, trace: trace)
            recorder.resetRecent()
            let known = recorder.reached.count
            let result: StepResult
            do throws(RuntimeError) {
                result = try session.resume(m.reply)
            } catch {
                playthroughs += 1
                node.ends = true
                report(error, path: path, deviations: deviations)
                continue
            }
            // A refused answer: the checks of the question report it.
            if case .ask(let p) = result.step, !p.problems.isEmpty { continue }
            let novel = recorder.reached.count > known
            // The rule of calls along this path.
            var trail = node.trail
            var isBack = false
            switch (node.step, m.move) {
            case (_, .back):
                isBack = true
                backMoves += 1
            case (.callIP(let call), _): trail.complete(call, safe: program.integrationPoints[call.index].isSafe)
            case (.runExtension(let call), _): trail.complete(call, safe: program.extensions[call.index].isSafe)
            default: break
            }
            check(trail.arrive(at: result.step, state: ExploreStateKey(session.state), byBack: isBack), path: path, deviations: deviations)
            // `back` edges are left out of the graph of loops: going back is always a way out.
            if let id = arrive(result, session.state, parent: isBack ? nil : node, path: path, deviations: deviations, novel: novel,
                               trail: trail) {
                created.append(id)
            }
        }
        // The first move is explored next; the others wait on the level of their deviations,
        // the first of them on top.
        for id in created.reversed() { push(id) }
    }

    // MARK: - Pages

    private func pageMoves(_ node: ExploreNode, _ page: PageRequest) -> [ExploreChoice] {
        let frame = node.state.frames[node.state.frames.count - 1]
        guard case .page(let p) = program.flows[frame.flow].elements[frame.pc].kind else { return [] }
        let info = program.flows[frame.flow].pages[p]
        let session = Session(program: program, state: node.state, options: runtime)
        var candidates: [[AnswerCandidate]] = []
        var accepted: [[AnswerCandidate]] = []
        for (qi, q) in page.questions.enumerated() {
            let values = hintValues(.answer(flow: frame.flow, page: p, question: qi), session, flow: frame.flow).values
            let list = answerCandidates(q, values)
            candidates.append(list)
            var ok: [AnswerCandidate] = []
            var seen: [Value] = []
            for c in list {
                guard case .success(let v) = AnswerParser.parse(c.typed, for: q), !seen.contains(v) else { continue }
                seen.append(v)
                ok.append(c)
            }
            // The first answer the rules accept goes first: it is the plausible one.
            if let k = ok.firstIndex(where: { $0.expected != false }), k > 0 { ok.insert(ok.remove(at: k), at: 0) }
            accepted.append(ok)
        }
        let base = accepted.map { $0.first?.typed ?? "" }
        for (qi, q) in page.questions.enumerated() {
            checkQuestion(q, qi, info.questions[qi], candidates[qi], accepted[qi], base: base, node: node, page: page)
        }
        // A question no answer gets past: the playthrough ends here (reported by the check).
        guard accepted.allSatisfy({ !$0.isEmpty }) else { return [] }
        func move(_ typed: [String]) -> (ExploreMove, Reply) {
            let pairs = zip(page.questions, typed).map { (reference: $0.reference, typed: $1) }
            var reply: [String: String] = [:]
            for p in pairs { reply[p.reference] = p.typed }
            return (.answers(pairs), .answers(reply))
        }
        var moves: [ExploreChoice] = []
        let first = move(base)
        moves.append(ExploreChoice(move: first.0, reply: first.1, deviations: []))
        for (qi, q) in page.questions.enumerated() {
            for c in accepted[qi].dropFirst() {
                var typed = base
                typed[qi] = c.typed
                let m = move(typed)
                moves.append(ExploreChoice(move: m.0, reply: m.1, deviations: [Self.describe(q.reference, c)]))
            }
        }
        // Two answers changed at once, for pages whose questions decide together
        // (`if down and product == "Router"`), while there are not too many pairs.
        var pairs: [ExploreChoice] = []
        pairing: for i in page.questions.indices {
            for j in page.questions.indices where j > i {
                for a in accepted[i].dropFirst() {
                    for b in accepted[j].dropFirst() {
                        guard pairs.count < Self.maxPairs else { break pairing }
                        var typed = base
                        typed[i] = a.typed
                        typed[j] = b.typed
                        let m = move(typed)
                        pairs.append(ExploreChoice(move: m.0, reply: m.1, deviations: [
                            Self.describe(page.questions[i].reference, a), Self.describe(page.questions[j].reference, b),
                        ]))
                    }
                }
            }
        }
        // `back`, where the session offers it: one deviation, tried after the single changes.
        if page.canGoBack {
            moves.append(ExploreChoice(move: .back, reply: .back, deviations: ["'back' from '\(page.title ?? "the page")'"]))
        }
        return moves + pairs
    }

    /// Pairs of changed answers tried per page.
    static let maxPairs = 48

    /// Candidates by question (as asked) and hints: a page is asked again and again while
    /// exploring, and reading its pattern each time is the slow part.
    private var candidateCache: [String: [AnswerCandidate]] = [:]

    private func answerCandidates(_ q: QuestionRequest, _ hints: [Value]) -> [AnswerCandidate] {
        let key = Self.signature(q) + "\u{0}" + hints.map { $0.jsonText() }.joined(separator: "\u{1}")
        if let known = candidateCache[key] { return known }
        let list = AnswerCandidates.candidates(for: q, hints: hints, today: options.today)
        candidateCache[key] = list
        return list
    }

    /// What a question is, as asked: its name, type and rules.
    static func signature(_ q: QuestionRequest) -> String {
        [q.reference, q.type.rawValue, q.min?.jsonText() ?? "", q.max?.jsonText() ?? "", q.pattern ?? "",
         q.options.joined(separator: "\u{1}"), q.defaultValue?.jsonText() ?? "", q.optional ? "o" : ""]
            .joined(separator: "\u{0}")
    }

    static func describe(_ reference: String, _ c: AnswerCandidate) -> String {
        c.typed.isEmpty ? "'\(reference)' left empty (\(c.label))" : "'\(reference)' answered '\(c.typed)' (\(c.label))"
    }

    /// Once per question (and the way it is asked): answers the rules refuse must be refused and
    /// those they accept accepted, by the session itself; some answer must get past it; its
    /// default must be an answer it accepts.
    private func checkQuestion(
        _ q: QuestionRequest, _ qi: Int, _ info: QuestionInfo, _ candidates: [AnswerCandidate], _ accepted: [AnswerCandidate],
        base: [String], node: ExploreNode, page: PageRequest
    ) {
        guard checkedQuestions.insert(Self.signature(q)).inserted else { return }

        func answers(_ typed: String) -> (ExploreMove, Reply) {
            var all = base
            all[qi] = typed
            let pairs = zip(page.questions, all).map { (reference: $0.reference, typed: $1) }
            var reply: [String: String] = [:]
            for p in pairs { reply[p.reference] = p.typed }
            return (.answers(pairs), .answers(reply))
        }
        /// The session's verdict: nil when accepted, else why not.
        var verdicts: [String: String?] = [:]
        func verdict(_ typed: String) -> String? {
            if let known = verdicts[typed] { return known }
            let v = ask(typed)
            verdicts[typed] = v
            return v
        }
        func ask(_ typed: String) -> String? {
            let session = Session(program: program, state: node.state, options: runtime)
            do throws(RuntimeError) {
                let result = try session.resume(answers(typed).1)
                if case .ask(let p) = result.step, let problem = p.problems[q.name] { return problem }
                return nil
            } catch {
                return nil  // it got past the page
            }
        }
        func path(_ typed: String, _ c: AnswerCandidate) -> ExplorePath {
            ExplorePath(parent: node.path, move: answers(typed).0, deviations: [Self.describe(q.reference, c)])
        }

        var typedAccepted = false
        var firstRefusal: (AnswerCandidate, String)?
        for c in candidates {
            let problem = verdict(c.typed)
            if problem == nil && !c.typed.isEmpty { typedAccepted = true }
            if let problem, firstRefusal == nil, c.expected == true || (c.expected == nil && !c.typed.isEmpty) {
                firstRefusal = (c, problem)
            }
            guard let expected = c.expected else { continue }
            if expected == false, problem == nil {
                let d = Diagnostic(.acceptedInvalid(c.typed, q.reference, "the question's rules refuse it (\(c.label))"), at: info.range,
                                   hint: "this is a fault of flow's answer reader; please report it with this flow")
                record(.acceptedInvalid, d, path: path(c.typed, c), deviations: node.deviations + 1, question: q.reference)
            }
        }
        for c in candidates where c.expected == true && typedAccepted {
            guard let problem = verdict(c.typed) else { continue }
            let d = Diagnostic(.refusedValid(c.typed, q.reference, problem), at: info.range,
                               notes: [DiagnosticNote("the question's rules accept it (\(c.label))")],
                               hint: "this is a fault of flow's answer reader; please report it with this flow")
            record(.refusedValid, d, path: path(c.typed, c), deviations: node.deviations + 1, question: q.reference)
        }
        if !typedAccepted {
            // Without a text that matches the pattern, nothing is known: the texts tried may just
            // have missed it.
            if let pattern = q.pattern, !candidates.contains(where: { !$0.typed.isEmpty && Self.matches($0.typed, pattern) }) {
                notes.append("no answer to '\(q.reference)' was found that matches its pattern '\(pattern)'; playthroughs stop there")
            } else {
                let (c, problem) = firstRefusal ?? (candidates.first!, verdict(candidates.first!.typed) ?? "refused")
                var notes: [DiagnosticNote] = []
                var hint = "every answer tried was refused"
                if let reason = Self.contradiction(q) {
                    hint = reason
                    if let r = info.min?.range { notes.append(DiagnosticNote("'min' is set here", at: r)) }
                    if let r = info.max?.range { notes.append(DiagnosticNote("'max' is set here", at: r)) }
                }
                if q.defaultValue != nil { notes.append(DiagnosticNote("only leaving it empty, for the default, gets past it")) }
                let d = Diagnostic(.unanswerable(q.reference), at: info.range, label: "refused: \(problem)", notes: notes, hint: hint)
                record(.unanswerable, d, path: path(c.typed, c), deviations: node.deviations + 1, question: q.reference)
            }
        }
        if let d = q.defaultValue, let typed = Self.typed(d, q), case .failure(let problem) = AnswerParser.parse(typed, for: q) {
            let c = AnswerCandidate(typed: "", expected: true, label: "the default")
            let diagnostic = Diagnostic(.badDefault(q.reference, problem.message), at: info.defaultValue?.range ?? info.range,
                                        hint: "leaving the answer empty gives '\(typed)', which no one could type; "
                                            + "make the default fit the question's rules")
            record(.badDefault, diagnostic, path: path("", c), deviations: node.deviations + 1, question: q.reference)
        }
    }

    /// Why no answer can fit, when the bounds say so.
    static func contradiction(_ q: QuestionRequest) -> String? {
        switch (q.min, q.max) {
        case (.date(let a)?, .date(let b)?) where b < a:
            return "its 'min' (\(a)) is after its 'max' (\(b))"
        case (.number(let a)?, .number(let b)?) where b < a:
            return "its 'min' (\(a)) is above its 'max' (\(b))"
        case (_, .number(let b)?) where q.type == .currency && b < 0 && !(q.min.map { v in
            if case .number(let a) = v { return a < 0 } else { return false }
        } ?? false):
            return "its 'max' (\(b)) is below zero, and an amount may be negative only when 'min' is"
        case (.number(let a)?, _) where q.type == .choices && a > Number(q.options.count):
            return "it asks for at least \(a) picks of \(q.options.count) options"
        default:
            return nil
        }
    }

    static func matches(_ s: String, _ pattern: String) -> Bool {
        guard let r = try? NSRegularExpression(pattern: "\\A(?:" + pattern + ")\\z") else { return false }
        return r.firstMatch(in: s, range: NSRange(s.startIndex..<s.endIndex, in: s)) != nil
    }

    /// What would be typed to give a default value.
    static func typed(_ v: Value, _ q: QuestionRequest) -> String? {
        switch v {
        case .text(let s), .date(let s): return s
        case .number(let n): return q.type == .currency ? n.formatted(places: 2) : n.description
        case .bool(let b): return b ? "yes" : "no"
        case .list(let items): return items.map { $0.displayText() }.joined(separator: ", ")
        case .null, .object: return nil
        }
    }

    // MARK: - Calls

    private func callMoves(_ node: ExploreNode, _ call: CallRequest, isIP: Bool) -> [ExploreChoice] {
        let frame = node.state.frames[node.state.frames.count - 1]
        let session = Session(program: program, state: node.state, options: runtime)
        let callee: ValueHints.Callee = isIP ? .ip(call.index) : .ext(call.index)
        let declared = isIP ? program.integrationPoints[call.index].outputs : program.extensions[call.index].outputs
        var outputs: [CallCandidates.Output] = []
        for o in declared {
            let target = ValueHints.Target.output(callee, o.name)
            let h = hintValues(target, session, flow: frame.flow)
            outputs.append(CallCandidates.Output(
                name: o.name, type: o.type, hinted: h.values, preferred: h.preferred, numericText: h.numericText,
                itemFields: hints.itemFields[target] ?? [], objectFields: hints.objectFields[target] ?? [],
                source: isIP ? o.source : nil))
        }
        func errorValues(_ field: String) -> [Value] { hintValues(.error(field), session, flow: frame.flow).values }
        let statuses = errorValues("status").compactMap { v -> Int? in
            if case .number(let n) = v, let i = n.intValue, (100...599).contains(i) { return i }
            return nil
        }
        let texts = { (field: String) in errorValues(field).compactMap { v -> String? in
            if case .text(let s) = v, !s.isEmpty { return s }
            return nil
        } }
        let candidates = CallCandidates(
            name: call.name, isIP: isIP, isSOAP: isIP && program.integrationPoints[call.index].declaration.isSOAP,
            outputs: outputs, statuses: statuses, kinds: texts("kind"), codes: texts("code"), today: options.today
        ).candidates()
        return candidates.map { c in
            ExploreChoice(move: .call(name: call.name, stub: c.stub), reply: c.reply, deviations: c.changes.map { "'\(call.name)' \($0)" })
        }
    }

    // MARK: - Hints

    /// The values hints suggest for a target, evaluated in the session as it waits now.
    private func hintValues(
        _ target: ValueHints.Target, _ session: Session, flow: Int
    ) -> (values: [Value], preferred: Value?, numericText: Bool) {
        var values: [Value] = []
        var preferred: Value?
        var numericText = false
        let top = session.state.frames.count - 1
        for h in hints.hints(for: target) {
            switch h {
            case .expression(let e, let f, let relation):
                guard let v = try? session.evaluate(e, frame: f == flow ? top : nil) else { continue }
                switch relation {
                case .equal, .contains:
                    values.appendNew([v])
                    if preferred == nil && v != .null { preferred = v }
                case .ordered:
                    values.appendNew([v])
                    switch v {
                    case .number(let n): values.appendNew([.number(n - 1), .number(n + 1)])
                    case .date(let s):
                        if let d = CalendarDate(iso: s) {
                            values.appendNew([d.adding(days: -1), d.adding(days: 1)].compactMap { $0.map { .date($0.iso) } })
                        }
                    default: break
                    }
                }
            case .divisor:
                values.appendNew([.number(0)])
            case .numericText:
                numericText = true
            }
        }
        return (values, preferred, numericText)
    }

    // MARK: - Findings

    /// Breaches of the rule of calls on a path.
    func check(_ violations: [EffectTrail.Violation], path: ExplorePath?, deviations: Int) {
        for v in violations {
            let (kind, message): (Finding.Kind, Message)
            let hint = "this is a fault of flow's session; please report it with this flow"
            switch v.rule {
            case .callRepeated(let n, let name): (kind, message) = (.callRepeated, .callRepeated(n, name))
            case .backNotStopped(let name): (kind, message) = (.backNotStopped, .backNotStopped(name))
            case .backPastCall(let name): (kind, message) = (.backPastCall, .backPastCall(name))
            }
            record(kind, Diagnostic(message, at: v.range, hint: hint), path: path, deviations: deviations)
        }
    }

    private func report(_ error: RuntimeError, path: ExplorePath?, deviations: Int) {
        let d = error.diagnostic
        switch d.id {
        case "run.stepLimit":
            let head = recorder.loopHead() ?? d.range
            let notes = head == d.range ? [] : [DiagnosticNote("it was still going round here when it stopped", at: d.range)]
            let diagnostic = Diagnostic(.endlessLoop(options.maxSteps), at: head, notes: notes,
                                        hint: "give the loop a way out these answers reach, "
                                            + "or raise --max-steps if it is meant to run this long")
            record(.endlessLoop, diagnostic, path: path, deviations: deviations)
        case "run.callFailed":
            var callee = "the call"
            var how = "fails"
            if let at = elementAt[d.range], case .call(let info) = program.flows[at.flow].elements[at.pc].kind {
                switch info.target {
                case .ip(let i) where i >= 0: callee = program.integrationPoints[i].name
                case .extension(let i): callee = program.extensions[i].name
                case .flow(let f):
                    callee = program.flows[f].name
                    how = "finishes with failure"
                default: break
                }
            }
            if how == "fails", case .call(let name, _)? = path?.move, name == callee,
               let label = path?.deviations.first?.dropFirst(name.count + 3), label.hasPrefix("fails") {
                how = String(label)
            }
            let diagnostic = Diagnostic(.unhandledFailure(callee, how), at: d.range, label: d.message,
                                        hint: "handle it with 'on error { … }' or 'on error goto Label' after the call")
            record(.unhandledFailure, diagnostic, path: path, deviations: deviations)
        default:
            record(.runtimeError, d, path: path, deviations: deviations)
        }
    }

    /// Which question a finding about an answer is about (for checking its replay).
    private var questionOf: [ExploreFindingKey: String] = [:]

    /// Keeps a finding unless the same one (kind, id, range) was found with as few deviations.
    private func record(
        _ kind: Finding.Kind, _ diagnostic: Diagnostic, path: ExplorePath?, then extra: [ExploreMove] = [], deviations: Int,
        question: String? = nil
    ) {
        // What `flow check` already reports (as a warning, or the flow would not run) is not
        // found twice.
        if [.badDefault, .unanswerable, .runtimeError].contains(kind) && program.checkedRanges.contains(diagnostic.range) { return }
        let key = ExploreFindingKey(kind: kind, id: diagnostic.id, range: diagnostic.range)
        if let old = findings[key], old.deviations <= deviations { return }
        findings[key] = Finding(
            kind: kind, diagnostic: diagnostic, when: path?.steps.flatMap(\.deviations) ?? [],
            reproduction: reproduction(path, then: extra), reproduced: false, deviations: deviations)
        if let question { questionOf[key] = question }
    }

    func reproduction(_ path: ExplorePath?, then extra: [ExploreMove] = []) -> Reproduction {
        var answers: [Reproduction.Answer] = []
        var stubs: [Reproduction.Stub] = []
        let moves = (path?.steps.map(\.move) ?? []) + extra
        for m in moves {
            switch m {
            case .answers(let pairs):
                for p in pairs {
                    if let k = answers.firstIndex(where: { $0.reference == p.reference }) {
                        answers[k].typed.append(p.typed)
                    } else {
                        answers.append(Reproduction.Answer(reference: p.reference, typed: [p.typed]))
                    }
                }
            case .call(let name, let stub):
                if let k = stubs.firstIndex(where: { $0.name == name }) {
                    stubs[k].results.append(stub)
                } else {
                    stubs.append(Reproduction.Stub(name: name, results: [stub]))
                }
            case .back:
                break
            }
        }
        return Reproduction(answers: answers, stubs: stubs, maxSteps: options.maxSteps)
    }

    // MARK: - Loops with no way out

    /// Nodes from which no move tried ever ends the playthrough, and that come back to
    /// themselves: a loop the caller cannot leave. One finding per loop, at the decision point
    /// reached with the fewest deviations.
    private func findNoWayOut() {
        let n = nodes.count
        var canEnd = nodes.map { $0.ends || !$0.expanded }
        var reverse = [[Int]](repeating: [], count: n)
        for node in nodes { for e in node.edges { reverse[e.node].append(node.id) } }
        var stack = (0..<n).filter { canEnd[$0] }
        while let i = stack.popLast() {
            for j in reverse[i] where !canEnd[j] {
                canEnd[j] = true
                stack.append(j)
            }
        }
        let trapped = (0..<n).filter { !canEnd[$0] }
        guard !trapped.isEmpty else { return }
        for component in Self.cycles(among: Set(trapped), nodes) {
            let head = component.min { (nodes[$0].deviations, $0) < (nodes[$1].deviations, $1) }!
            let node = nodes[head]
            let frame = node.state.frames[node.state.frames.count - 1]
            let range = program.flows[frame.flow].elements[frame.pc].range
            // Go round the loop once, giving the same answers again where the loop allows it.
            var extra: [ExploreMove] = []
            var given: [String: String] = [:]
            for step in node.path?.steps ?? [] {
                if case .answers(let pairs) = step.move { for p in pairs where given[p.reference] == nil { given[p.reference] = p.typed } }
            }
            var current = head
            var seen: Set<Int> = [head]
            for _ in 0..<100 {
                let inLoop = nodes[current].edges.filter { component.contains($0.node) }
                guard !inLoop.isEmpty else { break }
                let pick = inLoop.first { e in
                    guard case .answers(let pairs) = e.move else { return false }
                    return pairs.allSatisfy { given[$0.reference] == nil || given[$0.reference] == $0.typed }
                } ?? inLoop[0]
                extra.append(pick.move)
                if case .answers(let pairs) = pick.move { for p in pairs where given[p.reference] == nil { given[p.reference] = p.typed } }
                current = pick.node
                if !seen.insert(current).inserted { break }
            }
            let diagnostic = Diagnostic(.noWayOut, at: range, label: "every answer and result tried comes back here",
                                        hint: "check the condition that should end the loop: can any answer the questions accept meet it?")
            record(.noWayOut, diagnostic, path: node.path, then: extra, deviations: node.deviations)
        }
    }

    /// The strongly connected components of the graph restricted to `members` that hold a
    /// cycle (more than one node, or a node with an edge to itself). Tarjan's algorithm, with
    /// an explicit stack.
    static func cycles(among members: Set<Int>, _ nodes: [ExploreNode]) -> [Set<Int>] {
        var index: [Int: Int] = [:]
        var low: [Int: Int] = [:]
        var onStack = Set<Int>()
        var stack: [Int] = []
        var counter = 0
        var out: [Set<Int>] = []
        for root in members.sorted() where index[root] == nil {
            var work: [(node: Int, edge: Int)] = [(root, 0)]
            index[root] = counter
            low[root] = counter
            counter += 1
            stack.append(root)
            onStack.insert(root)
            while var top = work.popLast() {
                let edges = nodes[top.node].edges.map(\.node).filter { members.contains($0) }
                if top.edge < edges.count {
                    let next = edges[top.edge]
                    top.edge += 1
                    work.append(top)
                    if index[next] == nil {
                        index[next] = counter
                        low[next] = counter
                        counter += 1
                        stack.append(next)
                        onStack.insert(next)
                        work.append((next, 0))
                    } else if onStack.contains(next) {
                        low[top.node] = min(low[top.node]!, index[next]!)
                    }
                    continue
                }
                if let parent = work.last {
                    low[parent.node] = min(low[parent.node]!, low[top.node]!)
                }
                if low[top.node] == index[top.node] {
                    var component = Set<Int>()
                    while let x = stack.popLast() {
                        onStack.remove(x)
                        component.insert(x)
                        if x == top.node { break }
                    }
                    let selfLoop = component.count == 1 && nodes[top.node].edges.contains { $0.node == top.node }
                    if component.count > 1 || selfLoop { out.append(component) }
                }
            }
        }
        return out
    }

    // MARK: - The result

    func result() -> ExploreResult {
        // Coverage: the entry flow and every flow it calls, directly or not.
        var flows: Set<Int> = []
        var queue = program.flows.indices.contains(program.entry) ? [program.entry] : []
        while let f = queue.popLast() {
            guard flows.insert(f).inserted else { continue }
            for e in program.flows[f].elements {
                if case .call(let info) = e.kind, case .flow(let g) = info.target { queue.append(g) }
            }
        }
        var elements: [SourceRange: String] = [:]
        for f in flows {
            for e in program.flows[f].elements {
                if case .end = e.kind { continue }
                elements[e.range] = e.kind.traceName
            }
        }
        let unreached = elements.filter { !recorder.reached.contains($0.key) }
            .map { ExploreCoverage.Element(kind: $0.value, range: $0.key) }
            .sorted {
                ($0.range.file.index, $0.range.start, $0.range.end, $0.kind) < ($1.range.file.index, $1.range.start, $1.range.end, $1.kind)
            }
        let complete = !stopped && levels.allSatisfy { $0.novel.isEmpty && $0.plain.isEmpty }
        var list: [Finding] = []
        var replayOptions = runtime
        replayOptions.maxHistory = RuntimeOptions().maxHistory
        for (key, var f) in findings {
            f.reproduced = Self.replays(f, key: key, question: questionOf[key], program: program, options: replayOptions)
            list.append(f)
        }
        list.sort {
            let a = $0.diagnostic, b = $1.diagnostic
            return (a.range.file.index, a.range.start, a.range.end, a.id, a.message)
                < (b.range.file.index, b.range.start, b.range.end, b.id, b.message)
        }
        return ExploreResult(
            findings: list, playthroughs: playthroughs, complete: complete,
            coverage: ExploreCoverage(total: elements.count, reached: elements.count - unreached.count, unreached: unreached),
            notes: notes, options: options,
            backStopsAfter: unsafeCalls.sorted { ($0.file.index, $0.start, $0.end) < ($1.file.index, $1.start, $1.end) }
                .map { ExploreResult.UnsafeCall(name: unsafeNames[$0] ?? "", range: $0) })
    }

    static func replays(_ f: Finding, key: ExploreFindingKey, question: String?, program: Program, options: RuntimeOptions) -> Bool {
        let end = f.reproduction.replay(program, options: options)
        switch f.kind {
        case .runtimeError:
            if case .error(let d) = end { return d.id == f.diagnostic.id && d.range == f.diagnostic.range }
            return false
        case .unhandledFailure:
            if case .error(let d) = end { return d.id == "run.callFailed" && d.range == f.diagnostic.range }
            return false
        case .endlessLoop, .noWayOut:
            if case .error(let d) = end { return d.id == "run.stepLimit" }
            return false
        case .unanswerable, .refusedValid:
            if case .refused(let reference, _) = end { return reference == question }
            return false
        case .acceptedInvalid, .badDefault:
            if case .refused(let reference, _) = end { return reference != question }
            return true
        case .callRepeated, .backNotStopped, .backPastCall:
            // Only a path with `back` could meet them, and a reproduction cannot say `back`.
            return false
        }
    }
}

// MARK: - States compared without their step count and history

/// A session state as the explorer compares them: the frames (flows, positions, values, answers)
/// and the session variables; not the step count, nor the checkpoints kept for `back`.
struct ExploreStateKey: Hashable {
    let frames: [Frame]
    let sessionValues: [Value?]
    private let hash: Int

    init(_ state: SessionState) {
        frames = state.frames
        sessionValues = state.sessionValues
        var h = Hasher()
        for f in frames {
            h.combine(f.flow)
            h.combine(f.pc)
            for v in f.locals { ExploreStateKey.combine(v, &h) }
            for page in f.answers {
                h.combine(page == nil)
                for v in page ?? [] { ExploreStateKey.combine(v, &h) }
            }
            ExploreStateKey.combine(f.error, &h)
        }
        for v in sessionValues { ExploreStateKey.combine(v, &h) }
        hash = h.finalize()
    }

    func hash(into hasher: inout Hasher) { hasher.combine(hash) }

    static func == (a: ExploreStateKey, b: ExploreStateKey) -> Bool {
        a.hash == b.hash && a.frames == b.frames && a.sessionValues == b.sessionValues
    }

    private static func combine(_ v: Value?, _ h: inout Hasher) {
        guard let v else {
            h.combine(0)
            return
        }
        switch v {
        case .text(let s): h.combine(1); h.combine(s)
        case .number(let n): h.combine(2); h.combine(n)
        case .bool(let b): h.combine(3); h.combine(b)
        case .null: h.combine(4)
        case .date(let s): h.combine(5); h.combine(s)
        case .list(let items):
            h.combine(6)
            h.combine(items.count)
            for x in items { combine(x, &h) }
        case .object(let fields):
            h.combine(7)
            for k in fields.keys.sorted() {
                h.combine(k)
                combine(fields[k], &h)
            }
        }
    }
}
