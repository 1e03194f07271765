/// The rule for calls along one playthrough, checked as it goes (grammar.md, "Calls are effects"):
/// a call's effect number is never asked for again with other arguments; after a completed
/// unsafe call, the next page says `back` stops there (`canGoBack` false, `backStoppedBy` set),
/// and no `back` returns to a page shown before that call.
///
/// A value carried from each decision point to the next: the explorer gives every new point its
/// parent's trail with the step it arrived at (`arrive(at:)`), and fabricated steps can be fed to
/// it the same way.
struct EffectTrail {
    /// What broke the rule, where.
    struct Violation: Equatable {
        enum Rule: Equatable {
            /// The effect number, the call's name.
            case callRepeated(Int, String)
            /// The unsafe call's name.
            case backNotStopped(String)
            /// The unsafe call's name.
            case backPastCall(String)
        }
        var rule: Rule
        var range: SourceRange
    }

    /// Arguments by effect number, as the calls asked for them.
    var arguments: [Int: String] = [:]
    /// The pages shown so far, as states, oldest first.
    var pages: [ExploreStateKey] = []
    /// How many of `pages` were shown before the last completed unsafe call: none of them may
    /// be returned to.
    var barrier = 0
    /// The last completed unsafe call, with where it stands.
    var lastUnsafe: (name: String, range: SourceRange)?
    /// Set by a completed unsafe call until the next page is shown.
    var pendingUnsafe = false

    /// The call at `step` was completed (a result or a failure); `safe` as its declaration says.
    mutating func complete(_ call: CallRequest, safe: Bool) {
        guard !safe else { return }
        barrier = pages.count
        lastUnsafe = (call.name, call.range)
        pendingUnsafe = true
    }

    /// The playthrough got to `step` in `state`; `byBack` when the move was `back`.
    mutating func arrive(at step: Step, state: ExploreStateKey, byBack: Bool) -> [Violation] {
        var found: [Violation] = []
        switch step {
        case .callIP(let call), .runExtension(let call):
            let args = Self.text(call.arguments)
            if let earlier = arguments[call.effect.sequence], earlier != args {
                found.append(Violation(rule: .callRepeated(call.effect.sequence, call.name), range: call.range))
            }
            arguments[call.effect.sequence] = args
        case .ask(let page):
            if pendingUnsafe, let unsafe = lastUnsafe {
                if page.canGoBack || page.backStoppedBy == nil {
                    found.append(Violation(rule: .backNotStopped(unsafe.name), range: page.range))
                }
                pendingUnsafe = false
            }
            if byBack, let unsafe = lastUnsafe {
                let before = pages.prefix(barrier).contains(state)
                let after = pages.dropFirst(barrier).contains(state)
                if before && !after { found.append(Violation(rule: .backPastCall(unsafe.name), range: page.range)) }
            }
            if byBack, let k = pages.lastIndex(of: state) {
                pages.removeSubrange((k + 1)...)
                barrier = min(barrier, pages.count)
            } else {
                pages.append(state)
            }
        case .finished:
            break
        }
        return found
    }

    static func text(_ arguments: [(name: String, value: Value)]) -> String {
        arguments.map { $0.name + "=" + $0.value.jsonText() }.joined(separator: "\u{0}")
    }
}
