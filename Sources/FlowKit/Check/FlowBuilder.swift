/// Lowers one flow's statements to its element graph.
///
/// Elements are created in source order. `pending` holds the edges that must point at the next
/// element created; a statement that does not fall through (`goto`, `finish`) leaves it empty.
/// `goto`s are patched once every label is known. Then the graph checks run (`FlowChecks`).
final class FlowBuilder {
    let p: ProgramBuilder
    let decl: FlowDecl
    /// The flow's statements, taken out of the declaration: lowering may release each top-level
    /// statement once it is lowered, so a long flow's tree shrinks as its graph grows (peak memory).
    var body: [Statement]
    let index: Int
    let ctx = FlowContext()
    var elements: [Element] = []
    /// At most how many elements the flow lowers to: `add` makes `elements` this size at once.
    /// Fresh memory is resident only once written (in `flow check` a large block is always
    /// fresh: it is mapped apart, see `MemoryUse`), so the whole array is not held while the whole
    /// tree still is; growing it by doubling held the old and the new array at once, which was
    /// the peak of checking one long flow.
    var expectedElements = 0
    var entry: Int32 = -1
    var pending: [Edge] = [.entry]
    var labels: [String: (Int, SourceRange)] = [:]
    var gotos: [(element: Int, label: Name)] = []
    /// Every place a local is assigned, for the graph checks.
    /// (16 bytes each: a slot fits 32 bits.)
    var assignments: [(slot: Int32, range: SourceRange)] = []

    enum Edge { case entry, next(Int), branch(Int) }

    /// `decl.body` is not read: the statements are `body` (taken out of the declaration by the
    /// caller, so nothing else holds them).
    init(_ p: ProgramBuilder, _ decl: FlowDecl, body: consuming [Statement], index: Int) {
        self.p = p
        self.decl = decl
        self.body = body
        self.index = index
    }

    func build() -> FlowGraph {
        let signature = p.program.flows[index]
        for param in signature.parameters + signature.outputs {
            if let (_, first) = p.globals[param.name] {
                p.report(.duplicateName(param.name), param.range, notes: [DiagnosticNote("'\(param.name)' is first declared here", at: first)])
            }
        }
        let counts = Self.count(body)
        // At most this many locals: made once at their size (a long flow's arrays grown by
        // doubling were up to a third unused, and held until its checks end).
        let most = signature.parameters.count + signature.outputs.count + counts.assignments
        ctx.localNames.reserveCapacity(most)
        ctx.localTypes.reserveCapacity(most)
        ctx.firstSet.reserveCapacity(most)
        ctx.reads.reserveCapacity(most)
        // `most` counts assignments, so a long flow that sets few variables many times reserves
        // more than it uses, as the arrays above do (100,000 `set total += 1` lines: 1.9 MB more
        // at peak, 15.5x the file), where a flow of many variables is no longer grown by doubling.
        ctx.locals.reserveCapacity(most)
        for param in signature.parameters { _ = declareLocal(param.name, param.type, param.range, isParameter: true) }
        ctx.parameterCount = signature.parameters.count
        for out in signature.outputs { ctx.outputSlots.append(declareLocal(out.name, out.type, out.range, isParameter: true)) }
        for slot in ctx.outputSlots { ctx.reads[slot] += 1 }  // read by the caller
        ctx.pageInfos.reserveCapacity(counts.pages)
        // And the table of pages' names at its size: a long questionnaire's grew by doubling
        // (its probe table rehashed a dozen times, its entries copied as often).
        ctx.pages.reserveCapacity(counts.pages)
        collectTopLevel()
        // Only the pre-pass reads where each variable is first set (for clashes with page names).
        ctx.firstSet = []
        expectedElements = counts.elements + 1
        p.flow = ctx
        defer { p.flow = nil }
        let comparisonsBefore = p.comparisonsLowered
        lowerBody()
        add(Element(kind: .end, range: decl.endRange))
        for (element, label) in gotos {
            if let (target, _) = labels[label.text] {
                elements[element].next = Int32(target)
            } else {
                p.report(.undefinedLabel(label.text), label.range,
                         hint: Suggest.closest(to: label.text, in: labels.keys).map { "did you mean '\($0)'?" }
                             ?? "declare it where the flow should continue: label \(label.text)")
                ctx.hadResolutionError = true
            }
        }
        for (element, label) in errorGotos {
            if let (target, _) = labels[label.text], target >= 0 {
                elements[element].branch = Int32(target)
            } else {
                p.report(.undefinedLabel(label.text), label.range,
                         hint: Suggest.closest(to: label.text, in: labels.keys).map { "did you mean '\($0)'?" })
                ctx.hadResolutionError = true
            }
        }
        var graph = FlowGraph(
            name: decl.name.text, range: decl.name.range, elements: elements, entry: Int(entry),
            variables: ctx.localNames, variableTypes: ctx.localTypes, parameterCount: ctx.parameterCount,
            parameters: signature.parameters, outputs: signature.outputs, pages: ctx.pageInfos)
        graph.readsLocalFacts = p.comparisonsLowered != comparisonsBefore || decisionsLowered
        // The checks go by slot and page index, not by name: a long flow's name tables are freed
        // before they run (peak memory).
        ctx.locals = NameTable()
        ctx.pages = NameTable()
        p.checkGraph(graph, ctx, assignments)
        graph.variableTypes = ctx.localTypes
        return graph
    }

    // MARK: - Pre-pass: names of variables and pages

    private func declareLocal(_ name: String, _ type: ValueType, _ range: SourceRange, isParameter: Bool = false) -> Int {
        // One hash and one probe of the table, found or added (a long flow's table is large:
        // each probe is likely a cache miss).
        let slot = ctx.localNames.count
        if let existing = ctx.locals.insertIfAbsent(name, slot) { return existing }
        ctx.localNames.append(name)
        ctx.localTypes.append(type)
        ctx.firstSet.append(isParameter ? nil : range)
        ctx.reads.append(0)
        return slot
    }

    /// How many pages the statements declare, and at most how many elements they lower to and
    /// how many variables they assign, so the arrays of a long flow are made once at their size
    /// rather than grown by doubling.
    static func count(_ statements: [Statement]) -> (pages: Int, elements: Int, assignments: Int) {
        var pages = 0, elements = 0, assignments = 0
        func add(_ inner: (pages: Int, elements: Int, assignments: Int)) {
            pages += inner.pages; elements += inner.elements; assignments += inner.assignments
        }
        // Read in place: copying each statement out retained and released its parts.
        statements.withUnsafeBufferPointer { statements in
            for k in statements.indices {
                switch (statements.baseAddress! + k).pointee.kind {
                case .page, .question: pages += 1; elements += 1
                case .call(let c):
                    elements += 1
                    switch c.binding {
                    case .variable?: assignments += 1
                    case .mapping(let pairs)?: assignments += pairs.count
                    case nil: break
                    }
                    if case .block(let body, _)? = c.onError { add(count(body)) }
                case .decision(let branches, let otherwise):
                    for b in branches {
                        add(count(b.body))
                        elements += 1
                    }
                    if let otherwise { add(count(otherwise)) }
                case .set: elements += 1; assignments += 1
                case .response, .label, .goto, .finish: elements += 1
                }
            }
        }
        return (pages, elements, assignments)
    }

    /// Pages of the flow's top level that lowering needs nothing more of than their page's info
    /// (no title, no question with properties or options to check), by statement index: their
    /// syntax is released as soon as they are registered (`releasedPages`, when the caller
    /// releases syntax), so the tree of a flow of many questions and its pages are not both held
    /// whole (peak memory of `flow check`). -1: not released.
    private var releasedPages: [Int32] = []
    /// Whether a decision was lowered: the flow then reads what the solver knows of its locals
    /// (`FlowGraph.readsLocalFacts`).
    private var decisionsLowered = false
    /// Stands in `body` for a released page: one box for the builder, so releasing allocates
    /// nothing. (Not a `static`: a global holding an indirect case is reported as a leak by
    /// LeakSanitizer, which does not see the tagged pointer, and the fuzz targets run under it.)
    private let releasedPage = StatementKind.label(Name("", SourceRange(file: FileID(0), start: 0, end: 0)))

    private func collectTopLevel() {
        let prefetching = ctx.pages.isLarge || ctx.locals.isLarge
        guard p.releaseSyntax else {
            for k in body.indices {
                if prefetching { prefetchNames(before: k) }
                collect(body[k])
            }
            return
        }
        var released = 0
        for k in body.indices {
            if prefetching { prefetchNames(before: k) }
            let pi = ctx.pageInfos.count
            guard let range = collect(body[k]) else { continue }
            if releasedPages.isEmpty { releasedPages = [Int32](repeating: -1, count: body.count) }
            releasedPages[k] = Int32(pi)
            body[k] = Statement(kind: releasedPage, range: range)
            released += 1
        }
        if released >= Self.trimAfter { MemoryUse.trim() }
    }

    /// A question whose page info, as `collect` registers it, is already all lowering would make
    /// of it: no property to lower, no options to require.
    private static func needsNoLowering(_ q: Question) -> Bool {
        q.properties.isEmpty && q.type != .choice && q.type != .choices
    }

    /// How many statements' names `prefetchNames` asks for at once, a run ahead of `collect`.
    static let prefetchAhead = 32

    /// Before statement `k` is collected: at the start of each run of `prefetchAhead`, asks for
    /// the names of the next run (and at the first, of this one too).
    @inline(__always)
    private func prefetchNames(before k: Int) {
        guard k % Self.prefetchAhead == 0 else { return }
        if k == 0 { prefetchNames(from: 0) }
        prefetchNames(from: k + Self.prefetchAhead)
    }

    /// Asks for the probe slots of the names the `prefetchAhead` top-level statements from
    /// `start` will add (a page's name, a `set`'s target), read in place, before `collect` adds
    /// them one by one: in a long flow each is a cache miss, and asked for together, a run ahead,
    /// they overlap and are in by then (`NameTable.prefetch`). A hint only: what `collect` does
    /// is the same without it.
    private func prefetchNames(from start: Int) {
        guard start < body.count else { return }
        // The tables taken out of the context once, not retained with it for each name.
        let pages = ctx.pages, locals = ctx.locals
        body.withUnsafeBufferPointer { statements in
            for k in start..<min(start + Self.prefetchAhead, statements.count) {
                switch (statements.baseAddress! + k).pointee.kind {
                case .page(let page): pages.prefetch(page.name.text)
                case .question(let q): pages.prefetch(q.name.text)
                case .set(let target, _, _): locals.prefetch(target.text)
                default: break
                }
            }
        }
    }

    /// Registers variables (targets of `set` and call bindings) and pages before lowering, so a
    /// read that comes before a write in the text still resolves; dataflow decides if it is safe.
    private func collect(_ statements: [Statement]) {
        for st in statements { collect(st) }
    }

    /// Returns the statement's range when it is a page it registered (the last page info, not a
    /// duplicate) whose info is already all lowering would make of it (`collectTopLevel` then
    /// releases its syntax): said here, where the page is already bound, for a second binding
    /// copied the question or page out of its statement's box again.
    @discardableResult
    private func collect(_ st: Statement) -> SourceRange? {
            switch st.kind {
            case .question(let q):
                guard registerPage(q.name) else { return nil }
                ctx.pageInfos.append(PageInfo(name: q.name.text, title: nil, questions: [Self.info(q.name, q.type, page: q.name.text)],
                                              isLoneQuestion: true, range: q.name.range))
                return Self.needsNoLowering(q) ? q.range : nil
            case .page(let page):
                guard registerPage(page.name) else { return nil }
                var questions: [QuestionInfo]
                if page.questions.count == 1 {
                    // A page of one question: its array made at its size, not reserved then grown.
                    questions = [Self.info(page.questions[0].name, page.questions[0].type, page: page.name.text)]
                } else {
                    questions = []
                    questions.reserveCapacity(page.questions.count)
                    for q in page.questions {
                        // Pages hold a few questions: a linear search beats hashing here.
                        if let first = questions.first(where: { $0.name == q.name.text }) {
                            p.report(.duplicateName(q.name.text), q.name.range, notes: [DiagnosticNote("'\(q.name.text)' is first declared here", at: first.range)])
                            continue
                        }
                        questions.append(Self.info(q.name, q.type, page: page.name.text))
                    }
                }
                // The questions moved into the page info, not retained for it and released here.
                ctx.pageInfos.append(PageInfo(name: page.name.text, title: nil, questions: consume questions, isLoneQuestion: false,
                                              range: page.name.range))
                return page.title == nil && page.questions.allSatisfy(Self.needsNoLowering) ? page.range : nil
            case .set(let target, _, _):
                if assignableTarget(target) { _ = declareLocal(target.text, .any, target.range) }
            case .call(let c):
                if let split = splitMissingArrow(c), assignableTarget(split.rest) {
                    _ = declareLocal(split.rest.text, .any, split.rest.range)
                }
                switch c.binding {
                case .variable(let v)?:
                    if assignableTarget(v) { _ = declareLocal(v.text, .any, v.range) }
                case .mapping(let pairs)?:
                    for pair in pairs where assignableTarget(pair.variable) { _ = declareLocal(pair.variable.text, .any, pair.variable.range) }
                case nil: break
                }
                if case .block(let body, _)? = c.onError { collect(body) }
            case .decision(let branches, let otherwise):
                for b in branches { collect(b.body) }
                if let otherwise { collect(otherwise) }
            case .label(let name):
                if let (_, first) = labels[name.text] {
                    ctx.hadResolutionError = true
                    p.report(.duplicateName(name.text), name.range, notes: [DiagnosticNote("label '\(name.text)' is first declared here", at: first)])
                } else {
                    labels[name.text] = (-1, name.range)
                }
            case .response, .goto, .finish: break
            }
            return nil
    }

    /// Registers a page (or a lone question's page) by name; false, with the duplicate reported,
    /// when the flow already has one of that name.
    private func registerPage(_ name: Name) -> Bool {
        if let first = ctx.pages.insertIfAbsent(name.text, ctx.pageInfos.count) {
            p.report(.duplicateName(name.text), name.range,
                     notes: [DiagnosticNote("'\(name.text)' is first declared here", at: ctx.pageInfos[first].range)])
            ctx.hadResolutionError = true
            return false
        }
        claimName(name)
        return true
    }

    /// A question's info as `collect` registers it, from its name and type, not the question: a
    /// question copied out of its page is its properties retained and released. Lowering fills
    /// in the rest from its properties.
    private static func info(_ name: Name, _ type: QuestionType, page: String) -> QuestionInfo {
        QuestionInfo(name: name.text, reference: reference(page, name.text), type: type,
                     prompt: nil, defaultValue: nil, optional: false,
                     min: nil, max: nil, pattern: nil, options: [], range: name.range)
    }

    /// `Page.Question`, made at its length in one go: interpolated, it cost a few hundred
    /// instructions more, and appended in two steps, a long one was copied twice (once per
    /// question of a long questionnaire; callgrind, 100,000 lone questions: 42.1M instructions
    /// in the appends).
    static func reference(_ page: String, _ question: String) -> String {
        var page = page, question = question
        return page.withUTF8 { p in
            question.withUTF8 { q in
                String(unsafeUninitializedCapacity: p.count + 1 + q.count) { out in
                    _ = out.initialize(fromContentsOf: p)
                    out[p.count] = UInt8(ascii: ".")
                    _ = UnsafeMutableBufferPointer(rebasing: out[(p.count + 1)...]).initialize(fromContentsOf: q)
                    return p.count + 1 + q.count
                }
            }
        }
    }

    /// A page may not share a name with a variable, a parameter or a config, secret or session
    /// variable (one namespace per flow).
    private func claimName(_ name: Name) {
        var first: SourceRange?
        if let slot = ctx.local(name.text) { first = (slot < ctx.firstSet.count ? ctx.firstSet[slot] : nil) ?? decl.name.range }
        if let (_, r) = p.globals[name.text] { first = r }
        if let first {
            p.report(.duplicateName(name.text), name.range, notes: [DiagnosticNote("'\(name.text)' is first declared here", at: first)])
            ctx.hadResolutionError = true
        }
    }

    /// Session variables are assigned in place; configs and secrets cannot be assigned.
    private func assignableTarget(_ name: Name) -> Bool {
        if let (g, _) = p.globals[name.text] {
            switch g {
            case .session: return false
            case .config: p.report(.assignToConstant(name.text, "config value"), name.range)
            case .secret: p.report(.assignToConstant(name.text, "secret"), name.range)
            }
            ctx.hadResolutionError = true
            return false
        }
        if let page = ctx.pages[name.text] {
            p.report(.duplicateName(name.text), name.range, notes: [DiagnosticNote("'\(name.text)' is first declared here", at: ctx.pageInfos[page].range)],
                     hint: "a page's answers cannot be assigned; use another variable name")
            ctx.hadResolutionError = true
            return false
        }
        return true
    }

    // MARK: - Lowering

    @discardableResult
    private func add(_ element: consuming Element) -> Int {
        element.inHandler = p.inHandler
        let i = elements.count
        if i == elements.capacity && i < expectedElements { elements.reserveCapacity(expectedElements) }
        elements.append(element)
        for edge in pending {
            switch edge {
            case .entry: entry = Int32(i)
            case .next(let j): elements[j].next = Int32(i)
            case .branch(let j): elements[j].branch = Int32(i)
            }
        }
        // Reuse the buffer: this runs once per element.
        pending.removeAll(keepingCapacity: true)
        pending.append(.next(i))
        return i
    }

    /// Lowers the top-level statements. When the caller holds no other reference to the trees
    /// (`releaseSyntax`), each is taken out of `body` (reversed, then popped from its end) before
    /// it is lowered, so it is freed once lowered; a page released by `collectTopLevel` becomes
    /// its element straight away.
    private func lowerBody() {
        guard p.releaseSyntax else {
            block(body)
            return
        }
        body.reverse()
        var k = 0
        while let st = body.popLast() {
            if k < releasedPages.count, releasedPages[k] >= 0 {
                add(Element(kind: .page(Int(releasedPages[k])), range: st.range))
            } else {
                statement(st)
            }
            k += 1
        }
        body = []
        releasedPages = []
        // The tree of a long flow, freed statement by statement, leaves pages of free memory
        // between what lowering kept; give them back before the graph checks allocate their own.
        if k >= Self.trimAfter { MemoryUse.trim() }
    }

    /// Statements in one flow from which `lowerBody` returns the freed tree's memory.
    static let trimAfter = 10_000


    private func block(_ statements: [Statement]) {
        for st in statements { statement(st) }
    }

    private func statement(_ st: Statement) {
        switch st.kind {
        case .page(let page):
            guard let pi = ctx.pages[page.name.text], ctx.pageInfos[pi].range == page.name.range else { return }
            ctx.pageInfos[pi].title = page.title.map { p.lower($0) }
            for q in page.questions { lowerQuestion(q, pi) }
            add(Element(kind: .page(pi), range: page.range))
        case .question(let q):
            guard let pi = ctx.pages[q.name.text], ctx.pageInfos[pi].range == q.name.range else { return }
            lowerQuestion(q, pi)
            add(Element(kind: .page(pi), range: q.range))
        case .call(let c):
            lowerCall(c, st.range)
        case .response(let e):
            let ir = p.lower(e)
            if ir.type == .secure { p.reportSecureShown(ir) }
            add(Element(kind: .response(consume ir), range: st.range))
        case .set(let target, let op, let value):
            let v = p.lower(value)
            guard let ref = assignTarget(target, v, op) else {
                add(Element(kind: .response(consume v), range: st.range))  // keeps the graph shape; errors already reported
                return
            }
            add(Element(kind: .set(slot: ref, op: op, value: consume v), range: st.range))
        case .decision(let branches, let otherwise):
            var exits: [Edge] = []
            for b in branches {
                let cond = p.lower(b.condition)
                p.requireBool(cond, "a condition")
                let d = add(Element(kind: .decision(consume cond), range: b.condition.range))
                decisionsLowered = true
                block(b.body)
                exits += pending
                pending.removeAll(keepingCapacity: true)
                pending.append(.branch(d))
            }
            if let otherwise { block(otherwise) }
            pending += exits
        case .label(let name):
            guard let (existing, first) = labels[name.text], existing < 0, first == name.range else { return }
            let i = add(Element(kind: .label(name.text), range: st.range))
            labels[name.text] = (i, first)
        case .goto(let name):
            let i = add(Element(kind: .goto(name.text), range: st.range))
            gotos.append((i, name))
            pending.removeAll(keepingCapacity: true)
        case .finish(let success, let reason):
            let r = reason.map { p.lower($0) }
            if let r {
                if r.type == .secure { p.reportSecureShown(r) }
            }
            add(Element(kind: .finish(success: success, reason: consume r), range: st.range))
            pending.removeAll(keepingCapacity: true)
        }
    }

    private func assignTarget(_ target: Name, _ value: IRExpr, _ op: AssignOperator) -> VariableRef? {
        if let (g, _) = p.globals[target.text], case .session(let i) = g {
            let t = p.program.sessionVariables[i].type
            p.checkAssignable(value, to: t, what: "session variable '\(target.text)'")
            if op != .assign { checkArithmeticAssign(t, value, op) }
            return .session(i)
        }
        // Parameters may be reassigned like variables.
        guard let slot = ctx.local(target.text), ctx.pages[target.text] == nil else { return nil }
        assignments.append((Int32(slot), target.range))
        if op != .assign {
            ctx.reads[slot] += 1
            checkArithmeticAssign(ctx.localTypes[slot], value, op)
        }
        if value.type == .secure && op == .assign {
            p.report(.secureValueCopied, value.range, hint: "pass the password straight to an integration point: ip Login(user, PIN.PIN)")
        }
        setType(slot, value.type, value.range, target.text)
        return .local(slot)
    }

    private func checkArithmeticAssign(_ current: ValueType, _ value: IRExpr, _ op: AssignOperator) {
        let ok = (current.isNumeric || current == .any) && (value.type.isNumeric || value.type == .any)
        let textAppend = op == .add && (current == .text || current == .any) && (value.type == .text || value.type == .any)
        if !(ok || textAppend) {
            p.report(.typeMismatch("cannot use '\(op.rawValue)' on \(current) and \(value.type)"), value.range)
        }
    }

    /// A variable's type is the type of its first assignment; later ones must agree.
    private func setType(_ slot: Int, _ type: ValueType, _ range: SourceRange, _ name: String) {
        let current = ctx.localTypes[slot]
        // A number that is ever given a currency amount holds currency (`set total = 0` then
        // `set total += price`), so it shows with two decimals.
        if current == .any || current == .null || (current == .number && type == .currency) {
            ctx.localTypes[slot] = type
        } else if !p.isAssignable(type, to: current) {
            p.report(.typeMismatch("'\(name)' holds \(p.describe(current)); it cannot be set to \(p.describe(type))"), range)
        }
    }

    /// Lowers a question's properties into its info on page `pi`, in place (a copy of the page
    /// info would share its questions, and writing the question back would copy them all).
    private func lowerQuestion(_ q: Question, _ pi: Int) {
        guard let qi = ctx.pageInfos[pi].questions.firstIndex(where: { $0.name == q.name.text && $0.range == q.name.range }) else { return }
        var qinfo = ctx.pageInfos[pi].questions[qi]
        let valueType = ProgramBuilder.answerType(q.type)
        for prop in q.properties {
            let values = prop.values.map { p.lower($0) }
            switch prop.kind {
            case .prompt:
                qinfo.prompt = values.first
                if let v = values.first, v.type == .secure { p.reportSecureShown(v) }
            case .default:
                if let v = values.first {
                    if q.type == .password { p.report(.passwordDefault, prop.range) }
                    p.checkAssignable(v, to: valueType, what: "the default of '\(q.name.text)'")
                    qinfo.defaultValue = v
                }
            case .optional: qinfo.optional = true
            case .required: qinfo.optional = false
            case .min, .max:
                guard let v = values.first else { break }
                switch q.type {
                case .number, .currency, .date: p.checkAssignable(v, to: q.type == .date ? .date : .number, what: "'\(prop.kind.rawValue)'")
                case .text, .email, .password: p.checkAssignable(v, to: .number, what: "'\(prop.kind.rawValue)' (a length)")
                case .choices: p.checkAssignable(v, to: .number, what: "'\(prop.kind.rawValue)' (a count of choices)")
                default: p.report(.propertyNotForType(prop.kind.rawValue, q.type.rawValue), prop.range)
                }
                if prop.kind == .min { qinfo.min = v } else { qinfo.max = v }
            case .pattern:
                guard let v = values.first else { break }
                if case .constant(.text(let s)) = v.kind {
                    qinfo.pattern = s
                    qinfo.patternRange = v.range
                    if !RegexCheck.isValid(s) { p.report(.invalidPattern, v.range) }
                } else {
                    p.report(.typeMismatch("'pattern' needs a text literal"), v.range)
                }
                if ![.text, .email, .password].contains(q.type) { p.report(.propertyNotForType("pattern", q.type.rawValue), prop.range) }
            case .options:
                if q.type != .choice && q.type != .choices { p.report(.propertyNotForType("options", q.type.rawValue), prop.range) }
                for v in values where v.type == .secure { p.reportSecureShown(v) }
                qinfo.options += values
            }
        }
        if (q.type == .choice || q.type == .choices) && qinfo.options.isEmpty {
            p.report(.choiceWithoutOptions(q.name.text), q.name.range, hint: "question \(q.name.text): \(q.type.rawValue) {\n  options \"Billing\", \"Technical\", \"Other\"\n}")
        }
        ctx.pageInfos[pi].questions[qi] = qinfo
    }

    private func lowerCall(_ original: CallStatement, _ range: SourceRange) {
        var c = original
        if let split = splitMissingArrow(c) {
            // `extension Tokenize token`: report the missing '->' and go on as if it were there.
            p.report(.expectedArrow(CallStatement.noun(c.kind)), split.rest.range, label: "found '\(split.rest.text)'",
                     hint: "\(c.kind.rawValue) \(split.callee.text)\(c.argumentsRange == nil ? "" : "(…)") -> \(split.rest.text)")
            c.callee = split.callee
            c.binding = .variable(split.rest)
        }
        var target: CallTarget?
        switch c.kind {
        case .ip:
            target = p.ipIndex[c.callee.text].map { .ip($0) }
        case .extension:
            target = p.extensionIndex[c.callee.text].map { .extension($0) }
        case .flow:
            if let i = p.flowIndex[c.callee.text] {
                target = .flow(i)
                if i == index {
                    p.report(.recursiveCall(c.callee.text), c.callee.range)
                } else {
                    p.callEdges.append(CallEdge(caller: index, callee: i, range: c.callee.range))
                }
            }
        }
        let noun = CallStatement.noun(c.kind)
        let (params, outputs) = target.map { p.program.signature(of: $0) } ?? ([], [])
        let args = c.arguments.map { a in (a, p.lower(a.value)) }
        guard let target else {
            let names: [String]
            switch c.kind {
            case .ip: names = p.ipIndex.names
            case .extension: names = p.extensionIndex.names
            case .flow: names = p.flowIndex.names
            }
            let suggestion = Suggest.closest(to: c.callee.text, in: names)
            p.report(.undefinedCallee(noun, c.callee.text), c.callee.range, hint: suggestion.map { "did you mean '\($0)'?" })
            // The callee meant is not "never read" because of this typo.
            if let suggestion { markAllOutputsUsed(c.kind, suggestion) }
            ctx.hadResolutionError = true
            bindUnknown(c.binding)
            emitCall(CallInfo(target: .ip(-1), arguments: [], outputs: [], wholeResult: nil, hasErrorHandler: c.onError != nil), c, range)
            return
        }
        // Match arguments to parameters: positional first, then by name.
        var matched = [IRExpr?](repeating: nil, count: params.count)
        var sawLabel = false
        var reportedUnknownArgument = false
        for (i, (a, ir)) in args.enumerated() {
            if let label = a.label {
                sawLabel = true
                guard let pi = params.firstIndex(where: { $0.name == label.text }) else {
                    reportedUnknownArgument = true
                    p.report(.unknownArgument(label.text, c.callee.text), label.range,
                             hint: Suggest.closest(to: label.text, in: params.map(\.name)).map { "did you mean '\($0)'?" }
                                 ?? (params.isEmpty ? "'\(c.callee.text)' takes no arguments" : "parameters: \(params.map(\.name).joined(separator: ", "))"))
                    continue
                }
                if matched[pi] != nil { p.report(.duplicateArgument(label.text), a.range); continue }
                matched[pi] = ir
                p.checkAssignable(ir, to: params[pi].type, what: "argument '\(label.text)'")
            } else {
                if sawLabel {
                    p.report(.positionalAfterNamed, a.range)
                    reportedUnknownArgument = true
                    continue
                }
                guard i < params.count else {
                    p.report(.tooManyArguments(c.callee.text, params.count, args.count), a.range,
                             notes: [DiagnosticNote("'\(c.callee.text)' is declared here", at: declarationRange(target))])
                    break
                }
                matched[i] = ir
                p.checkAssignable(ir, to: params[i].type, what: "argument '\(params[i].name)'")
            }
        }
        let missing = params.indices.filter { matched[$0] == nil && params[$0].defaultValue == nil }
        // After an unknown argument name, "missing" would only repeat the same mistake.
        if !missing.isEmpty && !reportedUnknownArgument {
            let names = missing.map { "'\(params[$0].name)'" }.joined(separator: ", ")
            p.report(.missingArguments(c.callee.text, names), c.argumentsRange ?? c.callee.range,
                     notes: [DiagnosticNote("'\(c.callee.text)' is declared here", at: declarationRange(target))],
                     hint: "\(c.kind.rawValue) \(c.callee.text)(\(params.map(\.name).joined(separator: ", ")))")
        }
        // Bindings.
        var info = CallInfo(target: target, arguments: matched, outputs: [], wholeResult: nil, hasErrorHandler: c.onError != nil)
        var bound: [(Int, SourceRange, ValueType)] = []
        switch c.binding {
        case .variable(let v)?:
            if outputs.isEmpty {
                p.report(.noOutputs(noun, c.callee.text), v.range)
                if let slot = ctx.local(v.text) { ctx.reads[slot] += 1; info.wholeResult = slot; bound.append((slot, v.range, .any)) }
            } else if let slot = ctx.local(v.text) {
                // One output or several, the variable holds the result as an object with a field
                // per output, so adding an output changes no flow that reads one.
                let type = p.resultType(target)
                info.wholeResult = slot
                bound.append((slot, v.range, type))
            }
        case .mapping(let pairs)?:
            for pair in pairs {
                guard let oi = outputs.firstIndex(where: { $0.name == pair.output.text }) else {
                    let suggestion = Suggest.closest(to: pair.output.text, in: outputs.map(\.name))
                    p.report(.unknownOutput(pair.output.text, c.callee.text), pair.output.range,
                             hint: suggestion.map { "did you mean '\($0)'?" } ?? "outputs: \(outputs.map(\.name).joined(separator: ", "))")
                    if let suggestion, let si = outputs.firstIndex(where: { $0.name == suggestion }) { p.markOutputUsed(target, si) }
                    // Still bind the variable, so its uses are not reported as unset.
                    ctx.hadResolutionError = true
                    continue
                }
                p.markOutputUsed(target, oi)
                if let slot = ctx.local(pair.variable.text) {
                    info.outputs.append((oi, slot))
                    bound.append((slot, pair.variable.range, outputs[oi].type))
                }
            }
        case nil: break
        }
        for (slot, r, type) in bound {
            assignments.append((Int32(slot), r))
            setType(slot, type, r, ctx.localNames[slot])
        }
        emitCall(info, c, range)
    }

    private func markAllOutputsUsed(_ kind: CallKind, _ name: String) {
        switch kind {
        case .ip:
            if let i = p.ipIndex[name] { for o in p.program.integrationPoints[i].outputs.indices { p.markOutputUsed(.ip(i), o) } }
        case .extension:
            if let i = p.extensionIndex[name] { for o in p.program.extensions[i].outputs.indices { p.markOutputUsed(.extension(i), o) } }
        case .flow: break
        }
    }

    /// `extension Tokenize token` reads as one name, 'Tokenize token'. When its first words name a
    /// declared callee and the rest does not, the '->' before the rest is what is missing.
    func splitMissingArrow(_ c: CallStatement) -> (callee: Name, rest: Name)? {
        // Cheap tests first: this runs for every call, twice.
        guard c.binding == nil, c.callee.text.utf8.contains(0x20) else { return nil }
        let words = c.callee.text.split(separator: " ")
        guard words.count > 1 else { return nil }
        func declared(_ name: String) -> Bool {
            switch c.kind {
            case .ip: p.ipIndex[name] != nil
            case .extension: p.extensionIndex[name] != nil
            case .flow: p.flowIndex[name] != nil
            }
        }
        guard !declared(c.callee.text) else { return nil }
        for k in stride(from: words.count - 1, through: 1, by: -1) {
            let prefix = words[..<k].joined(separator: " ")
            guard declared(prefix) else { continue }
            // Find where the k-th word starts in the source.
            let file = p.sources[c.callee.range.file]
            let text = file.text(c.callee.range)
            var offset = 0
            var seen = 0
            var inWord = false
            var prefixEnd = 0
            for (i, b) in text.utf8.enumerated() {
                let isSpace = b == 0x20 || b == 0x09
                if isSpace && inWord { prefixEnd = i }
                if !isSpace && !inWord {
                    if seen == k { offset = i; break }
                    seen += 1
                }
                inWord = !isSpace
            }
            let s = Int(c.callee.range.start)
            let f = c.callee.range.file
            return (Name(prefix, SourceRange(file: f, start: s, end: s + prefixEnd)),
                    Name(words[k...].joined(separator: " "), SourceRange(file: f, start: s + offset, end: Int(c.callee.range.end))))
        }
        return nil
    }

    private func bindUnknown(_ binding: Binding?) {
        switch binding {
        case .variable(let v)?: if let s = ctx.local(v.text) { assignments.append((Int32(s), v.range)); ctx.reads[s] += 1 }
        case .mapping(let pairs)?: for pr in pairs { if let s = ctx.local(pr.variable.text) { assignments.append((Int32(s), pr.variable.range)); ctx.reads[s] += 1 } }
        case nil: break
        }
    }

    private func declarationRange(_ t: CallTarget) -> SourceRange {
        switch t {
        case .ip(let i): p.program.integrationPoints[i].range
        case .extension(let i): p.program.extensions[i].range
        case .flow(let i): p.program.flows[i].range
        }
    }

    private func emitCall(_ info: CallInfo, _ c: CallStatement, _ range: SourceRange) {
        let i = add(Element(kind: .call(info), range: range))
        switch c.onError {
        case .block(let body, _)?:
            pending = [.branch(i)]
            let saved = p.inHandler
            p.inHandler = true
            block(body)
            p.inHandler = saved
            pending.append(.next(i))
        case .goto(let label)?:
            // Patched with the gotos: a call's error edge to a label.
            if let (target, _) = labels[label.text], target >= 0 {
                elements[i].branch = Int32(target)
            } else {
                errorGotos.append((i, label))
            }
        case nil: break
        }
    }

    var errorGotos: [(element: Int, label: Name)] = []
}
