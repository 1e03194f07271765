import Foundation

/// A running flow: a resumable session that walks the element graph and asks its host for what
/// it needs.
///
/// Design note: each call of `start()` or `resume(_:)` runs elements until the session needs
/// something from outside — answers to a page, the result of an IP or an extension — or finishes,
/// and returns that as a `StepResult` with the responses shown on the way. The session owns no
/// terminal, socket or clock (`today()` comes from `RuntimeOptions`). All of its state is one
/// `Codable` value, `SessionState`: a session snapshotted while it waits and restored in another
/// process continues exactly as the original would. Names were resolved to slots by the compiler;
/// running never looks a name up. A step limit stops flows that loop for ever.
///
/// Calls are effects (grammar.md, "Calls are effects"): each call to an IP or an extension gets
/// an identity, the session's id and a sequence number that is never reused, and is recorded in
/// the state as in flight *before* the host is asked to make it, then as completed with its
/// outcome. A host that saves the state before acting on a step therefore finds an interrupted
/// call again with the same identity and idempotency key. `back` never repeats a call: it stops
/// at the first page after a completed unsafe call, and a safe call it went across is answered
/// from its record while the flow goes the same way with the same arguments. A restored session
/// whose unsafe IP call was in flight without an idempotency key does not send it again: the
/// call fails with `interrupted`, for the flow's `on error`.
public final class Session {
    public let program: Program
    public let options: RuntimeOptions
    public private(set) var state: SessionState
    private let trace: ((TraceEvent) -> Void)?
    /// Told of every element run and every way out of a decision or a call taken, for coverage
    /// (`flow test --coverage`). Nil costs one check a step.
    public var visit: ((Visit) -> Void)?
    /// The flows whose expressions this session flattened (`HotCode`), by index into `program.flows`.
    private(set) var hotCodes: [Int: HotCode] = [:]

    /// Starts a new session of the program's entry flow (or the flow named in `options`).
    public init(program: Program, options: RuntimeOptions = RuntimeOptions(), trace: ((TraceEvent) -> Void)? = nil) throws(RuntimeError) {
        self.program = program
        self.options = options
        self.trace = trace
        self.state = SessionState(id: options.sessionID ?? RuntimeOptions.randomSessionID(), effects: EffectLog(),
                                  frames: [], sessionValues: [], configValues: [], history: [], steps: 0, outcome: nil)
        try setUp()
    }

    /// Restores a session from a snapshot of its state, taken with `state`.
    public init(program: Program, state: SessionState, options: RuntimeOptions = RuntimeOptions(), trace: ((TraceEvent) -> Void)? = nil) {
        self.program = program
        self.options = options
        self.trace = trace
        self.state = state
    }

    // MARK: - Public steps

    /// Runs from the start (or from where a restored session waits) to the first thing the host
    /// must do.
    public func start() throws(RuntimeError) -> StepResult {
        if let outcome = state.outcome { return StepResult(responses: [], step: .finished(outcome)) }
        if let call = state.effects.inFlight, call.kind == "ip", !call.safe,
           let top = state.frames.indices.last,
           case .call(let info) = program.flows[state.frames[top].flow].elements[state.frames[top].pc].kind,
           case .ip(let i) = info.target, !program.integrationPoints[i].declaration.idempotent
        {
            // Sent perhaps, perhaps not, and the service has no key to tell a second sending from
            // the first: the flow decides what to do, the call is not made again.
            let failure = CallFailure(
                kind: "interrupted",
                message: "the run stopped while '\(call.name)' was being called; it may have been carried out, so it is not sent again")
            return try resume(.failure(failure))
        }
        if let waiting = try currentRequest() { return StepResult(responses: [], step: waiting) }
        return try run()
    }

    /// Hands the host the reply to the call `effect` (the `CallRequest.effect` of the call it was
    /// asked to make), and runs to the next step. A reply to any other call (a stale result given
    /// again, a call of another session) is refused with `run.unexpectedReply` and changes
    /// nothing: hosts that can receive a reply twice should answer calls through this.
    public func resume(_ reply: Reply, answering effect: Effect) throws(RuntimeError) -> StepResult {
        guard let waiting = state.effects.inFlight, waiting.sequence == effect.sequence, effect.session == state.id else {
            let range = state.frames.last.map { program.flows[$0.flow].elements[$0.pc].range }
                ?? program.flows.first?.range ?? SourceRange(file: FileID(0), start: 0, end: 0)
            throw RuntimeError(.unexpectedReply("a reply to call \(effect.sequence)"), at: range)
        }
        return try resume(reply)
    }

    /// Hands the host's answer to what the session asked for, and runs to the next step.
    public func resume(_ reply: Reply) throws(RuntimeError) -> StepResult {
        if let outcome = state.outcome { return StepResult(responses: [], step: .finished(outcome)) }
        let top = state.frames.count - 1
        let flow = flowGraph(state.frames[top].flow)
        let pc = state.frames[top].pc
        // The element is read in place (the program is a constant of the session), and the
        // reply looked at without copying it into a tuple: an element copied out is its kind
        // retained and released.
        precondition(pc >= 0 && pc < flow.pointee.elements.count, "element index out of range")
        let element = flow.pointee.elements.withUnsafeBufferPointer { $0.baseAddress! + pc }
        switch element.pointee.kind.tag {
        case .page:
            guard case .page(let p) = element.pointee.kind else { preconditionFailure("not a page") }
            switch reply {
            case .answers(let raw):
                // Each answer is read against its question as the host is asked it (types, rules,
                // options): for a page made only of constants, the questions of the request every
                // session of the program shares (`ConstantPages`); for any other page, each
                // question made one at a time in place, without the prompt.
                let page = flow.pointee.pages.withUnsafeBufferPointer { $0.baseAddress! + p }
                let count = page.pointee.questions.count
                var values = Self.unset(count)
                var problems: [String: String] = [:]
                func read(_ q: UnsafePointer<QuestionRequest>, _ i: Int) {
                    let typed = raw[q.pointee.reference] ?? raw[q.pointee.name] ?? ""
                    switch AnswerParser.parse(typed, at: q) {
                    case .success(let v): values[i] = v
                    case .failure(let problem): problems[q.pointee.name] = problem.message
                    }
                }
                if let questions = program.constantPages?.questions(flow: state.frames[top].flow, page: p) {
                    questions.withUnsafeBufferPointer { qs in
                        for i in qs.indices { read(qs.baseAddress! + i, i) }
                    }
                } else {
                    try page.pointee.questions.withUnsafeBufferPointer { infos throws(RuntimeError) in
                        for i in infos.indices {
                            let q = try questionRequest(infos.baseAddress! + i, frame: top, shown: false)
                            withUnsafePointer(to: q) { read($0, i) }
                        }
                    }
                }
                if !problems.isEmpty {
                    var again = try pageRequest(flow, p, frame: top)
                    again.problems = problems
                    return StepResult(responses: [], step: .ask(again))
                }
                state.frames[top].answers[p] = values
                if let trace {
                    for (i, q) in page.pointee.questions.enumerated() {
                        trace(.answer(reference: q.reference, value: q.type == .password ? nil : values[i], range: element.pointee.range))
                    }
                }
                state.frames[top].pc = Int(element.pointee.next)
                return try run()
            case .back:
                // The checkpoint on top is this page's; the one below it is the page before.
                guard state.history.count >= 2 else { return StepResult(responses: [], step: try currentRequest()!) }
                state.history.removeLast()
                let previous = state.history[state.history.count - 1]
                state.frames = previous.frames
                state.sessionValues = previous.sessionValues
                // The calls made since that page (all safe: an unsafe one stops `back`) are kept;
                // going forward the same way with the same arguments uses their outcomes.
                state.effects.replay = state.effects.completed.filter { $0.sequence >= previous.sequence }
                trace?(.back(range: element.pointee.range))
                return StepResult(responses: [], step: try currentRequest()!)
            default:
                throw RuntimeError(.unexpectedReply(reply.kindDescription), at: element.pointee.range)
            }
        case .call:
            guard case .call(let info) = element.pointee.kind else { preconditionFailure("not a call") }
            switch reply {
            case .result(let outputs):
                try complete(.result(outputs), of: info, at: Place(element), frame: top)
                return try run()
            case .failure(let failure):
                try complete(.failure(failure), of: info, at: Place(element), frame: top)
                return try run()
            default:
                throw RuntimeError(.unexpectedReply(reply.kindDescription), at: element.pointee.range)
            }
        default:
            throw RuntimeError(.unexpectedReply(reply.kindDescription), at: element.pointee.range)
        }
    }

    // MARK: - Setting up

    private func setUp() throws(RuntimeError) {
        let anywhere = program.flows.isEmpty ? SourceRange(file: FileID(0), start: 0, end: 0) : program.flows[0].range
        state.configValues = try program.configValues(overrides: options.configs)
        for s in program.sessionVariables {
            state.sessionValues.append(try s.value.map { e throws(RuntimeError) in try evaluate(e, frame: nil) })
        }
        var entry = program.entry
        if let name = options.flow {
            guard let i = program.flows.firstIndex(where: { $0.name == name }) else {
                throw RuntimeError(.unknownOption("flow", name), at: anywhere,
                                   hint: Suggest.closest(to: name, in: program.flows.map(\.name)).map { "did you mean '\($0)'?" })
            }
            entry = i
        }
        guard entry >= 0 && entry < program.flows.count else {
            throw RuntimeError(.noFlow, at: program.flows.first?.range ?? SourceRange(file: FileID(0), start: 0, end: 0))
        }
        // Read in place: a `FlowGraph` copied out of the array is a dozen arrays retained and released.
        let flow = flowGraph(entry)
        for name in options.arguments.isEmpty ? [] : options.arguments.keys.sorted() where !flow.pointee.parameters.contains(where: { $0.name == name }) {
            throw RuntimeError(.unknownOption("parameter of '\(flow.pointee.name)'", name), at: flow.pointee.range,
                               hint: Suggest.closest(to: name, in: flow.pointee.parameters.map(\.name)).map { "did you mean '\($0)'?" })
        }
        var locals = Self.unset(flow.pointee.variables.count)
        for (i, p) in flow.pointee.parameters.enumerated() {
            if let v = options.arguments[p.name] {
                guard let value = Value.text(v).coerced(to: p.type) else {
                    throw RuntimeError(.optionType("parameter", p.name, p.type.description), at: p.range)
                }
                locals[i] = value
            } else if let d = p.defaultValue {
                locals[i] = try evaluate(d, frame: nil)
            } else {
                throw RuntimeError(.missingEntryArgument(p.name, flow.pointee.name), at: p.range)
            }
        }
        state.frames = [Frame(flow: entry, pc: flow.pointee.entry, locals: locals, answers: PersistentArray(repeating: nil, count: flow.pointee.pages.count))]
        try initializeOutputs(frame: 0)
    }

    /// `count` unset slots. Built by appending: `Array(repeating:count:)` allocates through the
    /// standard library's unspecialized path, which looks the storage's type up in the runtime's
    /// generic metadata cache on every call (a few hundred instructions, three times a session),
    /// and so does `Array(unsafeUninitializedCapacity:initializingWith:)` (callgrind, 25,000
    /// payment sessions: 1,148.4M instructions with this, 1,163.8M with that).
    @inline(__always) static func unset(_ count: Int) -> [Value?] {
        var slots: [Value?] = []
        slots.reserveCapacity(count)
        for _ in 0..<count { slots.append(nil) }
        return slots
    }

    private func initializeOutputs(frame: Int) throws(RuntimeError) {
        let flow = flowGraph(state.frames[frame].flow)
        if flow.pointee.outputs.isEmpty { return }
        for o in flow.pointee.outputs {
            if let d = o.defaultValue, let slot = flow.pointee.variables.firstIndex(of: o.name) {
                state.frames[frame].locals[slot] = try evaluate(d, frame: frame)
            }
        }
    }

    // MARK: - The loop

    private func run() throws(RuntimeError) -> StepResult {
        var responses: [String] = []
        do {
            return try run(&responses)
        } catch {
            // What was shown before the error is still the caller's to see.
            var failure = error
            failure.responses = responses
            throw failure
        }
    }

    private func run(_ responses: inout [String]) throws(RuntimeError) -> StepResult {
        let limit = options.maxSteps
        let visit = self.visit
        // The outer loop picks up the top frame; the inner loop runs its elements with the frame's
        // program counter in a local, and writes it back only when it leaves the frame.
        while true {
            let top = state.frames.count - 1
            let flowIndex = state.frames[top].flow
            let flow = flowGraph(flowIndex)
            // The flow's expressions flattened, once the session has run many steps (a loop).
            // Through its buffers (`HotCode.View`): the session keeps the code alive.
            var hot = state.steps >= HotCode.threshold ? hotCode(flowIndex).view : nil
            let elements = flow.pointee.elements
            var pc = state.frames[top].pc
            // The elements are read in place through their buffer (kept alive and unchanged by
            // `elements`), not copied out of the array one by one.
            let count = elements.count
            guard let base = elements.withUnsafeBufferPointer({ $0.baseAddress }) else {
                state.frames[top].pc = pc
                throw RuntimeError(.fellOffGraph, at: flow.pointee.range)
            }
            inner: while true {
                guard pc >= 0 && pc < count else {
                    state.frames[top].pc = pc
                    throw RuntimeError(.fellOffGraph, at: flow.pointee.range)
                }
                let element = base + pc
                state.steps += 1
                if state.steps > limit {
                    state.frames[top].pc = pc
                    throw RuntimeError(.stepLimit(limit), at: element.pointee.range, hint: "raise the limit with --max-steps, or give the loop a way out")
                }
                if hot == nil && state.steps >= HotCode.threshold { hot = hotCode(flowIndex).view }
                if let trace { trace(.enter(kind: element.pointee.kind.traceName, range: element.pointee.range)) }
                if let visit { visit(.element(flow: state.frames[top].flow, element: pc)) }
                // Switched on the case alone; the expression of a `set` or an `if` is bound (copied
                // out) only off the hot path.
                switch element.pointee.kind.tag {
                case .set:
                    guard case .set(let ref, let op, _) = element.pointee.kind else { preconditionFailure("not a set") }
                    var value: Value
                    if let hot, case let start = hot.start(pc), start >= 0 {
                        var context = SessionContext(session: self, frame: top)
                        value = try hot.evaluate(start, &context)
                    } else {
                        guard case .set(_, _, let x) = element.pointee.kind else { preconditionFailure("not a set") }
                        value = try evaluate(x, frame: top)
                    }
                    if op != .assign {
                        let current: Value?
                        switch ref {
                        case .local(let s): current = state.frames[top].locals[s]
                        case .session(let s): current = state.sessionValues[s]
                        }
                        guard let current else { throw RuntimeError(.unsetVariable(variableName(ref, flow)), at: element.pointee.range) }
                        value = try Arithmetic.binary(op == .add ? .add : .subtract, current, value, at: element.pointee.range)
                    }
                    switch ref {
                    case .local(let s): state.frames[top].locals[s] = value
                    case .session(let s): state.sessionValues[s] = value
                    }
                    if let trace, case .set(_, _, let x) = element.pointee.kind {
                        trace(.set(name: variableName(ref, flow), value: x.type == .secure ? nil : value, range: element.pointee.range))
                    }
                    pc = Int(element.pointee.next)
                case .decision:
                    let v: Value
                    if let hot, case let start = hot.start(pc), start >= 0 {
                        var context = SessionContext(session: self, frame: top)
                        v = try hot.evaluate(start, &context)
                    } else {
                        guard case .decision(let x) = element.pointee.kind else { preconditionFailure("not a decision") }
                        v = try evaluate(x, frame: top)
                    }
                    guard case .bool(let b) = v else {
                        guard case .decision(let x) = element.pointee.kind else { preconditionFailure("not a decision") }
                        throw RuntimeError(.runTypeMismatch("a condition must be yes or no, not \(v.kindName)"), at: x.range)
                    }
                    if let visit { visit(.edge(flow: state.frames[top].flow, element: pc, branch: !b)) }
                    pc = Int(b ? element.pointee.next : element.pointee.branch)
                case .label, .goto:
                    pc = Int(element.pointee.next)
                case .response:
                    guard case .response(let x) = element.pointee.kind else { preconditionFailure("not a response") }
                    let text = try render(x, frame: top)
                    responses.append(text)
                    trace?(.response(text: text, range: element.pointee.range))
                    pc = Int(element.pointee.next)
                default:
                    state.frames[top].pc = pc
                    break inner
                }
            }
            withExtendedLifetime(elements) {}
            // Elements that suspend the session, change frames or finish, read in place (the
            // program is a constant of the session): only the payload a case binds is copied.
            let element = Place(base + pc)
            switch base[pc].kind.tag {
            case .page:
                guard case .page(let p) = base[pc].kind else { preconditionFailure("not a page") }
                var request = try pageRequest(flow, p, frame: top)
                state.history.append(Checkpoint(frames: state.frames, sessionValues: state.sessionValues,
                                                sequence: state.effects.nextSequence))
                if state.history.count > options.maxHistory {
                    state.history.removeFirst()
                    let oldest = state.history[0].sequence
                    state.effects.completed.removeAll { $0.sequence < oldest }
                }
                request.canGoBack = state.history.count >= 2
                request.backStoppedBy = request.canGoBack ? nil : state.effects.barrier
                return StepResult(responses: responses, step: .ask(request))
            case .call:
                guard case .call(let info) = base[pc].kind else { preconditionFailure("not a call") }
                switch info.target {
                case .ip(let i), .extension(let i):
                    // Read in place: an IntegrationPoint copied whole is its declaration and more.
                    let isIP: Bool
                    if case .ip = info.target { isIP = true } else { isIP = false }
                    let (name, parameters, safe) = isIP
                        ? program.integrationPoints.withUnsafeBufferPointer { ($0[i].name, $0[i].parameters, Self.isSafe($0.baseAddress! + i)) }
                        : program.extensions.withUnsafeBufferPointer { ($0[i].name, $0[i].parameters, Self.isSafe($0.baseAddress! + i)) }
                    let kind = isIP ? "ip" : "extension"
                    var request = try callRequest(name, i, parameters, info, element, top)
                    trace?(.call(kind: kind, name: request.name, arguments: redacted(request.arguments, parameters), range: element.range))
                    if try replayed(request, info, element, frame: top) { continue }
                    request.effect = begin(request, kind: kind, safe: safe, frame: top)
                    return StepResult(responses: responses, step: isIP ? .callIP(request) : .runExtension(request))
                case .flow(let f):
                    let callee = program.flows[f]
                    let request = try callRequest(callee.name, f, callee.parameters, info, element, top)
                    trace?(.call(kind: "call", name: callee.name, arguments: redacted(request.arguments, callee.parameters), range: element.range))
                    var locals = [Value?](repeating: nil, count: callee.variables.count)
                    for (k, a) in request.arguments.enumerated() { locals[k] = a.value }
                    state.frames.append(Frame(flow: f, pc: callee.entry, locals: locals, answers: PersistentArray(repeating: nil, count: callee.pages.count)))
                    try initializeOutputs(frame: state.frames.count - 1)
                    if state.frames.count > options.maxCallDepth {
                        throw RuntimeError(.callDepth(options.maxCallDepth), at: element.range)
                    }
                }
            case .finish:
                guard case .finish(let success, let reason) = base[pc].kind else { preconditionFailure("not a finish") }
                let text = try reason.map { r throws(RuntimeError) in try render(r, frame: top) }
                if let result = try finishFrame(success: success, reason: text, element: element) {
                    return StepResult(responses: responses, step: result)
                }
            case .end:
                if let result = try finishFrame(success: true, reason: nil, element: element) {
                    return StepResult(responses: responses, step: result)
                }
            case .set, .decision, .label, .goto, .response:
                continue
            }
        }
    }

    /// Ends the top frame. For the entry flow that is the session's outcome; for a sub-flow the
    /// caller continues (with the outputs bound, or on its error edge after a failure).
    private func finishFrame(success: Bool, reason: String?, element: Place) throws(RuntimeError) -> Step? {
        if state.frames.count == 1 {
            let outcome = Outcome(success: success, reason: reason)
            state.outcome = outcome
            forgetPasswords()
            trace?(.finish(success: success, reason: reason, range: element.range))
            return .finished(outcome)
        }
        let finished = state.frames.removeLast()
        let callee = program.flows[finished.flow]
        let top = state.frames.count - 1
        let caller = program.flows[state.frames[top].flow]
        let element = caller.elements[state.frames[top].pc]
        guard case .call(let info) = element.kind else { throw RuntimeError(.fellOffGraph, at: element.range) }
        let callElement = Place(element)
        if success {
            var outputs: [String: Value] = [:]
            for o in callee.outputs {
                if let slot = callee.variables.firstIndex(of: o.name), let v = finished.locals[slot] { outputs[o.name] = v }
            }
            try bind(outputs, of: info, at: callElement, frame: top)
            visit?(.edge(flow: state.frames[top].flow, element: state.frames[top].pc, branch: false))
            state.frames[top].pc = Int(callElement.next)
        } else {
            let failure = CallFailure(kind: "flow", message: reason ?? "the sub-flow failed")
            try takeErrorEdge(failure, at: callElement, frame: top, callee: callee.name)
        }
        return nil
    }

    private func takeErrorEdge(_ failure: CallFailure, at element: Place, frame: Int, callee: String) throws(RuntimeError) {
        guard element.branch >= 0 else {
            throw RuntimeError(.callFailed(callee, failure.message), at: element.range,
                               hint: "handle it with 'on error { … }' after the call")
        }
        state.frames[frame].error = failure.value
        visit?(.edge(flow: state.frames[frame].flow, element: state.frames[frame].pc, branch: true))
        state.frames[frame].pc = Int(element.branch)
    }

    private func bind(_ outputs: [String: Value], of info: CallInfo, at element: Place, frame: Int) throws(RuntimeError) {
        let declared: [OutputShape]
        switch info.target {
        case .ip(let i): declared = program.integrationPoints[i].shape
        case .extension(let i): declared = program.extensions[i].shape
        case .flow(let i): declared = program.flows[i].shape
        }
        // Whether the host's outputs are exactly the object a `-> name` binding makes: each
        // declared name found at its own position (so no other name: the counts are equal), each
        // value unchanged. The positions found are bits of `found`.
        var exact = info.wholeResult != nil && outputs.count == declared.count && declared.count <= 8
        var found: UInt8 = 0
        // The values in declared order, for the variables they are bound to or for an object
        // built anew; a `-> name` binding of the host's outputs as they are needs neither.
        var values: [Value] = []
        let keepValues = !info.outputs.isEmpty || !exact
        if keepValues { values.reserveCapacity(declared.count) }
        // Read in place; the callee's name is looked up only for an error.
        try declared.withUnsafeBufferPointer { declared throws(RuntimeError) in
            for k in declared.indices {
                let d = declared.baseAddress! + k
                guard let (raw, position) = lookUpFieldAndPosition(d.pointee.name, in: outputs) else {
                    throw RuntimeError(.missingOutput(d.pointee.name, calleeName(info.target)), at: element.range)
                }
                guard let v = Self.bound(raw, d.pointee.type) else {
                    throw RuntimeError(.runTypeMismatch("output '\(d.pointee.name)' of '\(calleeName(info.target))' should be \(d.pointee.type), not \(raw.kindName)"),
                                       at: element.range)
                }
                if exact {
                    let bit: UInt8 = 1 << UInt8(position)
                    exact = Self.unchanged(raw, v) && found & bit == 0
                    found |= bit
                    if !exact && !keepValues {
                        // The object is built anew after all: the values so far, again.
                        values.reserveCapacity(declared.count)
                        for j in 0..<k { values.append(Self.bound(lookUpField(declared[j].name, in: outputs)!, declared[j].type)!) }
                    }
                }
                if keepValues || !exact { values.append(v) }
            }
        }
        if let trace {
            // Secure outputs are never traced.
            var shown: [String: Value?] = [:]
            for (k, d) in declared.enumerated() {
                let v = keepValues || !exact ? values[k] : lookUpField(d.name, in: outputs)!
                shown[d.name] = d.type == .secure ? .some(nil) : .some(v)
            }
            trace(.result(name: calleeName(info.target), outputs: shown, range: element.range))
        }
        for (o, slot) in info.outputs { state.frames[frame].locals[slot] = values[o] }
        if let whole = info.wholeResult {
            if exact {
                // The host's outputs are the object as it is: no second dictionary to build.
                state.frames[frame].locals[whole] = .object(outputs)
            } else {
                var object = [String: Value](minimumCapacity: declared.count)
                for (k, d) in declared.enumerated() { object[d.name] = values[k] }
                state.frames[frame].locals[whole] = .object(object)
            }
        }
        state.frames[frame].error = nil
    }

    /// An output's value as bound to its declared type, or nil when it cannot be.
    private static func bound(_ raw: Value, _ type: ValueType) -> Value? {
        // A text output may be null (Stripe's failure_message on a successful charge, say).
        raw == .null ? (type.acceptsNullOutput ? .null : nil) : raw.coerced(to: type)
    }

    /// Whether an output's value was bound as the host gave it: a value of the kind its type
    /// takes is taken as it is (`Value.coerced(to:)`); a date is trimmed, so it is not counted.
    private static func unchanged(_ raw: Value, _ bound: Value) -> Bool {
        switch (raw, bound) {
        case (.text, .text), (.number, .number), (.bool, .bool), (.null, .null), (.list, .list), (.object, .object): true
        default: false
        }
    }

    // MARK: - Requests

    /// What the session waits for now, rebuilt from the state (after a restore or a `back`).
    private func currentRequest() throws(RuntimeError) -> Step? {
        guard let top = state.frames.indices.last else { return nil }
        let flow = flowGraph(state.frames[top].flow)
        let pc = state.frames[top].pc
        // A session that has not run yet waits for nothing.
        guard state.steps > 0 else { return nil }
        let current = flow.pointee.elements[pc]
        let element = Place(current)
        switch current.kind {
        case .page(let p):
            var r = try pageRequest(flow, p, frame: top)
            r.canGoBack = state.history.count >= 2
            r.backStoppedBy = r.canGoBack ? nil : state.effects.barrier
            return .ask(r)
        case .call(let info):
            switch info.target {
            case .ip(let i):
                var request = try callRequest(program.integrationPoints[i].name, i, program.integrationPoints[i].parameters, info, element, top)
                request.effect = inFlightEffect(request, kind: "ip", safe: program.integrationPoints[i].isSafe, frame: top)
                return .callIP(request)
            case .extension(let i):
                var request = try callRequest(program.extensions[i].name, i, program.extensions[i].parameters, info, element, top)
                request.effect = inFlightEffect(request, kind: "extension", safe: program.extensions[i].isSafe, frame: top)
                return .runExtension(request)
            case .flow:
                return nil
            }
        default:
            return nil
        }
    }

    /// The page as the host is asked it: the one request the program keeps for a page made only
    /// of constants (`ConstantPages`), else made anew.
    private func pageRequest(_ flow: UnsafePointer<FlowGraph>, _ p: Int, frame: Int) throws(RuntimeError) -> PageRequest {
        var request: PageRequest
        if let constant = try constantPage(flow, p, frame: frame) { request = constant } else { request = try makePageRequest(flow, p, frame: frame) }
        request.canGoBack = state.history.count >= 2
        return request
    }

    /// The request of page `p` when every expression of it is a constant, made the first time a
    /// session of the program asks it; nil for any other page.
    private func constantPage(_ flow: UnsafePointer<FlowGraph>, _ p: Int, frame: Int) throws(RuntimeError) -> PageRequest? {
        guard let kept = program.constantPages else { return nil }
        let f = state.frames[frame].flow
        let count = flow.pointee.pages.count
        switch kept.lookUp(flow: f, page: p, of: count) {
        case .constant(let request): return request
        case .notConstant: return nil
        case .unseen:
            let page = flow.pointee.pages.withUnsafeBufferPointer { $0.baseAddress! + p }
            let request = ConstantPages.isConstant(page) ? try makePageRequest(flow, p, frame: frame) : nil
            kept.keep(request, flow: f, page: p, of: count)
            return request
        }
    }

    private func makePageRequest(_ flow: UnsafePointer<FlowGraph>, _ p: Int, frame: Int) throws(RuntimeError) -> PageRequest {
        // The page and its questions are read in place, not copied out one by one.
        let page = flow.pointee.pages.withUnsafeBufferPointer { $0.baseAddress! + p }
        var questions: [QuestionRequest] = []
        questions.reserveCapacity(page.pointee.questions.count)
        try page.pointee.questions.withUnsafeBufferPointer { infos throws(RuntimeError) in
            for k in infos.indices { questions.append(try questionRequest(infos.baseAddress! + k, frame: frame, shown: true)) }
        }
        let title = try page.pointee.title.map { e throws(RuntimeError) in try render(e, frame: frame) }
        return PageRequest(name: page.pointee.name, title: title, questions: questions, problems: [:], canGoBack: false,
                           range: page.pointee.range)
    }

    /// A question as the host is asked it; with `shown` false, without its prompt (empty).
    private func questionRequest(_ q: UnsafePointer<QuestionInfo>, frame: Int, shown: Bool) throws(RuntimeError) -> QuestionRequest {
        // The prompt, then the options, the default, min and max, evaluated in place (in this
        // order, which decides the error reported when more than one fails), straight from the
        // details box: reading them out of the question copied each, and a generic closure over
        // them (`withExpressions`) copied the question and the request made in it.
        var prompt = shown ? q.pointee.name : ""
        var options: [String] = []
        var defaultValue: Value?, min: Value?, max: Value?
        if let details = q.pointee.detailsBox {
            let at = details.at
            try details.expressions.withUnsafeBufferPointer { (es) throws(RuntimeError) in
                if shown && at[0] >= 0 { prompt = try render(at: es.baseAddress! + Int(at[0]), frame: frame) }
                if !details.options.isEmpty {
                    options.reserveCapacity(details.options.count)
                    try details.options.withUnsafeBufferPointer { (os) throws(RuntimeError) in
                        for k in os.indices { options.append(try render(at: os.baseAddress! + k, frame: frame)) }
                    }
                }
                if at[1] >= 0 { defaultValue = try evaluate(at: es.baseAddress! + Int(at[1]), frame: frame) }
                if at[2] >= 0 { min = try evaluate(at: es.baseAddress! + Int(at[2]), frame: frame) }
                if at[3] >= 0 { max = try evaluate(at: es.baseAddress! + Int(at[3]), frame: frame) }
            }
        }
        return QuestionRequest(
            name: q.pointee.name, reference: q.pointee.reference, type: q.pointee.type, prompt: prompt, options: options,
            defaultValue: defaultValue, optional: q.pointee.optional, min: min, max: max, pattern: q.pointee.pattern)
    }

    /// `IntegrationPoint.isSafe` and `ExtensionInfo.isSafe` from the declaration's fields, read in
    /// place: calling the property on an element of the array copies the whole declaration.
    private static func isSafe(_ ip: UnsafePointer<IntegrationPoint>) -> Bool {
        if let s = ip.pointee.declaration.safety { return s == .safe }
        return !ip.pointee.declaration.isSOAP && (ip.pointee.declaration.method?.isSafe ?? false)
    }

    private static func isSafe(_ e: UnsafePointer<ExtensionInfo>) -> Bool {
        e.pointee.declaration.safety.map { $0 == .safe } ?? true
    }

    private func callRequest(
        _ name: String, _ index: Int, _ parameters: [ParameterInfo], _ info: CallInfo, _ element: Place, _ frame: Int
    ) throws(RuntimeError) -> CallRequest {
        var arguments: [(name: String, value: Value)] = []
        arguments.reserveCapacity(parameters.count)
        // The parameters and the argument expressions are read in place, not copied one by one.
        try parameters.withUnsafeBufferPointer { parameters throws(RuntimeError) in
            try info.arguments.withUnsafeBufferPointer { given throws(RuntimeError) in
                for k in parameters.indices {
                    if k < given.count, given[k] != nil {
                        arguments.append((parameters[k].name, try evaluate(given[k]!, frame: frame)))
                    } else if parameters[k].defaultValue != nil {
                        arguments.append((parameters[k].name, try evaluate(parameters[k].defaultValue!, frame: nil)))
                    } else {
                        throw RuntimeError(.missingArgument(parameters[k].name, name), at: element.range)
                    }
                }
            }
        }
        return CallRequest(name: name, index: index, arguments: arguments, range: element.range,
                           effect: Effect(session: state.id, sequence: 0))
    }

    /// A finished session needs no password any more: its answers and the `back` history are
    /// dropped from the state, so a session kept by a host (a session file, a store) does not keep
    /// a PIN at rest once it is over.
    private func forgetPasswords() {
        state.history = []
        for f in state.frames.indices {
            let flow = flowGraph(state.frames[f].flow)
            flow.pointee.pages.withUnsafeBufferPointer { pages in
                for p in pages.indices where state.frames[f].answers[p] != nil {
                    pages[p].questions.withUnsafeBufferPointer { questions in
                        for q in questions.indices where questions[q].type == .password {
                            state.frames[f].answers[p]![q] = nil
                        }
                    }
                }
            }
            for (slot, type) in flow.pointee.variableTypes.enumerated() where type == .secure && slot < state.frames[f].locals.count {
                state.frames[f].locals[slot] = nil
            }
        }
    }

    // MARK: - Effects

    /// Records the call as in flight with the next sequence number, before the host makes it.
    private func begin(_ request: CallRequest, kind: String, safe: Bool, frame: Int) -> Effect {
        let sequence = state.effects.begin(kind: kind, name: request.name, flow: state.frames[frame].flow,
                                           element: state.frames[frame].pc, arguments: request.arguments, safe: safe)
        return Effect(session: state.id, sequence: sequence)
    }

    /// The call the session waits for, after a restore or when asked again: the one recorded in
    /// flight (marked `resumed`, since it may have been made), else a new one.
    private func inFlightEffect(_ request: CallRequest, kind: String, safe: Bool, frame: Int) -> Effect {
        if let call = state.effects.inFlight, call.flow == state.frames[frame].flow, call.element == state.frames[frame].pc {
            return Effect(session: state.id, sequence: call.sequence, resumed: true)
        }
        return begin(request, kind: kind, safe: safe, frame: frame)
    }

    /// After `back`: when the next call is the one made here before with the same arguments, its
    /// recorded outcome is used and nothing is asked of the host. Any other call ends the replay,
    /// and the calls of the abandoned way are forgotten.
    private func replayed(_ request: CallRequest, _ info: CallInfo, _ element: Place, frame: Int) throws(RuntimeError) -> Bool {
        guard let next = state.effects.replay.first else { return false }
        let flow = state.frames[frame].flow, pc = state.frames[frame].pc
        guard next.flow == flow, next.element == pc, next.callArguments.matches(request.arguments),
              let outcome = next.outcome
        else {
            let abandoned = Set(state.effects.replay.map(\.sequence))
            state.effects.completed.removeAll { abandoned.contains($0.sequence) }
            state.effects.replay = []
            return false
        }
        state.effects.replay.removeFirst()
        trace?(.replay(name: next.name, sequence: next.sequence, range: element.range))
        try apply(outcome, of: info, at: element, frame: frame)
        return true
    }

    /// The host's reply to the call in flight: recorded with the call, then bound or handled.
    private func complete(_ outcome: EffectOutcome, of info: CallInfo, at element: Place, frame: Int) throws(RuntimeError) {
        // A result that does not fit the call (a stale result of another call given again) is
        // refused before anything changes: outputs are checked and bound first (`bind` throws
        // before it sets anything), and only then is the call recorded as done.
        if case .result(let outputs) = outcome { try bind(outputs, of: info, at: element, frame: frame) }
        // Taken out of the log, not copied and then cleared.
        if var call = state.effects.inFlight.take() {
            call.outcome = outcome
            if call.safe {
                state.effects.completed.append(call)
            } else {
                // No page before an unsafe call can be returned to: `back` would undo what the
                // call did only in the session, not in the world.
                state.history.removeAll()
                state.effects.completed = []
                state.effects.barrier = call.name
            }
        }
        switch outcome {
        case .result:
            visit?(.edge(flow: state.frames[frame].flow, element: state.frames[frame].pc, branch: false))
            state.frames[frame].pc = Int(element.next)
        case .failure(let failure):
            trace?(.callFailed(name: calleeName(info.target), failure: failure, range: element.range))
            try takeErrorEdge(failure, at: element, frame: frame, callee: calleeName(info.target))
        }
    }

    private func apply(_ outcome: EffectOutcome, of info: CallInfo, at element: Place, frame: Int) throws(RuntimeError) {
        switch outcome {
        case .result(let outputs):
            try bind(outputs, of: info, at: element, frame: frame)
            visit?(.edge(flow: state.frames[frame].flow, element: state.frames[frame].pc, branch: false))
            state.frames[frame].pc = Int(element.next)
        case .failure(let failure):
            trace?(.callFailed(name: calleeName(info.target), failure: failure, range: element.range))
            try takeErrorEdge(failure, at: element, frame: frame, callee: calleeName(info.target))
        }
    }

    /// SHA-256 of the arguments as JSON (`CallArguments.fingerprint`).
    static func fingerprint(_ arguments: [(name: String, value: Value)]) -> String {
        CallArguments.fingerprint(arguments)
    }

    private func redacted(_ arguments: [(name: String, value: Value)], _ parameters: [ParameterInfo]) -> [(name: String, value: Value?)] {
        arguments.enumerated().map { k, a in (a.name, k < parameters.count && parameters[k].type == .secure ? nil : a.value) }
    }

    private func calleeName(_ t: CallTarget) -> String {
        switch t {
        case .ip(let i): i >= 0 ? program.integrationPoints[i].name : "?"
        case .extension(let i): program.extensions[i].name
        case .flow(let i): program.flows[i].name
        }
    }

    private func variableName(_ ref: VariableRef, _ flow: UnsafePointer<FlowGraph>) -> String {
        switch ref {
        case .local(let s): flow.pointee.variables[s]
        case .session(let s): program.sessionVariables[s].name
        }
    }

    /// Flow `index` of the program, read in place (`Program.flow(at:)`): the program is a
    /// constant of the session, so its storage stays where it is while the session lives.
    @inline(__always) private func flowGraph(_ index: Int) -> UnsafePointer<FlowGraph> { program.flow(at: index) }

    /// Flow `index`'s `HotCode`, made on first use by this session.
    private func hotCode(_ index: Int) -> HotCode {
        if let code = hotCodes[index] { return code }
        let code = HotCode(flowGraph(index).pointee)
        hotCodes[index] = code
        return code
    }

    // MARK: - Expressions

    func evaluate(_ e: IRExpr, frame: Int?) throws(RuntimeError) -> Value {
        var context = SessionContext(session: self, frame: frame)
        return try Evaluator.evaluate(e, &context)
    }

    func evaluate(at e: UnsafePointer<IRExpr>, frame: Int?) throws(RuntimeError) -> Value {
        var context = SessionContext(session: self, frame: frame)
        return try Evaluator.evaluate(at: e, &context)
    }

    func render(_ e: IRExpr, frame: Int?) throws(RuntimeError) -> String {
        try withUnsafePointer(to: e) { (e) throws(RuntimeError) in try render(at: e, frame: frame) }
    }

    func render(at e: UnsafePointer<IRExpr>, frame: Int?) throws(RuntimeError) -> String {
        try evaluate(at: e, frame: frame).displayText(asCurrency: e.pointee.type == .currency)
    }
}

/// Where a session went, for coverage: told to `Session.visit` as it runs.
public enum Visit: Sendable, Equatable {
    /// Element `element` of flow `flow` (indices into `Program.flows` and `FlowGraph.elements`) ran.
    case element(flow: Int, element: Int)
    /// A decision or a call left by its `next` edge (`branch` false: the condition was true, or
    /// the call succeeded) or by its `branch` edge (the condition was false, or the call failed).
    case edge(flow: Int, element: Int, branch: Bool)
}

/// How the evaluator reads a session's values.
struct SessionContext: EvaluationContext {
    // Lives only while the session evaluates an expression: no reference counting needed.
    unowned(unsafe) let session: Session
    let frame: Int?

    /// The frame read where the frames' buffer holds it: `frames[frame]` copies the frame out
    /// (its locals, answers and error retained, then released) to read one value of it.
    @inline(__always)
    private func inFrame<R>(_ frame: Int, _ body: (UnsafePointer<Frame>) -> R) -> R {
        session.state.frames.withUnsafeBufferPointer { body($0.baseAddress.unsafelyUnwrapped + frame) }
    }

    func local(_ slot: Int) -> Value? {
        guard let frame else { return nil }
        return inFrame(frame) { $0.pointee.locals[slot] }
    }
    func withLocal<R>(_ slot: Int, _ body: (UnsafePointer<Value?>) -> R) -> R {
        guard let frame else { return withUnsafePointer(to: nil, body) }
        return inFrame(frame) { f in
            f.pointee.locals.withUnsafeBufferPointer { locals in
                precondition(slot >= 0 && slot < locals.count, "local out of range")
                return body(locals.baseAddress.unsafelyUnwrapped + slot)
            }
        }
    }
    func smallLocal(_ slot: Int) -> HotCode.Small? {
        guard let frame else { return nil }
        return inFrame(frame) { f in withUnsafePointer(to: f.pointee.locals[slot]) { HotCode.Small($0) } }
    }
    func session(_ i: Int) -> Value? { session.state.sessionValues[i] }
    func answer(page: Int, question: Int) -> Value? {
        guard let frame else { return nil }
        return inFrame(frame) { $0.pointee.answers[page]?[question] }
    }
    func config(_ i: Int) -> Value? { i < session.state.configValues.count ? session.state.configValues[i] : nil }
    func secret(_ i: Int) -> Value? { nil }
    var error: Value? {
        guard let frame else { return nil }
        return inFrame(frame) { $0.pointee.error }
    }
    var today: String { session.options.today() }
    func variableName(_ slot: Int) -> String {
        guard let frame else { return "?" }
        return session.program.flows[inFrame(frame) { $0.pointee.flow }].variables[slot]
    }
}

/// What the call and finish steps read of their element: where it is and where it goes next.
/// Plain words: an `Element` passed or copied is its kind retained and released.
private struct Place {
    let range: SourceRange
    let next: Int32
    let branch: Int32

    init(_ element: UnsafePointer<Element>) {
        range = element.pointee.range
        next = element.pointee.next
        branch = element.pointee.branch
    }

    init(_ element: Element) {
        range = element.range
        next = element.next
        branch = element.branch
    }
}
