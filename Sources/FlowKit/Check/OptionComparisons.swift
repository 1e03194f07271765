/// A choice answer compared with a text that is not one of its options, which can never be
/// equal, also when the answer was copied with `set`, passed to a sub-flow or handed back as a
/// sub-flow's output; and two values compared that can never be equal because of what they are
/// (a number and a date, a choice answer and a yes/no), seen through untyped parameters.
///
///     question Product: choice {
///       options "Router", "Mobile app", "Billing"
///     }
///     set product = Product
///     if product == "Biling" {      // error: "Biling" is not an option of 'Product'
struct OptionComparisons {
    let checks: ValueChecks
    let flow: Int

    /// Called with every expression of the flow but the leaves (`ValueChecks` walks them once for
    /// every check). The operator is tested in place, and the operands are read in place: copied
    /// out (the comparison, then each side), they were three expressions retained and released
    /// for every comparison of every flow.
    func visit(at p: UnsafePointer<IRExpr>) {
        switch p.pointee.kind {
        case .binary(let op, let lr) where op.isComparison:
            lr.withOperands { o in
                if op == .equal || op == .notEqual, !compareWithOptions(o, o + 1, p) { _ = compareWithOptions(o + 1, o, p) }
                incomparable(o, o + 1, p)
            }
        case .builtin(.contains, let args) where args.count == 2:
            args.withUnsafeBufferPointer { a in containsOption(a.baseAddress!, a.baseAddress! + 1, p) }
        default:
            return
        }
    }

    /// `side == text`, where `side` holds options; true when it reported.
    private func compareWithOptions(_ side: UnsafePointer<IRExpr>, _ other: UnsafePointer<IRExpr>, _ e: UnsafePointer<IRExpr>) -> Bool {
        // Cheap tests first: this runs on every comparison of every flow.
        switch side.pointee.kind {
        case .local, .answer: break
        default: return false
        }
        guard other.pointee.isStatic else { return false }
        let ev = checks.values
        guard let k = ev.known(at: side, flow: flow), let origin = k.options,
              let c = ev.constant(other.pointee), case .text(let t) = c.value,
              !k.contains(.text(t)) else { return false }
        report(t, origin, k.values, at: other.pointee.range, whole: e.pointee.range, configs: k.configs.union(c.configs), through: side.pointee)
        return true
    }

    /// `contains(Topics, "Biling")` for a `choices` answer.
    private func containsOption(_ list: UnsafePointer<IRExpr>, _ item: UnsafePointer<IRExpr>, _ e: UnsafePointer<IRExpr>) {
        guard case .answer(let page, let question) = list.pointee.kind else { return }
        let q = checks.program.flows[flow].pages[page].questions[question]
        guard q.type == .choices, let c = checks.values.constant(item.pointee), case .text(let t) = c.value else { return }
        var options: [Value] = []
        var configs = c.configs
        for o in q.options {
            guard let k = checks.values.constant(o), case .text = k.value else { return }
            options.append(k.value)
            configs.formUnion(k.configs)
        }
        guard !options.contains(.text(t)) else { return }
        let texts = options.compactMap { v -> String? in if case .text(let s) = v { return s } else { return nil } }
        report(t, OptionOrigin(reference: q.reference, range: q.range, options: texts), options, at: item.pointee.range, whole: e.pointee.range,
               configs: configs, through: list.pointee, label: "so this is always false")
    }

    private func report(_ t: String, _ origin: OptionOrigin, _ values: [Value], at range: SourceRange, whole: SourceRange,
                        configs: Set<Int>, through side: IRExpr, label: String = "so this comparison is never equal") {
        checks.out.checkedRanges.insert(whole)
        let texts = values.compactMap { v -> String? in if case .text(let s) = v { return s } else { return nil } }
        var notes = [DiagnosticNote("the options of '\(origin.reference)' are declared here", at: origin.range)]
        if case .local(let slot) = side.kind {
            notes.insert(DiagnosticNote("'\(checks.program.flows[flow].variables[slot])' only ever holds "
                + Self.list(texts.map { ValueChecks.shown(.text($0)) }) + " (from '\(origin.reference)')"), at: 0)
        }
        checks.report(.notAnOption(ValueChecks.shown(.text(t)), origin.reference), range, configs: configs,
                      label: label, notes: notes,
                      hint: Suggest.closest(to: t, in: texts).map { "did you mean '\($0)'?" }
                          ?? "options: " + texts.map { "'\($0)'" }.joined(separator: ", "))
    }

    /// Types the static checker could not see (untyped parameters) that never compare.
    private func incomparable(_ l: UnsafePointer<IRExpr>, _ r: UnsafePointer<IRExpr>, _ e: UnsafePointer<IRExpr>) {
        guard l.pointee.type == .any || r.pointee.type == .any else { return }  // else typeMismatch said it
        let (a, b) = (describe(l.pointee), describe(r.pointee))
        guard let a, let b, a.type != b.type else { return }
        let numberDate = (a.type.isNumeric && b.type == .date) || (a.type == .date && b.type.isNumeric)
        let choiceYesNo = (a.isChoice && b.type == .bool) || (a.type == .bool && b.isChoice)
        guard numberDate || choiceYesNo else { return }
        checks.out.checkedRanges.insert(e.pointee.range)
        checks.out.report(.incomparableValues(a.noun, b.noun), e.pointee.range,
                              label: "they are never equal, and have no order",
                              hint: numberDate ? "compare a date with a date, or a number with a number"
                                  : "compare the answer with one of its options: product == \"Billing\"")
    }

    private func describe(_ e: IRExpr) -> (type: ValueType, noun: String, isChoice: Bool)? {
        let k = checks.values.known(e, flow: flow)
        if let origin = k?.options { return (.text, "a choice answer ('\(origin.reference)')", true) }
        var t = e.type
        if t == .any, case .local(let s) = e.kind { t = checks.values.inferredType(flow: flow, slot: s) ?? .any }
        switch t {
        case .number, .currency: return (t, "a number", false)
        case .date: return (t, "a date", false)
        case .bool: return (t, "a yes/no value", false)
        case .any: return nil
        default: return (t, "a \(t) value", false)
        }
    }

    static func list(_ items: [String]) -> String {
        items.count <= 1 ? items.joined() : items.dropLast().joined(separator: ", ") + " or " + items.last!
    }
}
