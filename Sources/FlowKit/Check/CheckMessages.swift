/// The catalogue of compiler and check messages, sorted by id. Each entry shows a line of
/// source that triggers it.
extension Message {
    /// `action "urn:x"` in a REST integration point
    static let actionWithoutSOAP = Message("check.actionWithoutSOAP", .error, "'action' is only for SOAP integration points")
    /// `ip Charge() -> r` … `if r.paid == "yes"` inside a flow: see typeMismatch; this one: `call Main()` inside Main
    static func answerBeforeAsked(_ page: String) -> Message { Message("check.answerBeforeAsked", .error, "an answer of page '\(page)' may be read before the page is asked") }
    /// `set STRIPE_BASE = "x"`
    static func assignToConstant(_ name: String, _ what: String) -> Message { Message("check.assignToConstant", .error, "'\(name)' is a \(what) and cannot be changed") }
    /// `auth bearer STRIPE_BASE`
    static func authNeedsSecret(_ name: String) -> Message { Message("check.authNeedsSecret", .error, "'auth' needs a secret, and '\(name)' is not one") }
    /// `round(1, 2, 3)`
    static func builtinArity(_ name: String, _ expected: String, _ got: Int) -> Message { Message("check.builtinArity", .error, "'\(name)' takes \(expected) argument\(expected == "1" ? "" : "s"), not \(got)") }
    /// `question Topic: choice` with no options
    static func choiceWithoutOptions(_ name: String) -> Message { Message("check.choiceWithoutOptions", .error, "choice question '\(name)' has no options") }
    /// `set mode = "sms"` then `if mode == "email"`
    static func constantCondition(_ value: Bool) -> Message { Message("check.constantCondition", .warning, "this condition is always \(value ? "true" : "false")") }
    /// `question Amount: currency { min 0.505 }`
    static func currencyDecimals(_ literal: String) -> Message { Message("check.currencyDecimals", .error, "\(literal) has more decimals than a currency amount holds") }
    /// `question Code: text { pattern "[0-9]\{4\}"  default "abcd" }`
    static func defaultMismatchesPattern(_ shown: String, _ pattern: String) -> Message { Message("check.defaultMismatchesPattern", .error, "the default \(shown) does not match the pattern '\(pattern)'") }
    /// `question Product: choice { options "Router", "Billing"  default "Biling" }`
    static func defaultNotAnOption(_ shown: String, _ reference: String) -> Message { Message("check.defaultNotAnOption", .error, "the default \(shown) is not an option of '\(reference)'") }
    /// `question Age: number { default 99  max 50 }`
    static func defaultOutOfRange(_ reference: String) -> Message { Message("check.defaultOutOfRange", .error, "the default of '\(reference)' is not an answer it accepts") }
    /// `set tries += 1 / 0`
    static let zeroDivisor = Message("check.divisionByZero", .error, "division by zero")
    /// `ip Charge(amount: 1, amount: 2)`
    static func duplicateArgument(_ name: String) -> Message { Message("check.duplicateArgument", .error, "argument '\(name)' is given twice") }
    /// two `flow Main` declarations
    static func duplicateName(_ name: String) -> Message { Message("check.duplicateName", .error, "'\(name)' is declared more than once") }
    /// `options "Router", "Billing", "router"`
    static func duplicateOption(_ text: String) -> Message { Message("check.duplicateOption", .error, "option '\(text)' is given more than once") }
    /// `body { b:X = 1 }` in a REST integration point
    static let elementsWithoutSOAP = Message("check.elementsWithoutSOAP", .error, "body elements are only for SOAP integration points")
    /// `response error.message` outside `on error`
    static let errorOutsideHandler = Message("check.errorOutsideHandler", .error, "'error' is only available inside 'on error { }'")
    /// `run "extensions/tokenize"` where the flow file's folder has no such file
    static func extensionRunMissing(_ path: String, _ name: String) -> Message { Message("check.extensionRunMissing", .warning, "the program '\(path)' of extension '\(name)' does not exist") }
    /// `run "extensions"` (a folder), or a file without the executable bit
    static func extensionRunNotExecutable(_ path: String, _ name: String, isDirectory: Bool) -> Message {
        Message("check.extensionRunNotExecutable", .warning,
                "the program '\(path)' of extension '\(name)' \(isDirectory ? "is a directory" : "is not executable")")
    }
    /// `web "extensions/tokenise.js"` where the flow file's folder has no such file
    static func extensionWebMissing(_ path: String, _ name: String, isDirectory: Bool) -> Message {
        Message("check.extensionWebMissing", .warning,
                "the web module '\(path)' of extension '\(name)' \(isDirectory ? "is a directory" : "does not exist")")
    }
    /// `web "../shared/tokenize.js"` or `web "/srv/tokenize.js"`
    static func extensionWebOutsideFolder(_ path: String, _ name: String) -> Message { Message("check.extensionWebOutsideFolder", .error, "the web module '\(path)' of extension '\(name)' is outside the flow file's folder") }
    /// `extension Tokenize { output token: text }` with no `run`
    static func extensionWithoutRun(_ name: String) -> Message { Message("check.extensionWithoutRun", .error, "extension '\(name)' does not say what to run") }
    /// `flow Main { label A` … `goto A }` reached only through an error handler loop
    static func flowNeverFinishes(_ name: String) -> Message { Message("check.flowNeverFinishes", .error, "flow '\(name)' can never finish") }
    /// `GET "…"` with `form { }`
    static let getWithBody = Message("check.getWithBody", .error, "a GET request cannot have a body")
    /// `headers { "X" = "a\nb" }`
    static let headerLineBreak = Message("check.headerLineBreak", .error, "a header value cannot contain a line break")
    /// `headers { "X-Note" = "a\u{7}b" }`
    static func headerValueCharacter(_ shown: String) -> Message { Message("check.headerValueCharacter", .error, "a header value cannot contain the control character \(shown)") }
    /// `import "main.flow"` inside main.flow's import chain
    static func importCycle(_ chain: [String]) -> Message { Message("check.importCycle", .error, "import cycle: \(chain.joined(separator: " -> "))") }
    /// `import "missing.flow"`
    static func importNotFound(_ path: String, _ reason: String) -> Message { Message("check.importNotFound", .error, "cannot import '\(path)': \(reason)") }
    /// a chain of 65 imports
    static func importTooDeep(_ limit: Int) -> Message { Message("check.importTooDeep", .error, "imports are nested too deep (more than \(limit) files)") }
    /// `import "self.flow"` in self.flow
    static let importsItself = Message("check.importsItself", .error, "a file cannot import itself")
    /// `flow Triage(product, down)` called with a choice answer and a yes/no, then `if product == down`
    static func incomparableValues(_ a: String, _ b: String) -> Message { Message("check.incomparableValues", .error, "\(a) is compared with \(b)") }
    /// `headers { "X:Y" = 1 }`
    static func invalidHeaderName(_ name: String) -> Message { Message("check.invalidHeaderName", .error, "'\(name)' is not a valid header name") }
    /// `output id = json "data[x"`
    static func invalidPath(_ kind: String, _ path: String) -> Message { Message("check.invalidPath", .error, "'\(path)' is not a valid \(kind) path") }
    /// `pattern "[a-"`
    static let invalidPattern = Message("check.invalidPattern", .error, "this pattern is not a valid regular expression")
    /// `ip X() { output a = json "a" }` with no request line
    static func ipWithoutRequest(_ name: String) -> Message { Message("check.ipWithoutRequest", .error, "integration point '\(name)' does not say what to call") }
    /// `label Ask` … `goto Ask` with no finish in between
    static let loopWithoutExit = Message("check.loopWithoutExit", .error, "this loop has no way out")
    /// `question Age: number { min 60  max 50 }`
    static func minAboveMax(_ min: String, _ max: String) -> Message { Message("check.minAboveMax", .error, "'min' (\(min)) is above 'max' (\(max)): no answer is accepted") }
    /// `ip StripeCharge(amount)` when it needs three
    static func missingArguments(_ callee: String, _ names: String) -> Message { Message("check.missingArguments", .error, "missing argument\(names.contains(",") ? "s" : "") \(names) in the call of '\(callee)'") }
    /// `upper(text: name)`
    static func namedBuiltinArgument(_ name: String) -> Message { Message("check.namedBuiltinArgument", .error, "built-in function '\(name)' takes no named arguments") }
    /// `ip Ping() -> result` where Ping declares no output
    static func noOutputs(_ noun: String, _ name: String) -> Message { Message("check.noOutputs", .error, "\(noun) '\(name)' has no outputs to bind") }
    /// `if Issue.Product == "Biling"` where the options are "Router", "Mobile app", "Billing"
    static func notAnOption(_ shown: String, _ reference: String) -> Message { Message("check.notAnOption", .error, "\(shown) is not an option of '\(reference)'") }
    /// `set x = 123456789012345678901234567890123456789012`
    static let numberOutOfRange = Message("check.numberOutOfRange", .error, "this number has more than 38 significant digits")
    /// `output receipt: text = json "receipt_url"` that no call reads
    static func outputNeverRead(_ name: String, _ owner: String) -> Message { Message("check.outputNeverRead", .warning, "output '\(name)' of \(owner) is never read") }
    /// a sub-flow `-> (verified: bool)` that finishes without setting `verified`
    static func outputNotSet(_ name: String) -> Message { Message("check.outputNotSet", .error, "output '\(name)' may not be set when the flow finishes here") }
    /// `response Contact` where Contact is a page
    static func pageIsNotAValue(_ name: String) -> Message { Message("check.pageIsNotAValue", .error, "'\(name)' is a page, not a value") }
    /// `question PIN: password { default "1234" }`
    static let passwordDefault = Message("check.passwordDefault", .error, "a password question cannot have a default")
    /// `question Code: text { pattern "[0-9]\{4\}"  max 3 }`
    static func patternNeverFits(_ pattern: String) -> Message { Message("check.patternNeverFits", .error, "no answer of an allowed length can match the pattern '\(pattern)'") }
    /// `ip Charge(amount: a, b)`
    static let positionalAfterNamed = Message("check.positionalAfterNamed", .error, "a positional argument cannot follow a named one")
    /// `options "a"` on a number question
    static func propertyNotForType(_ property: String, _ type: String) -> Message { Message("check.propertyNotForType", .error, "'\(property)' does not apply to a \(type) question") }
    /// `response "{discount}"` when discount is set only in one branch
    static func readBeforeSet(_ name: String) -> Message { Message("check.readBeforeSet", .error, "'\(name)' may be read before it is set") }
    /// `call B` in flow A and `call A` in flow B
    static func recursiveCallThrough(_ name: String, _ through: [String]) -> Message {
        let names = through.map { "'\($0)'" }
        let list = names.count == 1 ? names[0] : names.dropLast().joined(separator: ", ") + " and " + names.last!
        return Message("check.recursiveCall", .error, "flow '\(name)' calls itself through \(list); a sub-flow call cannot recurse")
    }
    /// `call Main` inside flow Main
    static func recursiveCall(_ name: String) -> Message { Message("check.recursiveCall", .error, "flow '\(name)' calls itself; a sub-flow call cannot recurse") }
    /// `retry 2` in `ip Charge { POST "…" }` without `idempotent` or `safe`
    static func retryNeverSent(_ method: String) -> Message { Message("check.retryNeverSent", .warning, "this \(method) request is never retried: it is neither 'idempotent' nor 'safe'") }
    /// `response "key {STRIPE_SECRET_KEY}"`
    static func secretOutsideRequest(_ name: String) -> Message { Message("check.secretOutsideRequest", .error, "secret '\(name)' can only be used in an integration point's request") }
    /// `set pin copy = PIN.PIN`
    static let secureValueCopied = Message("check.secureValueCopied", .error, "a password answer cannot be copied into a variable")
    /// `response "Your PIN is {PIN.PIN}"`
    static let secureValueShown = Message("check.secureValueShown", .error, "a password answer cannot be shown")
    /// `form { }` in a SOAP integration point
    static let soapBodyKind = Message("check.soapBodyKind", .error, "a SOAP integration point sends body elements, not 'form' or 'json'")
    /// `soap 1.2 "…"` together with `POST "…"`
    static func soapWithMethod(_ method: String) -> Message { Message("check.soapWithMethod", .error, "a SOAP integration point cannot also have a '\(method)' request line") }
    /// `ip Ping(1, 2)` where Ping takes one parameter
    static func tooManyArguments(_ callee: String, _ expected: Int, _ got: Int) -> Message { Message("check.tooManyArguments", .error, "'\(callee)' takes \(expected) argument\(expected == 1 ? "" : "s"), but \(got) \(got == 1 ? "was" : "were") given") }
    /// `set total = "a" * 2`
    static func typeMismatch(_ detail: String) -> Message { Message("check.typeMismatch", .error, detail) }
    /// `ip StripeCharg(…)`
    static func undefinedCallee(_ noun: String, _ name: String) -> Message { Message("check.undefinedCallee", .error, "cannot find \(noun) '\(name)'") }
    /// `goto Ask Amont`
    static func undefinedLabel(_ name: String) -> Message { Message("check.undefinedLabel", .error, "cannot find label '\(name)'") }
    /// `response "{amout}"`
    static func undefinedName(_ name: String) -> Message { Message("check.undefinedName", .error, "cannot find '\(name)' in this scope") }
    /// `body { x:Y = 1 }` with no `namespace x`
    static func undefinedNamespace(_ prefix: String) -> Message { Message("check.undefinedNamespace", .error, "namespace prefix '\(prefix)' is not declared") }
    /// `Embedded Payment.Amount` when the page has no such question
    static func undefinedQuestion(_ question: String, _ page: String) -> Message { Message("check.undefinedQuestion", .error, "page '\(page)' has no question '\(question)'") }
    /// `ip Charge(amout: 1)`
    static func unknownArgument(_ name: String, _ callee: String) -> Message { Message("check.unknownArgument", .error, "'\(callee)' has no parameter '\(name)'") }
    /// `result.idd`
    static func unknownField(_ name: String) -> Message { Message("check.unknownField", .error, "no field '\(name)' in this result") }
    /// `upcase(name)`
    static func unknownFunction(_ name: String) -> Message { Message("check.unknownFunction", .error, "cannot find function '\(name)'") }
    /// `-> (idd: charge id)`
    static func unknownOutput(_ name: String, _ callee: String) -> Message { Message("check.unknownOutput", .error, "'\(callee)' has no output '\(name)'") }
    /// `var tier: string = "x"`
    static func unknownType(_ name: String) -> Message { Message("check.unknownType", .error, "unknown type '\(name)'") }
    /// `finish success` followed by `response "x"`
    static let unreachable = Message("check.unreachable", .error, "this element is never reached")
    /// `if amount > 100 { … } else if amount > 500 { … }`
    static let unreachableElseIf = Message("check.unreachableElseIf", .error, "this 'else if' is never taken")
    /// `set receipt = result.id` never read
    static func unusedVariable(_ name: String) -> Message { Message("check.unusedVariable", .warning, "'\(name)' is set but never read") }
    /// `GET "htps://api.example.com/{id}"`
    static let urlNeverValid = Message("check.urlNeverValid", .error, "this URL can never be a valid http or https URL")
}
