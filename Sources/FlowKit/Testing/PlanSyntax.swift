/// The syntax tree of a test plan (`*.flowtest`): what `PlanParser` read, every node with its
/// `SourceRange`, no name resolved. Values are flow-language expressions (`Expr`), checked to be
/// constants and matched against the flow by `PlanResolver`.
public struct PlanSyntax: Sendable {
    /// `tests "payment.flow"`: the path as written and the range of the text literal.
    public var flowPath: (path: String, range: SourceRange)?
    /// `config` and `today` lines outside any test: they apply to every test.
    public var settings: [PlanItem]
    public var tests: [TestSyntax]
}

public struct TestSyntax: Sendable {
    public var name: String
    public var nameRange: SourceRange
    public var items: [PlanItem]
}

/// One line of a plan or a test.
public struct PlanItem: Sendable {
    public var kind: PlanItemKind
    /// The whole line, from its keyword to its last token.
    public var range: SourceRange
}

public enum PlanItemKind: Sendable {
    /// `today "2024-06-01"`
    case today(String, SourceRange)
    /// `config MAX_TRIES = 2`
    case config(Name, Expr)
    /// `flow Triage`: the flow to run instead of the entry flow.
    case flow(Name)
    /// `argument product = "Router"`
    case argument(Name, Expr)
    /// `answer Page.Question = value` (`page` nil for a lone question written alone).
    case answer(page: Name?, question: Name, Expr)
    /// `result Name = value` (or `failure Name = value` when `isFailure`).
    case result(Name, Expr, isFailure: Bool)
    case expect(ExpectSyntax)
}

public enum ExpectSyntax: Sendable {
    /// `expect response "text"`, `expect response contains "text"`
    case response(String, contains: Bool)
    /// `expect outcome success`, `expect outcome failure "reason"`, `… contains "part"`
    case outcome(success: Bool, reason: String?, contains: Bool)
    /// `expect called Name`, `expect called Name(args)`, `… 2 times`, `expect not called Name`.
    /// `arguments` is nil when no parentheses were written.
    case called(Name, arguments: [Argument]?, times: Int?, negated: Bool)
    /// `expect variable name = value`
    case variable(Name, Expr)
    /// `expect refused Amount = 0.10 "enter at least 0.50"`, `… contains "at least"`, or without a
    /// reason: an answer the question must refuse.
    case refused(page: Name?, question: Name, Expr, reason: String?, contains: Bool)
}
