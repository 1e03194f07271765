import Foundation

/// A question's rules that contradict each other, known from literals and configs: `min` above
/// `max`, a `default` the question itself would refuse (outside `min`/`max`, not matching
/// `pattern`, not among `options`), a `pattern` no answer within the length bounds can match,
/// and an option given twice.
///
///     question Age: number {
///       default 99              // error: the default 99 is above 'max' …
///       max 50
///     }
struct QuestionRules {
    let checks: ValueChecks
    let flow: Int

    func check() {
        // Read in place: a flow of many lone questions has a page and a question per line, and
        // copying each out to look at it was most of this check's time. Only a question with
        // rules (min, max, default, pattern, options) has anything to check.
        checks.program.flows.withUnsafeBufferPointer { flows in
            flows[flow].pages.withUnsafeBufferPointer { pages in
                for p in pages.indices {
                    pages[p].questions.withUnsafeBufferPointer { questions in
                        for q in questions.indices where questions[q].hasDetails { check(questions[q]) }
                    }
                }
            }
        }
    }

    private func check(_ q: QuestionInfo) {
        let ev = checks.values
        let min = q.min.flatMap { ev.constant($0) }
        let max = q.max.flatMap { ev.constant($0) }
        var options: [(text: String, range: SourceRange)] = []
        options.reserveCapacity(q.options.count)
        var optionConfigs = Set<Int>()
        var optionsKnown = true
        for o in q.options {
            guard let c = ev.constant(o), case .text(let t) = c.value else { optionsKnown = false; continue }
            options.append((t, o.range))
            optionConfigs.formUnion(c.configs)
        }
        // Options given twice. A question has a few options: each key is looked for among those
        // before it, and a table made only for a long list (a dictionary per question, with the
        // list grown option by option, were more than half of this check's heap blocks on a
        // file of many small flows: dhat, 12,495 to 5,000 on the generated benchmark).
        let keys = options.map { AnswerParser.key($0.text) }
        var seen: [String: SourceRange]? = keys.count > 16 ? [:] : nil
        for (k, o) in options.enumerated() {
            let first: SourceRange?
            if seen != nil {
                first = seen![keys[k]]
                if first == nil { seen![keys[k]] = o.range }
            } else {
                first = keys[..<k].firstIndex(of: keys[k]).map { options[$0].range }
            }
            if let first {
                checks.report(.duplicateOption(o.text), o.range, configs: optionConfigs,
                              notes: [DiagnosticNote("it is first given here", at: first)],
                              hint: "an answer picks the first; remove this one")
            }
        }
        // `min` above `max`.
        var contradictory = false
        if let min, let max, let lo = Self.number(min.value), let hi = Self.number(max.value), lo > hi,
           let minRange = q.min?.range, let maxRange = q.max?.range {
            contradictory = true
            checks.out.checkedRanges.insert(q.range)
            let what = Self.boundNoun(q.type)
            checks.report(.minAboveMax(lo.description, hi.description), minRange, configs: min.configs.union(max.configs),
                          label: "no \(what) can be at least \(lo) and at most \(hi)",
                          notes: [DiagnosticNote("'max' is set here", at: maxRange)],
                          hint: "swap them, or fix the one that is wrong")
        }
        // A pattern no answer of an allowed length can match.
        if let pattern = q.pattern, !contradictory, [.text, .email, .password].contains(q.type),
           let lengths = RegexSamples.lengths(pattern) {
            let lo = min.flatMap { Self.number($0.value)?.intValue } ?? 0
            let hi = max.flatMap { Self.number($0.value)?.intValue }
            let tooShort = lengths.max.map { $0 < lo } ?? false
            let tooLong = hi.map { lengths.min > $0 } ?? false
            if tooShort || tooLong, let r = q.min.flatMap({ tooShort ? $0.range : nil }) ?? q.max?.range {
                checks.out.checkedRanges.insert(q.range)
                let matches = lengths.min == lengths.max ? "\(lengths.min)" : "\(lengths.min) to \(lengths.max.map(String.init) ?? "any number of")"
                checks.report(.patternNeverFits(pattern), patternRange(q) ?? q.range,
                              configs: (tooShort ? min?.configs : max?.configs) ?? [],
                              label: "it matches only texts of \(matches) character\(lengths.max == 1 ? "" : "s")",
                              notes: [DiagnosticNote("the length is limited here", at: r)],
                              hint: "make the pattern and the length limits agree")
            }
        }
        // The default, against the question's own rules.
        guard let d = q.defaultValue, let range = q.defaultValue?.range, let value = ev.constant(d) else { return }
        var configs = value.configs
        switch (q.type, value.value) {
        case (.choice, .text(let t)):
            guard optionsKnown else { return }
            if !options.contains(where: { $0.text == t }) {
                reportNotAnOption(t, options.map(\.text), range, configs.union(optionConfigs), q)
            }
        case (.choices, .list(let items)):
            guard optionsKnown else { return }
            for case .text(let t) in items where !options.contains(where: { $0.text == t }) {
                reportNotAnOption(t, options.map(\.text), range, configs.union(optionConfigs), q)
                return
            }
        case (.number, .number(let n)), (.currency, .number(let n)):
            if q.type == .currency && n.rounded(places: 2) != n { return }  // CurrencyLiterals reports it
            if let min, let lo = Self.number(min.value), n < lo {
                configs.formUnion(min.configs)
                reportOutOfRange(d, "below 'min' (\(lo))", q.min!.range, configs, q)
            } else if let max, let hi = Self.number(max.value), n > hi {
                configs.formUnion(max.configs)
                reportOutOfRange(d, "above 'max' (\(hi))", q.max!.range, configs, q)
            } else if q.type == .currency, n < 0, min == nil {
                reportOutOfRange(d, "negative, and an amount may be negative only when 'min' is", nil, configs, q)
            }
        case (.text, .text(let t)), (.email, .text(let t)):
            let length = t.count
            if let min, let lo = Self.number(min.value), Number(length) < lo {
                configs.formUnion(min.configs)
                reportOutOfRange(d, "shorter than 'min' (\(lo) characters)", q.min!.range, configs, q)
            } else if let max, let hi = Self.number(max.value), Number(length) > hi {
                configs.formUnion(max.configs)
                reportOutOfRange(d, "longer than 'max' (\(hi) characters)", q.max!.range, configs, q)
            } else if let pattern = q.pattern, RegexCheck.isValid(pattern), !RegexCheck.matches(t, pattern) {
                checks.out.checkedRanges.insert(range)
                checks.report(.defaultMismatchesPattern(ValueChecks.shown(value.value), pattern), range, configs: configs,
                              notes: patternRange(q).map { [DiagnosticNote("the pattern is set here", at: $0)] } ?? [],
                              hint: "leaving the answer empty would give a text no one could type; make the default match the pattern")
            }
        default:
            break
        }
    }

    private func reportNotAnOption(_ t: String, _ options: [String], _ range: SourceRange, _ configs: Set<Int>, _ q: QuestionInfo) {
        checks.out.checkedRanges.insert(range)
        checks.report(.defaultNotAnOption(ValueChecks.shown(.text(t)), q.reference), range, configs: configs,
                      hint: Suggest.closest(to: t, in: options).map { "did you mean '\($0)'?" }
                          ?? "options: " + options.map { "'\($0)'" }.joined(separator: ", "))
    }

    private func reportOutOfRange(_ d: IRExpr, _ why: String, _ bound: SourceRange?, _ configs: Set<Int>, _ q: QuestionInfo) {
        checks.out.checkedRanges.insert(d.range)
        checks.report(.defaultOutOfRange(q.reference), d.range, configs: configs, label: "it is \(why)",
                      notes: bound.map { [DiagnosticNote("the limit is set here", at: $0)] } ?? [],
                      hint: "leaving the answer empty would give a value no one could type; make the default fit the question's rules")
    }

    /// Where the pattern is written: the pattern is kept as text, so find the property by line.
    private func patternRange(_ q: QuestionInfo) -> SourceRange? { q.patternRange }

    static func number(_ v: Value) -> Number? {
        if case .number(let n) = v { return n }
        return nil
    }

    static func boundNoun(_ t: QuestionType) -> String {
        switch t {
        case .text, .email, .password: "answer's length"
        case .choices: "number of picks"
        default: "answer"
        }
    }
}

extension RegexCheck {
    /// Whether `s` matches the whole of `pattern`, as an answer must.
    static func matches(_ s: String, _ pattern: String) -> Bool {
        guard let r = try? NSRegularExpression(pattern: "\\A(?:" + pattern + ")\\z") else { return true }
        return r.firstMatch(in: s, range: NSRange(s.startIndex..<s.endIndex, in: s)) != nil
    }
}
