/// What `flow explore` reports: a problem met on some playthrough, with the answers and call
/// results that lead to it.
public struct Finding: Sendable {
    public enum Kind: String, Sendable, CaseIterable {
        /// A run-time error (`run.divisionByZero`, `run.typeMismatch`, …).
        case runtimeError
        /// The step limit: a loop that does not end for these inputs.
        case endlessLoop
        /// A loop every answer and result tried comes back to.
        case noWayOut
        /// A question no answer gets past.
        case unanswerable
        /// An answer the question's rules refuse, accepted by the session.
        case acceptedInvalid
        /// An answer the question's rules accept, refused by the session.
        case refusedValid
        /// A default the question would refuse if it were typed.
        case badDefault
        /// A call that failed where nothing handles its failure.
        case unhandledFailure
        /// A call's effect number asked for again with other arguments.
        case callRepeated
        /// The page after a completed unsafe call does not say `back` stops there.
        case backNotStopped
        /// `back` returned to a page shown before a completed unsafe call.
        case backPastCall
    }

    public var kind: Kind
    /// Located in the source, rendered like the checker's diagnostics.
    public var diagnostic: Diagnostic
    /// How this playthrough differs from the first one tried, one item per difference:
    /// `'Amount.Amount' answered '0' (zero)`, `'Get Order' returns null for 'eta minutes'`.
    public var when: [String]
    public var reproduction: Reproduction
    /// Whether replaying the reproduction, as `flow run` would, met the finding again.
    public var reproduced: Bool
    /// Answers and results that differ from the first playthrough's (the fewer, the simpler).
    var deviations: Int
}

/// Answers and canned results that lead a session to a finding, in the forms `flow run`
/// takes: `--answers`/`--answer` and `--stubs`/`--stub`.
///
/// Design note: `flow run` gives a question given one answer that answer every time it is asked,
/// and a question given a list one item per asking; stubs likewise. So a question asked several
/// times with the same answer is written once, which also makes an endless loop replay endlessly,
/// as it did while exploring.
public struct Reproduction: Sendable, Equatable {
    public struct Answer: Sendable, Equatable {
        /// `Page.Question`.
        public var reference: String
        /// What is typed, once per asking; empty is the default (or a skip).
        public var typed: [String]
    }

    public struct Stub: Sendable, Equatable {
        public var name: String
        /// One result per call, each as JSON.
        public var results: [String]
    }

    public var answers: [Answer]
    public var stubs: [Stub]
    /// The step limit the playthrough ran with (`flow run --max-steps`).
    public var maxSteps: Int

    /// `{"Page.Question": "typed", …}`, a list where the answers differ between askings; an
    /// empty answer is `null`.
    public var answersJSON: String {
        let fields = answers.map { a -> String in
            let values = a.typed.map { $0.isEmpty ? "null" : JSONText.quote($0) }
            return "\(JSONText.quote(a.reference)): \(Set(a.typed).count == 1 ? values[0] : "[" + values.joined(separator: ", ") + "]")"
        }
        return "{" + fields.joined(separator: ", ") + "}"
    }

    /// `{"Name": {outputs} or {"error": {…}}, …}`, a list where the results differ between calls.
    public var stubsJSON: String {
        let fields = stubs.map { s -> String in
            "\(JSONText.quote(s.name)): \(Set(s.results).count == 1 ? s.results[0] : "[" + s.results.joined(separator: ", ") + "]")"
        }
        return "{" + fields.joined(separator: ", ") + "}"
    }

    /// One `flow run` command line that replays it: `--answer` and `--stub` options, quoted for
    /// a POSIX shell.
    public func command(file: String, withSteps: Bool) -> String {
        var words = ["flow", "run", Self.shellQuoted(file)]
        for a in answers {
            let once = Set(a.typed).count == 1
            for t in once ? [a.typed[0]] : a.typed { words += ["--answer", Self.shellQuoted("\(a.reference)=\(t)")] }
        }
        for s in stubs {
            let once = Set(s.results).count == 1
            let json = once ? s.results[0] : "[" + s.results.joined(separator: ", ") + "]"
            words += ["--stub", Self.shellQuoted("\(s.name)=\(json)")]
        }
        if withSteps { words += ["--max-steps", String(maxSteps)] }
        return words.joined(separator: " ")
    }

    static func shellQuoted(_ s: String) -> String {
        let plain = s.unicodeScalars.allSatisfy { c in
            (c.value >= 0x30 && c.value <= 0x39) || (c.value >= 0x41 && c.value <= 0x5A) || (c.value >= 0x61 && c.value <= 0x7A)
                || "-_./:=@+,".unicodeScalars.contains(c)
        }
        if plain && !s.isEmpty { return s }
        return "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}

// MARK: - Replaying

/// How a replayed session ended.
public enum ReplayEnd: Sendable {
    case finished(Outcome)
    /// A run-time error, as `flow run` shows it (exit 70).
    case error(Diagnostic)
    /// An answer the session refused: (`Page.Question`, why).
    case refused(String, String)
    /// A question with no answer left.
    case noAnswer(String)
    /// A call with no stub, or more calls than the stub's results.
    case noStub(String)
}

extension Reproduction {
    /// Runs a session with these answers and results, read the way `flow run --answers --stubs`
    /// reads them (one value: every asking; a list: one per asking), and says how it ended.
    public func replay(_ program: Program, options: RuntimeOptions) -> ReplayEnd {
        var askings: [String: Int] = [:]
        var calls: [String: Int] = [:]
        var replies: [String: [Reply]] = [:]
        for s in stubs {
            replies[s.name] = s.results.compactMap { Reproduction.reply(fromStub: $0, program: program, callee: s.name) }
        }
        var runtime = options
        runtime.maxSteps = maxSteps
        do throws(RuntimeError) {
            let session = try Session(program: program, options: runtime)
            var result = try session.start()
            while true {
                switch result.step {
                case .finished(let outcome):
                    return .finished(outcome)
                case .ask(let page):
                    if let refused = page.questions.first(where: { page.problems[$0.name] != nil }) {
                        return .refused(refused.reference, page.problems[refused.name]!)
                    }
                    var typed: [String: String] = [:]
                    for q in page.questions {
                        guard let a = answers.first(where: { $0.reference == q.reference }) else { return .noAnswer(q.reference) }
                        let k = askings[q.reference, default: 0]
                        if Set(a.typed).count == 1 {
                            typed[q.reference] = a.typed[0]
                        } else {
                            guard k < a.typed.count else { return .noAnswer(q.reference) }
                            typed[q.reference] = a.typed[k]
                        }
                        askings[q.reference] = k + 1
                    }
                    result = try session.resume(.answers(typed))
                case .callIP(let call), .runExtension(let call):
                    guard let list = replies[call.name], !list.isEmpty else { return .noStub(call.name) }
                    let k = calls[call.name, default: 0]
                    let once = Set(stubs.first { $0.name == call.name }!.results).count == 1
                    guard once || k < list.count else { return .noStub(call.name) }
                    calls[call.name] = k + 1
                    result = try session.resume(once ? list[0] : list[k])
                }
            }
        } catch {
            return .error(error.diagnostic)
        }
    }

    /// A stub's JSON read back into a reply, as `flow run` reads it: `{"error": {…}}` is a
    /// failure, any other object the outputs.
    static func reply(fromStub json: String, program: Program, callee: String) -> Reply? {
        guard case .object(let fields)? = try? Value.fromJSON(json) else { return nil }
        let outputs = program.integrationPoints.first { $0.name == callee }?.outputs
            ?? program.extensions.first { $0.name == callee }?.outputs ?? []
        if fields.count == 1, case .object(let e)? = fields["error"], !outputs.contains(where: { $0.name == "error" }) {
            guard case .text(let message)? = e["message"] else { return nil }
            var status: Int?
            if case .number(let n)? = e["status"] { status = n.intValue }
            var code: String?
            if case .text(let c)? = e["code"] { code = c }
            var kind = status != nil ? "http" : "connection"
            if case .text(let k)? = e["kind"] { kind = k }
            return .failure(CallFailure(kind: kind, message: message, status: status, code: code, body: e["body"]))
        }
        var values: [String: Value] = [:]
        for o in outputs {
            let v = fields[o.name] ?? .null
            values[o.name] = v == .null ? .null : (v.coerced(to: o.type) ?? v)
        }
        return .result(values)
    }
}
