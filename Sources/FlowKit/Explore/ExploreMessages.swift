/// The catalogue of what `flow explore` finds, sorted by id. Each entry shows a flow that has it.
///
/// Run-time errors met while exploring keep their own `run.*` messages (RuntimeMessages.swift);
/// these are the findings that only a search over many playthroughs can make.
extension Message {
    /// `question Age: number { min 0  max 10 }`: typing `-0.01` is accepted
    static func acceptedInvalid(_ typed: String, _ reference: String, _ why: String) -> Message { Message("explore.acceptedInvalid", .error, "the answer '\(typed)' to '\(reference)' is accepted although \(why)") }
    /// a `back` that returns to a page shown before `ip Charge(amount)` (POST) was completed
    static func backPastCall(_ call: String) -> Message { Message("explore.backPastCall", .error, "'back' returned to a page shown before '\(call)' was completed") }
    /// the page after `ip Charge(amount)` (POST) offers 'back' or does not say what stops it
    static func backNotStopped(_ call: String) -> Message { Message("explore.backNotStopped", .error, "this page, the first after '\(call)', does not say that 'back' stops at that call") }
    /// `ip Charge(amount)` asked for as effect 3 with amount 10, then again as effect 3 with amount 20
    static func callRepeated(_ sequence: Int, _ call: String) -> Message { Message("explore.callRepeated", .error, "'\(call)' was asked for again as effect \(sequence) with other arguments") }
    /// `question Devices: number { default 0  min 1 }`: Enter gives 0, which no one could type
    static func badDefault(_ reference: String, _ problem: String) -> Message { Message("explore.badDefault", .warning, "the default of '\(reference)' is not an answer it accepts: \(problem)") }
    /// `label Loop`, `set n -= 2`, `if n == 0 { finish success }`, `goto Loop` with an odd `n`
    static func endlessLoop(_ steps: Int) -> Message { Message("explore.endlessLoop", .error, "this loop does not end: the flow ran \(steps) elements without finishing") }
    /// `label Ask`, `question Code: number { max 9 }`, `if Code == 10 { finish success }`, `goto Ask`
    static let noWayOut = Message("explore.noWayOut", .error, "no answer or result tried leads out of this loop")
    /// a refused answer the question's own rules allow (a bug in the answer reader)
    static func refusedValid(_ typed: String, _ reference: String, _ problem: String) -> Message { Message("explore.refusedValid", .error, "the answer '\(typed)' to '\(reference)' is refused: \(problem)") }
    /// `question Amount: number { min 10  max 5 }`
    static func unanswerable(_ reference: String) -> Message { Message("explore.unanswerable", .error, "no answer to '\(reference)' is accepted") }
    /// `ip Get Balance(account) -> balance` with no `on error`, when the call times out
    static func unhandledFailure(_ callee: String, _ how: String) -> Message { Message("explore.unhandledFailure", .error, "a call failure with no 'on error': '\(callee)' \(how)") }
}
