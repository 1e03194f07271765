import Foundation

/// Everything a session is, as one `Codable` value: snapshot it while the session waits, restore
/// it in a fresh process, and the flow finishes exactly as it would have.
public struct SessionState: Codable, Sendable, Equatable {
    /// The call stack: the entry flow first, then each sub-flow called and not yet finished.
    public internal(set) var frames: [Frame]
    /// Session variables (`var`), visible in every flow.
    var sessionValues: [Value?]
    /// Config values, as declared or as the host overrode them.
    var configValues: [Value]
    /// One checkpoint per page asked, for `back`.
    var history: [Checkpoint]
    /// Elements run so far, counted against `RuntimeOptions.maxSteps`.
    public internal(set) var steps: Int
    public internal(set) var outcome: Outcome?
}

/// One flow being run: where it is and its values.
public struct Frame: Codable, Sendable, Equatable {
    var flow: Int
    /// The element being run, or waited on.
    var pc: Int
    var locals: [Value?]
    /// Answers per page (by question), nil until the page is answered.
    var answers: [[Value?]?]
    /// The `error` object inside an `on error` block.
    var error: Value?
}

/// The state at the moment a page was asked, to return to with `back`.
struct Checkpoint: Codable, Sendable, Equatable {
    var frames: [Frame]
    var sessionValues: [Value?]
}

/// How a session ended.
public struct Outcome: Codable, Sendable, Equatable {
    public var success: Bool
    public var reason: String?
    public init(success: Bool, reason: String?) {
        self.success = success
        self.reason = reason
    }
}

public struct RuntimeOptions: Sendable {
    /// Elements run before the session stops with an error (a guard against endless loops).
    public var maxSteps: Int
    /// Sub-flow calls nested deeper than this stop the session with an error.
    public var maxCallDepth: Int
    /// Pages remembered for `back`.
    public var maxHistory: Int
    /// Config values set by the host (`--define NAME=VALUE`), by config name.
    public var configs: [String: String]
    /// Arguments of the entry flow, by parameter name.
    public var arguments: [String: String]
    /// The flow to run instead of the program's entry flow.
    public var flow: String?
    /// Today's date as `yyyy-mm-dd`; the session has no clock of its own.
    public var today: @Sendable () -> String

    public init(maxSteps: Int = 100_000, maxCallDepth: Int = 200, maxHistory: Int = 200, configs: [String: String] = [:],
                arguments: [String: String] = [:], flow: String? = nil, today: @escaping @Sendable () -> String = RuntimeOptions.systemToday) {
        self.maxSteps = maxSteps
        self.maxCallDepth = maxCallDepth
        self.maxHistory = maxHistory
        self.configs = configs
        self.arguments = arguments
        self.flow = flow
        self.today = today
    }

    /// Today in UTC from the system clock; hosts and tests may pass a fixed date instead.
    public static let systemToday: @Sendable () -> String = {
        let c = Calendar(identifier: .gregorian).dateComponents(in: TimeZone(identifier: "UTC")!, from: Date())
        return String(format: "%04d-%02d-%02d", c.year ?? 1970, c.month ?? 1, c.day ?? 1)
    }
}

/// What the session needs next.
public enum Step: Sendable {
    /// Ask the questions of a page; answer with `.answers` (or `.back`).
    case ask(PageRequest)
    /// Call an integration point; answer with `.result` or `.failure`.
    case callIP(CallRequest)
    /// Run an extension on the customer's side; answer with `.result` or `.failure`.
    case runExtension(CallRequest)
    /// The session is over.
    case finished(Outcome)
}

public struct StepResult: Sendable {
    /// Responses shown since the previous step, in order.
    public var responses: [String]
    public var step: Step
}

public struct PageRequest: Sendable {
    public var name: String
    public var title: String?
    public var questions: [QuestionRequest]
    /// After answers that were refused: why, by question name. Ask those again.
    public var problems: [String: String]
    /// Whether `.back` can return to an earlier page.
    public var canGoBack: Bool
    public var range: SourceRange
}

public struct CallRequest: Sendable {
    public var name: String
    /// Index of the integration point or extension in the program.
    public var index: Int
    /// One value per parameter, in declaration order.
    public var arguments: [(name: String, value: Value)]
    public var range: SourceRange
}

/// A call that failed, as the host reports it; inside `on error { }` it is the `error` object.
public struct CallFailure: Sendable, Equatable {
    /// `http`, `connection`, `timeout`, `tls`, `malformed`, `tooLarge`, `soapFault`, `extension`, `flow`, …
    public var kind: String
    public var message: String
    public var status: Int?
    public var code: String?
    public var body: Value?

    public init(kind: String, message: String, status: Int? = nil, code: String? = nil, body: Value? = nil) {
        self.kind = kind
        self.message = message
        self.status = status
        self.code = code
        self.body = body
    }

    var value: Value {
        .object([
            "kind": .text(kind), "message": .text(message),
            "status": status.map { .number(Number($0)) } ?? .null,
            "code": code.map { .text($0) } ?? .null,
            "body": body ?? .null,
        ])
    }
}

/// The host's answer to a step.
public enum Reply: Sendable {
    /// What was typed for each question, by question name or `Page.Question`.
    case answers([String: String])
    /// Go back to the previous page; what was set since is undone.
    case back
    /// The outputs of an IP, extension, by output name.
    case result([String: Value])
    case failure(CallFailure)

    var kindDescription: String {
        switch self {
        case .answers: "answers"
        case .back: "back"
        case .result: "a call result"
        case .failure: "a call failure"
        }
    }
}

/// A run-time error: a diagnostic with the source range of the element and expression that failed.
public struct RuntimeError: Error, Sendable {
    public var diagnostic: Diagnostic
    public init(_ message: Message, at range: SourceRange, hint: String? = nil) {
        diagnostic = Diagnostic(message, at: range, hint: hint)
    }
}

extension Value {
    /// The kind of value, for messages.
    public var kindName: String {
        switch self {
        case .text: "text"
        case .number: "a number"
        case .bool: "yes/no"
        case .null: "null"
        case .date: "a date"
        case .list: "a list"
        case .object: "an object"
        }
    }
}

extension ElementKind {
    /// The element's kind as traces name it.
    public var traceName: String {
        switch self {
        case .page: "page"
        case .call(let info):
            switch info.target {
            case .ip: "ip"
            case .extension: "extension"
            case .flow: "call"
            }
        case .response: "response"
        case .set: "set"
        case .decision: "if"
        case .label: "label"
        case .goto: "goto"
        case .finish: "finish"
        case .end: "end"
        }
    }
}
