/// A decimal literal with more decimals than a currency amount holds (2), where it meets a
/// currency: a `currency` question's `default`, `min` or `max`, a comparison with or a sum with
/// an amount, an argument for a `currency` parameter, a value set into a currency variable.
///
///     question Amount: currency {
///       min 0.505                   // error: 0.505 has more decimals than a currency amount holds
///     }
///     if Amount == 9.999 { … }      // error: likewise, and it is never equal
struct CurrencyLiterals {
    let checks: ValueChecks
    let flow: Int

    func check() {
        let f = checks.program.flows[flow]
        // Pages, questions and elements are read in place, not copied out one by one (a flow of
        // many lone questions has one of each per line).
        f.pages.withUnsafeBufferPointer { pages in
            for p in pages.indices {
                pages[p].questions.withUnsafeBufferPointer { questions in
                    for q in questions.indices where questions[q].type == .currency && questions[q].hasDetails {
                        for e in [questions[q].defaultValue, questions[q].min, questions[q].max].compactMap({ $0 }) { literal(e) }
                    }
                }
            }
        }
        f.elements.withUnsafeBufferPointer { elements in
            for i in elements.indices {
                // Switched on by its case alone (`ElementKind.tag`): a `switch` that binds copies
                // the whole kind first, whatever the case.
                let element = elements.baseAddress! + i
                switch element.pointee.kind.tag {
                case .call:
                    guard case .call(let info) = element.pointee.kind else { continue }
                    let parameters: [ParameterInfo]
                    switch info.target {
                    case .ip(let i) where i >= 0: parameters = checks.program.integrationPoints[i].parameters
                    case .extension(let i): parameters = checks.program.extensions[i].parameters
                    case .flow(let g): parameters = checks.program.flows[g].parameters
                    default: parameters = []
                    }
                    for (k, p) in parameters.enumerated() where p.type == .currency && k < info.arguments.count {
                        if let a = info.arguments[k] { literal(a) }
                    }
                case .set:
                    guard case .set(.local(let s), _, let value) = element.pointee.kind, f.variableTypes[s] == .currency else { continue }
                    literal(value)
                default: break
                }
            }
        }
    }

    /// Called with every expression of the flow (`ValueChecks` walks them once for every check).
    func visit(at p: UnsafePointer<IRExpr>) {
        // The operator is tested in place before the operands are bound.
        guard case .binary(let op, _) = p.pointee.kind, op.isComparison || op == .add || op == .subtract,
              case .binary(_, let lr) = p.pointee.kind else { return }
        // The types are read in place: most operands are not amounts, and copying them costs.
        let (left, right) = lr.withOperands { ($0[0].type == .currency, $0[1].type == .currency) }
        guard left || right else { return }
        if left { literal(lr.second) }
        if right { literal(lr.first) }
    }

    private func literal(_ e: IRExpr) {
        guard let c = checks.values.constant(e), case .number(let n) = c.value, n.rounded(places: 2) != n,
              checks.out.checkedRanges.insert(e.range).inserted else { return }
        checks.report(.currencyDecimals(n.description), e.range, configs: c.configs,
                      label: "a currency amount has at most 2 decimals",
                      hint: "round it: \(n.rounded(places: 2).formatted(places: 2))")
    }
}
