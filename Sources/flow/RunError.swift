import FlowKit

/// What can stop `flow run` other than the flow finishing: the wording of every such message, its
/// hint and its exit status live here (usage mistakes found before the flow is read are
/// `UsageError`s; problems in the flow itself are FlowKit diagnostics).
///
/// Scripted answers and stubs that do not fit the flow are data errors (65), the same status as a
/// flow that does not check: the run cannot go on with the data it was given, and the flow's own
/// `finish failure` (1) must stay distinguishable from a broken script.
enum RunError: Error {
    /// `--answers missing.json`: (path, reason)
    case cannotRead(String, String)
    /// `--answers bad.json` holding `[1, 2`: (where it came from, what is wrong)
    case badJSON(String, String)
    /// `--answer Amout.Amount=4`: (the name, where it came from, the names of the flow's questions)
    case unknownQuestion(String, source: String, known: [String])
    /// `--stub Tokenise={…}`: (the name, the flow's IPs and extensions)
    case unknownCallee(String, known: [String])
    /// `--stub 'Tokenize={"tokn": "x"}'`: (callee, the key, the declared outputs)
    case unknownOutput(String, String, declared: [String])
    /// `--stub 'Tokenize={}'`: (callee, the missing output)
    case missingOutput(String, String)
    /// `--stub 'Tokenize=[]'`, an `error` without a message: (callee, what is wrong)
    case badStub(String, String)
    /// `--extension Tokenise=./t`: (the name, the program's extensions)
    case unknownExtension(String, known: [String])
    /// `--define STRIPE_BAS=…`: (the name, the program's configs)
    case unknownConfig(String, known: [String])
    /// `--flow Paymnet`: (the name, the program's flows)
    case unknownFlow(String, known: [String])
    /// `--arg acount=1`: (the name, the flow, its parameters)
    case unknownParameter(String, flow: String, known: [String])
    /// `--define OVERDRAFT_LIMIT=lots`, `--arg down=maybe`: (option, name, value, the declared type)
    case badValue(String, String, String, ValueType)
    /// `flow ip pay.flow Charge` without `--arg amount=…`: (callee, parameter, its type, why: nil,
    /// or that its default is not a constant)
    case missingArgument(String, String, ValueType, String?)
    /// A question with no scripted answer while standard input is at its end.
    case missingAnswer(String)
    /// A scripted answer the session refused: (`Page.Question`, the reason)
    case refusedAnswer(String, String)
    /// An IP or extension called without a stub: (kind word, name, an example stub)
    case noStub(String, String, example: String)
    /// A stub list shorter than the calls: (callee, how many results it had)
    case stubExhausted(String, Int)
    /// Ctrl-D at a prompt.
    case inputEnded
    /// `--trace /no/such/dir/t.jsonl`: (path, reason)
    case cannotWriteTrace(String, String)
    /// `--session /no/such/dir/s.json`, a FIFO, a full disk: (path, reason)
    case cannotWriteSession(String, String)
    /// `--session notes.txt`, or a session started with another version of the flow: (path, why)
    case badSessionFile(String, String)
    /// `--secrets s.env` with a line `oops`: (path, line, what is wrong)
    case badSecretsFile(String, Int, String)
    /// The flow failed while running; rendered with FlowKit's `DiagnosticRenderer`.
    case runtime(RuntimeError)

    var exitCode: ExitCode {
        switch self {
        case .cannotRead: .noInput
        case .inputEnded: .failure
        case .cannotWriteTrace, .cannotWriteSession: .cannotCreate
        case .badSessionFile: .dataError
        case .runtime: .software
        case .badSecretsFile: .dataError
        case .badValue, .badJSON, .unknownQuestion, .unknownCallee, .unknownOutput, .missingOutput, .badStub, .unknownExtension,
            .unknownConfig,
            .unknownFlow, .unknownParameter, .missingArgument, .missingAnswer, .refusedAnswer, .noStub, .stubExhausted:
            .dataError
        }
    }

    /// The first line, after `error: ` (except for `inputEnded`, which has its own prefix).
    var message: String {
        switch self {
        case .cannotRead(let path, let reason): "cannot read '\(path)': \(reason)"
        case .badJSON(let source, let detail): "\(source) is not valid: \(detail)"
        case .unknownQuestion(let name, let source, _): "unknown question '\(name)' \(source)"
        case .unknownCallee(let name, _): "no integration point or extension '\(name)' in this flow"
        case .unknownOutput(let callee, let key, _): "the stub for '\(callee)' gives '\(key)', which is not one of its outputs"
        case .missingOutput(let callee, let output): "the stub for '\(callee)' has no value for its output '\(output)'"
        case .badStub(let callee, let detail): "the stub for '\(callee)' is not valid: \(detail)"
        case .unknownExtension(let name, _): "no extension '\(name)' to run with --extension"
        case .unknownConfig(let name, _): "no config '\(name)' to define"
        case .unknownFlow(let name, _): "no flow '\(name)' to run"
        case .unknownParameter(let name, let flow, _): "flow '\(flow)' has no parameter '\(name)'"
        case .badValue(let option, let name, let value, let type):
            "invalid value '\(value)' for \(option == "--define" ? "config" : "parameter") '\(name)': expected \(Self.article(type))"
        case .missingArgument(let callee, let name, let type, let why):
            "'\(callee)' needs its argument '\(name)' (\(type))" + (why.map { ", and \($0)" } ?? "")
        case .missingAnswer(let reference): "no answer for '\(reference)'"
        case .refusedAnswer(let reference, let reason): "answer for '\(reference)' refused: \(reason)"
        case .noStub(let kind, let name, _): "no stub for \(kind) '\(name)'"
        case .stubExhausted(let name, let count):
            "'\(name)' was called more often than its stub has results (\(count))"
        case .inputEnded: "input ended before the flow finished"
        case .cannotWriteTrace(let path, let reason): "cannot write the trace to '\(path)': \(reason)"
        case .cannotWriteSession(let path, let reason): "cannot write the session to '\(path)': \(reason)"
        case .badSessionFile(let path, let reason): "cannot go on with the session in '\(path)': \(reason)"
        case .runtime(let error): error.diagnostic.message
        case .badSecretsFile(let path, let line, let message): "\(path):\(line): \(message)"
        }
    }

    var hint: String? {
        switch self {
        case .cannotRead, .inputEnded, .runtime, .cannotWriteTrace, .cannotWriteSession: return nil
        case .badSessionFile: return "give another --session file to start a new session; this one is left as it is"
        case .badSecretsFile: return "a secrets file has one KEY=VALUE a line, for example: STRIPE_SECRET_KEY=…"
        case .badJSON: return nil
        case .unknownQuestion(let name, _, let known): return Self.suggest(name, known, what: "questions")
        case .unknownCallee(let name, let known): return Self.suggest(name, known, what: "integration points and extensions")
        case .unknownOutput(_, let key, let declared): return Self.suggest(key, declared, what: "outputs")
        case .missingOutput: return "a stub gives every output, or fails with {\"error\": {\"message\": \"…\"}}"
        case .badStub:
            return #"a stub is an object of outputs, {"error": {"kind": "http", "status": 402, "message": "…"}}, "#
                + "or a list of those, one per call"
        case .unknownExtension(let name, let known): return Self.suggest(name, known, what: "extensions")
        case .unknownConfig(let name, let known): return Self.suggest(name, known, what: "configs")
        case .unknownFlow(let name, let known): return Self.suggest(name, known, what: "flows")
        case .unknownParameter(let name, _, let known): return Self.suggest(name, known, what: "parameters")
        case .badValue(let option, let name, _, let type):
            return "for example: \(option) '\(name)=\(Self.example(type))'"
        case .missingArgument(_, let name, let type, _):
            return "give it with --arg '\(name)=\(Self.example(type))'"
        case .missingAnswer(let reference):
            return "give one with --answer '\(reference)=…', in the --answers file, or as a line on standard input"
        case .refusedAnswer: return nil
        case .noStub(_, let name, let example): return "give one with --stub '\(name)=\(example)'"
        case .stubExhausted: return "give one result per call in the stub's list"
        }
    }

    private static func article(_ type: ValueType) -> String {
        switch type {
        case .number, .currency: "a number"
        case .bool: "true or false"
        case .date: "a date (yyyy-mm-dd)"
        case .list: "a JSON list"
        case .object, .record: "a JSON object"
        default: "\(type)"
        }
    }

    private static func example(_ type: ValueType) -> String {
        switch type {
        case .number, .currency: "12.50"
        case .bool: "true"
        case .date: "2024-03-31"
        case .list: "[\"a\", \"b\"]"
        case .object, .record: "{\"a\": 1}"
        default: "text"
        }
    }

    private static func suggest(_ name: String, _ known: [String], what: String) -> String {
        if let match = Suggest.closest(to: name, in: known) { return "did you mean '\(match)'?" }
        if known.isEmpty { return "this flow has no \(what)" }
        return "the \(what) are: " + known.map { "'\($0)'" }.joined(separator: ", ")
    }
}
