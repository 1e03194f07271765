import FlowKit
import Foundation

/// Target `answers`: `AnswerParser.parse` for a question of any type with any bounds, default,
/// pattern and options, and any typed answer. The bytes: a byte choosing the question type, a
/// byte of flags (optional, default, min, max, pattern; how bounds are given), then fields
/// separated by 0x1F: the answer, min, max, pattern, default, then the options.
///
/// Holds: no crash; an accepted answer, typed again as the session would show it, is accepted
/// as the same value (`12.50` → 12.5 → `12.5`; a date → `yyyy-mm-dd`; a choice → its option's
/// text; choices → their texts joined with `, `; yes/no → `yes`/`no`) where that is meant to
/// hold: not for the default or skip of an empty answer, and for options only when they are
/// told apart (distinct, non-empty, no commas, no blank joined by a combining mark: see
/// `marksABlank`).
enum AnswerTarget {
    static let separator: UInt8 = 0x1F

    static func run(_ bytes: [UInt8]) {
        var reader = ByteReader(bytes)
        let type = QuestionType.allCases[reader.below(QuestionType.allCases.count)]
        let flags = reader.byte()
        var answer = String(lossy: reader.piece(upTo: separator))
        let minText = String(lossy: reader.piece(upTo: separator))
        let maxText = String(lossy: reader.piece(upTo: separator))
        let patternText = String(lossy: reader.piece(upTo: separator))
        let defaultText = String(lossy: reader.piece(upTo: separator))
        var options: [String] = []
        while !reader.isEmpty && options.count < 12 { options.append(String(lossy: reader.piece(upTo: separator))) }

        func bound(_ text: String) -> Value {
            switch flags >> 5 & 3 {
            case 0: return Number(parsing: text).map { .number($0) } ?? .text(text)
            case 1: return .date(text)
            default: return .text(text)
            }
        }
        var pattern: String?
        if flags & 16 != 0 {
            // Patterns come from the flow's author, not the caller; a short one, on a short answer,
            // keeps the regular expression engine's backtracking from turning into a timeout.
            pattern = String(patternText.prefix(24))
            answer = String(answer.prefix(16))
        }
        let question = QuestionRequest(
            name: "Q", reference: "P.Q", type: type, prompt: "?", options: options,
            defaultValue: flags & 2 != 0 ? .text(defaultText) : nil, optional: flags & 1 != 0,
            min: flags & 4 != 0 ? bound(minText) : nil, max: flags & 8 != 0 ? bound(maxText) : nil, pattern: pattern)

        guard case .success(let value) = AnswerParser.parse(answer, for: question) else { return }
        // An empty answer gives the default or null, which need not be an answer itself.
        let typedNothing = answer.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty
            || answer.unicodeScalars.allSatisfy { $0.properties.isWhitespace }
        if typedNothing || value == question.defaultValue || value == .null { return }

        // Compared as the parser compares options: by Unicode scalars (a blank or comma followed
        // by a combining mark is one `Character` with it, and would hide from a test on those).
        let keys = options.map {
            $0.lowercased().unicodeScalars.split(whereSeparator: { $0.properties.isWhitespace })
                .map { String(String.UnicodeScalarView($0)) }.joined(separator: " ")
        }
        let distinct = Set(keys).count == keys.count && !keys.contains { $0.isEmpty || $0.unicodeScalars.contains(",") }
            && !options.contains(where: AnswerTarget.marksABlank)
        var again: [String] = []
        switch (type, value) {
        case (.text, .text(let s)), (.email, .text(let s)), (.password, .text(let s)):
            again = [s]
        case (.number, .number(let n)):
            again = [n.description]
        case (.currency, .number(let n)):
            again = [n.description, n.formatted(places: 2)]
        case (.yesno, .bool(let b)):
            again = [b ? "yes" : "no"]
        case (.date, .date(let s)):
            again = [s]
        case (.choice, .text(let s)):
            require(options.contains(s), "a choice answer \(s.debugDescription) is not one of the options")
            if distinct { again = [s] }
        case (.choices, .list(let items)):
            let picked = items.compactMap { if case .text(let s) = $0 { s } else { nil } }
            require(picked.count == items.count && picked.allSatisfy(options.contains),
                    "a choices answer \(items) is not a list of options")
            if Set(options).count == options.count {
                require(Set(picked).count == picked.count, "a choices answer picks an option twice: \(picked)")
            }
            if distinct { again = [picked.joined(separator: ", ")] }
        default:
            fatalError("flow-fuzz: a \(type) question accepted \(answer.debugDescription) as \(value)")
        }
        for typed in again {
            let reparsed = AnswerParser.parse(typed, for: question)
            require(reparsed == .success(value),
                    "a \(type) question accepted \(answer.debugDescription) as \(value), but \(typed.debugDescription) typed again gives \(reparsed)")
        }
    }

    /// Whether a combining mark follows a blank in `option` (`" \u{0611}"`): the blank and the
    /// mark make one character, which option matching skips as a blank while trimming the typed
    /// answer drops only the blank, so such an option cannot be typed back. Only an option
    /// written that way is affected; such options are not re-typed here.
    static func marksABlank(_ option: String) -> Bool {
        var previousBlank = false
        for c in option.unicodeScalars {
            switch c.properties.generalCategory {
            case .nonspacingMark, .spacingMark, .enclosingMark:
                if previousBlank { return true }
            default:
                break
            }
            previousBlank = c.properties.isWhitespace || (c.value >= 0x09 && c.value <= 0x0D)
        }
        return false
    }
}
