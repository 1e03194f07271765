import FlowKit
import Foundation

/// Answers given before the run: `--answers FILE.json` and `--answer Page.Question=VALUE`.
///
/// The file is one JSON object keyed by `Page.Question` (a lone question may also be named alone:
/// `Amount` for `Amount.Amount`). A value is what would be typed:
/// - a string as is; a number in its exact spelling (`4.00` → `4.00`'s number, `4`); true/false
///   as `yes`/`no`; null as an empty answer (the default, or nothing for an optional question);
/// - a list gives one answer per time the question is asked (a PIN asked again after a wrong
///   one), each item as above; a list item that is itself a list is the picks of a `choices`
///   question, joined with commas. Asked more often than the list is long, the question has no
///   scripted answer left.
/// `--answer` wins over the file for its name; the same name given several times is a list.
struct ScriptedAnswers {
    private enum Entry {
        /// The same text every time the question is asked.
        case always(String)
        /// One text per asking; `next` is the index of the one to give next.
        case sequence([String], next: Int)
    }

    /// An answer, and whether a question of the program has its name (checked once, at start).
    private struct Slot {
        var entry: Entry
        var known = false
    }

    private var entries: [String: Slot] = [:]

    var isEmpty: Bool { entries.isEmpty }

    /// Reads the file (if any) and the `--answer` options, and checks every name against the
    /// questions of the program.
    ///
    /// The file is read member by member into the answers (`Value.forEachJSONMember`), and the
    /// names are checked by marking the answers that questions of the program name: at 100,000
    /// pages, the file's object and a set of every question's names were 10.5 and 8.5 MB of the
    /// 55.5 MB `flow run` held at its peak. When anything is wrong, the file is read again as
    /// before, whole, to report the same problem: the JSON error, or of a value that is no
    /// answer and a name no question has, the first in the names' order.
    init(file: String?, options: [NameValue], program: Program) throws(RunError) {
        if let file {
            let what = "the answers file '\(file)'"
            let data = try readJSONFile(file)
            // Room made at once (the table is not grown, the old beside the new, on the way):
            // one answer a question, or fewer for a file too short to hold that many.
            entries.reserveCapacity(min(program.flows.reduce(0) { n, flow in n + flow.pages.reduce(0) { $0 + $1.questions.count } },
                                        data.count / 6))
            var readable = true
            let isObject = (try? Value.forEachJSONMember(data) { name, value in
                guard let entry = try? Self.entry(value, name, file) else {
                    readable = false
                    return false
                }
                entries[name] = Slot(entry: entry)
                return true
            }) ?? false
            if !(isObject && readable && markKnown(program) == entries.count) {
                entries = [:]
                guard case .object(let fields) = try parseJSON(data, what: what) else { throw .badJSON(what, "it is not a JSON object") }
                let known = Self.questionNames(program)
                for name in fields.keys.sorted() {
                    guard known.contains(name) else {
                        throw .unknownQuestion(name, source: "in '\(file)'", known: Self.listed(known))
                    }
                    entries[name] = Slot(entry: try Self.entry(fields[name]!, name, file))
                }
            }
        }
        guard !options.isEmpty else { return }
        let known = Self.questionNames(program)
        var given: [String: [String]] = [:]
        var order: [String] = []
        for option in options {
            guard known.contains(option.name) else {
                throw .unknownQuestion(option.name, source: "in --answer", known: Self.listed(known))
            }
            if given[option.name] == nil { order.append(option.name) }
            given[option.name, default: []].append(option.value)
        }
        for name in order {
            let texts = given[name]!
            entries[name] = Slot(entry: texts.count == 1 ? .always(texts[0]) : .sequence(texts, next: 0))
        }
    }

    /// The answer a value of the file gives.
    private static func entry(_ value: Value, _ name: String, _ file: String) throws(RunError) -> Entry {
        guard case .list(let items) = value else { return .always(try typed(value, name, file)) }
        var texts: [String] = []
        for item in items {
            if case .list(let picks) = item {
                let typed = try picks.map { p throws(RunError) in try Self.typed(p, name, file) }
                texts.append(typed.joined(separator: ", "))
            } else {
                texts.append(try Self.typed(item, name, file))
            }
        }
        return .sequence(texts, next: 0)
    }

    /// Marks the answers named by a question of the program (`Page.Question`, or a lone
    /// question's bare name); returns how many are marked.
    private mutating func markKnown(_ program: Program) -> Int {
        var marked = 0
        func mark(_ name: String) {
            guard let i = entries.index(forKey: name), !entries.values[i].known else { return }
            entries.values[i].known = true
            marked += 1
        }
        for flow in program.flows {
            for page in flow.pages {
                for q in page.questions { mark(q.reference) }
            }
        }
        // Lone questions' bare names, when some answer is not marked yet (a file keyed by
        // `Page.Question` throughout has none to find: one look-up a question, not two).
        guard marked < entries.count else { return marked }
        for flow in program.flows {
            for page in flow.pages where page.isLoneQuestion {
                if let q = page.questions.first { mark(q.name) }
            }
        }
        return marked
    }

    /// The scripted text for a question of `page`, if there is one left: the answer named
    /// `Page.Question`, or a lone question's bare name. The table is looked up once for the
    /// first (each look-up hashes the name: at 100,000 pages, looking names up twice here and
    /// in `markKnown` was 3% of the instructions of `flow run`).
    mutating func take(_ q: QuestionRequest, on page: PageRequest) -> String? {
        var found = entries.index(forKey: q.reference)
        if found == nil && page.questions.count == 1 && page.name == q.name { found = entries.index(forKey: q.name) }
        guard let i = found else { return nil }
        switch entries.values[i].entry {
        case .always(let text):
            return text
        case .sequence(let texts, let next):
            guard next < texts.count else { return nil }
            entries.values[i].entry = .sequence(texts, next: next + 1)
            return texts[next]
        }
    }

    /// What would be typed for a JSON value.
    private static func typed(_ value: Value, _ name: String, _ file: String) throws(RunError) -> String {
        switch value {
        case .text(let s): return s
        case .number, .date: return value.displayText()
        case .bool(let b): return b ? "yes" : "no"
        case .null: return ""
        case .list, .object:
            throw .badJSON(
                "the answers file '\(file)'", "the answer for '\(name)' is \(value.kindName), not text, a number or yes/no")
        }
    }

    /// Every `Page.Question` of every flow, and the bare names of lone questions.
    private static func questionNames(_ program: Program) -> Set<String> {
        var names = Set<String>(minimumCapacity: program.flows.reduce(0) { n, flow in n + flow.pages.reduce(0) { $0 + $1.questions.count + 1 } })
        for flow in program.flows {
            for page in flow.pages {
                for q in page.questions { names.insert(q.reference) }
                if page.isLoneQuestion, let q = page.questions.first { names.insert(q.name) }
            }
        }
        return names
    }

    /// The names for a "did you mean" or a list: `Page.Question` forms only, sorted.
    private static func listed(_ names: Set<String>) -> [String] {
        names.filter { $0.contains(".") }.sorted()
    }
}

/// Canned results for integration points and extensions: `--stubs FILE.json` (an object of
/// name → stub) and `--stub NAME=JSON` (which wins over the file for its name).
///
/// A stub is a JSON object of outputs (`{"id": "ch_1", "paid": true}`), the same every call; or
/// a failure `{"error": {"kind": "http", "status": 402, "message": "…", "code": "…", "body": …}}`
/// (only `message` is required; `kind` defaults to `http` when there is a status, else
/// `connection` for an IP and `extension` for an extension); or a list of those, one per call in
/// order. Every stub is checked against the callee's declared outputs before the run starts.
struct Stubs {
    private enum Entry {
        case always(Reply)
        case sequence([Reply], next: Int)
    }

    private var entries: [String: Entry] = [:]

    init(file: String?, options: [NameValue], program: Program) throws(RunError) {
        var raw: [String: Value] = [:]
        if let file {
            guard case .object(let fields) = try readJSON(file: file, what: "the stubs file '\(file)'") else {
                throw .badJSON("the stubs file '\(file)'", "it is not a JSON object of stubs by name")
            }
            raw = fields
        }
        for option in options {
            do throws(JSONReadError) {
                raw[option.name] = try Value.fromJSON(option.value)
            } catch {
                throw .badJSON("the stub '--stub \(option.name)=…'", error.description)
            }
        }
        let callees = Self.callees(program)
        for name in raw.keys.sorted() {
            guard let callee = callees[name] else {
                throw .unknownCallee(name, known: callees.keys.sorted())
            }
            switch raw[name]! {
            case .list(let items):
                guard !items.isEmpty else { throw .badStub(name, "the list of results is empty") }
                var replies: [Reply] = []
                for item in items { replies.append(try Self.reply(item, name, callee)) }
                entries[name] = .sequence(replies, next: 0)
            case let value:
                entries[name] = .always(try Self.reply(value, name, callee))
            }
        }
    }

    /// The reply for the next call of `call` (an IP when `isIP`, else an extension).
    mutating func reply(to call: CallRequest, isIP: Bool, program: Program) throws(RunError) -> Reply {
        switch entries[call.name] {
        case .always(let reply)?:
            return reply
        case .sequence(let replies, let next)?:
            guard next < replies.count else { throw .stubExhausted(call.name, replies.count) }
            entries[call.name] = .sequence(replies, next: next + 1)
            return replies[next]
        case nil:
            let outputs = isIP ? program.integrationPoints[call.index].outputs : program.extensions[call.index].outputs
            let fields = outputs.map { "\(JSONText.quote($0.name)): \(Self.placeholder($0.type))" }
            let example = "{" + fields.joined(separator: ", ") + "}"
            throw .noStub(isIP ? "integration point" : "extension", call.name, example: example)
        }
    }

    private struct Callee {
        var isIP: Bool
        var outputs: [OutputInfo]
    }

    /// IPs and extensions by name (an IP wins when both have the same name).
    private static func callees(_ program: Program) -> [String: Callee] {
        var callees: [String: Callee] = [:]
        for e in program.extensions { callees[e.name] = Callee(isIP: false, outputs: e.outputs) }
        for ip in program.integrationPoints { callees[ip.name] = Callee(isIP: true, outputs: ip.outputs) }
        return callees
    }

    private static func reply(_ value: Value, _ name: String, _ callee: Callee) throws(RunError) -> Reply {
        guard case .object(let fields) = value else {
            throw .badStub(name, "expected a JSON object, found \(value.kindName)")
        }
        let declared = callee.outputs.map(\.name)
        if fields.count == 1, let error = fields["error"], !declared.contains("error") {
            return .failure(try failure(error, name, callee))
        }
        for key in fields.keys.sorted() where !declared.contains(key) {
            throw .unknownOutput(name, key, declared: declared)
        }
        var outputs: [String: Value] = [:]
        for output in callee.outputs {
            guard let v = fields[output.name] else { throw .missingOutput(name, output.name) }
            // Null is allowed for text outputs only, as the session allows it.
            guard let typed = v == .null ? (output.type.acceptsNullOutput ? .null : nil) : v.coerced(to: output.type) else {
                throw .badStub(name, "its output '\(output.name)' should be \(output.type), not \(v.kindName)")
            }
            outputs[output.name] = typed
        }
        return .result(outputs)
    }

    private static func failure(_ error: Value, _ name: String, _ callee: Callee) throws(RunError) -> CallFailure {
        guard case .object(let f) = error else { throw .badStub(name, "'error' should be an object with a 'message'") }
        for key in f.keys.sorted() where !["kind", "message", "status", "code", "body"].contains(key) {
            throw .badStub(name, "'error' has no field '\(key)'; its fields are kind, message, status, code and body")
        }
        guard case .text(let message)? = f["message"] else { throw .badStub(name, "'error' needs a 'message' (text)") }
        var status: Int?
        switch f["status"] {
        case nil, .null?: break
        case .number(let d)?:
            guard let n = d.intValue else {
                throw .badStub(name, "'status' should be a whole number")
            }
            status = n
        default: throw .badStub(name, "'status' should be a number")
        }
        var code: String?
        switch f["code"] {
        case nil, .null?: break
        case .text(let c)?: code = c
        default: throw .badStub(name, "'code' should be text")
        }
        let kind: String
        switch f["kind"] {
        case .text(let k)?: kind = k
        case nil, .null?: kind = status != nil ? "http" : (callee.isIP ? "connection" : "extension")
        default: throw .badStub(name, "'kind' should be text")
        }
        return CallFailure(kind: kind, message: message, status: status, code: code, body: f["body"])
    }

    /// A value of the type, for the example in the "no stub" hint.
    private static func placeholder(_ type: ValueType) -> String {
        switch type {
        case .number, .currency: "0"
        case .bool: "true"
        case .date: "\"2024-03-31\""
        case .list: "[]"
        case .object, .record: "{}"
        case .null, .any: "null"
        case .text, .secure: "\"…\""
        }
    }
}

/// Reads a JSON file for `--answers` or `--stubs`.
func readJSON(file: String, what: String) throws(RunError) -> Value {
    try parseJSON(try readJSONFile(file), what: what)
}

/// The bytes of a JSON file for `--answers` or `--stubs`.
func readJSONFile(_ file: String) throws(RunError) -> Data {
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: file, isDirectory: &isDirectory) else {
        throw .cannotRead(file, "no such file")
    }
    guard !isDirectory.boolValue else { throw .cannotRead(file, "it is a directory") }
    guard let data = FileManager.default.contents(atPath: file) else {
        throw .cannotRead(file, "permission denied or unreadable")
    }
    return data
}

/// The JSON document of `data`, read from `what`.
func parseJSON(_ data: Data, what: String) throws(RunError) -> Value {
    do throws(JSONReadError) {
        return try Value.fromJSON(data)
    } catch {
        throw .badJSON(what, error.description)
    }
}
