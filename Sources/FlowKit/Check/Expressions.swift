import Foundation

/// Lowers syntax expressions to typed `IRExpr`s, resolving names in the current scope.
///
/// Scope, in order: the flow's variables and parameters (or an integration point's parameters),
/// `error` inside `on error { }`, the flow's pages (`Page.Question`, or a lone question's bare
/// name), then configs, secrets and session variables. Secrets resolve only while compiling an
/// integration point's request (`allowSecrets`).
extension ProgramBuilder {
    func lower(_ e: Expr) -> IRExpr {
        func ir(_ k: IRKind, _ t: ValueType) -> IRExpr { IRExpr(kind: k, type: t, range: e.range) }
        switch e.kind {
        case .string(let s): return ir(.constant(.text(s)), .text)
        case .number(let n):
            // A small number (an Int64 count of 10^-scale) has at most 21 characters written: its
            // description is made only for a large one.
            guard let d = Number(parsing: n), d.isSmall || d.description.count <= 40 || DecimalText.parse(n) != nil else {
                report(.numberOutOfRange, e.range)
                return ir(.invalid, .any)
            }
            return ir(.constant(.number(d)), .number)
        case .bool(let b): return ir(.constant(.bool(b)), .bool)
        case .null: return ir(.constant(.null), .null)
        case .error: return ir(.invalid, .any)
        case .template(let parts):
            var out: [IRExpr] = []
            out.reserveCapacity(parts.count)
            for p in parts {
                switch p {
                case .text(let t): out.append(IRExpr(kind: .constant(.text(t)), type: .text, range: e.range))
                case .expr(let x):
                    let l = lower(x)
                    if l.type == .secure && !allowSecrets { reportSecureShown(l) }
                    out.append(l)
                }
            }
            return ir(.template(out), .text)
        case .name(let text):
            let r = resolve(Name(text, e.range))
            markRecordUsed(r.type, field: nil)
            return r
        case .member(let base, let field):
            // `Page.Question` is an answer, not a field.
            if let n = base.name, let page = pageNamed(n) {
                return answer(page: page, question: field, e.range)
            }
            let b: IRExpr
            if let n = base.name { b = resolve(n) } else { b = lower(base) }
            // The type first: the operands are then moved into the expression, not copied.
            let type = memberType(b, field)
            return ir(.member(b, field.text), type)
        case .index(let base, let index):
            let b = lower(base)
            let i = lower(index)
            switch b.type {
            case .list:
                if !(i.type.isNumeric || i.type == .any) { report(.typeMismatch("a list index must be a number, not \(i.type)"), i.range) }
            case .object, .record, .any: break
            default:
                if b.type != .any { report(.typeMismatch("\(b.type) cannot be indexed"), b.range, hint: "only lists and objects take [index]") }
            }
            markRecordUsed(b.type, field: nil)
            return ir(.index(b, i), .any)
        case .call(let name, let args):
            return lowerBuiltin(name, args, e.range)
        case .unary(let op, let operand):
            let o = lower(operand)
            switch op {
            case .not:
                requireBool(o, "'not'")
                return ir(.unary(op, o), .bool)
            case .negate:
                if !(o.type.isNumeric || o.type == .any) { report(.typeMismatch("cannot negate \(o.type)"), o.range) }
                let type = o.type == .any ? ValueType.number : o.type
                return ir(.unary(op, o), type)
            }
        case .binary(let op, let l, let r):
            let a = lower(l)
            let b = lower(r)
            if op.isComparison { comparisonsLowered += 1 }
            let type = binaryType(op, a, b, e.range)
            return ir(.binary(op, a, b), type)
        case .list(let items):
            return ir(.list(items.map { lower($0) }), .list)
        case .object(let fields):
            return ir(.object(fields.map { ($0.key, lower($0.value)) }), .object)
        }
    }

    func pageNamed(_ n: Name) -> Int? {
        guard let flow, flow.local(n.text) == nil, let p = flow.pages[n.text] else { return nil }
        return p
    }

    func answer(page: Int, question: Name, _ range: SourceRange) -> IRExpr {
        let info = flow!.pageInfos[page]
        guard let q = info.questions.firstIndex(where: { $0.name == question.text }) else {
            report(.undefinedQuestion(question.text, info.name), question.range,
                   hint: Suggest.closest(to: question.text, in: info.questions.map(\.name)).map { "did you mean '\(info.name).\($0)'?" }
                       ?? "page '\(info.name)' asks: \(info.questions.map { "'\($0.name)'" }.joined(separator: ", "))")
            flow!.hadResolutionError = true
            return IRExpr(kind: .invalid, type: .any, range: range)
        }
        return IRExpr(kind: .answer(page: page, question: q), type: ProgramBuilder.answerType(info.questions[q].type), range: range)
    }

    static func answerType(_ t: QuestionType) -> ValueType {
        switch t {
        case .text, .email, .choice: .text
        case .number: .number
        case .currency: .currency
        case .yesno: .bool
        case .choices: .list
        case .date: .date
        case .password: .secure
        }
    }

    func resolve(_ n: Name) -> IRExpr {
        func ir(_ k: IRKind, _ t: ValueType) -> IRExpr { IRExpr(kind: k, type: t, range: n.range) }
        if let flow, let slot = flow.local(n.text) {
            flow.reads[slot] += 1
            return ir(.local(slot), flow.localTypes[slot])
        }
        if let params = ipParameters, let (slot, type) = params[n.text] { return ir(.local(slot), type) }
        if n.text == "error" {
            if inHandler { return ir(.error, .record(ProgramBuilder.errorRecord)) }
            report(.errorOutsideHandler, n.range, hint: "read the error inside the handler:\n  ip Charge(amount) -> result\n  on error {\n    response \"{error.message}\"\n  }")
            flow?.hadResolutionError = true
            return ir(.invalid, .any)
        }
        if let flow, let p = flow.pages[n.text] {
            let info = flow.pageInfos[p]
            if info.isLoneQuestion { return ir(.answer(page: p, question: 0), ProgramBuilder.answerType(info.questions[0].type)) }
            report(.pageIsNotAValue(n.text), n.range,
                   hint: "name one of its questions: " + info.questions.map { "\(info.name).\($0.name)" }.joined(separator: ", "))
            flow.hadResolutionError = true
            return ir(.invalid, .any)
        }
        if let (g, _) = globals[n.text] {
            switch g {
            case .config(let i):
                return ir(.config(i), i < program.configs.count ? program.configs[i].type : .any)
            case .session(let i):
                return ir(.session(i), i < program.sessionVariables.count ? program.sessionVariables[i].type : .any)
            case .secret(let i):
                if allowSecrets { return ir(.secret(i), .secure) }
                report(.secretOutsideRequest(n.text), n.range,
                       hint: "secrets are only for an integration point's request:\n  ip Charge(amount: currency) {\n    auth bearer \(n.text)\n  }")
                flow?.hadResolutionError = true
                return ir(.invalid, .any)
            }
        }
        // Undefined: suggest among everything visible here.
        var candidates = globals.names
        if let flow { candidates += flow.localNames + flow.pages.names }
        if let params = ipParameters { candidates += params.keys }
        if inHandler { candidates.append("error") }
        var hint = Suggest.closest(to: n.text, in: candidates).map { "did you mean '\($0)'?" }
        if hint == nil, let flow {
            // A question's bare name: point at Page.Question.
            for page in flow.pageInfos where page.questions.contains(where: { $0.name == n.text }) {
                hint = "did you mean '\(page.name).\(n.text)'?"
                break
            }
        }
        report(.undefinedName(n.text), n.range, hint: hint)
        flow?.hadResolutionError = true
        return ir(.invalid, .any)
    }

    func memberType(_ base: IRExpr, _ field: Name) -> ValueType {
        switch base.type {
        case .record(let r):
            let fields = program.records[Int(r)]
            if let f = fields.first(where: { $0.name == field.text }) {
                markRecordUsed(base.type, field: field.text)
                return f.type
            }
            let suggestion = Suggest.closest(to: field.text, in: fields.map(\.name))
            report(.unknownField(field.text), field.range,
                   hint: suggestion.map { "did you mean '\($0)'?" } ?? "fields: \(fields.map(\.name).joined(separator: ", "))")
            if let suggestion { markRecordUsed(base.type, field: suggestion) }
            flow?.hadResolutionError = true
            return .any
        case .object, .any: return .any
        default:
            report(.typeMismatch("\(base.type) has no field '\(field.text)'"), field.range)
            return .any
        }
    }

    func requireBool(_ e: IRExpr, _ what: String) {
        if e.type != .bool && e.type != .any {
            report(.typeMismatch("\(what) needs a yes/no value, not \(e.type)"), e.range,
                   hint: "compare it to get a yes/no value, for example: amount > 0")
        }
    }

    func binaryType(_ op: BinaryOperator, _ a: IRExpr, _ b: IRExpr, _ range: SourceRange) -> ValueType {
        let (x, y) = (a.type, b.type)
        let unknown = x == .any || y == .any
        func numericResult() -> ValueType { (x == .currency || y == .currency) ? .currency : .number }
        switch op {
        case .and, .or:
            requireBool(a, "'\(op.rawValue)'")
            requireBool(b, "'\(op.rawValue)'")
            return .bool
        case .add:
            if x.isNumeric && y.isNumeric { return numericResult() }
            if (x == .text || x == .secure) && (y == .text || y == .secure) { return x == .secure || y == .secure ? .secure : .text }
            if unknown { return x == .any ? (y.isNumeric ? y : .any) : (x.isNumeric ? x : .any) }
            if x == .list && y == .list { return .list }
            let hint = (x == .text || y == .text) ? "put values into text with a template: \"Total: {amount}\"" : nil
            report(.typeMismatch("cannot add \(x) and \(y)"), range, hint: hint)
            return .any
        case .subtract, .multiply, .divide, .remainder:
            if x.isNumeric && y.isNumeric { return numericResult() }
            if unknown && (x.isNumeric || y.isNumeric || (x == .any && y == .any)) { return x.isNumeric ? x : (y.isNumeric ? y : .number) }
            report(.typeMismatch("cannot use '\(op.rawValue)' on \(x) and \(y)"), range,
                   hint: x == .text || y == .text ? "convert text to a number with number(…)" : nil)
            return .any
        case .equal, .notEqual:
            if !comparable(x, y) {
                report(.typeMismatch("cannot compare \(x) with \(y)"), range,
                       hint: (x.isNumeric && y == .text) || (y.isNumeric && x == .text) ? "convert with number(…) or text(…) first" : nil)
            }
            return .bool
        case .less, .lessEqual, .greater, .greaterEqual:
            let ordered = unknown || (x.isNumeric && y.isNumeric) || (x == .text && y == .text) || (x == .date && y == .date)
            if !ordered {
                report(.typeMismatch("cannot order \(x) and \(y) with '\(op.rawValue)'"), range,
                       hint: (x.isNumeric && y == .text) || (y.isNumeric && x == .text) ? "convert with number(…) first" : nil)
            }
            return .bool
        }
    }

    func comparable(_ x: ValueType, _ y: ValueType) -> Bool {
        if x == .any || y == .any || x == .null || y == .null { return true }
        if x.isNumeric && y.isNumeric { return true }
        if (x == .text || x == .secure) && (y == .text || y == .secure) { return true }
        if case .record = x, y == .object { return true }
        if case .record = y, x == .object { return true }
        return x == y
    }

    /// Can a value of `value`'s type go where `type` is expected?
    func isAssignable(_ from: ValueType, to type: ValueType) -> Bool {
        if from == .any || type == .any || from == .null { return true }
        if from.isNumeric && type.isNumeric { return true }
        // Text may go where a secure value is expected; a secure value only goes to `secure`.
        if from == .text && type == .secure { return true }
        if case .record = from, type == .object { return true }
        return from == type
    }

    func checkAssignable(_ e: IRExpr, to type: ValueType, what: String) {
        if !isAssignable(e.type, to: type) {
            var hint: String?
            if type == .text && e.type.isNumeric { hint = "make text with a template: \"{value}\"" }
            if e.type == .secure { hint = "a password answer can only be passed to a parameter declared 'secure'" }
            report(.typeMismatch("\(what) expects \(type), not \(e.type)"), e.range, hint: hint)
        }
    }

    func reportSecureShown(_ e: IRExpr) {
        report(.secureValueShown, e.range, hint: "a password is never shown back; pass it to an integration point instead")
    }

    func lowerBuiltin(_ name: Name, _ args: [Argument], _ range: SourceRange) -> IRExpr {
        let lowered = args.map { a -> IRExpr in
            if let l = a.label { report(.namedBuiltinArgument(name.text), l.range) }
            return lower(a.value)
        }
        guard let f = Builtin(rawValue: name.text) else {
            report(.unknownFunction(name.text), name.range,
                   hint: Suggest.closest(to: name.text, in: Builtin.allCases.map(\.rawValue)).map { "did you mean '\($0)'?" }
                       ?? "functions: \(Builtin.allCases.map(\.rawValue).joined(separator: ", "))")
            return IRExpr(kind: .invalid, type: .any, range: range)
        }
        let (arity, result) = signature(f, lowered)
        if !arity.contains(lowered.count) {
            let expected = arity.lowerBound == arity.upperBound ? "\(arity.lowerBound)" : "\(arity.lowerBound) or \(arity.upperBound)"
            report(.builtinArity(f.rawValue, expected, lowered.count), range)
            return IRExpr(kind: .invalid, type: .any, range: range)
        }
        return IRExpr(kind: .builtin(f, lowered), type: result, range: range)
    }

    private func signature(_ f: Builtin, _ a: [IRExpr]) -> (ClosedRange<Int>, ValueType) {
        func need(_ i: Int, _ ok: (ValueType) -> Bool, _ what: String) {
            guard i < a.count, a[i].type != .any, !ok(a[i].type) else { return }
            report(.typeMismatch("\(f.rawValue)(…) needs \(what), not \(a[i].type)"), a[i].range)
        }
        let numeric: (ValueType) -> Bool = { $0.isNumeric }
        let textual: (ValueType) -> Bool = { $0 == .text }
        switch f {
        case .len:
            need(0, { $0 == .text || $0 == .list || $0 == .object }, "text or a list")
            return (1...1, .number)
        case .upper, .lower, .trim:
            need(0, textual, "text")
            return (1...1, .text)
        case .round:
            need(0, numeric, "a number"); need(1, numeric, "a number of places")
            return (1...2, a.first.map { $0.type.isNumeric ? $0.type : .number } ?? .number)
        case .abs:
            need(0, numeric, "a number")
            return (1...1, a.first.map { $0.type.isNumeric ? $0.type : .number } ?? .number)
        case .min, .max:
            need(0, numeric, "a number"); need(1, numeric, "a number")
            return (2...2, a.contains { $0.type == .currency } ? .currency : .number)
        case .contains:
            need(0, { $0 == .text || $0 == .list }, "text or a list")
            return (2...2, .bool)
        case .text:
            if let x = a.first, x.type == .secure { reportSecureShown(x) }
            return (1...1, .text)
        case .number:
            need(0, { $0 == .text || $0.isNumeric }, "text or a number")
            return (1...1, .number)
        case .today:
            return (0...0, .date)
        }
    }
}

/// Exact decimal literals.
enum DecimalText {
    static func parse(_ text: String) -> Decimal? {
        // Fast path: up to 18 digits fit a UInt64 significand exactly.
        var significand: UInt64 = 0
        var digits = 0
        var fraction = 0
        var seenDot = false
        for b in text.utf8 {
            if b == 0x2E { seenDot = true; continue }
            significand = significand &* 10 &+ UInt64(b &- 0x30)
            digits += 1
            if seenDot { fraction += 1 }
        }
        if digits <= 18 {
            return Decimal(sign: .plus, exponent: -fraction, significand: Decimal(significand))
        }
        return parseSlow(text)
    }

    private static func parseSlow(_ text: String) -> Decimal? {
        // Foundation's Decimal holds 38 significant digits; reject what it would round.
        let digits = text.filter { $0 != "." }.drop { $0 == "0" }
        guard digits.count <= 38 else { return nil }
        return Decimal(string: text, locale: Locale(identifier: "en_US_POSIX"))
    }
}
