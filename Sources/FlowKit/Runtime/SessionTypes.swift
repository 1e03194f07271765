import Foundation
#if canImport(Glibc)
    import Glibc
#endif

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
    /// The call's arguments, to tell whether a call reached again after `back` has the same ones.
    var callArguments: CallArguments
    /// Whether `back` may cross the call once it is completed (`IntegrationPoint.isSafe`).
    public var safe: Bool
    /// Nil while the call is in flight.
    public var outcome: EffectOutcome?

    init(sequence: Int, kind: String, name: String, flow: Int, element: Int, arguments: CallArguments, safe: Bool,
         outcome: EffectOutcome?) {
        self.sequence = sequence
        self.kind = kind
        self.name = name
        self.flow = flow
        self.element = element
        self.callArguments = arguments
        self.safe = safe
        self.outcome = outcome
    }

    init(sequence: Int, kind: String, name: String, flow: Int, element: Int, arguments: String, safe: Bool,
         outcome: EffectOutcome?) {
        self.init(sequence: sequence, kind: kind, name: name, flow: flow, element: element,
                  arguments: CallArguments(fingerprint: arguments), safe: safe, outcome: outcome)
    }

    /// SHA-256 of the arguments as JSON (`CallArguments.fingerprint`), as a state stores it.
    var arguments: String {
        get { callArguments.fingerprint }
        set { callArguments = CallArguments(fingerprint: newValue) }
    }

    // The stored form is the one the synthesized coding wrote: the arguments as their fingerprint.
    private enum CodingKeys: String, CodingKey {
        case sequence, kind, name, flow, element, arguments, safe, outcome
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        sequence = try c.decode(Int.self, forKey: .sequence)
        kind = try c.decode(String.self, forKey: .kind)
        name = try c.decode(String.self, forKey: .name)
        flow = try c.decode(Int.self, forKey: .flow)
        element = try c.decode(Int.self, forKey: .element)
        callArguments = CallArguments(fingerprint: try c.decode(String.self, forKey: .arguments))
        safe = try c.decode(Bool.self, forKey: .safe)
        outcome = try c.decodeIfPresent(EffectOutcome.self, forKey: .outcome)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(sequence, forKey: .sequence)
        try c.encode(kind, forKey: .kind)
        try c.encode(name, forKey: .name)
        try c.encode(flow, forKey: .flow)
        try c.encode(element, forKey: .element)
        try c.encode(callArguments.fingerprint, forKey: .arguments)
        try c.encode(safe, forKey: .safe)
        try c.encodeIfPresent(outcome, forKey: .outcome)
    }
}

/// A call's arguments as an effect record keeps them: the values themselves while the session
/// that made the call holds the record, or only their fingerprint (SHA-256 of the arguments as
/// JSON) once the record was stored and read back. The fingerprint is taken only when it is
/// needed (a state is encoded, or a call reached again after `back` is compared with a record
/// that holds only a fingerprint), not for every call: most records are never compared.
struct CallArguments: Sendable, Equatable {
    private enum Storage: Sendable {
        case values([(name: String, value: Value)])
        case fingerprint(String)
    }

    private var storage: Storage

    init(_ values: [(name: String, value: Value)]) { storage = .values(values) }
    init(fingerprint: String) { storage = .fingerprint(fingerprint) }

    /// SHA-256 of the arguments as JSON: the same arguments have the same one.
    var fingerprint: String {
        switch storage {
        case .values(let values): Self.fingerprint(values)
        case .fingerprint(let f): f
        }
    }

    /// Whether `values` are these arguments, as comparing their fingerprints tells.
    func matches(_ values: [(name: String, value: Value)]) -> Bool {
        switch storage {
        case .values(let mine): Self.canonicalText(mine) == Self.canonicalText(values)
        case .fingerprint(let f): f == Self.fingerprint(values)
        }
    }

    static func == (a: CallArguments, b: CallArguments) -> Bool {
        switch (a.storage, b.storage) {
        case (.values(let x), _): b.matches(x)
        case (.fingerprint(let f), _): f == b.fingerprint
        }
    }

    /// SHA-256 of the arguments as JSON.
    static func fingerprint(_ arguments: [(name: String, value: Value)]) -> String {
        SHA256.hex(canonicalText(arguments))
    }

    /// What the fingerprint is taken of: each argument's name and value as JSON (object keys
    /// sorted, numbers exact), followed by a comma.
    static func canonicalText(_ arguments: [(name: String, value: Value)]) -> String {
        // Written into one string: no temporary strings per argument.
        var text = ""
        text.reserveCapacity(128)
        for a in arguments {
            text += JSONText.quote(a.name)
            text += ":"
            a.value.writeJSON(into: &text)
            text += ","
        }
        return text
    }
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

    /// Records a call as in flight with the next sequence number, and returns that number. The
    /// record is made where it is kept: made by the session and then stored, it was copied into
    /// the log and the one made freed.
    mutating func begin(kind: String, name: String, flow: Int, element: Int, arguments: [(name: String, value: Value)],
                        safe: Bool) -> Int {
        let sequence = nextSequence
        nextSequence += 1
        inFlight = EffectRecord(sequence: sequence, kind: kind, name: name, flow: flow, element: element,
                                arguments: CallArguments(arguments), safe: safe, outcome: nil)
        return sequence
    }
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

    /// 128 random bits in hexadecimal, for a new session's id: 16 bytes of the system's CSPRNG,
    /// taken from `RandomPool` (one getrandom call for 256 ids, not one per id).
    public static func randomSessionID() -> String {
        // The bytes on the stack and the digits written straight into the string: no array.
        withUnsafeTemporaryAllocation(byteCount: 16, alignment: 8) { bytes in
            RandomPool.shared.take(bytes)
            defer { bytes.initializeMemory(as: UInt8.self, repeating: 0) }
            return String(unsafeUninitializedCapacity: 32) { out in
                for k in 0..<16 {
                    let b = bytes[k]
                    out[2 * k] = hexDigit(b >> 4)
                    out[2 * k + 1] = hexDigit(b & 15)
                }
                return 32
            }
        }
    }

    @inline(__always) private static func hexDigit(_ v: UInt8) -> UInt8 { v < 10 ? 48 + v : 87 + v }

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

/// Random bytes from the system's CSPRNG (getrandom, through `arc4random_buf`), drawn 4 KiB at a
/// time and handed out under a lock: a session id costs a copy, not a system call. Every byte is
/// handed out once and wiped as it goes; a forked child starts with an empty pool (`pthread_atfork`),
/// so parent and child never share bytes, and the pool is never written to disk or snapshots.
final class RandomPool: @unchecked Sendable {
    static let shared = RandomPool()
    private static let size = 4096

    private let lock = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: RandomPool.size, alignment: 16)
    /// Bytes handed out of `buffer` so far; `size` when it is empty.
    private var used = RandomPool.size

    private init() {
        pthread_mutex_init(lock, nil)
        buffer.initializeMemory(as: UInt8.self, repeating: 0)
        #if canImport(Glibc)
            // The child of a fork gets a copy of the pool: it must not hand out the bytes the
            // parent will. (The handler runs in the child only, with one thread.)
            pthread_atfork(nil, nil, { RandomPool.shared.forget() })
        #endif
    }

    /// Fills `out` with fresh random bytes.
    func take(_ out: UnsafeMutableRawBufferPointer) {
        guard let target = out.baseAddress else { return }
        if out.count > RandomPool.size / 4 {
            Self.fill(out)
            return
        }
        pthread_mutex_lock(lock)
        defer { pthread_mutex_unlock(lock) }
        if RandomPool.size - used < out.count {
            Self.fill(buffer)
            used = 0
        }
        let source = buffer.baseAddress! + used
        target.copyMemory(from: source, byteCount: out.count)
        source.initializeMemory(as: UInt8.self, repeating: 0, count: out.count)
        used += out.count
    }

    /// Empties the pool (in a forked child, before anything else runs there).
    private func forget() {
        pthread_mutex_init(lock, nil)
        buffer.initializeMemory(as: UInt8.self, repeating: 0)
        used = RandomPool.size
    }

    private static func fill(_ out: UnsafeMutableRawBufferPointer) {
        #if canImport(Glibc)
            // glibc's arc4random_buf reads getrandom and retries until it has every byte.
            arc4random_buf(out.baseAddress!, out.count)
        #else
            var generator = SystemRandomNumberGenerator()
            var k = 0
            while k < out.count {
                let r = generator.next()
                for j in 0..<Swift.min(8, out.count - k) { out[k + j] = UInt8(truncatingIfNeeded: r >> (8 * j)) }
                k += 8
            }
        #endif
    }
}
