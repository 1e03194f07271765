/// A test plan matched against its flow (`PlanResolver`'s output): every name resolved, every
/// value a constant of the right shape, every range kept for failures.
///
/// Design note: what a test gives the session (answers, canned results) is in the form a host
/// hands a session (`Reply`, typed text), so the runner (`TestRunner`) and `flow run --plan` feed
/// a session the way any host does; what a test expects is a list of `Expectation`s checked
/// against what the session did.
public struct TestPlan: Sendable {
    /// The plan file, as named.
    public var path: String
    /// The flow file it tests, relative to the plan's folder as `tests "…"` wrote it, joined to it.
    public var flowPath: String
    public var tests: [TestCase]
}

public struct TestCase: Sendable {
    public var name: String
    /// The range of the test's name.
    public var range: SourceRange
    /// The flow to run (`flow Name`), nil for the program's entry flow.
    public var flow: String?
    /// Parameters of the flow run, as `RuntimeOptions.arguments` takes them.
    public var arguments: [String: String]
    /// Config values (`config NAME = …`), the plan's and then the test's.
    public var configs: [String: String]
    /// `today "yyyy-mm-dd"`; nil for the system's date.
    public var today: String?
    /// Answers by `Page.Question`.
    public var answers: [String: Scripted<String>]
    /// Canned results of IPs and extensions, by name.
    public var results: [String: Scripted<Reply>]
    public var expectations: [Expectation]
}

/// What a test gives for one question or callee: the same value every time (one line with one
/// value), or one value per time it is asked, in order (a list, or several lines).
public struct Scripted<T: Sendable>: Sendable {
    public var values: [(value: T, range: SourceRange)]
    public var repeats: Bool
}

/// Hands out scripted values in order, one per asking (or the same every time).
public struct ScriptCursor<T: Sendable>: Sendable {
    public enum Next: Sendable {
        case value(T, SourceRange)
        /// Nothing scripted under this name.
        case none
        /// Asked more often than values are given (how many there were).
        case exhausted(Int)
    }

    private let scripts: [String: Scripted<T>]
    private var used: [String: Int] = [:]

    public init(_ scripts: [String: Scripted<T>]) { self.scripts = scripts }

    public mutating func next(_ name: String) -> Next {
        guard let script = scripts[name], !script.values.isEmpty else { return .none }
        if script.repeats { return .value(script.values[0].value, script.values[0].range) }
        let k = used[name, default: 0]
        guard k < script.values.count else { return .exhausted(script.values.count) }
        used[name] = k + 1
        return .value(script.values[k].value, script.values[k].range)
    }
}

public struct Expectation: Sendable {
    public enum Kind: Sendable {
        /// A response equal to (or containing) the text, after the one the previous response
        /// expectation matched.
        case response(String, contains: Bool)
        /// The outcome, and its reason when given (equal, or containing it).
        case outcome(success: Bool, reason: String?, contains: Bool)
        /// Calls of `name` (an IP, an extension or a sub-flow) whose arguments include these
        /// (by parameter name): at least one, exactly `times`, or none when `negated`.
        case called(name: String, arguments: [(name: String, value: Value)], times: Int?, negated: Bool)
        /// The final value of a variable of the flow run, or of a session variable.
        case variable(name: String, slot: VariableRef, value: Value)
        /// An answer the question `reference` refuses when it is asked (the first time), with
        /// a reason equal to (or containing) `reason` when given.
        case refused(reference: String, typed: String, reason: String?, contains: Bool)
    }

    public var kind: Kind
    /// The whole `expect` line.
    public var range: SourceRange
}
