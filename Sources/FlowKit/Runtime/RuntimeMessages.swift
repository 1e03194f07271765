/// The catalogue of run-time messages, sorted by id. Each shows what triggers it.
extension Message {
    /// a sub-flow nested deeper than the limit
    static func callDepth(_ limit: Int) -> Message { Message("run.callDepth", .error, "sub-flow calls are nested more than \(limit) deep") }
    /// `ip Charge(…)` failed and has no `on error`
    static func callFailed(_ name: String, _ message: String) -> Message { Message("run.callFailed", .error, "the call of '\(name)' failed: \(message)") }
    /// `set x = 1 / 0`
    static let divisionByZero = Message("run.divisionByZero", .error, "division by zero")
    /// a graph edge that leads nowhere (a bug in flow)
    static let fellOffGraph = Message("run.fellOffGraph", .error, "the flow has no next element here")
    /// `items[5]` of a list of 3
    static func indexOutOfRange(_ index: String, _ count: Int) -> Message { Message("run.indexOutOfRange", .error, "index \(index) is outside the list (it has \(count) item\(count == 1 ? "" : "s"))") }
    /// an expression that did not compile (a flow with errors was run)
    static let invalidExpression = Message("run.invalidExpression", .error, "this expression has errors and cannot run")
    /// the entry flow has a parameter without a default and the host gave none
    static func missingEntryArgument(_ name: String, _ flow: String) -> Message { Message("run.missingEntryArgument", .error, "flow '\(flow)' needs a value for its parameter '\(name)'") }
    /// a call argument without value or default
    static func missingArgument(_ name: String, _ callee: String) -> Message { Message("run.missingArgument", .error, "no value for parameter '\(name)' of '\(callee)'") }
    /// `result.receipt` when the result has no such field
    static func missingField(_ name: String) -> Message { Message("run.missingField", .error, "there is no field '\(name)' here") }
    /// `auth bearer STRIPE_SECRET_KEY` with no such secret supplied
    static func missingSecret(_ name: String, _ ip: String) -> Message { Message("run.missingSecret", .error, "secret '\(name)' is needed by '\(ip)' but was not given") }
    /// a host result without a declared output
    static func missingOutput(_ name: String, _ callee: String) -> Message { Message("run.missingOutput", .error, "'\(callee)' returned no value for its output '\(name)'") }
    /// a program with no flow to run
    static let noFlow = Message("run.noFlow", .error, "there is no flow to run")
    /// `--define LIMIT=lots` for a number config
    static func optionType(_ what: String, _ name: String, _ type: String) -> Message { Message("run.optionType", .error, "the value given for \(what) '\(name)' is not \(type)") }
    /// `number("twelve")`
    static func notANumber(_ text: String) -> Message { Message("run.notANumber", .error, "'\(text)' is not a number") }
    /// `set x = 1e100 * 1e100` or `1e-100 * 1e-100` (written out in digits): beyond `Decimal`'s range
    static let resultOutOfRange = Message("run.resultOutOfRange", .error, "the result is too large or too small for an exact number")
    /// a secret read where the session has none
    static let secretUnavailable = Message("run.secretUnavailable", .error, "secrets are not available here")
    /// 100,001 elements run
    static func stepLimit(_ limit: Int) -> Message { Message("run.stepLimit", .error, "the flow ran \(limit) elements without finishing") }
    /// `text + number` on values only known at run time
    static func runTypeMismatch(_ detail: String) -> Message { Message("run.typeMismatch", .error, detail) }
    /// an answer read before its page was asked
    static let unansweredQuestion = Message("run.unansweredQuestion", .error, "this question has not been answered yet")
    /// a request that cannot be sent (a URL that is not http, a header with a line break, …),
    /// found by the host that builds it
    public static func requestInvalid(_ detail: String) -> Message {
        Message("run.requestInvalid", .error, detail)
    }
    /// a reply that does not fit what the session waits for
    static func unexpectedReply(_ kind: String) -> Message { Message("run.unexpectedReply", .error, "the session did not ask for \(kind) here") }
    /// `--define STRIPE_BAS=…`
    static func unknownOption(_ what: String, _ name: String) -> Message { Message("run.unknownOption", .error, "there is no \(what) '\(name)'") }
    /// a variable read before it is set
    static func unsetVariable(_ name: String) -> Message { Message("run.unsetVariable", .error, "'\(name)' has no value yet") }
}
