/// `flow fmt` for test plans (`*.flowtest`): the flow language's canonical layout, applied to a
/// plan's tokens.
///
/// A plan is written with the flow language's tokens, so the layout printer is the flow
/// formatter's; what the flow's syntax tree tells it (which `(` follows a name, which `-` is a
/// sign) a plan's tokens tell alone: in a plan a `(` only ever follows the name in
/// `expect called Name(…)`, and a `-` only ever signs a number.
extension FlowFormatter {
    public static func formatPlan(_ file: SourceFile) -> Outcome {
        let (_, diagnostics) = PlanParser.parse(file)
        return layOut(file, diagnostics: diagnostics) { LayoutHints(planTokens: file) }
    }

    /// Whether a path names a test plan rather than a flow.
    public static func isPlan(_ path: String) -> Bool { path.hasSuffix(".flowtest") }
}

extension LayoutHints {
    init(planTokens file: SourceFile) {
        var lexer = Lexer(file: file)
        var previous: Token?
        while true {
            let t = lexer.next()
            if t.kind == .eof { break }
            if let p = previous {
                if t.kind == .leftParen && (p.kind == .word || p.kind == .quotedName) { nameEnds.insert(p.end) }
                if p.kind == .minus { negatedStarts.insert(t.start) }
            }
            previous = t
        }
    }
}
