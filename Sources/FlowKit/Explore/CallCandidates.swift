/// One result to try for an IP or extension call: the reply handed to the session and the same
/// result as `flow run --stubs` takes it.
struct CallCandidate {
    var reply: Reply
    /// The stub, as JSON: an object of outputs, or `{"error": {…}}`.
    var stub: String
    /// What it changes from the plausible success, for people: `returns null for 'paid'`,
    /// `fails: http 500`; empty for the plausible success.
    var changes: [String]
}

/// The results worth trying for a call: a plausible success, then each output null, empty or
/// zero, negative, and set to what the flow compares it with; then each class of failure.
///
/// Design note: the first candidate is the plausible success the rest of the playthrough builds
/// on: each output gets a value of its declared type, or, when the flow compares the output with
/// something (`result.status != "succeeded"`, `order.placed == Order date`), that value, so the
/// first playthrough takes the path the flow's author expected. The others change one thing each.
struct CallCandidates {
    struct Output {
        var name: String
        var type: ValueType
        /// Values the flow compares this output with, evaluated now; `preferred` first.
        var hinted: [Value]
        /// A value to use in the plausible success (from `==`, `!=` or `contains`).
        var preferred: Value?
        /// The output is read with `number(…)`: a text that spells a number.
        var numericText: Bool
        /// Fields the flow reads from its items (a list) or from it (an object).
        var itemFields: [String]
        var objectFields: [String]
        /// Where an IP reads it (nil for an extension's output): only JSON and XML outputs, and
        /// extensions, can be null; a `status` output is a 2xx status; a header or the body is
        /// text, never null.
        var source: OutputSource?

        var canBeNull: Bool {
            guard type.acceptsNullOutput else { return false }
            switch source {
            case nil, .json?, .xml?: return true
            case .header?, .status?, .text?: return false
            }
        }

        var isStatus: Bool {
            if case .status? = source { return true }
            return false
        }
    }

    var name: String
    var isIP: Bool
    var isSOAP: Bool
    var outputs: [Output]
    /// `error.status`, `error.kind` and `error.code` values the flow tests for.
    var statuses: [Int]
    var kinds: [String]
    var codes: [String]
    var today: String

    func candidates() -> [CallCandidate] {
        var out: [CallCandidate] = []
        var seen = Set<String>()
        func add(_ c: CallCandidate) {
            if seen.insert(c.stub).inserted { out.append(c) }
        }
        let base = outputs.map(plausible)
        add(success(base, []))
        let all = outputs.map(variants)
        for (k, o) in outputs.enumerated() {
            for (value, label) in all[k] where value != base[k] {
                var values = base
                values[k] = value
                add(success(values, ["returns \(label) for '\(o.name)'"]))
            }
        }
        for f in failures() { add(f) }
        // Two outputs changed at once: an output the flow branches on (a yes/no, or one it
        // compares) with each change of another, so `if not check.valid` is followed by what
        // reads `check.tries left` when that is null.
        var pairs = 0
        pairing: for (i, o) in outputs.enumerated() {
            let gates = all[i].filter { v, _ in v != base[i] && v != .null && (o.type == .bool || o.hinted.contains(v)) }
            for (g, gLabel) in gates {
                for (j, p) in outputs.enumerated() where j != i {
                    for (value, label) in all[j] where value != base[j] {
                        guard pairs < Self.maxPairs else { break pairing }
                        var values = base
                        values[i] = g
                        values[j] = value
                        let before = out.count
                        add(success(values, ["returns \(gLabel) for '\(o.name)'", "returns \(label) for '\(p.name)'"]))
                        if out.count > before { pairs += 1 }
                    }
                }
            }
        }
        return out
    }

    // MARK: - Successes

    private func plausible(_ o: Output) -> Value {
        if let p = o.preferred, let v = p.coerced(to: o.type), !o.isStatus || Self.isSuccessStatus(v) { return v }
        if o.isStatus { return .number(200) }
        if o.numericText && (o.type == .text || o.type == .any) { return .text("24") }
        switch o.type {
        case .text, .any: return .text(o.name.replacingOccurrences(of: " ", with: "_") + "_1")
        case .secure: return .text("secret_1")
        case .number: return .number(1)
        case .currency: return .number(Number(parsing: "12.50")!)
        case .bool: return .bool(true)
        case .date: return .date(today)
        case .list: return .list([item(o, 1)])
        case .object, .record: return object(o.objectFields, 1)
        case .null: return .null
        }
    }

    private func item(_ o: Output, _ n: Int) -> Value {
        o.itemFields.isEmpty ? .text("item_\(n)") : object(o.itemFields, n)
    }

    private func object(_ fields: [String], _ n: Int) -> Value {
        var object: [String: Value] = [:]
        for f in fields { object[f] = .text(f.replacingOccurrences(of: " ", with: "_") + "_\(n)") }
        return .object(object)
    }

    /// Other values of one output, with how to say them.
    private func variants(_ o: Output) -> [(Value, String)] {
        if o.isStatus {
            // A call that succeeds has a 2xx status.
            return ([201, 204] + o.hinted.compactMap { v -> Int? in
                if case .number(let n) = v, let i = n.intValue, (200...299).contains(i) { return i }
                return nil
            }).map { (.number(Number($0)), "status \($0)") }
        }
        var list: [(Value, String)] = o.canBeNull ? [(.null, "null")] : []
        switch o.type {
        case .text, .any, .secure:
            list.append((.text(""), "an empty text"))
            if o.numericText { list.append((.text("not a number"), "a text that is not a number")) }
        case .number, .currency:
            list.append((.number(0), "zero"))
            list.append((.number(-1), "a negative number"))
            list.append((.number(Number(1_000_000)), "a big number"))
        case .bool:
            list.append((.bool(false), "false"))
            list.append((.bool(true), "true"))
        case .date:
            list.append((.date(CalendarDate(iso: today)?.adding(days: -1)?.iso ?? today), "yesterday"))
        case .list:
            list.append((.list([]), "an empty list"))
            list.append((.list([item(o, 1), item(o, 2)]), "two items"))
        case .object, .record:
            list.append((.object([:]), "an empty object"))
        case .null:
            break
        }
        for h in o.hinted {
            guard let v = h.coerced(to: o.type) ?? (o.type == .list ? .list([h]) : nil), v != .null || o.canBeNull else { continue }
            list.append((v, "\(shown(v)), which the flow tests for"))
        }
        return list
    }

    private static func isSuccessStatus(_ v: Value) -> Bool {
        if case .number(let n) = v, let i = n.intValue { return (200...299).contains(i) }
        return false
    }

    private func shown(_ v: Value) -> String {
        switch v {
        case .text(let s): return "'\(s)'"
        default: return v.jsonText()
        }
    }

    /// Pairs of changed outputs tried per call.
    static let maxPairs = 60

    private func success(_ values: [Value], _ changes: [String]) -> CallCandidate {
        var object: [String: Value] = [:]
        var fields: [String] = []
        for (o, v) in zip(outputs, values) {
            object[o.name] = v
            fields.append("\(JSONText.quote(o.name)): \(v.jsonText())")
        }
        return CallCandidate(reply: .result(object), stub: "{" + fields.joined(separator: ", ") + "}", changes: changes)
    }

    // MARK: - Failures

    private func failures() -> [CallCandidate] {
        var list: [CallFailure] = []
        if isIP {
            let body: Value = .object(["error": .object(["message": .text("The request was not valid."), "code": .text("invalid_request")])])
            list.append(CallFailure(kind: "http", message: "The request was not valid.", status: 400, code: "invalid_request", body: body))
            list.append(CallFailure(kind: "http", message: "HTTP 500: internal server error", status: 500))
            for s in statuses where s != 400 && s != 500 {
                let body: Value = .object(["error": .object(["message": .text("HTTP \(s)")])])
                list.append(CallFailure(kind: "http", message: "HTTP \(s)", status: s, body: body))
            }
            for c in codes where c != "invalid_request" {
                list.append(CallFailure(kind: "http", message: "The request failed: \(c)", status: 400, code: c))
            }
            list.append(CallFailure(kind: "timeout", message: "'\(name)' did not answer within its timeout"))
            list.append(CallFailure(kind: "connection", message: "could not connect to the server"))
            list.append(CallFailure(kind: "malformed", message: "the response has no value for an output of '\(name)'"))
            if isSOAP { list.append(CallFailure(kind: "soapFault", message: "soap:Server: the service failed", code: "soap:Server")) }
        } else {
            list.append(CallFailure(kind: "extension", message: "extension '\(name)' exited with status 1"))
        }
        for k in kinds where !list.contains(where: { $0.kind == k }) {
            list.append(CallFailure(kind: k, message: "'\(name)' failed (\(k))"))
        }
        return list.map { f in
            var label = "fails: \(f.kind)"
            if let s = f.status { label += " \(s)" }
            if let c = f.code, f.kind == "http" { label += " (\(c))" }
            return CallCandidate(reply: .failure(f), stub: Self.stub(f), changes: [label])
        }
    }

    /// `{"error": {"kind": …, "status": …, "message": …, "code": …, "body": …}}`, as `--stubs` reads it.
    static func stub(_ f: CallFailure) -> String {
        var fields = ["\"kind\": \(JSONText.quote(f.kind))"]
        if let s = f.status { fields.append("\"status\": \(s)") }
        fields.append("\"message\": \(JSONText.quote(f.message))")
        if let c = f.code { fields.append("\"code\": \(JSONText.quote(c))") }
        if let b = f.body { fields.append("\"body\": \(b.jsonText())") }
        return "{\"error\": {" + fields.joined(separator: ", ") + "}}"
    }
}
