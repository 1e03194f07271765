import Foundation

/// One answer to try for one question: what is typed, and whether the question's rules (as
/// `grammar.md` and `AnswerParser` state them) say it must be accepted.
struct AnswerCandidate: Equatable {
    /// What is typed; empty for the default, or for skipping an optional question.
    var typed: String
    /// True: the rules accept it; false: they refuse it; nil: this model cannot tell.
    var expected: Bool?
    /// Why it is tried, for people: `min`, `just below min`, `zero`, `the default`, …
    var label: String
}

/// The answers worth trying for a question: boundaries, special values, every option, and what
/// the flow compares the answer with; and answers that must be refused.
///
/// Design note: each candidate carries the verdict of a model of the rules written here from the
/// documentation, independently of `AnswerParser`. Candidates the model accepts are the branches
/// of the exploration; those it refuses are probes: the session must refuse them too. A
/// disagreement either way is a finding. Bounds are read as the session evaluated them for this
/// asking, so `max Limit.Limit` is whatever was answered before.
enum AnswerCandidates {
    static func candidates(for q: QuestionRequest, hints: [Value], today: String) -> [AnswerCandidate] {
        var list = Collector()
        switch q.type {
        case .number, .currency: numeric(q, hints, &list)
        case .yesno:
            list.add("yes", true, "yes")
            list.add("no", true, "no")
            list.add("maybe", false, "neither yes nor no")
        case .choice:
            for o in q.options { list.add(o, true, "option '\(o)'") }
            list.add("not one of the options", false, "not an option")
            list.add(String(q.options.count + 1), false, "an option number past the last")
        case .choices: choices(q, &list)
        case .date: date(q, hints, today, &list)
        case .text, .password, .email: text(q, hints, &list)
        }
        // The empty answer: the default, a skip, or (when required) refused.
        if q.defaultValue != nil {
            list.add("", true, "the default")
        } else if q.optional {
            list.add("", true, "skipped")
        } else {
            list.add("", false, "empty, though required")
        }
        return list.items
    }

    private struct Collector {
        var items: [AnswerCandidate] = []
        mutating func add(_ typed: String, _ expected: Bool?, _ label: String) {
            guard !items.contains(where: { $0.typed == typed }) else { return }
            items.append(AnswerCandidate(typed: typed, expected: expected, label: label))
        }
    }

    // MARK: - Numbers and amounts

    private static func numeric(_ q: QuestionRequest, _ hints: [Value], _ list: inout Collector) {
        let isCurrency = q.type == .currency
        let lo = AnswerParser.bound(q.min)
        let hi = AnswerParser.bound(q.max)
        let cent = Number(parsing: "0.01")!
        func typed(_ n: Number) -> String { isCurrency && n.rounded(places: 2) == n ? n.formatted(places: 2) : n.description }
        func accepts(_ n: Number) -> Bool {
            if isCurrency {
                if n.rounded(places: 2) != n { return false }
                if n < 0 && !(lo.map { $0 < 0 } ?? false) { return false }
            }
            if let lo, n < lo { return false }
            if let hi, n > hi { return false }
            return true
        }
        func add(_ n: Number, _ label: String) { list.add(typed(n), accepts(n), label) }
        var typical = isCurrency ? Number(parsing: "12.50")! : Number(12)
        if !accepts(typical), let lo, let hi, lo < hi {
            // Somewhere in the middle, as a whole number when there is one in between.
            let middle = ((lo + hi) / 2).rounded(places: 0)
            typical = accepts(middle) ? middle : ((lo + hi) / 2).rounded(places: 2)
        }
        if accepts(typical) { add(typical, "a typical value") }
        if let lo {
            add(lo, "min")
            // An amount bound with more than two decimals: the nearest amount inside.
            if isCurrency && lo.rounded(places: 2) != lo {
                var up = lo.rounded(places: 2)
                if up < lo { up = up + cent }
                add(up, "the smallest amount at or above min")
            }
        }
        if let hi {
            add(hi, "max")
            if isCurrency && hi.rounded(places: 2) != hi {
                var down = hi.rounded(places: 2)
                if down > hi { down = down - cent }
                add(down, "the largest amount at or below max")
            }
        }
        if let lo, lo.isInteger { add(lo + 1, "just above min") }
        if let hi, hi.isInteger { add(hi - 1, "just below max") }
        add(0, "zero")
        add(-1, "negative")
        add(Number(1_000_000), "a big number")
        add(Number(parsing: "12.34")!, "two decimals")
        if isCurrency { add(cent, "one cent") }
        for h in hints {
            if case .number(let n) = h { add(n, "a value the flow compares it with") }
        }
        if let lo { add(lo - cent, "just below min") }
        if let hi { add(hi + cent, "just above max") }
        if let lo, lo.isInteger { add(lo - 1, "below min") }
        if let hi, hi.isInteger { add(hi + 1, "above max") }
        if isCurrency {
            list.add("12.345", false, "three decimals")
            if lo == nil { list.add("-5.00", false, "a negative amount") }
        } else {
            list.add("1e5", false, "an exponent")
        }
        list.add("twelve", false, "not a number")
        list.add(String(repeating: "1", count: 39), false, "39 digits")
    }

    // MARK: - Dates

    private static func date(_ q: QuestionRequest, _ hints: [Value], _ today: String, _ list: inout Collector) {
        let lo = AnswerParser.dateBound(q.min)
        let hi = AnswerParser.dateBound(q.max)
        func accepts(_ d: CalendarDate) -> Bool {
            if let lo, d < lo { return false }
            if let hi, hi < d { return false }
            return true
        }
        func add(_ d: CalendarDate?, _ label: String) {
            guard let d else { return }
            list.add(d.iso, accepts(d), label)
        }
        let now = CalendarDate(iso: today)
        if let now, accepts(now) { add(now, "today") }
        add(lo, "min")
        add(hi, "max")
        add(now, "today")
        add(now?.adding(days: -1), "yesterday")
        add(now?.adding(days: 1), "tomorrow")
        for h in hints {
            if case .date(let s) = h { add(CalendarDate(iso: s), "a date the flow compares it with") }
        }
        add(CalendarDate(year: 2024, month: 2, day: 29), "a leap day")
        add(lo?.adding(days: -1), "the day before min")
        add(hi?.adding(days: 1), "the day after max")
        list.add("31/03/2024", false, "day/month/year")
        list.add("2023-02-29", false, "not a real date")
    }

    // MARK: - Texts, e-mail addresses and passwords

    private static func text(_ q: QuestionRequest, _ hints: [Value], _ list: inout Collector) {
        let lo = AnswerParser.bound(q.min).flatMap(\.intValue)
        let hi = AnswerParser.bound(q.max).flatMap(\.intValue)
        let regex = q.pattern.flatMap { try? NSRegularExpression(pattern: "\\A(?:" + $0 + ")\\z") }
        func matches(_ s: String) -> Bool {
            guard let regex else { return true }
            return regex.firstMatch(in: s, range: NSRange(s.startIndex..<s.endIndex, in: s)) != nil
        }
        func accepts(_ s: String) -> Bool? {
            if q.type == .password && s.trimmingBlanks().isEmpty { return false }
            // Typed text loses its surrounding blanks (a password keeps them).
            let kept = q.type == .password ? s : s.trimmingBlanks()
            if kept.isEmpty { return nil }
            if let lo, kept.count < lo { return false }
            if let hi, kept.count > hi { return false }
            if q.pattern != nil && regex == nil { return nil }
            if !matches(kept) { return false }
            if q.type == .email { return isEmailShaped(kept) ? true : nil }
            return true
        }
        var samples: [String] = []
        switch q.type {
        case .email: samples = ["name@example.com", "first.last+tag@mail.example.org"]
        case .password: samples = ["secret-Passw0rd", "1234"]
        default: samples = ["hello", "Hello, world"]
        }
        if let pattern = q.pattern, let made = RegexSamples.samples(pattern) {
            samples = made.filter(matches) + samples
        }
        // Texts that often match the patterns flows use: digits of common lengths, codes.
        let bank = ["12345678", "1234", "123456", "+441234567890", "ABC123", "abc", "A", "1"]
        samples += bank.filter { regex != nil && matches($0) }
        // Lengths at the bounds, made from an accepted sample when there is one.
        let seed = samples.first(where: { accepts($0) == true }) ?? "abcdefghij"
        func ofLength(_ n: Int) -> String {
            guard n > 0 else { return "" }
            var s = seed.isEmpty ? "a" : seed
            while s.count < n { s += seed.isEmpty ? "a" : seed }
            return String(s.prefix(n))
        }
        for s in samples where accepts(s) == true { list.add(s, true, q.pattern != nil ? "matches the pattern" : "a typical text") }
        if let s = samples.first(where: { regex != nil && matches($0) && accepts($0) == false }) {
            list.add(s, false, "matches the pattern, with a length outside min and max")
        }
        if let lo, lo > 0, lo <= 1000 { list.add(ofLength(lo), accepts(ofLength(lo)), "the shortest allowed") }
        if let hi, hi > 0, hi <= 1000 { list.add(ofLength(hi), accepts(ofLength(hi)), "the longest allowed") }
        for h in hints {
            if case .text(let s) = h, !s.isEmpty { list.add(s, accepts(s), "a text the flow compares it with") }
        }
        if q.type == .text && q.pattern == nil && hi == nil {
            list.add("Ünïcödé ✓ \"quoted\" {braces}", accepts("Ünïcödé ✓ \"quoted\" {braces}"), "unusual characters")
        }
        // Must be refused.
        if let lo, lo > 1, lo <= 1001 { list.add(ofLength(lo - 1), accepts(ofLength(lo - 1)), "one character too short") }
        if let hi, hi >= 0, hi < 1000 { list.add(ofLength(hi + 1), accepts(ofLength(hi + 1)), "one character too long") }
        if regex != nil {
            for s in [seed + "!", "!" + seed, "x", "not matching the pattern"] where accepts(s) == false && !matches(s) {
                list.add(s, false, "does not match the pattern")
                break
            }
        }
        switch q.type {
        case .email:
            list.add("name@example", false, "not an e-mail address")
            list.add("name example.com", false, "not an e-mail address")
        case .password:
            list.add("   ", false, "only blanks")
        default: break
        }
    }

    /// What `grammar.md` calls an e-mail address: one `@`, a local part, a dotted domain.
    private static func isEmailShaped(_ s: String) -> Bool {
        let parts = s.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, !s.contains(where: \.isWhitespace) else { return false }
        let labels = parts[1].split(separator: ".", omittingEmptySubsequences: false)
        return labels.count >= 2 && labels.allSatisfy { !$0.isEmpty } && labels.last!.count >= 2
    }

    // MARK: - Several options

    private static func choices(_ q: QuestionRequest, _ list: inout Collector) {
        let n = q.options.count
        let lo = AnswerParser.bound(q.min).flatMap(\.intValue)
        let hi = AnswerParser.bound(q.max).flatMap(\.intValue)
        func accepts(_ picks: Int) -> Bool {
            if picks == 0 { return q.defaultValue != nil || q.optional }
            if let lo, picks < lo { return false }
            if let hi, picks > hi { return false }
            return true
        }
        func pick(_ k: Int) -> String { q.options.prefix(k).joined(separator: ", ") }
        let first = min(max(lo ?? 1, 1), n)
        if n > 0 { list.add(pick(first), accepts(first), first == 1 ? "the first option" : "the first \(first) options") }
        for o in q.options { list.add(o, accepts(1), "only '\(o)'") }
        list.add(pick(n), accepts(n), "every option")
        if let lo, lo >= 1, lo <= n { list.add(pick(lo), accepts(lo), "as few as allowed") }
        if let hi, hi >= 1, hi <= n { list.add(pick(hi), accepts(hi), "as many as allowed") }
        if let lo, lo >= 2, lo <= n + 1 { list.add(pick(lo - 1), accepts(lo - 1), "one fewer than allowed") }
        if let hi, hi >= 0, hi < n { list.add(pick(hi + 1), accepts(hi + 1), "one more than allowed") }
        list.add("not one of the options", false, "not an option")
    }
}

extension CalendarDate {
    /// The date `days` later (earlier when negative), within years 1 to 9999; nil beyond.
    func adding(days: Int) -> CalendarDate? {
        var (y, m, d) = (year, month, day)
        var left = days
        while left > 0 {
            d += 1
            if d > CalendarDate.days(inMonth: m, year: y) { d = 1; m += 1 }
            if m > 12 { m = 1; y += 1 }
            left -= 1
        }
        while left < 0 {
            d -= 1
            if d < 1 {
                m -= 1
                if m < 1 { m = 12; y -= 1 }
                if y < 1 { return nil }
                d = CalendarDate.days(inMonth: m, year: y)
            }
            left += 1
        }
        return CalendarDate(year: y, month: m, day: d)
    }
}
