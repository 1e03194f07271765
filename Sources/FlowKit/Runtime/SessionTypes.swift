import Foundation

/// Everything a session is, as one `Codable` value: snapshot it while the session waits, restore
/// it in a fresh process, and the flow finishes exactly as it would have.
public struct SessionState: Codable, Sendable, Equatable {
    /// The session's identity: with a call's sequence number, the identity of that call's effect
    /// (`Effect`), from which its idempotency key is derived.
    public internal(set) var id: String
    /// The calls to IPs and extensions made so far (see `EffectLog`).
    public internal(set) var effects: EffectLog
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
    /// Answers per page (by question), nil until the page is answered. Persistent: each page's
    /// `back` checkpoint holds a copy, and answering a page copies a few nodes, not every page.
    var answers: PersistentArray<[Value?]?>
    /// The `error` object inside an `on error` block.
    var error: Value?
}

/// The state at the moment a page was asked, to return to with `back`.
struct Checkpoint: Codable, Sendable, Equatable {
    var frames: [Frame]
    var sessionValues: [Value?]
    /// The sequence number the next call had then: calls numbered from here on were made after
    /// this page.
    var sequence: Int
}

/// A call to an integration point or an extension, as an effect with an identity that survives
/// the process: the session's id and the call's sequence number in the session (1, 2, …; a
/// number is never given twice, not even after `back`). Its idempotency key is derived from that
/// identity alone, so every attempt and every resumption of the call sends the same key.
public struct Effect: Codable, Sendable, Equatable {
    public var session: String
    public var sequence: Int
    /// True when the call was in flight when the session was saved and has been restored since:
    /// it may have been carried out already.
    public var resumed: Bool

    public init(session: String, sequence: Int, resumed: Bool = false) {
        self.session = session
        self.sequence = sequence
        self.resumed = resumed
    }

    /// `flow-` and 40 hexadecimal digits of SHA-256 over the identity: the same for the same
    /// call, different for every other call of this or any other session, and it does not give
    /// the session's id (the capability to drive it, for `flow serve`) away to the gateway.
    public var idempotencyKey: String {
        "flow-" + SHA256.hex("flow effect \(session) \(sequence)").prefix(40)
    }
}

/// One call the session made, with its outcome once the host reported it.
public struct EffectRecord: Codable, Sendable, Equatable {
    public var sequence: Int
    /// `ip` or `extension`.
    public var kind: String
    public var name: String
    /// Where the call stands: the flow's index and the element's.
    var flow: Int
    var element: Int
    /// SHA-256 of the arguments as JSON: the same call with the same arguments has the same one.
    var arguments: String
    /// Whether `back` may cross the call once it is completed (`IntegrationPoint.isSafe`).
    public var safe: Bool
    /// Nil while the call is in flight.
    public var outcome: EffectOutcome?
}

public enum EffectOutcome: Codable, Sendable, Equatable {
    case result([String: Value])
    case failure(CallFailure)
}

/// The calls of a session. A call is recorded as in flight before the host makes it, and as
/// completed with its result when the host reports it; a host that saves the state between the
/// two (`flow run --session`, `flow serve`) finds the call, its identity and its key again after
/// a crash.
public struct EffectLog: Codable, Sendable, Equatable {
    /// The sequence number of the next call.
    public internal(set) var nextSequence: Int = 1
    /// The call the session waits for, recorded before the host makes it.
    public internal(set) var inFlight: EffectRecord?
    /// Completed calls that `back` can still reach, oldest first, with their outcomes. Older ones
    /// are dropped: no page before them can be returned to.
    public internal(set) var completed: [EffectRecord] = []
    /// Safe calls that `back` went across, in order: while the flow goes the same way again with
    /// the same arguments, their outcomes are used instead of calling again.
    var replay: [EffectRecord] = []
    /// The last unsafe call completed: `back` cannot go past it.
    public internal(set) var barrier: String?

    public init() {}
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
    /// The new session's id; nil: 128 random bits, in hexadecimal.
    public var sessionID: String?
    /// Today's date as `yyyy-mm-dd`; the session has no clock of its own.
    public var today: @Sendable () -> String

    public init(maxSteps: Int = 100_000, maxCallDepth: Int = 200, maxHistory: Int = 200, configs: [String: String] = [:],
                arguments: [String: String] = [:], flow: String? = nil, sessionID: String? = nil,
                today: @escaping @Sendable () -> String = RuntimeOptions.systemToday) {
        self.sessionID = sessionID
        self.maxSteps = maxSteps
        self.maxCallDepth = maxCallDepth
        self.maxHistory = maxHistory
        self.configs = configs
        self.arguments = arguments
        self.flow = flow
        self.today = today
    }

    /// 128 random bits in hexadecimal, for a new session's id.
    public static func randomSessionID() -> String {
        // Two draws of 64 bits, not sixteen of 8: each draw is a system call.
        var generator = SystemRandomNumberGenerator()
        var bytes: [UInt8] = []
        bytes.reserveCapacity(16)
        for _ in 0..<2 {
            let r = generator.next()
            for k in 0..<8 { bytes.append(UInt8(truncatingIfNeeded: r >> (8 * k))) }
        }
        return SHA256.hex(bytes)
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
    /// When `back` cannot return further because an unsafe call was completed since the earlier
    /// page: that call's name (the host can say why).
    public var backStoppedBy: String?
}

public struct CallRequest: Sendable {
    public var name: String
    /// Index of the integration point or extension in the program.
    public var index: Int
    /// One value per parameter, in declaration order.
    public var arguments: [(name: String, value: Value)]
    public var range: SourceRange
    /// The call's identity and idempotency key.
    public var effect: Effect
}

/// A call that failed, as the host reports it; inside `on error { }` it is the `error` object.
public struct CallFailure: Codable, Sendable, Equatable {
    /// `http`, `connection`, `timeout`, `tls`, `malformed`, `tooLarge`, `soapFault`, `extension`, `flow`, …
    public var kind: String
    public var message: String
    public var status: Int?
    public var code: String?
    public var body: Value?
    /// The namespace URI of a SOAP fault's `code` (its prefix resolved); nil for other failures.
    public var codeNamespace: String?

    public init(kind: String, message: String, status: Int? = nil, code: String? = nil, body: Value? = nil,
                codeNamespace: String? = nil) {
        self.kind = kind
        self.message = message
        self.status = status
        self.code = code
        self.body = body
        self.codeNamespace = codeNamespace
    }

    var value: Value {
        .object([
            "kind": .text(kind), "message": .text(message),
            "status": status.map { .number(Number($0)) } ?? .null,
            "code": code.map { .text($0) } ?? .null,
            "codeNamespace": codeNamespace.map { .text($0) } ?? .null,
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
    /// Responses the session showed in the same step before the error, to be shown before it.
    public var responses: [String] = []
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
